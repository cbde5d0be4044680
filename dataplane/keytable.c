/* The lock-free key table (ARCHITECTURE.md decision 2): rte_hash with
 * RW_CONCURRENCY_LF maps csb_id -> record pointer; records are immutable
 * once published.
 *
 * Records come from a pool allocated once at creation (one rte_malloc of
 * capacity + retire-queue slots, cache-line strided), handed out by the
 * single writer from a free list or a bump index: publish is O(1), with no
 * allocator walk and no per-record malloc header, and pages are touched
 * only as records are first used.
 *
 * Reclamation: one QSBR defer queue for both paths. The hash runs without
 * its internal RCU, so with RW_CONCURRENCY_LF a delete unlinks the key but
 * keeps its key slot (NO_FREE_ON_DEL is implied); the queue entry carries
 * the record and, for a delete, that slot, which goes back to the hash with
 * rte_hash_free_key_with_position after the grace period. A replacement
 * (rte_hash_add_key_data swaps the data pointer in place) retires the old
 * record the same way with no slot. Because the writer owns the queue, it
 * can always force a reclaim when the pool or the key slots run out. */
#include "keytable.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "util/secret.h"

/* retired records waiting for a grace period; when full, the writer waits
 * one out (a replacement or delete storm is rare and the writer may block) */
#define RETIRE_QUEUE_MAX 65536u

/* names: DPDK builds ring and memzone names from them (~27 bytes max) */
#define NAME_KEEP 8

#define POOL_END UINT32_MAX /* end of the free list */
#define NO_SLOT (-1) /* a replaced record: its key slot stays in use */

/* one defer-queue entry (a multiple of 4 bytes, as the queue wants) */
struct retired {
	uint32_t rec; /* pool index */
	int32_t slot; /* the deleted key's slot, or NO_SLOT */
};

struct kb_keytable {
	struct rte_hash *h;
	struct rte_rcu_qsbr *v;
	struct rte_rcu_qsbr_dq *dq;
	uint32_t capacity;
	uint32_t dq_size;
	uint32_t live; /* writer-only count of published keys */
	int socket_id;
	/* the record pool: writer-only state */
	uint8_t *pool;
	size_t stride;
	uint32_t pool_n; /* records in the pool */
	uint32_t pool_used; /* records [0, pool_used) have been handed out once */
	uint32_t free_head; /* recycled records, linked through their first bytes */
};

static inline struct kb_sa_record *rec_at(const struct kb_keytable *t, uint32_t i)
{
	return (struct kb_sa_record *)(t->pool + (size_t)i * t->stride);
}

static inline uint32_t rec_index(const struct kb_keytable *t, const struct kb_sa_record *r)
{
	return (uint32_t)(((const uint8_t *)r - t->pool) / t->stride);
}

static struct kb_sa_record *rec_alloc(struct kb_keytable *t)
{
	uint32_t i;

	if (t->free_head != POOL_END) {
		i = t->free_head;
		memcpy(&t->free_head, rec_at(t, i), sizeof(t->free_head));
	} else if (t->pool_used < t->pool_n) {
		i = t->pool_used++;
	} else {
		return NULL;
	}
	return rec_at(t, i);
}

/* Wipe (key material) and put back on the free list. */
static void rec_free(struct kb_keytable *t, uint32_t i)
{
	struct kb_sa_record *r = rec_at(t, i);

	kb_memzero(r, sizeof(*r));
	memcpy(r, &t->free_head, sizeof(t->free_head));
	t->free_head = i;
}

/* from the defer queue, after a grace period: the writer's own thread
 * (enqueue, reclaim and delete all run there) */
static void on_retired(void *p, void *e, unsigned n)
{
	struct kb_keytable *t = p;
	const struct retired *r = e;

	for (unsigned k = 0; k < n; k++) {
		if (r[k].slot != NO_SLOT)
			rte_hash_free_key_with_position(t->h, r[k].slot);
		rec_free(t, r[k].rec);
	}
}

/* Key slots and records are both bounded by capacity + the retire queue;
 * the bucket array gets 25% more room so that the cuckoo insert of the
 * last key into a full table finds a place without extendable buckets
 * (rte_hash rounds the bucket count up to a power of two). */
static uint32_t hash_entries(uint32_t capacity, uint32_t dq_size)
{
	uint64_t n = (uint64_t)capacity + dq_size;

	n += n / 4 + 8;
	return n > RTE_HASH_ENTRIES_MAX ? RTE_HASH_ENTRIES_MAX : (uint32_t)n;
}

static uint32_t retire_queue_size(uint32_t capacity)
{
	return capacity < RETIRE_QUEUE_MAX ? capacity : RETIRE_QUEUE_MAX;
}

static size_t record_stride(void)
{
	return RTE_ALIGN_CEIL(sizeof(struct kb_sa_record), RTE_CACHE_LINE_SIZE);
}

size_t kb_keytable_memsize(uint32_t capacity)
{
	uint32_t dq = retire_queue_size(capacity);
	uint64_t slots = rte_align64pow2(hash_entries(capacity, dq));

	/* pool, buckets (64 bytes per 8 entries), key store (16 bytes per
	 * entry), the free-slot ring, the defer queue (entry + token) */
	return ((size_t)capacity + dq + 1) * record_stride() + slots * 8 +
	       (size_t)hash_entries(capacity, dq) * 16 + slots * 4 +
	       rte_align64pow2(dq + 1) * (sizeof(struct retired) + 8);
}

struct kb_keytable *kb_keytable_create(const char *name, uint32_t capacity, unsigned n_readers,
				       int socket_id)
{
	char hname[RTE_HASH_NAMESIZE], dqname[RTE_RCU_QSBR_DQ_NAMESIZE];
	struct kb_keytable *t;
	size_t qsize;

	if (name == NULL || capacity == 0 || capacity > RTE_HASH_ENTRIES_MAX / 2 || n_readers == 0)
		return NULL;
	t = rte_zmalloc_socket("kb_keytable", sizeof(*t), RTE_CACHE_LINE_SIZE, socket_id);
	if (t == NULL)
		return NULL;
	t->capacity = capacity;
	t->dq_size = retire_queue_size(capacity);
	t->socket_id = socket_id;

	/* live records + retired ones + the one being built for a publish */
	t->stride = record_stride();
	t->pool_n = capacity + t->dq_size + 1;
	t->free_head = POOL_END;
	/* not zeroed: every record is written whole before it is published,
	 * and untouched pages stay out of the RSS until used */
	t->pool = rte_malloc_socket("kb_sa_pool", (size_t)t->pool_n * t->stride,
				    RTE_CACHE_LINE_SIZE, socket_id);
	if (t->pool == NULL)
		goto fail;

	qsize = rte_rcu_qsbr_get_memsize(n_readers);
	t->v = rte_zmalloc_socket("kb_keytable_qsbr", qsize, RTE_CACHE_LINE_SIZE, socket_id);
	if (t->v == NULL || rte_rcu_qsbr_init(t->v, n_readers) != 0)
		goto fail;

	snprintf(hname, sizeof(hname), "k%.*s", NAME_KEEP, name);
	struct rte_hash_parameters hp = {
		.name = hname,
		.entries = hash_entries(capacity, t->dq_size),
		.key_len = sizeof(uint32_t),
		/* CRC32-C, one instruction for a 4-byte key; csb_ids are
		 * already mixed (roster_load.h), so any decent hash spreads */
		.hash_func = rte_hash_crc,
		.socket_id = socket_id,
		/* no internal RCU (rte_hash_rcu_qsbr_add): deletes keep their
		 * key slot until our defer queue frees it */
		.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF,
	};
	t->h = rte_hash_create(&hp);
	if (t->h == NULL)
		goto fail;

	snprintf(dqname, sizeof(dqname), "kr%.*s", NAME_KEEP, name);
	struct rte_rcu_qsbr_dq_parameters dp = {
		.name = dqname,
		.flags = RTE_RCU_QSBR_DQ_MT_UNSAFE, /* single writer */
		.size = t->dq_size,
		.esize = sizeof(struct retired),
		/* retire() reclaims before every enqueue */
		.trigger_reclaim_limit = t->dq_size + 1,
		.max_reclaim_size = t->dq_size,
		.free_fn = on_retired,
		.p = t,
		.v = t->v,
	};
	t->dq = rte_rcu_qsbr_dq_create(&dp);
	if (t->dq == NULL)
		goto fail;
	return t;
fail:
	/* the usual cause at scale: -m or the hugepages are too small */
	fprintf(stderr,
		"kb_keytable_create(%s, %u): %s (the table needs %.0f MiB of DPDK memory: -m, "
		"hugepages)\n",
		name, capacity, rte_strerror(rte_errno),
		(double)kb_keytable_memsize(capacity) / 1048576);
	rte_hash_free(t->h);
	rte_free(t->v);
	rte_free(t->pool);
	rte_free(t);
	return NULL;
}

/* Readers must have stopped (unregistered or offline) before this. */
void kb_keytable_free(struct kb_keytable *t)
{
	if (t == NULL)
		return;
	/* the queue first: its free function returns key slots to the hash */
	if (rte_rcu_qsbr_dq_delete(t->dq) != 0)
		fprintf(stderr, "kb_keytable_free: records still pending (readers online?)\n");
	rte_hash_free(t->h);
	/* live and retired records alike: only what was ever handed out */
	kb_memzero(t->pool, (size_t)t->pool_used * t->stride);
	rte_free(t->pool);
	rte_free(t->v);
	rte_free(t);
}

struct rte_rcu_qsbr *kb_keytable_qsbr(struct kb_keytable *t)
{
	return t->v;
}

/* Wait out one grace period and reclaim everything retired before it. The
 * writer is the control plane and may block; readers that are offline or
 * unregistered do not hold it up. */
static void drain(struct kb_keytable *t)
{
	rte_rcu_qsbr_synchronize(t->v, RTE_QSBR_THRID_INVALID);
	rte_rcu_qsbr_dq_reclaim(t->dq, ~0u, NULL, NULL, NULL);
}

/* Hand an unpublished record (and a deleted key's slot) to the readers'
 * grace period. */
static void retire(struct kb_keytable *t, struct kb_sa_record *old, int32_t slot)
{
	struct retired e = {rec_index(t, old), slot};
	unsigned pending = 0;

	rte_rcu_qsbr_dq_reclaim(t->dq, t->dq_size, NULL, &pending, NULL);
	/* full: a reader is slow (descheduled, say) */
	if (pending >= t->dq_size)
		drain(t);
	if (rte_rcu_qsbr_dq_enqueue(t->dq, &e) == 0)
		return;
	rte_rcu_qsbr_synchronize(t->v, RTE_QSBR_THRID_INVALID);
	on_retired(t, &e, 1);
}

int kb_keytable_publish(struct kb_keytable *t, const struct kb_sa_record *rec)
{
	struct kb_sa_record *fresh;
	void *old = NULL;
	uint32_t key;
	hash_sig_t sig;
	int ret;

	if (t == NULL || rec == NULL || rec->csb_id == 0)
		return -EINVAL;
	key = rec->csb_id;
	sig = rte_hash_hash(t->h, &key);
	if (rte_hash_lookup_with_hash_data(t->h, &key, sig, &old) < 0)
		old = NULL;
	if (old == NULL && t->live >= t->capacity)
		return -ENOSPC;

	fresh = rec_alloc(t);
	if (fresh == NULL) {
		/* every spare record is waiting for a grace period */
		drain(t);
		fresh = rec_alloc(t);
		if (fresh == NULL)
			return -ENOMEM;
	}
	/* complete before publication: the hash's release store of the data
	 * pointer orders these bytes before it */
	memcpy(fresh, rec, sizeof(*fresh));
	ret = rte_hash_add_key_with_hash_data(t->h, &key, sig, fresh);
	if (ret == -ENOSPC && old == NULL) {
		/* below capacity, so free key slots are waiting in the defer
		 * queue for slow readers: drain it and retry */
		drain(t);
		ret = rte_hash_add_key_with_hash_data(t->h, &key, sig, fresh);
	}
	if (ret != 0) {
		rec_free(t, rec_index(t, fresh));
		return ret;
	}
	if (old != NULL)
		retire(t, old, NO_SLOT);
	else
		t->live++;
	return 0;
}

int kb_keytable_delete(struct kb_keytable *t, uint32_t csb_id)
{
	void *old = NULL;
	hash_sig_t sig;
	int32_t slot;

	if (t == NULL)
		return -EINVAL;
	sig = rte_hash_hash(t->h, &csb_id);
	if (rte_hash_lookup_with_hash_data(t->h, &csb_id, sig, &old) < 0)
		return -ENOENT;
	slot = rte_hash_del_key_with_hash(t->h, &csb_id, sig);
	if (slot < 0)
		return slot;
	t->live--;
	retire(t, old, slot);
	return 0;
}

void kb_keytable_reclaim(struct kb_keytable *t)
{
	rte_rcu_qsbr_dq_reclaim(t->dq, t->dq_size, NULL, NULL, NULL);
}

uint32_t kb_keytable_count(const struct kb_keytable *t)
{
	return t->live;
}

unsigned kb_keytable_lookup_bulk(const struct kb_keytable *t, const uint32_t *csb_ids, unsigned n,
				 const struct kb_sa_record **out)
{
	const void *keys[RTE_HASH_LOOKUP_BULK_MAX];
	void *data[RTE_HASH_LOOKUP_BULK_MAX];
	uint64_t hits = 0;
	int found;

	if (n > RTE_HASH_LOOKUP_BULK_MAX)
		n = RTE_HASH_LOOKUP_BULK_MAX;
	if (n == 0)
		return 0;
	for (unsigned i = 0; i < n; i++)
		keys[i] = &csb_ids[i];
	found = rte_hash_lookup_bulk_data(t->h, keys, n, &hits, data);
	for (unsigned i = 0; i < n; i++)
		out[i] = (hits >> i) & 1 ? data[i] : NULL;
	return found > 0 ? (unsigned)found : 0;
}
