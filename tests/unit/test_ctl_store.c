/* The LMDB store: known answers for every operation, batch atomicity, the
 * counter high-water mark across a reopen, and a differential run against
 * a deliberately trivial reference map. */
#include "check.h"

#include "store.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];

static struct kb_store *open_store(void)
{
	char err[256];
	struct kb_store *s = kb_store_lmdb_open(dir, 64u << 20, err, sizeof(err));
	if (s == NULL)
		fprintf(stderr, "open: %s\n", err);
	return s;
}

static int count_cb(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
	(void)k;
	(void)v;
	(void)vl;
	int *n = arg;
	(*n)++;
	return kl == 0 ? -5 : 0;
}

static void test_basic(void)
{
	struct kb_store *s = open_store();
	char buf[32];
	size_t len = 0;
	CHECK(s != NULL);
	if (s == NULL)
		return;
	CHECK(s->ops->get(s, KB_ST_UE, "a", 1, buf, sizeof(buf), &len) == KB_STORE_NOTFOUND);
	CHECK(s->ops->put(s, KB_ST_UE, "a", 1, "hello", 5) == 0);
	CHECK(s->ops->get(s, KB_ST_UE, "a", 1, buf, sizeof(buf), &len) == 0);
	CHECK(len == 5);
	CHECK_MEM(buf, "hello", 5);
	/* tables are separate */
	CHECK(s->ops->get(s, KB_ST_SA, "a", 1, buf, sizeof(buf), &len) == KB_STORE_NOTFOUND);
	/* truncated copy reports the full length */
	memset(buf, 0, sizeof(buf));
	CHECK(s->ops->get(s, KB_ST_UE, "a", 1, buf, 2, &len) == 0);
	CHECK(len == 5 && buf[2] == 0 && memcmp(buf, "he", 2) == 0);
	CHECK(s->ops->put(s, KB_ST_UE, "a", 1, "bye", 3) == 0);
	CHECK(s->ops->get(s, KB_ST_UE, "a", 1, buf, sizeof(buf), &len) == 0 && len == 3);
	CHECK(s->ops->del(s, KB_ST_UE, "a", 1) == 0);
	CHECK(s->ops->del(s, KB_ST_UE, "a", 1) == KB_STORE_NOTFOUND);
	CHECK(s->ops->put(s, KB_ST_UE, "", 0, "x", 1) == KB_STORE_ERR);
	CHECK(s->ops->put(s, KB_ST_COUNT, "a", 1, "x", 1) == KB_STORE_ERR);

	/* prefix iteration: "ue1\0svcA", "ue1\0svcB", "ue10\0svcA" */
	CHECK(s->ops->put(s, KB_ST_REG, "ue1\0svcA", 8, "1", 1) == 0);
	CHECK(s->ops->put(s, KB_ST_REG, "ue1\0svcB", 8, "2", 1) == 0);
	CHECK(s->ops->put(s, KB_ST_REG, "ue10\0svcA", 9, "3", 1) == 0);
	int n = 0;
	CHECK(s->ops->iterate(s, KB_ST_REG, "ue1\0", 4, count_cb, &n) == 0);
	CHECK(n == 2);
	n = 0;
	CHECK(s->ops->iterate(s, KB_ST_REG, NULL, 0, count_cb, &n) == 0);
	CHECK(n == 3);
	CHECK(s->ops->count(s, KB_ST_REG) == 3);

	/* batches: abort leaves nothing, commit everything */
	struct kb_store_batch *b = s->ops->batch_begin(s);
	CHECK(b != NULL);
	CHECK(s->ops->batch_put(b, KB_ST_SA, "k1", 2, "v1", 2) == 0);
	CHECK(s->ops->batch_get(b, KB_ST_SA, "k1", 2, buf, sizeof(buf), &len) == 0);
	s->ops->batch_abort(b);
	CHECK(s->ops->get(s, KB_ST_SA, "k1", 2, buf, sizeof(buf), &len) == KB_STORE_NOTFOUND);
	b = s->ops->batch_begin(s);
	for (int i = 0; i < 1000; i++) {
		char k[16];
		int kl = snprintf(k, sizeof(k), "key%04d", i);
		CHECK(s->ops->batch_put(b, KB_ST_SA, k, (size_t)kl, &i, sizeof(i)) == 0);
	}
	CHECK(s->ops->batch_del(b, KB_ST_SA, "key0007", 7) == 0);
	CHECK(s->ops->batch_del(b, KB_ST_SA, "nokey", 5) == KB_STORE_NOTFOUND);
	CHECK(s->ops->batch_commit(b) == 0);
	CHECK(s->ops->count(s, KB_ST_SA) == 999);
	int v = -1;
	CHECK(s->ops->get(s, KB_ST_SA, "key0500", 7, &v, sizeof(v), &len) == 0 && v == 500);

	/* counter high-water mark */
	CHECK(s->ops->counter_floor(s) == 0);
	CHECK(s->ops->counter_grant(s, 100) == 100);
	CHECK(s->ops->counter_grant(s, 50) == 100);
	CHECK(s->ops->counter_grant(s, 4096) == 4096);
	struct kb_counter_grantor g;
	kb_store_counter_grantor(s, &g);
	CHECK(g.grant(&g, 5000) == 5000);
	CHECK(g.floor(&g) == 0); /* this run's floor is the previous run's mark */
	s->ops->close(s);

	s = open_store();
	CHECK(s != NULL);
	if (s == NULL)
		return;
	CHECK(s->ops->counter_floor(s) == 5000);
	kb_store_counter_grantor(s, &g);
	CHECK(g.floor(&g) == 5000);
	CHECK(g.grant(&g, 10) == 5000);
	CHECK(s->ops->count(s, KB_ST_SA) == 999);
	CHECK(s->ops->get(s, KB_ST_REG, "ue10\0svcA", 9, buf, sizeof(buf), &len) == 0 &&
	      buf[0] == '3');
	s->ops->close(s);
}

/* Differential: random puts/dels/gets against a plain array map. */
#define NK 64
static void test_differential(void)
{
	struct kb_store *s = open_store();
	struct {
		bool live;
		uint32_t val;
	} ref[NK] = {0};
	uint64_t x = 0x9e3779b97f4a7c15ull;
	CHECK(s != NULL);
	if (s == NULL)
		return;
	/* start from what test_basic left in this table: nothing */
	int mismatches = 0;
	for (int op = 0; op < 4000; op++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		unsigned k = (unsigned)(x % NK), what = (unsigned)((x >> 8) % 4);
		char key[8];
		int kl = snprintf(key, sizeof(key), "d%02u", k);
		uint32_t v = (uint32_t)(x >> 32), got = 0;
		size_t len = 0;
		if (what == 0 || what == 1) {
			if (s->ops->put(s, KB_ST_SUBSCRIBER, key, (size_t)kl, &v, 4) != 0)
				mismatches++;
			ref[k].live = true;
			ref[k].val = v;
		} else if (what == 2) {
			int rc = s->ops->del(s, KB_ST_SUBSCRIBER, key, (size_t)kl);
			if (rc != (ref[k].live ? 0 : KB_STORE_NOTFOUND))
				mismatches++;
			ref[k].live = false;
		} else {
			int rc = s->ops->get(s, KB_ST_SUBSCRIBER, key, (size_t)kl, &got, 4, &len);
			if (ref[k].live ? (rc != 0 || got != ref[k].val || len != 4)
					: rc != KB_STORE_NOTFOUND)
				mismatches++;
		}
	}
	CHECK(mismatches == 0);
	uint64_t live = 0;
	for (int k = 0; k < NK; k++)
		live += ref[k].live;
	CHECK(s->ops->count(s, KB_ST_SUBSCRIBER) == live);
	s->ops->close(s);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/kb_store_test.%d", (int)getpid());
	RUN(test_basic);
	RUN(test_differential);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup failed\n");
	return kb_check_done();
}
