/* The store on LMDB: one named database per table, synchronous commits (a
 * committed transaction survives kill -9 and power loss), MDB_NOTLS so any
 * thread may read, MDB_WRITEMAP for cheap big write transactions.
 *
 * Group commit (put, del; control/group_commit.h): a commit costs two
 * msyncs (data pages, then the meta page) whatever it holds, so concurrent
 * writers share one: the leader runs every queued put/del in one write
 * transaction and LMDB's own synchronous commit; each caller returns after
 * its write is durable, with its own result, or the commit's error.
 * Why not MDB_NOSYNC plus a sync thread and a "synced epoch >= mine" wait:
 * callers block just the same, each still commits its own transaction, and
 * with MDB_WRITEMAP a power loss between NOSYNC commits can corrupt the file
 * (LMDB documents that: the kernel may write the meta page before the
 * pages it points to). The leader keeps LMDB's durability exactly and pays
 * one transaction per batch, not one per write. */
#include "store.h"

#include "group_commit.h"

#include <errno.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define META_COUNTER "counter_hwm"

static const char *const table_names[KB_ST_COUNT] = {
	[KB_ST_SERVICE] = "service",       [KB_ST_MSK] = "msk",   [KB_ST_BOOTSTRAP] = "bootstrap",
	[KB_ST_SUBSCRIBER] = "subscriber", [KB_ST_UE] = "ue",     [KB_ST_SA] = "sa",
	[KB_ST_REG] = "registration",      [KB_ST_META] = "meta", [KB_ST_PUSH] = "push",
};

const char *kb_store_table_name(enum kb_store_table t)
{
	return (unsigned)t < KB_ST_COUNT ? table_names[t] : NULL;
}

enum gc_kind { GC_PUT, GC_DEL };

/* One queued put or del; lives on its caller's stack until done. */
struct gc_op {
	struct kb_gc_op link; /* first: the batch list is of these */
	enum gc_kind kind;
	enum kb_store_table t;
	const void *key, *val;
	size_t klen, vlen;
	int rc; /* the caller's answer, set by the leader */
	bool failed; /* dropped from the batch's transaction */
};

struct lmdb_store {
	struct kb_store base;
	MDB_env *env;
	MDB_dbi dbi[KB_ST_COUNT];
	uint64_t floor;
	pthread_mutex_t grant_lock;
	struct kb_gc gc; /* the put/del queue */
};

struct kb_store_batch {
	struct lmdb_store *s;
	MDB_txn *txn;
};

static struct lmdb_store *ls(struct kb_store *s)
{
	return (struct lmdb_store *)s;
}

static bool table_ok(enum kb_store_table t)
{
	return (unsigned)t < KB_ST_COUNT;
}

static int txn_put_flags(struct lmdb_store *s, MDB_txn *txn, enum kb_store_table t, const void *key,
			 size_t klen, const void *val, size_t vlen, unsigned flags)
{
	MDB_val k = {.mv_size = klen, .mv_data = (void *)key};
	MDB_val v = {.mv_size = vlen, .mv_data = (void *)val};
	if (!table_ok(t) || klen == 0 || klen > 511)
		return KB_STORE_ERR;
	int rc = mdb_put(txn, s->dbi[t], &k, &v, flags);
	/* MDB_APPEND refuses a key that is not the greatest: an ordinary put */
	if (rc == MDB_KEYEXIST && (flags & MDB_APPEND) != 0)
		rc = mdb_put(txn, s->dbi[t], &k, &v, flags & ~(unsigned)MDB_APPEND);
	if (rc != 0) {
		fprintf(stderr, "store: put %s: %s\n", table_names[t], mdb_strerror(rc));
		return KB_STORE_ERR;
	}
	return 0;
}

static int txn_put(struct lmdb_store *s, MDB_txn *txn, enum kb_store_table t, const void *key,
		   size_t klen, const void *val, size_t vlen)
{
	return txn_put_flags(s, txn, t, key, klen, val, vlen, 0);
}

static int txn_get(struct lmdb_store *s, MDB_txn *txn, enum kb_store_table t, const void *key,
		   size_t klen, void *val, size_t cap, size_t *vlen)
{
	MDB_val k = {.mv_size = klen, .mv_data = (void *)key}, v;
	if (!table_ok(t) || klen == 0 || klen > 511)
		return KB_STORE_ERR;
	int rc = mdb_get(txn, s->dbi[t], &k, &v);
	if (rc == MDB_NOTFOUND)
		return KB_STORE_NOTFOUND;
	if (rc != 0)
		return KB_STORE_ERR;
	if (vlen != NULL)
		*vlen = v.mv_size;
	if (val != NULL)
		memcpy(val, v.mv_data, v.mv_size < cap ? v.mv_size : cap);
	return 0;
}

/* Runs one queued operation in the leader's transaction: 0, or
 * KB_STORE_NOTFOUND for a del of nothing (the transaction stays usable), or
 * KB_STORE_ERR (the op must be dropped). */
static int gc_exec(struct lmdb_store *s, MDB_txn *txn, struct gc_op *op)
{
	if (op->kind == GC_PUT)
		return txn_put(s, txn, op->t, op->key, op->klen, op->val, op->vlen);
	MDB_val k = {.mv_size = op->klen, .mv_data = (void *)op->key};
	int rc = mdb_del(txn, s->dbi[op->t], &k, NULL);
	return rc == MDB_NOTFOUND ? KB_STORE_NOTFOUND : rc == 0 ? 0 : KB_STORE_ERR;
}

/* The leader's work: one transaction for the batch. An operation refused
 * inside it (MDB_MAP_FULL...) leaves the transaction unusable: abort, drop
 * that one with its error, run the rest again. A failed begin or commit
 * fails every operation left. */
static void gc_run(void *ctx, struct kb_gc_op *batch)
{
	struct lmdb_store *s = ctx;
	for (;;) {
		MDB_txn *txn;
		struct gc_op *bad = NULL;
		int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
		if (rc != 0) {
			fprintf(stderr, "store: begin: %s\n", mdb_strerror(rc));
			goto fail_all;
		}
		for (struct kb_gc_op *l = batch; l != NULL && bad == NULL; l = l->next) {
			struct gc_op *op = (struct gc_op *)l;
			if (op->failed)
				continue;
			op->rc = gc_exec(s, txn, op);
			if (op->rc == KB_STORE_ERR)
				bad = op;
		}
		if (bad != NULL) {
			mdb_txn_abort(txn);
			bad->failed = true;
			continue;
		}
		rc = mdb_txn_commit(txn);
		if (rc == 0)
			return;
		fprintf(stderr, "store: commit: %s\n", mdb_strerror(rc));
		goto fail_all;
	}
fail_all:
	for (struct kb_gc_op *l = batch; l != NULL; l = l->next) {
		struct gc_op *op = (struct gc_op *)l;
		if (!op->failed)
			op->rc = KB_STORE_ERR;
	}
}

static int gc_submit(struct lmdb_store *s, struct gc_op *op)
{
	op->rc = KB_STORE_ERR;
	op->failed = false;
	kb_gc_submit(&s->gc, &op->link, gc_run, s);
	return op->rc;
}

static int l_put(struct kb_store *base, enum kb_store_table t, const void *key, size_t klen,
		 const void *val, size_t vlen)
{
	struct gc_op op = {
		.kind = GC_PUT, .t = t, .key = key, .klen = klen, .val = val, .vlen = vlen};
	if (!table_ok(t) || klen == 0 || klen > 511)
		return KB_STORE_ERR;
	return gc_submit(ls(base), &op);
}

static int l_del(struct kb_store *base, enum kb_store_table t, const void *key, size_t klen)
{
	struct gc_op op = {.kind = GC_DEL, .t = t, .key = key, .klen = klen};
	if (!table_ok(t) || klen == 0 || klen > 511)
		return KB_STORE_ERR;
	return gc_submit(ls(base), &op);
}

static int l_get(struct kb_store *base, enum kb_store_table t, const void *key, size_t klen,
		 void *val, size_t cap, size_t *vlen)
{
	struct lmdb_store *s = ls(base);
	MDB_txn *txn;
	if (mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn) != 0)
		return KB_STORE_ERR;
	int rc = txn_get(s, txn, t, key, klen, val, cap, vlen);
	mdb_txn_abort(txn);
	return rc;
}

static int l_iterate(struct kb_store *base, enum kb_store_table t, const void *prefix, size_t plen,
		     kb_store_iter_fn fn, void *arg)
{
	struct lmdb_store *s = ls(base);
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k = {.mv_size = plen, .mv_data = (void *)prefix}, v;
	int ret = 0;
	if (!table_ok(t))
		return KB_STORE_ERR;
	if (mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn) != 0)
		return KB_STORE_ERR;
	if (mdb_cursor_open(txn, s->dbi[t], &cur) != 0) {
		mdb_txn_abort(txn);
		return KB_STORE_ERR;
	}
	int rc = plen > 0 ? mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE)
			  : mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	while (rc == 0) {
		if (plen > 0 && (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0))
			break;
		ret = fn(arg, k.mv_data, k.mv_size, v.mv_data, v.mv_size);
		if (ret != 0)
			break;
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	if (rc != 0 && rc != MDB_NOTFOUND)
		ret = KB_STORE_ERR;
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return ret;
}

static uint64_t l_count(struct kb_store *base, enum kb_store_table t)
{
	struct lmdb_store *s = ls(base);
	MDB_txn *txn;
	MDB_stat st;
	if (!table_ok(t) || mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn) != 0)
		return 0;
	int rc = mdb_stat(txn, s->dbi[t], &st);
	mdb_txn_abort(txn);
	return rc == 0 ? st.ms_entries : 0;
}

static struct kb_store_batch *l_batch_begin(struct kb_store *base)
{
	struct kb_store_batch *b = calloc(1, sizeof(*b));
	if (b == NULL)
		return NULL;
	b->s = ls(base);
	if (mdb_txn_begin(b->s->env, NULL, 0, &b->txn) != 0) {
		free(b);
		return NULL;
	}
	return b;
}

static int l_batch_put(struct kb_store_batch *b, enum kb_store_table t, const void *key,
		       size_t klen, const void *val, size_t vlen)
{
	return txn_put(b->s, b->txn, t, key, klen, val, vlen);
}

static int l_batch_put_ordered(struct kb_store_batch *b, enum kb_store_table t, const void *key,
			       size_t klen, const void *val, size_t vlen)
{
	return txn_put_flags(b->s, b->txn, t, key, klen, val, vlen, MDB_APPEND);
}

static int l_last_key(struct kb_store *base, enum kb_store_table t, void *key, size_t cap,
		      size_t *klen)
{
	struct lmdb_store *s = ls(base);
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	int ret = KB_STORE_ERR;
	if (!table_ok(t) || mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn) != 0)
		return KB_STORE_ERR;
	if (mdb_cursor_open(txn, s->dbi[t], &cur) == 0) {
		int rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
		if (rc == MDB_NOTFOUND) {
			ret = KB_STORE_NOTFOUND;
		} else if (rc == 0) {
			memcpy(key, k.mv_data, k.mv_size < cap ? k.mv_size : cap);
			*klen = k.mv_size;
			ret = 0;
		}
		mdb_cursor_close(cur);
	}
	mdb_txn_abort(txn);
	return ret;
}

static int l_batch_get(struct kb_store_batch *b, enum kb_store_table t, const void *key,
		       size_t klen, void *val, size_t cap, size_t *vlen)
{
	return txn_get(b->s, b->txn, t, key, klen, val, cap, vlen);
}

static int l_batch_del(struct kb_store_batch *b, enum kb_store_table t, const void *key,
		       size_t klen)
{
	MDB_val k = {.mv_size = klen, .mv_data = (void *)key};
	if (!table_ok(t) || klen == 0 || klen > 511)
		return KB_STORE_ERR;
	int rc = mdb_del(b->txn, b->s->dbi[t], &k, NULL);
	if (rc == MDB_NOTFOUND)
		return KB_STORE_NOTFOUND;
	return rc == 0 ? 0 : KB_STORE_ERR;
}

static int l_batch_commit(struct kb_store_batch *b)
{
	int rc = mdb_txn_commit(b->txn);
	if (rc != 0)
		fprintf(stderr, "store: commit: %s\n", mdb_strerror(rc));
	free(b);
	return rc == 0 ? 0 : KB_STORE_ERR;
}

static void l_batch_abort(struct kb_store_batch *b)
{
	mdb_txn_abort(b->txn);
	free(b);
}

static uint64_t read_counter(struct lmdb_store *s, MDB_txn *txn)
{
	uint64_t h = 0;
	size_t len = 0;
	if (txn_get(s, txn, KB_ST_META, META_COUNTER, strlen(META_COUNTER), &h, sizeof(h), &len) !=
		    0 ||
	    len != sizeof(h))
		return 0;
	return h;
}

static uint64_t l_counter_grant(struct kb_store *base, uint64_t want)
{
	struct lmdb_store *s = ls(base);
	MDB_txn *txn;
	uint64_t h;
	pthread_mutex_lock(&s->grant_lock);
	if (mdb_txn_begin(s->env, NULL, 0, &txn) != 0)
		goto fail;
	h = read_counter(s, txn);
	if (want <= h) {
		/* already persisted: nothing to write */
		mdb_txn_abort(txn);
		pthread_mutex_unlock(&s->grant_lock);
		return h;
	}
	h = want;
	if (txn_put(s, txn, KB_ST_META, META_COUNTER, strlen(META_COUNTER), &h, sizeof(h)) != 0) {
		mdb_txn_abort(txn);
		goto fail;
	}
	/* mdb_txn_commit fsyncs: H is durable before anyone may use it */
	if (mdb_txn_commit(txn) != 0)
		goto fail;
	pthread_mutex_unlock(&s->grant_lock);
	return h;
fail:
	pthread_mutex_unlock(&s->grant_lock);
	return 0;
}

static uint64_t l_counter_floor(struct kb_store *base)
{
	return ls(base)->floor;
}

static void l_close(struct kb_store *base)
{
	struct lmdb_store *s = ls(base);
	if (s == NULL)
		return;
	mdb_env_close(s->env);
	pthread_mutex_destroy(&s->grant_lock);
	pthread_mutex_destroy(&s->gc.lock);
	pthread_cond_destroy(&s->gc.cond);
	free(s);
}

static const struct kb_store_ops lmdb_ops = {
	.put = l_put,
	.get = l_get,
	.del = l_del,
	.iterate = l_iterate,
	.count = l_count,
	.batch_begin = l_batch_begin,
	.batch_put = l_batch_put,
	.batch_get = l_batch_get,
	.batch_del = l_batch_del,
	.batch_put_ordered = l_batch_put_ordered,
	.last_key = l_last_key,
	.batch_commit = l_batch_commit,
	.batch_abort = l_batch_abort,
	.counter_grant = l_counter_grant,
	.counter_floor = l_counter_floor,
	.close = l_close,
};

struct kb_store *kb_store_lmdb_open(const char *path, size_t map_size, char *err, size_t errlen)
{
	struct lmdb_store *s = calloc(1, sizeof(*s));
	MDB_txn *txn = NULL;
	int rc;
	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->base.ops = &lmdb_ops;
	pthread_mutex_init(&s->grant_lock, NULL);
	pthread_mutex_init(&s->gc.lock, NULL);
	pthread_cond_init(&s->gc.cond, NULL);
	if (mkdir(path, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "mkdir %s: %s", path, strerror(errno));
		goto fail;
	}
	rc = mdb_env_create(&s->env);
	if (rc == 0)
		rc = mdb_env_set_maxdbs(s->env, KB_ST_COUNT);
	if (rc == 0)
		rc = mdb_env_set_mapsize(s->env, map_size != 0 ? map_size : (size_t)8 << 30);
	if (rc == 0)
		rc = mdb_env_set_maxreaders(s->env, 256);
	/* the store holds MUKs and MSKs: owner-only file modes. MDB_WRITEMAP:
	 * a transaction writes its pages in place in the map and commit
	 * msyncs them (still durable at return) instead of copying and
	 * pwriting every dirty page, which is most of a bulk batch's cost.
	 * The file is as large as the map, sparse. */
	if (rc == 0)
		rc = mdb_env_open(s->env, path, MDB_NOTLS | MDB_WRITEMAP, 0600);
	if (rc != 0) {
		snprintf(err, errlen, "lmdb open %s: %s", path, mdb_strerror(rc));
		goto fail;
	}
	rc = mdb_txn_begin(s->env, NULL, 0, &txn);
	for (int t = 0; rc == 0 && t < KB_ST_COUNT; t++)
		rc = mdb_dbi_open(txn, table_names[t], MDB_CREATE, &s->dbi[t]);
	if (rc != 0) {
		snprintf(err, errlen, "lmdb tables: %s", mdb_strerror(rc));
		goto fail;
	}
	s->floor = read_counter(s, txn);
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0) {
		snprintf(err, errlen, "lmdb commit: %s", mdb_strerror(rc));
		goto fail;
	}
	return &s->base;
fail:
	if (txn != NULL)
		mdb_txn_abort(txn);
	if (s->env != NULL)
		mdb_env_close(s->env);
	pthread_mutex_destroy(&s->grant_lock);
	pthread_mutex_destroy(&s->gc.lock);
	pthread_cond_destroy(&s->gc.cond);
	free(s);
	return NULL;
}

static uint64_t grantor_grant(struct kb_counter_grantor *g, uint64_t want)
{
	struct kb_store *s = g->ctx;
	return s->ops->counter_grant(s, want);
}

static uint64_t grantor_floor(struct kb_counter_grantor *g)
{
	struct kb_store *s = g->ctx;
	return s->ops->counter_floor(s);
}

void kb_store_counter_grantor(struct kb_store *s, struct kb_counter_grantor *g)
{
	g->grant = grantor_grant;
	g->floor = grantor_floor;
	g->ctx = s;
}
