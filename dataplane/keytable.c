/* The lock-free key table (ARCHITECTURE.md decision 2): rte_hash with
 * RW_CONCURRENCY_LF maps csb_id -> record pointer; records are immutable
 * once published. Two reclamation paths, both through the same QSBR
 * variable:
 *  - delete: the hash's own defer queue (rte_hash_rcu_qsbr_add, DQ mode)
 *    frees the key slot after a grace period and hands us the record
 *    (free_key_data_func), which we wipe and free;
 *  - replace: rte_hash_add_key_data swaps the data pointer in place and
 *    tells no one about the old one, so we retire it through our own
 *    rte_rcu_qsbr_dq. */
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

/* replaced records waiting for a grace period; when full, the writer waits
 * one out (a replacement storm is rare and the writer may block) */
#define RETIRE_QUEUE_MAX 65536u

/* names: DPDK builds ring and memzone names from them (~27 bytes max) */
#define NAME_KEEP 8

struct kb_keytable {
	struct rte_hash *h;
	struct rte_rcu_qsbr *v;
	struct rte_rcu_qsbr_dq *dq; /* replaced records */
	uint32_t capacity;
	uint32_t dq_size;
	uint32_t live; /* writer-only count: rte_hash_count includes deferred slots */
	int socket_id;
};

static void record_free(struct kb_sa_record *rec)
{
	if (rec == NULL)
		return;
	kb_memzero(rec, sizeof(*rec));
	rte_free(rec);
}

/* from the hash's defer queue, after a deleted key's grace period */
static void on_deleted(void *p, void *key_data)
{
	(void)p;
	record_free(key_data);
}

/* from our defer queue, after a replaced record's grace period */
static void on_replaced(void *p, void *e, unsigned n)
{
	struct kb_sa_record *const *recs = e;

	(void)p;
	for (unsigned i = 0; i < n; i++)
		record_free(recs[i]);
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
	t->dq_size = capacity < RETIRE_QUEUE_MAX ? capacity : RETIRE_QUEUE_MAX;
	t->socket_id = socket_id;

	qsize = rte_rcu_qsbr_get_memsize(n_readers);
	t->v = rte_zmalloc_socket("kb_keytable_qsbr", qsize, RTE_CACHE_LINE_SIZE, socket_id);
	if (t->v == NULL || rte_rcu_qsbr_init(t->v, n_readers) != 0)
		goto fail;

	snprintf(hname, sizeof(hname), "k%.*s", NAME_KEEP, name);
	struct rte_hash_parameters hp = {
		.name = hname,
		/* slack: deleted keys hold their slot until their grace period
		 * ends; the capacity itself is enforced with t->live */
		.entries = capacity + capacity / 4 + 8,
		.key_len = sizeof(uint32_t),
		.hash_func = rte_hash_crc,
		.socket_id = socket_id,
		/* the extendable table: no insert fails below the entry count */
		.extra_flag =
			RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF | RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};
	t->h = rte_hash_create(&hp);
	if (t->h == NULL)
		goto fail;
	struct rte_hash_rcu_config hc = {
		.v = t->v,
		.mode = RTE_HASH_QSBR_MODE_DQ,
		.free_key_data_func = on_deleted,
		.key_data_ptr = t,
	};
	if (rte_hash_rcu_qsbr_add(t->h, &hc) != 0)
		goto fail;

	snprintf(dqname, sizeof(dqname), "kr%.*s", NAME_KEEP, name);
	struct rte_rcu_qsbr_dq_parameters dp = {
		.name = dqname,
		.flags = RTE_RCU_QSBR_DQ_MT_UNSAFE, /* single writer */
		.size = t->dq_size,
		.esize = sizeof(struct kb_sa_record *),
		/* retire() reclaims before every enqueue */
		.trigger_reclaim_limit = t->dq_size + 1,
		.max_reclaim_size = t->dq_size,
		.free_fn = on_replaced,
		.p = t,
		.v = t->v,
	};
	t->dq = rte_rcu_qsbr_dq_create(&dp);
	if (t->dq == NULL)
		goto fail;
	return t;
fail:
	fprintf(stderr, "kb_keytable_create(%s): %s\n", name, rte_strerror(rte_errno));
	rte_hash_free(t->h);
	rte_free(t->v);
	rte_free(t);
	return NULL;
}

/* Readers must have stopped (unregistered or offline) before this. */
void kb_keytable_free(struct kb_keytable *t)
{
	const void *key;
	void *data;
	uint32_t next = 0;

	if (t == NULL)
		return;
	while (rte_hash_iterate(t->h, &key, &data, &next) >= 0)
		record_free(data);
	/* deletes pending in the hash's queue are freed by rte_hash_free */
	rte_hash_free(t->h);
	if (rte_rcu_qsbr_dq_delete(t->dq) != 0)
		fprintf(stderr, "kb_keytable_free: records still pending (readers online?)\n");
	rte_free(t->v);
	rte_free(t);
}

struct rte_rcu_qsbr *kb_keytable_qsbr(struct kb_keytable *t)
{
	return t->v;
}

/* Hand an unpublished record back to the readers' grace period. */
static void retire(struct kb_keytable *t, struct kb_sa_record *old)
{
	unsigned pending = 0;

	rte_rcu_qsbr_dq_reclaim(t->dq, t->dq_size, NULL, &pending, NULL);
	if (pending >= t->dq_size) {
		/* full: a reader is slow (descheduled, say). Wait out a grace
		 * period here, the writer is the control plane and may block */
		rte_rcu_qsbr_synchronize(t->v, RTE_QSBR_THRID_INVALID);
		rte_rcu_qsbr_dq_reclaim(t->dq, ~0u, NULL, NULL, NULL);
	}
	if (rte_rcu_qsbr_dq_enqueue(t->dq, &old) == 0)
		return;
	rte_rcu_qsbr_synchronize(t->v, RTE_QSBR_THRID_INVALID);
	record_free(old);
}

int kb_keytable_publish(struct kb_keytable *t, const struct kb_sa_record *rec)
{
	struct kb_sa_record *fresh;
	void *old = NULL;
	uint32_t key;
	int ret;

	if (t == NULL || rec == NULL || rec->csb_id == 0)
		return -EINVAL;
	key = rec->csb_id;
	if (rte_hash_lookup_data(t->h, &key, &old) < 0)
		old = NULL;
	if (old == NULL && t->live >= t->capacity)
		return -ENOSPC;

	fresh = rte_malloc_socket("kb_sa_record", sizeof(*fresh), RTE_CACHE_LINE_SIZE,
				  t->socket_id);
	if (fresh == NULL)
		return -ENOMEM;
	/* complete before publication: the hash's release store of the data
	 * pointer orders these bytes before it */
	memcpy(fresh, rec, sizeof(*fresh));
	ret = rte_hash_add_key_data(t->h, &key, fresh);
	if (ret == -ENOSPC && old == NULL) {
		/* below capacity, so the free key slots are all waiting in
		 * the hash's defer queue for slow readers: wait out one grace
		 * period (the writer may block) and retry; the add reclaims */
		rte_rcu_qsbr_synchronize(t->v, RTE_QSBR_THRID_INVALID);
		ret = rte_hash_add_key_data(t->h, &key, fresh);
	}
	if (ret != 0) {
		record_free(fresh);
		return ret;
	}
	if (old != NULL)
		retire(t, old);
	else
		t->live++;
	return 0;
}

int kb_keytable_delete(struct kb_keytable *t, uint32_t csb_id)
{
	int32_t pos;

	if (t == NULL)
		return -EINVAL;
	pos = rte_hash_del_key(t->h, &csb_id);
	if (pos < 0)
		return pos;
	t->live--;
	return 0;
}

void kb_keytable_reclaim(struct kb_keytable *t)
{
	/* 22.11 has no public reclaim for the hash's own queue: it reclaims
	 * when a delete enqueues and when an add finds no free slot */
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
