/* Shared key-source helpers and the "records" source (admin-provisioned
 * bootstraps in the store). */
#include "keysource.h"

#include "store.h"
#include "util/secret.h"

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
