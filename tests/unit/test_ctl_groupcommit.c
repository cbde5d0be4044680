/* The store's group commit (store_lmdb.c): concurrent put/del/apply from
 * several threads, each durable and visible when it returns; fewer commits
 * than writes (counted at the msync LMDB's MDB_WRITEMAP commit makes);
 * the leader/follower helper on its own (one batch at a time, every
 * result set at return, batches shared); a commit error (msync made to
 * fail, as EIO would) reaches every writer of the batch and stores nothing
 * of it; a map too small for the load fails exactly the writes that are
 * absent afterwards. */
#include "check.h"

#include "group_commit.h"
#include "store.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* LMDB (MDB_WRITEMAP) commits with msync: the data pages, then the meta
 * page. This definition takes the place of libc's for liblmdb: it counts
 * the data syncs and can hold one or fail them. */
static atomic_ulong data_syncs;
static atomic_bool fail_sync;
static pthread_mutex_t hold_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hold_cond = PTHREAD_COND_INITIALIZER;
static bool hold_armed, holding;

int msync(void *addr, size_t len, int flags)
{
	if (len > 4096) { /* not the meta page alone */
		atomic_fetch_add(&data_syncs, 1);
		pthread_mutex_lock(&hold_lock);
		if (hold_armed) {
			hold_armed = false;
			holding = true;
			pthread_cond_broadcast(&hold_cond);
			while (holding)
				pthread_cond_wait(&hold_cond, &hold_lock);
		}
		pthread_mutex_unlock(&hold_lock);
		if (atomic_load(&fail_sync)) {
			errno = EIO;
			return -1;
		}
	}
	return (int)syscall(SYS_msync, addr, len, flags);
}

static char dir[64];

static struct kb_store *open_store(size_t map)
{
	char err[256];
	struct kb_store *s = kb_store_lmdb_open(dir, map, err, sizeof(err));
	if (s == NULL)
		fprintf(stderr, "open: %s\n", err);
	return s;
}

static void wipe_dir(void)
{
	char p[96];
	snprintf(p, sizeof(p), "%s/data.mdb", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/lock.mdb", dir);
	unlink(p);
}

#define THREADS 8
#define PER_THREAD 150

struct worker {
	struct kb_store *s;
	int id;
	int n;
	int ok, visible, wrong;
	int rcs[PER_THREAD];
	pthread_t th;
};

static void key_of(char *k, int id, int i)
{
	snprintf(k, 32, "t%02d-k%05d", id, i);
}

static void *put_worker(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < w->n; i++) {
		char k[32], v[64], got[64];
		size_t gl = 0;
		key_of(k, w->id, i);
		snprintf(v, sizeof(v), "value of %s", k);
		w->rcs[i] = w->s->ops->put(w->s, KB_ST_META, k, strlen(k), v, strlen(v));
		if (w->rcs[i] != 0)
			continue;
		w->ok++;
		/* visible to a fresh reader as soon as put returned */
		if (w->s->ops->get(w->s, KB_ST_META, k, strlen(k), got, sizeof(got), &gl) == 0) {
			w->visible++;
			if (gl != strlen(v) || memcmp(got, v, gl) != 0)
				w->wrong++;
		}
	}
	return NULL;
}

static void test_concurrent_puts(void)
{
	struct kb_store *s = open_store(64u << 20);
	struct worker w[THREADS];
	CHECK(s != NULL);
	if (s == NULL)
		return;
	unsigned long syncs0 = atomic_load(&data_syncs);
	for (int t = 0; t < THREADS; t++) {
		w[t] = (struct worker){.s = s, .id = t, .n = PER_THREAD};
		pthread_create(&w[t].th, NULL, put_worker, &w[t]);
	}
	int ok = 0, visible = 0, wrong = 0;
	for (int t = 0; t < THREADS; t++) {
		pthread_join(w[t].th, NULL);
		ok += w[t].ok;
		visible += w[t].visible;
		wrong += w[t].wrong;
	}
	unsigned long syncs = atomic_load(&data_syncs) - syncs0;
	CHECK(ok == THREADS * PER_THREAD);
	CHECK(visible == THREADS * PER_THREAD);
	CHECK(wrong == 0);
	CHECK(s->ops->count(s, KB_ST_META) == THREADS * PER_THREAD);
	/* writers in flight together shared commits */
	printf("  %d puts from %d threads in %lu commits\n", ok, THREADS, syncs);
	CHECK(syncs >= 1 && syncs < (unsigned long)(THREADS * PER_THREAD));
	/* del through the same queue: one found, one not */
	CHECK(s->ops->del(s, KB_ST_META, "t00-k00000", 10) == 0);
	CHECK(s->ops->del(s, KB_ST_META, "t00-k00000", 10) == KB_STORE_NOTFOUND);
	CHECK(s->ops->get(s, KB_ST_META, "t00-k00000", 10, NULL, 0, NULL) == KB_STORE_NOTFOUND);
	s->ops->close(s);
	/* and durable: all there after a reopen */
	s = open_store(64u << 20);
	CHECK(s != NULL && s->ops->count(s, KB_ST_META) == THREADS * PER_THREAD - 1);
	if (s != NULL)
		s->ops->close(s);
	wipe_dir();
}

/* The leader/follower helper itself (control/group_commit.h): batches run
 * one at a time, each op's result is set when its submit returns, and ops
 * queued during a batch share the next one. */
struct gc_test_op {
	struct kb_gc_op link;
	int id, result;
};

static atomic_int in_run, overlaps, runs, ran_ops, max_batch;

static void gc_test_run(void *ctx, struct kb_gc_op *batch)
{
	(void)ctx;
	if (atomic_fetch_add(&in_run, 1) != 0)
		atomic_fetch_add(&overlaps, 1);
	usleep(2000); /* a commit's fsync: lets the others queue */
	int n = 0;
	for (struct kb_gc_op *l = batch; l != NULL; l = l->next, n++)
		((struct gc_test_op *)l)->result = ((struct gc_test_op *)l)->id * 2 + 1;
	atomic_fetch_add(&runs, 1);
	atomic_fetch_add(&ran_ops, n);
	if (n > atomic_load(&max_batch))
		atomic_store(&max_batch, n);
	atomic_fetch_sub(&in_run, 1);
}

static struct kb_gc test_gc = KB_GC_INIT;

struct gc_worker {
	int id, wrong;
	pthread_t th;
};

static void *gc_worker(void *arg)
{
	struct gc_worker *w = arg;
	for (int i = 0; i < 50; i++) {
		struct gc_test_op op = {.id = w->id * 1000 + i, .result = -1};
		kb_gc_submit(&test_gc, &op.link, gc_test_run, NULL);
		if (!op.link.done || op.result != op.id * 2 + 1)
			w->wrong++;
	}
	return NULL;
}

static void test_gc_helper(void)
{
	struct gc_worker w[THREADS];
	for (int t = 0; t < THREADS; t++) {
		w[t] = (struct gc_worker){.id = t};
		pthread_create(&w[t].th, NULL, gc_worker, &w[t]);
	}
	int wrong = 0;
	for (int t = 0; t < THREADS; t++) {
		pthread_join(w[t].th, NULL);
		wrong += w[t].wrong;
	}
	printf("  %d ops in %d batches, largest %d\n", atomic_load(&ran_ops), atomic_load(&runs),
	       atomic_load(&max_batch));
	CHECK(wrong == 0);
	CHECK(atomic_load(&overlaps) == 0);
	CHECK(atomic_load(&ran_ops) == THREADS * 50);
	CHECK(atomic_load(&runs) < THREADS * 50);
	CHECK(atomic_load(&max_batch) > 1 && atomic_load(&max_batch) <= THREADS);
}

/* A commit fails (msync: EIO). The leader's batch and the batch queued
 * behind it both fail: every writer gets the error, nothing is stored. */
struct one_put {
	struct kb_store *s;
	char key[32];
	int rc;
	pthread_t th;
};

static void *one_put(void *arg)
{
	struct one_put *p = arg;
	p->rc = p->s->ops->put(p->s, KB_ST_META, p->key, strlen(p->key), "v", 1);
	return NULL;
}

static void test_commit_error(void)
{
	enum { QUEUED = 6 };
	struct kb_store *s = open_store(64u << 20);
	struct one_put lead = {.s = s}, q[QUEUED];
	CHECK(s != NULL);
	if (s == NULL)
		return;
	atomic_store(&fail_sync, true);
	pthread_mutex_lock(&hold_lock);
	hold_armed = true;
	pthread_mutex_unlock(&hold_lock);
	snprintf(lead.key, sizeof(lead.key), "lead");
	pthread_create(&lead.th, NULL, one_put, &lead);
	/* the leader is inside its commit, held in msync (10 s at most: a
	 * failure, not a hang, if LMDB stopped calling msync) */
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	pthread_mutex_lock(&hold_lock);
	while (!holding && pthread_cond_timedwait(&hold_cond, &hold_lock, &until) == 0)
		;
	bool held = holding;
	hold_armed = false;
	pthread_mutex_unlock(&hold_lock);
	CHECK(held);
	if (!held) {
		atomic_store(&fail_sync, false);
		pthread_join(lead.th, NULL);
		s->ops->close(s);
		wipe_dir();
		return;
	}
	unsigned long syncs0 = atomic_load(&data_syncs);
	for (int i = 0; i < QUEUED; i++) {
		q[i] = (struct one_put){.s = s};
		snprintf(q[i].key, sizeof(q[i].key), "queued-%d", i);
		pthread_create(&q[i].th, NULL, one_put, &q[i]);
	}
	usleep(500 * 1000); /* all six queue behind the leader */
	pthread_mutex_lock(&hold_lock);
	holding = false;
	pthread_cond_broadcast(&hold_cond);
	pthread_mutex_unlock(&hold_lock);
	pthread_join(lead.th, NULL);
	for (int i = 0; i < QUEUED; i++)
		pthread_join(q[i].th, NULL);
	unsigned long batches = atomic_load(&data_syncs) - syncs0;
	atomic_store(&fail_sync, false);
	CHECK(lead.rc == KB_STORE_ERR);
	CHECK(s->ops->get(s, KB_ST_META, "lead", 4, NULL, 0, NULL) == KB_STORE_NOTFOUND);
	for (int i = 0; i < QUEUED; i++) {
		CHECK(q[i].rc == KB_STORE_ERR);
		CHECK(s->ops->get(s, KB_ST_META, q[i].key, strlen(q[i].key), NULL, 0, NULL) ==
		      KB_STORE_NOTFOUND);
	}
	/* the six were one batch: one more (failed) commit */
	CHECK(batches == 1);
	/* the store works again */
	CHECK(s->ops->put(s, KB_ST_META, "after", 5, "v", 1) == 0);
	CHECK(s->ops->get(s, KB_ST_META, "after", 5, NULL, 0, NULL) == 0);
	s->ops->close(s);
	wipe_dir();
}

/* A map too small for the load: some writes fail; exactly those are
 * absent, every answered one is there (also after a reopen). */
#define BIG_VAL 1500

static void *big_worker(void *arg)
{
	struct worker *w = arg;
	static const uint8_t zero[BIG_VAL];
	for (int i = 0; i < w->n; i++) {
		char k[32];
		key_of(k, w->id, i);
		w->rcs[i] = w->s->ops->put(w->s, KB_ST_META, k, strlen(k), zero, sizeof(zero));
		w->ok += w->rcs[i] == 0;
	}
	return NULL;
}

static void test_map_full(void)
{
	const size_t map = 512u << 10;
	struct kb_store *s = open_store(map);
	struct worker w[THREADS];
	CHECK(s != NULL);
	if (s == NULL)
		return;
	for (int t = 0; t < THREADS; t++) {
		w[t] = (struct worker){.s = s, .id = t, .n = 60};
		pthread_create(&w[t].th, NULL, big_worker, &w[t]);
	}
	int ok = 0, failed = 0, mismatch = 0;
	for (int t = 0; t < THREADS; t++)
		pthread_join(w[t].th, NULL);
	for (int round = 0; round < 2; round++) {
		ok = failed = mismatch = 0;
		for (int t = 0; t < THREADS; t++)
			for (int i = 0; i < w[t].n; i++) {
				char k[32];
				key_of(k, t, i);
				int g = s->ops->get(s, KB_ST_META, k, strlen(k), NULL, 0, NULL);
				if (w[t].rcs[i] == 0) {
					ok++;
					mismatch += g != 0;
				} else {
					failed++;
					mismatch += g != KB_STORE_NOTFOUND;
				}
			}
		if (round == 0) {
			s->ops->close(s);
			s = open_store(map);
			CHECK(s != NULL);
			if (s == NULL)
				return;
		}
	}
	printf("  map full: %d stored, %d refused\n", ok, failed);
	CHECK(ok > 0);
	CHECK(failed > 0);
	CHECK(mismatch == 0);
	CHECK(s->ops->count(s, KB_ST_META) == (uint64_t)ok);
	s->ops->close(s);
	wipe_dir();
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/kb_gc_test.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	RUN(test_concurrent_puts);
	RUN(test_gc_helper);
	RUN(test_commit_error);
	RUN(test_map_full);
	rmdir(dir);
	return kb_check_done();
}
