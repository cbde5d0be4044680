/* SA creation (PROFILE.md "Security association"): when a UE's MUK becomes
 * known, pick a unique csb_id and a random RAND, persist the SA, then build
 * the record (transport keys derived once) and publish it through the hook.
 * Persist first: a crash in between is repaired by the rebuild at start. */
#include "ctl_internal.h"

#include "par.h"

#include "util/be.h"
#include "util/secret.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int kb_ctl_csb_init(struct kb_ctl *c)
{
	uint8_t key[8];
	size_t kl = 0;
	int rc = c->st->ops->last_key(c->st, KB_ST_SA, key, sizeof(key), &kl);
	if (rc == KB_STORE_ERR)
		return -1;
	c->next_csb = rc == 0 && kl == 4 ? kb_be32(key) + 1 : 1;
	return 0;
}

int kb_ctl_csb_reserve(struct kb_ctl *c, uint32_t n, uint32_t *base)
{
	int rc = -1;
	pthread_mutex_lock(&c->csb_lock);
	/* 0 is never a csb_id; next_csb 0 means the space wrapped */
	if (c->next_csb != 0 && n != 0 && (uint64_t)c->next_csb + n - 1 <= UINT32_MAX) {
		*base = c->next_csb;
		c->next_csb = (uint32_t)((uint64_t)c->next_csb + n);
		rc = 0;
	}
	pthread_mutex_unlock(&c->csb_lock);
	return rc;
}

int kb_ctl_publish_stored_sa(struct kb_ctl *c, uint32_t csb_id, const struct kb_rec_sa *rec)
{
	struct kb_sa_record sa;
	int rc = -1;
	if (c->hooks.sa_build == NULL || c->hooks.publish_sa == NULL)
		return 0;
	if (rec->idr[KB_SA_ID_MAX] != '\0')
		return -1;
	if (c->hooks.sa_build(&sa, rec->muk, sizeof(rec->muk), csb_id, rec->rand, rec->idr,
			      rec->key_group, &rec->addr,
			      c->cfg.n_shards != 0 ? c->cfg.n_shards : 1) != 0)
		goto out;
	rc = c->hooks.publish_sa(c->hooks.ctx, &sa) == 0 ? 0 : -1;
out:
	kb_memzero(&sa, sizeof(sa));
	return rc;
}

static bool addr_equal(const struct kb_ue_addr *a, const struct kb_ue_addr *b)
{
	return a->af == b->af && a->port == b->port && memcmp(a->ip, b->ip, sizeof(a->ip)) == 0;
}

static int get_sa(struct kb_ctl *c, uint32_t csb, struct kb_rec_sa *sa)
{
	uint8_t key[4], val[KB_REC_ENC_MAX];
	size_t len = 0;
	kb_put32(key, csb);
	int rc = c->st->ops->get(c->st, KB_ST_SA, key, 4, val, sizeof(val), &len);
	if (rc == 0 && (len > sizeof(val) || kb_rec_sa_decode(val, len, sa) != 0))
		rc = -1;
	kb_memzero(val, sizeof(val));
	return rc;
}

int kb_ctl_ensure_sa(struct kb_ctl *c, const struct kb_bootstrap *b, const struct kb_ue_addr *addr,
		     uint16_t key_group, uint32_t *csb_id)
{
	struct kb_rec_ue ue;
	struct kb_rec_sa sa;
	struct kb_store_batch *batch = NULL;
	uint8_t key[4], oldkey[4], val[KB_REC_ENC_MAX];
	size_t len = 0, vl;
	uint32_t old = 0;
	bool have_ue;
	int rc;
	if (strlen(b->btid) > KB_SA_ID_MAX)
		return -1;
	pthread_mutex_lock(&c->writer);
	rc = c->st->ops->get(c->st, KB_ST_UE, b->impi, strlen(b->impi), val, sizeof(val), &len);
	have_ue = rc == 0 && len <= sizeof(val) && kb_rec_ue_decode(val, len, &ue) == 0;
	if (have_ue && strcmp(ue.btid, b->btid) == 0 && addr_equal(&ue.addr, addr) &&
	    get_sa(c, ue.csb_id, &sa) == 0 && (key_group == 0 || sa.key_group == key_group)) {
		*csb_id = ue.csb_id;
		kb_memzero(&sa, sizeof(sa));
		pthread_mutex_unlock(&c->writer);
		return 0;
	}
	if (have_ue) {
		old = ue.csb_id;
		/* a new SA for the same MUK keeps the key group it had */
		if (key_group == 0 && get_sa(c, old, &sa) == 0)
			key_group = sa.key_group;
	}
	memset(&sa, 0, sizeof(sa));
	sa.version = KB_REC_COMPACT;
	memcpy(sa.muk, b->muk, sizeof(sa.muk));
	if (RAND_bytes(sa.rand, sizeof(sa.rand)) != 1)
		goto fail;
	/* the idr travels in every MSK message: refuse what the SA cannot hold
	 * rather than send a truncated identity the UE's MAC would not match */
	if (strlen(b->btid) >= sizeof(sa.idr) || strlen(b->impi) >= sizeof(sa.impi))
		goto fail;
	memcpy(sa.idr, b->btid, strlen(b->btid) + 1);
	memcpy(sa.impi, b->impi, strlen(b->impi) + 1);
	sa.key_group = key_group;
	sa.addr = *addr;
	sa.created = kb_ctl_now();
	sa.muk_expires = b->expires;

	if (kb_ctl_csb_reserve(c, 1, csb_id) != 0)
		goto fail;
	batch = c->st->ops->batch_begin(c->st);
	if (batch == NULL)
		goto fail;
	memset(&ue, 0, sizeof(ue));
	ue.version = KB_REC_COMPACT;
	snprintf(ue.btid, sizeof(ue.btid), "%s", b->btid);
	ue.csb_id = *csb_id;
	ue.addr = *addr;
	ue.updated = sa.created;
	kb_put32(key, *csb_id);
	vl = kb_rec_sa_encode(&sa, val, sizeof(val));
	if (vl == 0 || c->st->ops->batch_put_ordered(batch, KB_ST_SA, key, 4, val, vl) != 0)
		goto fail;
	vl = kb_rec_ue_encode(&ue, val, sizeof(val));
	if (vl == 0 ||
	    c->st->ops->batch_put(batch, KB_ST_UE, b->impi, strlen(b->impi), val, vl) != 0)
		goto fail;
	if (old != 0) {
		/* the UE re-bootstrapped or moved: the old SA goes, atomically */
		kb_put32(oldkey, old);
		if (c->st->ops->batch_del(batch, KB_ST_SA, oldkey, 4) < 0)
			goto fail;
	}
	rc = c->st->ops->batch_commit(batch);
	batch = NULL;
	if (rc != 0)
		goto fail;
	if (old != 0) {
		if (c->hooks.delete_sa != NULL)
			c->hooks.delete_sa(c->hooks.ctx, old);
	}
	if (kb_ctl_publish_stored_sa(c, *csb_id, &sa) != 0)
		fprintf(stderr, "control: publishing SA %08x failed\n", *csb_id);
	atomic_fetch_add(&c->sas_created, 1);
	kb_memzero(&sa, sizeof(sa));
	kb_memzero(val, sizeof(val));
	pthread_mutex_unlock(&c->writer);
	return 0;
fail:
	if (batch != NULL)
		c->st->ops->batch_abort(batch);
	kb_memzero(&sa, sizeof(sa));
	kb_memzero(val, sizeof(val));
	pthread_mutex_unlock(&c->writer);
	return -1;
}

/* The rebuild derives the records on the worker pool, a chunk of stored
 * SAs at a time, and publishes them in store order on this thread. */
#define REBUILD_CHUNK 16384

struct rebuild_item {
	struct kb_sa_record rec;
	struct kb_rec_sa sa;
	uint32_t csb;
	int rc;
};

struct rebuild_ctx {
	struct kb_ctl *c;
	struct kb_par *par;
	struct rebuild_item *items;
	size_t n;
	uint64_t published, failed;
};

static void rebuild_derive(void *arg, size_t i)
{
	struct rebuild_ctx *r = arg;
	struct rebuild_item *it = &r->items[i];
	struct kb_ctl *c = r->c;
	it->rc = it->sa.idr[KB_SA_ID_MAX] == '\0'
			 ? c->hooks.sa_build(&it->rec, it->sa.muk, sizeof(it->sa.muk), it->csb,
					     it->sa.rand, it->sa.idr, it->sa.key_group,
					     &it->sa.addr, c->cfg.n_shards)
			 : -1;
}

static void rebuild_flush(struct rebuild_ctx *r)
{
	if (r->par != NULL)
		kb_par_finish(r->par, r->n);
	else
		for (size_t i = 0; i < r->n; i++)
			rebuild_derive(r, i);
	for (size_t i = 0; i < r->n; i++) {
		struct rebuild_item *it = &r->items[i];
		if (it->rc == 0 && r->c->hooks.publish_sa(r->c->hooks.ctx, &it->rec) == 0)
			r->published++;
		else
			r->failed++;
	}
	kb_memzero(r->items, r->n * sizeof(*r->items));
	r->n = 0;
	if (r->par != NULL)
		kb_par_begin(r->par, rebuild_derive, r);
}

static int rebuild_one(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
	struct rebuild_ctx *r = arg;
	struct rebuild_item *it = &r->items[r->n];
	if (klen != 4 || kb_rec_sa_decode(val, vlen, &it->sa) != 0) {
		r->failed++;
		return 0;
	}
	it->csb = kb_be32(key);
	r->n++;
	if (r->par != NULL && r->n % 64 == 0)
		kb_par_avail(r->par, r->n);
	if (r->n == REBUILD_CHUNK)
		rebuild_flush(r);
	return 0;
}

int kb_ctl_rebuild_keytable(struct kb_ctl *c, uint64_t *n)
{
	struct rebuild_ctx r = {.c = c};
	int rc = 0;
	*n = 0;
	if (c->hooks.sa_build == NULL || c->hooks.publish_sa == NULL)
		return 0;
	r.items = aligned_alloc(64, REBUILD_CHUNK * sizeof(*r.items));
	if (r.items == NULL)
		return -1;
	if (c->st->ops->count(c->st, KB_ST_SA) > 256)
		r.par = kb_par_new(c->cfg.import_threads); /* NULL: derive inline */
	if (r.par != NULL)
		kb_par_begin(r.par, rebuild_derive, &r);
	pthread_mutex_lock(&c->writer);
	rc = c->st->ops->iterate(c->st, KB_ST_SA, NULL, 0, rebuild_one, &r);
	rebuild_flush(&r);
	pthread_mutex_unlock(&c->writer);
	kb_par_free(r.par);
	free(r.items);
	*n = r.published;
	if (r.failed != 0)
		fprintf(stderr, "control: %llu stored SAs could not be published\n",
			(unsigned long long)r.failed);
	return rc < 0 ? -1 : 0;
}
