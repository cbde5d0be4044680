#include "ue_index_rte.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>

struct rte_index {
	struct rte_hash *btid;
	struct rte_hash *csb;
};

static int add_btid(void *ctx, const uint8_t key[KB_UE_BTID_KEY_LEN], uint32_t row)
{
	struct rte_index *x = ctx;
	if (rte_hash_lookup(x->btid, key) >= 0)
		return -EEXIST;
	return rte_hash_add_key_data(x->btid, key, (void *)(uintptr_t)row);
}

static uint32_t find(struct rte_hash *h, const void *key)
{
	void *data;
	if (rte_hash_lookup_data(h, key, &data) < 0)
		return KB_UE_ROW_NONE;
	return (uint32_t)(uintptr_t)data;
}

static uint32_t find_btid(void *ctx, const uint8_t key[KB_UE_BTID_KEY_LEN])
{
	return find(((struct rte_index *)ctx)->btid, key);
}

static int set_csb(void *ctx, uint32_t csb_id, uint32_t row)
{
	return rte_hash_add_key_data(((struct rte_index *)ctx)->csb, &csb_id,
				     (void *)(uintptr_t)row);
}

static uint32_t find_csb(void *ctx, uint32_t csb_id)
{
	return find(((struct rte_index *)ctx)->csb, &csb_id);
}

static void find_csb_bulk(void *ctx, const uint32_t *csb_ids, unsigned n, uint32_t *rows)
{
	struct rte_index *x = ctx;
	const void *keys[KB_UE_INDEX_BULK_MAX];
	void *data[KB_UE_INDEX_BULK_MAX];
	uint64_t hits = 0;
	for (unsigned i = 0; i < n; i++)
		keys[i] = &csb_ids[i];
	if (n == 0 || rte_hash_lookup_bulk_data(x->csb, keys, n, &hits, data) < 0) {
		for (unsigned i = 0; i < n; i++)
			rows[i] = find_csb(ctx, csb_ids[i]);
		return;
	}
	for (unsigned i = 0; i < n; i++)
		rows[i] = (hits >> i & 1) ? (uint32_t)(uintptr_t)data[i] : KB_UE_ROW_NONE;
}

static void del_csb(void *ctx, uint32_t csb_id)
{
	rte_hash_del_key(((struct rte_index *)ctx)->csb, &csb_id);
}

static void index_free(void *ctx)
{
	struct rte_index *x = ctx;
	if (x == NULL)
		return;
	rte_hash_free(x->btid);
	rte_hash_free(x->csb);
	free(x);
}

static const struct kb_ue_index_ops rte_ops = {
	.add_btid = add_btid,
	.find_btid = find_btid,
	.set_csb = set_csb,
	.find_csb = find_csb,
	.del_csb = del_csb,
	.free = index_free,
	.find_csb_bulk = find_csb_bulk,
};

static struct rte_hash *make(const char *name, uint32_t entries, uint32_t key_len)
{
	struct rte_hash_parameters p = {
		.name = name,
		.entries = entries < 64 ? 64 : entries,
		.key_len = key_len,
		.hash_func = rte_hash_crc,
		.socket_id = SOCKET_ID_ANY,
		.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};
	struct rte_hash *h = rte_hash_create(&p);
	if (h == NULL)
		fprintf(stderr, "uesim: rte_hash_create %s (%u entries): %s\n", name, p.entries,
			rte_strerror(rte_errno));
	return h;
}

int kb_ue_index_rte(struct kb_ue_index *idx, uint32_t n_rows)
{
	struct rte_index *x = calloc(1, sizeof(*x));
	if (x == NULL)
		return -1;
	x->btid = make("uesim_btid", n_rows, KB_UE_BTID_KEY_LEN);
	x->csb = make("uesim_csb", n_rows, sizeof(uint32_t));
	if (x->btid == NULL || x->csb == NULL) {
		index_free(x);
		return -1;
	}
	idx->ops = &rte_ops;
	idx->ctx = x;
	return 0;
}
