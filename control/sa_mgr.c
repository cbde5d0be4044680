/* SA creation (PROFILE.md "Security association"): when a UE's MUK becomes
 * known, pick a unique csb_id and a random RAND, persist the SA, then build
 * the record (transport keys derived once) and publish it through the hook.
 * Persist first: a crash in between is repaired by the rebuild at start. */
#include "sa_mgr.h"

#include "group_commit.h"
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

static int decode_sa(const uint8_t *val, size_t len, struct kb_rec_sa *sa)
{
	return len <= KB_REC_ENC_MAX && kb_rec_sa_decode(val, len, sa) == 0 ? 0 : -1;
}

static int get_sa(struct kb_ctl *c, uint32_t csb, struct kb_rec_sa *sa)
{
	uint8_t key[4], val[KB_REC_ENC_MAX];
	size_t len = 0;
	kb_put32(key, csb);
	int rc = c->st->ops->get(c->st, KB_ST_SA, key, 4, val, sizeof(val), &len);
	if (rc == 0)
		rc = decode_sa(val, len, sa);
	kb_memzero(val, sizeof(val));
	return rc;
}

static int get_sa_in(struct kb_ctl *c, struct kb_store_batch *bt, uint32_t csb,
		     struct kb_rec_sa *sa)
{
	uint8_t key[4], val[KB_REC_ENC_MAX];
	size_t len = 0;
	kb_put32(key, csb);
	int rc = c->st->ops->batch_get(bt, KB_ST_SA, key, 4, val, sizeof(val), &len);
	if (rc == 0)
		rc = decode_sa(val, len, sa);
	kb_memzero(val, sizeof(val));
	return rc;
}

static bool get_ue(struct kb_ctl *c, struct kb_store_batch *bt, const char *impi,
		   struct kb_rec_ue *ue)
{
	uint8_t val[KB_REC_ENC_MAX];
	size_t len = 0;
	int rc = bt != NULL ? c->st->ops->batch_get(bt, KB_ST_UE, impi, strlen(impi), val,
						    sizeof(val), &len)
			    : c->st->ops->get(c->st, KB_ST_UE, impi, strlen(impi), val, sizeof(val),
					      &len);
	return rc == 0 && len <= sizeof(val) && kb_rec_ue_decode(val, len, ue) == 0;
}

/* Registrations are group-committed here, not through the store's put
 * queue: the SA must be committed and published under the writer lock,
 * like imports and rollovers (which read the SA table under it and expect
 * what is stored to be published). The leader takes the writer lock, runs
 * every queued registration in one write transaction (each decides on its
 * SA from what the transaction sees, so two registrations of one UE in one
 * batch chain), commits (durable), publishes in queue order, unlocks and
 * wakes the others. Followers wait without the lock. */
struct reg_txn {
	struct kb_gc_op link; /* first: the batch list is of these */
	const struct kb_bootstrap *b;
	const struct kb_ue_addr *addr;
	uint16_t key_group;
	bool with_sa;
	const struct kb_ctl_reg_put *regs;
	size_t n;
	struct kb_rec_sa sa; /* prepared, but for the key group */
	uint32_t csb, old; /* out: the UE's SA, the one it replaced (0: none) */
	bool created;
	bool failed; /* dropped from the batch's transaction */
	int rc;
};

static struct kb_gc reg_gc = KB_GC_INIT;

static int reg_txn_fn(struct kb_ctl *c, struct kb_store_batch *bt, struct reg_txn *x)
{
	const struct kb_store_ops *ops = c->st->ops;
	const char *impi = x->b->impi;
	struct kb_rec_ue ue;
	struct kb_rec_sa cur;
	uint8_t key[4], val[KB_REC_ENC_MAX];
	uint16_t group = x->key_group;
	size_t vl;
	int rc = -1;
	x->created = false;
	x->old = 0;
	for (size_t i = 0; i < x->n; i++)
		if (ops->batch_put(bt, KB_ST_REG, x->regs[i].key, x->regs[i].klen, x->regs[i].val,
				   x->regs[i].vlen) != 0)
			goto out;
	if (!x->with_sa) {
		rc = 0;
		goto out;
	}
	bool have_ue = get_ue(c, bt, impi, &ue);
	if (have_ue && strcmp(ue.btid, x->b->btid) == 0 && addr_equal(&ue.addr, x->addr) &&
	    get_sa_in(c, bt, ue.csb_id, &cur) == 0 && (group == 0 || cur.key_group == group)) {
		x->csb = ue.csb_id;
		rc = 0;
		goto out;
	}
	if (have_ue) {
		x->old = ue.csb_id;
		/* a new SA for the same MUK keeps the key group it had */
		if (group == 0 && get_sa_in(c, bt, x->old, &cur) == 0)
			group = cur.key_group;
	}
	x->sa.key_group = group;
	if (kb_ctl_csb_reserve(c, 1, &x->csb) != 0)
		goto out;
	memset(&ue, 0, sizeof(ue));
	ue.version = KB_REC_COMPACT;
	snprintf(ue.btid, sizeof(ue.btid), "%s", x->b->btid);
	ue.csb_id = x->csb;
	ue.addr = *x->addr;
	ue.updated = x->sa.created;
	kb_put32(key, x->csb);
	vl = kb_rec_sa_encode(&x->sa, val, sizeof(val));
	if (vl == 0 || ops->batch_put_ordered(bt, KB_ST_SA, key, 4, val, vl) != 0)
		goto out;
	vl = kb_rec_ue_encode(&ue, val, sizeof(val));
	if (vl == 0 || ops->batch_put(bt, KB_ST_UE, impi, strlen(impi), val, vl) != 0)
		goto out;
	if (x->old != 0) {
		/* the UE re-bootstrapped or moved: the old SA goes, atomically */
		kb_put32(key, x->old);
		if (ops->batch_del(bt, KB_ST_SA, key, 4) < 0)
			goto out;
	}
	x->created = true;
	rc = 0;
out:
	kb_memzero(&cur, sizeof(cur));
	kb_memzero(val, sizeof(val));
	return rc;
}

/* The leader's work. A registration failing inside the transaction may
 * have written part of itself: abort, drop it (its caller gets the error),
 * run the others again. A failed begin or commit fails all that are left. */
static void reg_run(void *ctx, struct kb_gc_op *batch)
{
	struct kb_ctl *c = ctx;
	pthread_mutex_lock(&c->writer);
	for (;;) {
		struct reg_txn *bad = NULL;
		struct kb_store_batch *bt = c->st->ops->batch_begin(c->st);
		if (bt == NULL)
			goto fail_all;
		for (struct kb_gc_op *l = batch; l != NULL && bad == NULL; l = l->next) {
			struct reg_txn *x = (struct reg_txn *)l;
			if (x->failed)
				continue;
			x->rc = reg_txn_fn(c, bt, x);
			if (x->rc != 0)
				bad = x;
		}
		if (bad != NULL) {
			c->st->ops->batch_abort(bt);
			bad->failed = true;
			continue;
		}
		if (c->st->ops->batch_commit(bt) != 0)
			goto fail_all;
		break;
	}
	/* durable: publish in commit order, still under the writer lock */
	for (struct kb_gc_op *l = batch; l != NULL; l = l->next) {
		struct reg_txn *x = (struct reg_txn *)l;
		if (x->failed || !x->created)
			continue;
		if (x->old != 0 && c->hooks.delete_sa != NULL)
			c->hooks.delete_sa(c->hooks.ctx, x->old);
		if (kb_ctl_publish_stored_sa(c, x->csb, &x->sa) != 0)
			fprintf(stderr, "control: publishing SA %08x failed\n", x->csb);
		atomic_fetch_add(&c->sas_created, 1);
	}
	pthread_mutex_unlock(&c->writer);
	return;
fail_all:
	for (struct kb_gc_op *l = batch; l != NULL; l = l->next) {
		struct reg_txn *x = (struct reg_txn *)l;
		if (!x->failed)
			x->rc = -1;
	}
	pthread_mutex_unlock(&c->writer);
}

int kb_ctl_register(struct kb_ctl *c, const struct kb_bootstrap *b, const struct kb_ue_addr *addr,
		    uint16_t key_group, bool with_sa, const struct kb_ctl_reg_put *regs, size_t n,
		    uint32_t *csb_id)
{
	struct reg_txn x = {.b = b,
			    .addr = addr,
			    .key_group = key_group,
			    .with_sa = with_sa,
			    .regs = regs,
			    .n = n,
			    .rc = -1};
	if (with_sa) {
		/* the idr travels in every MSK message: refuse what the SA cannot
		 * hold rather than send a truncated identity the UE's MAC would
		 * not match */
		if (strlen(b->btid) >= sizeof(x.sa.idr) || strlen(b->impi) >= sizeof(x.sa.impi))
			return -1;
		x.sa.version = KB_REC_COMPACT;
		memcpy(x.sa.muk, b->muk, sizeof(x.sa.muk));
		if (RAND_bytes(x.sa.rand, sizeof(x.sa.rand)) != 1) {
			kb_memzero(&x.sa, sizeof(x.sa));
			return -1;
		}
		memcpy(x.sa.idr, b->btid, strlen(b->btid) + 1);
		memcpy(x.sa.impi, b->impi, strlen(b->impi) + 1);
		x.sa.addr = *addr;
		x.sa.created = kb_ctl_now();
		x.sa.muk_expires = b->expires;
	}
	/* durable (and the SA published) at return, the commit shared with
	 * the registrations in flight */
	kb_gc_submit(&reg_gc, &x.link, reg_run, c);
	if (x.rc == 0 && with_sa)
		*csb_id = x.csb;
	kb_memzero(&x.sa, sizeof(x.sa));
	return x.rc == 0 ? 0 : -1;
}

int kb_ctl_ensure_sa(struct kb_ctl *c, const struct kb_bootstrap *b, const struct kb_ue_addr *addr,
		     uint16_t key_group, uint32_t *csb_id)
{
	struct kb_rec_ue ue;
	struct kb_rec_sa sa;
	if (strlen(b->btid) > KB_SA_ID_MAX)
		return -1;
	/* the common case, read only: the live SA still fits */
	if (get_ue(c, NULL, b->impi, &ue) && strcmp(ue.btid, b->btid) == 0 &&
	    addr_equal(&ue.addr, addr) && get_sa(c, ue.csb_id, &sa) == 0 &&
	    (key_group == 0 || sa.key_group == key_group)) {
		*csb_id = ue.csb_id;
		kb_memzero(&sa, sizeof(sa));
		return 0;
	}
	kb_memzero(&sa, sizeof(sa));
	return kb_ctl_register(c, b, addr, key_group, true, NULL, 0, csb_id);
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
