/* The UE index on glib's GHashTable (socket mode and unit tests). The B-TID
 * keys live in one array indexed by row, and the table points into it, so
 * 10M UEs cost one allocation for the keys instead of 10M small ones. */
#include "ue_index.h"

#include <errno.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>

struct glib_index {
	GHashTable *btid; /* key: pointer into keys[], value: row + 1 */
	GHashTable *csb; /* key: GUINT_TO_POINTER(csb_id), value: row + 1 */
	uint8_t *keys; /* n_rows * KB_UE_BTID_KEY_LEN */
	uint32_t n_rows;
};

/* the keys are already SHA-256 output: any 4 bytes are a good hash */
static guint btid_hash(gconstpointer k)
{
	guint h;
	memcpy(&h, k, sizeof(h));
	return h;
}

static gboolean btid_equal(gconstpointer a, gconstpointer b)
{
	return memcmp(a, b, KB_UE_BTID_KEY_LEN) == 0;
}

static int add_btid(void *ctx, const uint8_t key[KB_UE_BTID_KEY_LEN], uint32_t row)
{
	struct glib_index *g = ctx;
	if (row >= g->n_rows)
		return -ENOSPC;
	if (g_hash_table_contains(g->btid, key))
		return -EEXIST;
	uint8_t *slot = g->keys + (size_t)row * KB_UE_BTID_KEY_LEN;
	memcpy(slot, key, KB_UE_BTID_KEY_LEN);
	g_hash_table_insert(g->btid, slot, GUINT_TO_POINTER(row + 1));
	return 0;
}

static uint32_t find_btid(void *ctx, const uint8_t key[KB_UE_BTID_KEY_LEN])
{
	struct glib_index *g = ctx;
	guint v = GPOINTER_TO_UINT(g_hash_table_lookup(g->btid, key));
	return v == 0 ? KB_UE_ROW_NONE : v - 1;
}

static int set_csb(void *ctx, uint32_t csb_id, uint32_t row)
{
	struct glib_index *g = ctx;
	g_hash_table_insert(g->csb, GUINT_TO_POINTER(csb_id), GUINT_TO_POINTER(row + 1));
	return 0;
}

static uint32_t find_csb(void *ctx, uint32_t csb_id)
{
	struct glib_index *g = ctx;
	guint v = GPOINTER_TO_UINT(g_hash_table_lookup(g->csb, GUINT_TO_POINTER(csb_id)));
	return v == 0 ? KB_UE_ROW_NONE : v - 1;
}

static void del_csb(void *ctx, uint32_t csb_id)
{
	struct glib_index *g = ctx;
	g_hash_table_remove(g->csb, GUINT_TO_POINTER(csb_id));
}

static void index_free(void *ctx)
{
	struct glib_index *g = ctx;
	if (g == NULL)
		return;
	if (g->btid != NULL)
		g_hash_table_destroy(g->btid);
	if (g->csb != NULL)
		g_hash_table_destroy(g->csb);
	free(g->keys);
	free(g);
}

static const struct kb_ue_index_ops glib_ops = {
	.add_btid = add_btid,
	.find_btid = find_btid,
	.set_csb = set_csb,
	.find_csb = find_csb,
	.del_csb = del_csb,
	.free = index_free,
};

int kb_ue_index_glib(struct kb_ue_index *idx, uint32_t n_rows)
{
	struct glib_index *g = calloc(1, sizeof(*g));
	if (g == NULL)
		return -1;
	g->n_rows = n_rows;
	g->keys = malloc((size_t)(n_rows ? n_rows : 1) * KB_UE_BTID_KEY_LEN);
	g->btid = g_hash_table_new(btid_hash, btid_equal);
	g->csb = g_hash_table_new(g_direct_hash, g_direct_equal);
	if (g->keys == NULL || g->btid == NULL || g->csb == NULL) {
		index_free(g);
		return -1;
	}
	idx->ops = &glib_ops;
	idx->ctx = g;
	return 0;
}
