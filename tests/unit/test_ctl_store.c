/* The LMDB store: known answers for every operation, batch atomicity, the
 * counter high-water mark across a reopen, and a differential run against
 * a deliberately trivial reference map; the ordered put (MDB_APPEND with
 * its fallback) and the compact record encodings, byte for byte. */
#include "check.h"

#include "records.h"
#include "store.h"

#include <arpa/inet.h>

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

/* Ordered puts append, or fall back to a plain put (replace, insert in the
 * middle); last_key follows. */
static void test_ordered(void)
{
	struct kb_store *s = open_store();
	uint8_t k[4], last[8];
	size_t kl = 0, len = 0;
	uint32_t v = 0;
	CHECK(s != NULL);
	CHECK(s->ops->last_key(s, KB_ST_MSK, last, sizeof(last), &kl) == KB_STORE_NOTFOUND);
	struct kb_store_batch *b = s->ops->batch_begin(s);
	CHECK(b != NULL);
	for (uint32_t i = 10; i < 1010; i++) {
		k[0] = (uint8_t)(i >> 24), k[1] = (uint8_t)(i >> 16), k[2] = (uint8_t)(i >> 8),
		k[3] = (uint8_t)i;
		CHECK(s->ops->batch_put_ordered(b, KB_ST_MSK, k, 4, &i, 4) == 0);
	}
	/* out of order: 5 goes in front, 500 is replaced */
	uint32_t five = 5, x = 0xabcdef;
	k[0] = k[1] = k[2] = 0, k[3] = 5;
	CHECK(s->ops->batch_put_ordered(b, KB_ST_MSK, k, 4, &five, 4) == 0);
	k[2] = 500 >> 8, k[3] = 500 & 0xff;
	CHECK(s->ops->batch_put_ordered(b, KB_ST_MSK, k, 4, &x, 4) == 0);
	CHECK(s->ops->batch_commit(b) == 0);
	CHECK(s->ops->count(s, KB_ST_MSK) == 1001);
	CHECK(s->ops->get(s, KB_ST_MSK, k, 4, &v, 4, &len) == 0 && v == 0xabcdef);
	k[2] = 0, k[3] = 5;
	CHECK(s->ops->get(s, KB_ST_MSK, k, 4, &v, 4, &len) == 0 && v == 5);
	CHECK(s->ops->last_key(s, KB_ST_MSK, last, sizeof(last), &kl) == 0 && kl == 4 &&
	      last[0] == 0 && last[1] == 0 && last[2] == 1009 >> 8 && last[3] == (1009 & 0xff));
	s->ops->close(s);
}

/* The compact layouts of records.h, against bytes written out by hand
 * from the layout description; round trips; every truncation refused. */
static void test_records(void)
{
	struct kb_rec_sa sa = {
		.key_group = 0x0102, .created = 0x1122334455667788, .muk_expires = -2};
	struct kb_rec_sa back;
	uint8_t out[KB_REC_ENC_MAX];
	sa.addr.af = AF_INET;
	memcpy(sa.addr.ip, "\x0a\x00\x00\x01", 4);
	sa.addr.port = 4359;
	memset(sa.rand, 0xaa, sizeof(sa.rand));
	memset(sa.muk, 0x55, sizeof(sa.muk));
	strcpy(sa.idr, "B@b");
	strcpy(sa.impi, "i@x");
	static const uint8_t want_head[] = {2,    0x01, 0x02, AF_INET, 10,   0,    0,    1,    0x11,
					    0x07, 0x11, 0x22, 0x33,    0x44, 0x55, 0x66, 0x77, 0x88,
					    0xff, 0xff, 0xff, 0xff,    0xff, 0xff, 0xff, 0xfe};
	size_t n = kb_rec_sa_encode(&sa, out, sizeof(out));
	CHECK(n == sizeof(want_head) + 16 + 32 + 4 + 4);
	CHECK_MEM(out, want_head, sizeof(want_head));
	CHECK(out[sizeof(want_head)] == 0xaa && out[sizeof(want_head) + 16] == 0x55);
	CHECK(memcmp(out + n - 8,
		     "\x03"
		     "B@b"
		     "\x03"
		     "i@x",
		     8) == 0);
	CHECK(kb_rec_sa_decode(out, n, &back) == 0);
	CHECK(back.key_group == sa.key_group && back.created == sa.created &&
	      back.muk_expires == -2 && back.addr.af == AF_INET && back.addr.port == 4359 &&
	      memcmp(back.addr.ip, sa.addr.ip, 16) == 0 && memcmp(back.muk, sa.muk, 32) == 0 &&
	      memcmp(back.rand, sa.rand, 16) == 0 && strcmp(back.idr, "B@b") == 0 &&
	      strcmp(back.impi, "i@x") == 0);
	int bad = 0;
	for (size_t i = 0; i < n; i++)
		bad += kb_rec_sa_decode(out, i, &back) == 0;
	CHECK(bad == 0);
	out[n] = 0;
	CHECK(kb_rec_sa_decode(out, n + 1, &back) != 0); /* trailing byte */
	/* an older store's fixed layout still reads */
	sa.version = KB_REC_VERSION;
	CHECK(kb_rec_sa_decode(&sa, sizeof(sa), &back) == 0 && back.created == sa.created);
	sa.version = 9; /* neither layout */
	CHECK(kb_rec_sa_decode(&sa, sizeof(sa), &back) != 0);

	struct kb_rec_ue ue = {.csb_id = 0xdeadbeef, .updated = 7}, ub;
	ue.addr.af = AF_INET6;
	ue.addr.ip[15] = 1;
	ue.addr.port = 9;
	strcpy(ue.btid, "bt");
	static const uint8_t want_ue[] = {2, 0xde,     0xad, 0xbe, 0xef, 0, 0, 0, 0, 0,   0,  0,
					  7, AF_INET6, 0,    0,    0,    0, 0, 0, 0, 0,   0,  0,
					  0, 0,        0,    0,    0,    1, 0, 9, 2, 'b', 't'};
	n = kb_rec_ue_encode(&ue, out, sizeof(out));
	CHECK(n == sizeof(want_ue));
	CHECK_MEM(out, want_ue, sizeof(want_ue));
	CHECK(kb_rec_ue_decode(out, n, &ub) == 0 && ub.csb_id == 0xdeadbeef &&
	      strcmp(ub.btid, "bt") == 0 && ub.addr.ip[15] == 1);
	CHECK(kb_rec_ue_encode(&ue, out, n - 1) == 0); /* does not fit */
	out[13] = 77; /* an unknown address family */
	CHECK(kb_rec_ue_decode(out, n, &ub) != 0);

	struct kb_rec_reg reg = {.registered = 1}, rb;
	strcpy(reg.btid, "x");
	static const uint8_t want_reg[] = {2, 0, 0, 0, 0, 0, 0, 0, 1, 1, 'x'};
	n = kb_rec_reg_encode(&reg, out, sizeof(out));
	CHECK(n == sizeof(want_reg));
	CHECK_MEM(out, want_reg, sizeof(want_reg));
	CHECK(kb_rec_reg_decode(out, n, &rb) == 0 && rb.registered == 1);

	struct kb_rec_bootstrap bt = {.mode = KB_GBA_U, .expires = 3}, bb;
	strcpy(bt.impi, "u");
	memset(bt.ks_ext_naf, 1, 32);
	memset(bt.ks_int_naf, 2, 32);
	n = kb_rec_bootstrap_encode(&bt, out, sizeof(out));
	CHECK(n == 1 + 1 + 1 + 8 + 16 + 2 + 1 + 64);
	CHECK(out[1] == KB_GBA_U && out[2] == 0 && out[27] == 1 && out[28] == 'u' && out[29] == 2 &&
	      out[30] == 1 && out[62] == 2);
	CHECK(kb_rec_bootstrap_decode(out, n, &bb) == 0 && bb.mode == KB_GBA_U &&
	      memcmp(bb.ks_int_naf, bt.ks_int_naf, 32) == 0 && strcmp(bb.impi, "u") == 0);
	memset(bt.ks_int_naf, 0, 32); /* GBA_ME with the NAF key only: one key */
	bt.mode = KB_GBA_ME;
	CHECK(kb_rec_bootstrap_encode(&bt, out, sizeof(out)) == n - 32);
	bt.has_ks = 1;
	memset(bt.ks, 3, 32);
	n = kb_rec_bootstrap_encode(&bt, out, sizeof(out));
	CHECK(n == 1 + 1 + 1 + 8 + 16 + 2 + 32 && out[2] == 1);
	CHECK(kb_rec_bootstrap_decode(out, n, &bb) == 0 && bb.has_ks == 1 && bb.ks[31] == 3);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/kb_store_test.%d", (int)getpid());
	RUN(test_basic);
	RUN(test_differential);
	RUN(test_ordered);
	RUN(test_records);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup failed\n");
	return kb_check_done();
}
