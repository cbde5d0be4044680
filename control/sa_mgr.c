/* SA creation (PROFILE.md "Security association"): when a UE's MUK becomes
 * known, pick a unique csb_id and a random RAND, persist the SA, then build
 * the record (transport keys derived once) and publish it through the hook.
 * Persist first: a crash in between is repaired by the rebuild at start. */
#include "ctl_internal.h"

#include "util/be.h"
#include "util/secret.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

int kb_ctl_new_csb_id(struct kb_ctl *c, struct kb_store_batch *b, uint32_t *csb_id)
{
	for (int tries = 0; tries < 64; tries++) {
		uint32_t id;
		uint8_t key[4];
		int rc;
		if (RAND_bytes((uint8_t *)&id, sizeof(id)) != 1)
			return -1;
		if (id == 0)
			continue;
		kb_put32(key, id);
		rc = b != NULL ? c->st->ops->batch_get(b, KB_ST_SA, key, 4, NULL, 0, NULL)
			       : c->st->ops->get(c->st, KB_ST_SA, key, 4, NULL, 0, NULL);
		if (rc == KB_STORE_NOTFOUND) {
			*csb_id = id;
			return 0;
		}
		if (rc != 0)
			return -1;
	}
	return -1;
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

int kb_ctl_ensure_sa(struct kb_ctl *c, const struct kb_bootstrap *b, const struct kb_ue_addr *addr,
		     uint16_t key_group, uint32_t *csb_id)
{
	struct kb_rec_ue ue;
	struct kb_rec_sa sa;
	struct kb_store_batch *batch = NULL;
	size_t len = 0;
	uint8_t key[4], oldkey[4];
	uint32_t old = 0;
	int rc;
	if (strlen(b->btid) > KB_SA_ID_MAX)
		return -1;
	pthread_mutex_lock(&c->writer);
	rc = c->st->ops->get(c->st, KB_ST_UE, b->impi, strlen(b->impi), &ue, sizeof(ue), &len);
	if (rc == 0 && len == sizeof(ue) && strcmp(ue.btid, b->btid) == 0 &&
	    addr_equal(&ue.addr, addr)) {
		kb_put32(key, ue.csb_id);
		size_t sl = 0;
		if (c->st->ops->get(c->st, KB_ST_SA, key, 4, &sa, sizeof(sa), &sl) == 0 &&
		    sl == sizeof(sa) && (key_group == 0 || sa.key_group == key_group)) {
			*csb_id = ue.csb_id;
			kb_memzero(&sa, sizeof(sa));
			pthread_mutex_unlock(&c->writer);
			return 0;
		}
	}
	if (rc == 0 && len == sizeof(ue)) {
		old = ue.csb_id;
		/* a new SA for the same MUK keeps the key group it had */
		if (key_group == 0) {
			kb_put32(oldkey, old);
			size_t sl = 0;
			if (c->st->ops->get(c->st, KB_ST_SA, oldkey, 4, &sa, sizeof(sa), &sl) ==
				    0 &&
			    sl == sizeof(sa))
				key_group = sa.key_group;
		}
	}
	memset(&sa, 0, sizeof(sa));
	sa.version = KB_REC_VERSION;
	memcpy(sa.muk, b->muk, sizeof(sa.muk));
	if (RAND_bytes(sa.rand, sizeof(sa.rand)) != 1)
		goto fail;
	/* the idr travels in every MSK message and must fit the SA record */
	if (strlen(b->btid) >= sizeof(sa.idr))
		goto fail;
	memcpy(sa.idr, b->btid, strlen(b->btid) + 1);
	snprintf(sa.impi, sizeof(sa.impi), "%s", b->impi);
	sa.key_group = key_group;
	sa.addr = *addr;
	sa.created = kb_ctl_now();
	sa.muk_expires = b->expires;

	batch = c->st->ops->batch_begin(c->st);
	if (batch == NULL || kb_ctl_new_csb_id(c, batch, csb_id) != 0)
		goto fail;
	memset(&ue, 0, sizeof(ue));
	ue.version = KB_REC_VERSION;
	snprintf(ue.btid, sizeof(ue.btid), "%s", b->btid);
	ue.csb_id = *csb_id;
	ue.addr = *addr;
	ue.updated = sa.created;
	kb_put32(key, *csb_id);
	if (c->st->ops->batch_put(batch, KB_ST_SA, key, 4, &sa, sizeof(sa)) != 0 ||
	    c->st->ops->batch_put(batch, KB_ST_UE, b->impi, strlen(b->impi), &ue, sizeof(ue)) != 0)
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
	pthread_mutex_unlock(&c->writer);
	return 0;
fail:
	if (batch != NULL)
		c->st->ops->batch_abort(batch);
	kb_memzero(&sa, sizeof(sa));
	pthread_mutex_unlock(&c->writer);
	return -1;
}

struct rebuild_ctx {
	struct kb_ctl *c;
	uint64_t n, failed;
};

static int rebuild_one(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
	struct rebuild_ctx *r = arg;
	struct kb_rec_sa sa;
	if (klen != 4 || vlen != sizeof(sa)) {
		r->failed++;
		return 0;
	}
	memcpy(&sa, val, sizeof(sa));
	if (kb_ctl_publish_stored_sa(r->c, kb_be32(key), &sa) == 0)
		r->n++;
	else
		r->failed++;
	kb_memzero(&sa, sizeof(sa));
	return 0;
}

int kb_ctl_rebuild_keytable(struct kb_ctl *c, uint64_t *n)
{
	struct rebuild_ctx r = {.c = c};
	pthread_mutex_lock(&c->writer);
	int rc = c->st->ops->iterate(c->st, KB_ST_SA, NULL, 0, rebuild_one, &r);
	pthread_mutex_unlock(&c->writer);
	*n = r.n;
	if (r.failed != 0)
		fprintf(stderr, "control: %llu stored SAs could not be published\n",
			(unsigned long long)r.failed);
	return rc < 0 ? -1 : 0;
}
