/* The control plane's durable state behind one interface (ARCHITECTURE.md
 * decision 6): named tables of byte keys and byte values, write batches for
 * bulk imports, and the MIKEY counter high-water mark. LMDB is the embedded
 * engine (store_lmdb.c); a shared engine can implement the same vtable.
 *
 * Values are the records of control/records.h: compact encodings for the
 * per-UE tables, fixed host-order structs for the others (a store file is
 * local to its host). */
#ifndef KB_STORE_H
#define KB_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/counter_grant.h"

enum kb_store_table {
	KB_ST_SERVICE, /* user service id -> struct kb_rec_service */
	KB_ST_MSK, /* domain(3) key group(2) key number(2), big-endian -> kb_rec_msk */
	KB_ST_BOOTSTRAP, /* B-TID -> struct kb_rec_bootstrap (admin-provisioned) */
	KB_ST_SUBSCRIBER, /* IMPI -> struct kb_rec_subscriber (BSF simulator) */
	KB_ST_UE, /* IMPI -> struct kb_rec_ue (current B-TID, SA, address) */
	KB_ST_SA, /* csb_id (4, big-endian) -> struct kb_rec_sa */
	KB_ST_REG, /* IMPI NUL service id -> struct kb_rec_reg */
	KB_ST_META, /* name -> value (counter high-water mark, rollover state) */
	KB_ST_PUSH, /* PAP: initiator id NUL push-id -> struct kb_rec_push ‖ content (pap_api.c) */
	KB_ST_COUNT
};

const char *kb_store_table_name(enum kb_store_table t);

/* Return codes of get/del besides 0. */
#define KB_STORE_NOTFOUND 1
#define KB_STORE_ERR (-1)

/* Called for every entry of an iteration, in key order; return nonzero to
 * stop (iterate then returns that value). */
typedef int (*kb_store_iter_fn)(void *arg, const void *key, size_t klen, const void *val,
				size_t vlen);

struct kb_store;
struct kb_store_batch;

/* put and del are durable at return; concurrent ones from several threads
 * share one transaction and one fsync (group commit, store_lmdb.c). */
struct kb_store_ops {
	int (*put)(struct kb_store *s, enum kb_store_table t, const void *key, size_t klen,
		   const void *val, size_t vlen);
	/* Copies at most cap bytes into val; *vlen gets the stored length.
	 * 0, KB_STORE_NOTFOUND or KB_STORE_ERR. */
	int (*get)(struct kb_store *s, enum kb_store_table t, const void *key, size_t klen,
		   void *val, size_t cap, size_t *vlen);
	int (*del)(struct kb_store *s, enum kb_store_table t, const void *key, size_t klen);
	/* Entries whose key starts with prefix (plen 0: all). Sees one
	 * consistent snapshot. Returns 0, the callback's stop value, or -1. */
	int (*iterate)(struct kb_store *s, enum kb_store_table t, const void *prefix, size_t plen,
		       kb_store_iter_fn fn, void *arg);
	uint64_t (*count)(struct kb_store *s, enum kb_store_table t);

	/* One atomic, durable write transaction for many puts (bulk import).
	 * Other writers wait while a batch is open. */
	struct kb_store_batch *(*batch_begin)(struct kb_store *s);
	int (*batch_put)(struct kb_store_batch *b, enum kb_store_table t, const void *key,
			 size_t klen, const void *val, size_t vlen);
	int (*batch_get)(struct kb_store_batch *b, enum kb_store_table t, const void *key,
			 size_t klen, void *val, size_t cap, size_t *vlen);
	/* 0, KB_STORE_NOTFOUND or KB_STORE_ERR */
	int (*batch_del)(struct kb_store_batch *b, enum kb_store_table t, const void *key,
			 size_t klen);
	/* A put whose key is expected to sort after every key of the table
	 * (sequential csb_ids, a roster sorted by IMPI): appended without a
	 * tree search and with full pages. Falls back to an ordinary put
	 * (replacing an existing value) when the key is not the greatest. */
	int (*batch_put_ordered)(struct kb_store_batch *b, enum kb_store_table t, const void *key,
				 size_t klen, const void *val, size_t vlen);
	/* The greatest key of a table: 0 (key copied, at most cap bytes,
	 * *klen its length), KB_STORE_NOTFOUND if empty, or KB_STORE_ERR. */
	int (*last_key)(struct kb_store *s, enum kb_store_table t, void *key, size_t cap,
			size_t *klen);
	int (*batch_commit)(struct kb_store_batch *b); /* frees b; 0 or -1 */
	void (*batch_abort)(struct kb_store_batch *b);

	/* Counter high-water mark (dataplane/counter_grant.h): persist
	 * max(want, current) durably, then return it; 0 on failure. */
	uint64_t (*counter_grant)(struct kb_store *s, uint64_t want);
	/* The mark persisted when the store was opened (the previous run's). */
	uint64_t (*counter_floor)(struct kb_store *s);

	void (*close)(struct kb_store *s);
};

struct kb_store {
	const struct kb_store_ops *ops;
};

/* Open (creating if needed) an LMDB store in directory `path`.
 * map_size 0: 8 GiB (sparse). NULL with a message in err on failure. */
struct kb_store *kb_store_lmdb_open(const char *path, size_t map_size, char *err, size_t errlen);

/* A kb_counter_grantor backed by the store (grant persists before it
 * returns). g stays valid while the store is open. */
void kb_store_counter_grantor(struct kb_store *s, struct kb_counter_grantor *g);

#endif
