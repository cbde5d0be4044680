/* Shared key-source helpers, the "records" source (admin-provisioned
 * bootstraps in the store) and the per-thread lookup cache. */
#include "keysource.h"

#include "store.h"
#include "util/secret.h"

#include <openssl/lhash.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void kb_bootstrap_wipe(struct kb_bootstrap *b)
{
	kb_memzero(b, sizeof(*b));
}

bool kb_bootstrap_usable(const struct kb_bootstrap *b, int64_t now, bool for_solicited_pull)
{
	if (for_solicited_pull)
		return true;
	return now < b->expires;
}

int kb_bootstrap_from_record(const struct kb_rec_bootstrap *rec, const char *btid,
			     const struct kb_naf_ctx *naf, struct kb_bootstrap *out)
{
	uint8_t naf_id[KB_GBA_NAF_ID_MAX];
	uint8_t ext[KB_GBA_KEY_LEN], in[KB_GBA_KEY_LEN];
	int rc = KB_KS_ERR;
	memset(out, 0, sizeof(*out));
	if (strlen(btid) >= sizeof(out->btid) || rec->impi[KB_IMPI_MAX - 1] != '\0')
		return KB_KS_ERR;
	snprintf(out->btid, sizeof(out->btid), "%s", btid);
	memcpy(out->impi, rec->impi, sizeof(out->impi));
	memcpy(out->rand, rec->rand, sizeof(out->rand));
	out->mode = rec->mode == KB_GBA_U ? KB_GBA_U : KB_GBA_ME;
	out->expires = rec->expires;
	if (rec->has_ks) {
		long n = kb_gba_naf_id(naf->fqdn, kb_gba_ua_mbms, naf_id, sizeof(naf_id));
		if (n < 0 || kb_gba_naf_key(rec->ks, KB_GBA_KS_EXT_NAF, rec->rand, rec->impi,
					    naf_id, (size_t)n, ext) != 0)
			goto out;
		if (out->mode == KB_GBA_U && kb_gba_naf_key(rec->ks, KB_GBA_KS_INT_NAF, rec->rand,
							    rec->impi, naf_id, (size_t)n, in) != 0)
			goto out;
	} else {
		memcpy(ext, rec->ks_ext_naf, sizeof(ext));
		memcpy(in, rec->ks_int_naf, sizeof(in));
	}
	if (kb_gba_mbms_keys(out->mode, ext, out->mode == KB_GBA_U ? in : NULL, naf->mrk_fn,
			     out->muk, out->mrk) != 0)
		goto out;
	rc = KB_KS_FOUND;
out:
	kb_memzero(ext, sizeof(ext));
	kb_memzero(in, sizeof(in));
	if (rc != KB_KS_FOUND)
		kb_bootstrap_wipe(out);
	return rc;
}

struct records_src {
	struct kb_keysource base;
	struct kb_store *st;
	char fqdn[KB_GBA_FQDN_MAX + 1];
	struct kb_naf_ctx naf;
};

static int records_lookup(struct kb_keysource *src, const char *btid, struct kb_bootstrap *out)
{
	struct records_src *r = src->ctx;
	struct kb_rec_bootstrap rec;
	uint8_t val[sizeof(rec)];
	size_t len = 0;
	int rc =
		r->st->ops->get(r->st, KB_ST_BOOTSTRAP, btid, strlen(btid), val, sizeof(val), &len);
	if (rc == KB_STORE_NOTFOUND)
		return KB_KS_UNKNOWN;
	if (rc != 0 || len > sizeof(val) || kb_rec_bootstrap_decode(val, len, &rec) != 0) {
		kb_memzero(val, sizeof(val));
		kb_memzero(&rec, sizeof(rec));
		return KB_KS_ERR;
	}
	kb_memzero(val, sizeof(val));
	rc = kb_bootstrap_from_record(&rec, btid, &r->naf, out);
	kb_memzero(&rec, sizeof(rec));
	return rc;
}

static void records_free(struct kb_keysource *src)
{
	free(src);
}

struct kb_keysource *kb_keysource_records(struct kb_store *st, const struct kb_naf_ctx *naf)
{
	struct records_src *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	snprintf(r->fqdn, sizeof(r->fqdn), "%s", naf->fqdn);
	r->naf.fqdn = r->fqdn;
	r->naf.mrk_fn = naf->mrk_fn;
	r->st = st;
	r->base.name = "records";
	r->base.lookup = records_lookup;
	r->base.free = records_free;
	r->base.ctx = r;
	return &r->base;
}

/* ---- the per-thread lookup cache --------------------------------------- */

struct ks_entry {
	bool used;
	uint64_t gen; /* kb_ks_cache_invalidate generation it was filled in */
	int64_t until; /* TTL end */
	uint64_t stamp; /* LRU within the set */
	uint32_t ha1_mask; /* bit per algorithm whose HA1 is cached */
	struct kb_bootstrap b;
	char ha1[KB_DIGEST_ALG_COUNT][KB_DIGEST_HEX_MAX];
};

struct ks_cache {
	uint64_t clock;
	struct ks_entry e[KB_KS_CACHE_SETS][KB_KS_CACHE_WAYS];
};

static atomic_uint_fast64_t cache_gen = 1;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;
static pthread_key_t cache_key;
static bool cache_key_ok;
/* heap, not a _Thread_local array: every thread of the process (lcores
 * included) would carry it otherwise */
static _Thread_local struct ks_cache *tcache;

static void cache_free(void *p)
{
	kb_memzero(p, sizeof(struct ks_cache));
	free(p);
}

static void cache_init(void)
{
	cache_key_ok = pthread_key_create(&cache_key, cache_free) == 0;
}

static struct ks_cache *cache_get(bool create)
{
	if (tcache != NULL || !create)
		return tcache;
	pthread_once(&cache_once, cache_init);
	if (!cache_key_ok)
		return NULL;
	struct ks_cache *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	if (pthread_setspecific(cache_key, c) != 0) {
		free(c);
		return NULL;
	}
	tcache = c;
	return c;
}

static void entry_wipe(struct ks_entry *e)
{
	kb_memzero(e, sizeof(*e));
}

static struct ks_entry *cache_set(struct ks_cache *c, const char *btid)
{
	return c->e[OPENSSL_LH_strhash(btid) % KB_KS_CACHE_SETS];
}

/* The live entry for btid, or NULL (a stale one is wiped on the way). */
static struct ks_entry *cache_find(struct ks_cache *c, const char *btid, int64_t now)
{
	struct ks_entry *set = cache_set(c, btid);
	uint64_t gen = atomic_load_explicit(&cache_gen, memory_order_acquire);
	for (int i = 0; i < KB_KS_CACHE_WAYS; i++) {
		struct ks_entry *e = &set[i];
		if (!e->used || strcmp(e->b.btid, btid) != 0)
			continue;
		if (e->gen != gen || now >= e->until || !kb_bootstrap_usable(&e->b, now, false)) {
			entry_wipe(e);
			return NULL;
		}
		return e;
	}
	return NULL;
}

bool kb_ks_cache_get(const char *btid, int64_t now, struct kb_bootstrap *out,
		     enum kb_digest_alg alg, char *ha1_hex)
{
	struct ks_cache *c = cache_get(false);
	struct ks_entry *e = c != NULL ? cache_find(c, btid, now) : NULL;
	if (ha1_hex != NULL)
		ha1_hex[0] = '\0';
	if (e == NULL)
		return false;
	e->stamp = ++c->clock;
	*out = e->b;
	if (ha1_hex != NULL && (unsigned)alg < KB_DIGEST_ALG_COUNT &&
	    (e->ha1_mask & (1u << alg)) != 0)
		memcpy(ha1_hex, e->ha1[alg], KB_DIGEST_HEX_MAX);
	return true;
}

void kb_ks_cache_put(const struct kb_bootstrap *b, int64_t now)
{
	if (!kb_bootstrap_usable(b, now, false) ||
	    strnlen(b->btid, sizeof(b->btid)) == sizeof(b->btid))
		return;
	struct ks_cache *c = cache_get(true);
	if (c == NULL)
		return;
	struct ks_entry *e = cache_find(c, b->btid, now);
	if (e == NULL) {
		struct ks_entry *set = cache_set(c, b->btid);
		e = &set[0];
		for (int i = 0; i < KB_KS_CACHE_WAYS; i++) {
			if (!set[i].used) {
				e = &set[i];
				break;
			}
			if (set[i].stamp < e->stamp)
				e = &set[i];
		}
	}
	entry_wipe(e); /* the evicted entry's keys, or the old copy's */
	e->used = true;
	e->gen = atomic_load_explicit(&cache_gen, memory_order_acquire);
	e->until = now + KB_KS_CACHE_TTL;
	e->stamp = ++c->clock;
	e->b = *b;
}

void kb_ks_cache_put_ha1(const char *btid, enum kb_digest_alg alg, const char *ha1_hex)
{
	struct ks_cache *c = cache_get(false);
	if (c == NULL || (unsigned)alg >= KB_DIGEST_ALG_COUNT ||
	    strnlen(ha1_hex, KB_DIGEST_HEX_MAX) == KB_DIGEST_HEX_MAX)
		return;
	struct ks_entry *set = cache_set(c, btid);
	for (int i = 0; i < KB_KS_CACHE_WAYS; i++) {
		if (set[i].used && strcmp(set[i].b.btid, btid) == 0) {
			snprintf(set[i].ha1[alg], KB_DIGEST_HEX_MAX, "%s", ha1_hex);
			set[i].ha1_mask |= 1u << alg;
			return;
		}
	}
}

void kb_ks_cache_invalidate(void)
{
	atomic_fetch_add_explicit(&cache_gen, 1, memory_order_acq_rel);
}

void kb_ks_cache_clear(void)
{
	struct ks_cache *c = cache_get(false);
	if (c != NULL)
		kb_memzero(c, sizeof(*c));
}
