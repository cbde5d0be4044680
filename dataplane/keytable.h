/* Lock-free key table: csb_id -> SA record (rte_hash RW_CONCURRENCY_LF).
 * Single writer (the control plane); readers are dataplane lcores that
 * report quiescent states to an rte_rcu_qsbr variable once per loop. The
 * writer copies a record into a slot of a pool sized at creation, publishes
 * it, and retires the old one (or a deleted one) through a QSBR defer queue;
 * retired records are wiped and reused. */
#ifndef KB_KEYTABLE_H
#define KB_KEYTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "sa.h"

struct rte_rcu_qsbr;
struct kb_keytable;

/* capacity: max live SAs; n_readers: reader threads that will register. */
struct kb_keytable *kb_keytable_create(const char *name, uint32_t capacity, unsigned n_readers,
				       int socket_id);
void kb_keytable_free(struct kb_keytable *t);
/* Bytes of DPDK memory a table of this capacity takes (records, hash,
 * queues), for sizing -m or hugepages. */
size_t kb_keytable_memsize(uint32_t capacity);
struct rte_rcu_qsbr *kb_keytable_qsbr(struct kb_keytable *t);

/* Writer API (one thread only). publish adds or replaces; delete removes.
 * Both return 0 or a negative errno (-ENOSPC when full). */
int kb_keytable_publish(struct kb_keytable *t, const struct kb_sa_record *rec);
int kb_keytable_delete(struct kb_keytable *t, uint32_t csb_id);
/* Reclaim what readers no longer see (call from the writer now and then). */
void kb_keytable_reclaim(struct kb_keytable *t);
uint32_t kb_keytable_count(const struct kb_keytable *t);

/* Reader API (registered lcores): bulk lookup of n <= 64 csb_ids. out[i] is
 * the record or NULL. Returns the number found. Records stay valid until the
 * reader's next quiescent-state report (rte_rcu_qsbr_quiescent). */
unsigned kb_keytable_lookup_bulk(const struct kb_keytable *t, const uint32_t *csb_ids, unsigned n,
				 const struct kb_sa_record **out);

#endif
