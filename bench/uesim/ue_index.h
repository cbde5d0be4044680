/* The two lookups a UE simulator needs, behind one interface so that the
 * pure-C UE model does not care which hash table serves them: rte_hash in
 * DPDK mode (ue_index_rte.c), glib's GHashTable in socket mode and in the
 * unit tests (ue_index_glib.c).
 *   B-TID key -> roster row   (filled once, when the roster is loaded)
 *   csb_id    -> roster row   (learned from the first message of each SA)
 * A B-TID key is the first KB_UE_BTID_KEY_LEN bytes of SHA-256(B-TID): fixed
 * length for rte_hash, and 16 bytes instead of a 60-byte string per UE. */
#ifndef KB_UE_INDEX_H
#define KB_UE_INDEX_H

#include <stddef.h>
#include <stdint.h>

#define KB_UE_BTID_KEY_LEN 16
#define KB_UE_ROW_NONE UINT32_MAX

struct kb_ue_index_ops {
	/* -EEXIST if the key is already there (a duplicate B-TID), -ENOSPC, 0 */
	int (*add_btid)(void *ctx, const uint8_t key[KB_UE_BTID_KEY_LEN], uint32_t row);
	uint32_t (*find_btid)(void *ctx, const uint8_t key[KB_UE_BTID_KEY_LEN]);
	/* add or replace */
	int (*set_csb)(void *ctx, uint32_t csb_id, uint32_t row);
	uint32_t (*find_csb)(void *ctx, uint32_t csb_id);
	void (*del_csb)(void *ctx, uint32_t csb_id);
	void (*free)(void *ctx);
	/* optional: rows[i] = find_csb(csb_ids[i]) for n <= KB_UE_INDEX_BULK_MAX
	 * ids at once (rte_hash prefetches the buckets of the whole burst) */
	void (*find_csb_bulk)(void *ctx, const uint32_t *csb_ids, unsigned n, uint32_t *rows);
};

#define KB_UE_INDEX_BULK_MAX 64

struct kb_ue_index {
	const struct kb_ue_index_ops *ops;
	void *ctx;
};

/* find_csb for n <= KB_UE_INDEX_BULK_MAX ids: in bulk when the index can,
 * else one by one. */
void kb_ue_index_find_csb_bulk(const struct kb_ue_index *idx, const uint32_t *csb_ids, unsigned n,
			       uint32_t *rows);

/* SHA-256(B-TID) truncated: the key both tables use. */
void kb_ue_btid_key(const uint8_t *btid, size_t len, uint8_t key[KB_UE_BTID_KEY_LEN]);

/* A fast 32-bit hash of a B-TID (not cryptographic): a UE compares it with
 * the IDr of a message for an SA it knows, which costs a few ns where
 * kb_ue_btid_key costs a SHA-256. */
uint32_t kb_ue_btid_tag(const uint8_t *btid, size_t len);

/* GHashTable-backed index for n_rows UEs. 0 or -1. */
int kb_ue_index_glib(struct kb_ue_index *idx, uint32_t n_rows);

#endif
