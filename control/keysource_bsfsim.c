/* The BSF simulator: subscribers (IMPI, K, OPc) in the store; a bootstrap
 * picks RAND, and every lookup re-runs MILENAGE on the RAND carried in the
 * B-TID to get Ks = CK ‖ IK, then the NAF keys. The B-TID -> IMPI binding
 * and its expiry are kept in the store's meta table ("bsfsim:" prefix), so
 * they survive a restart like a BSF's would. */
#include "keysource.h"

#include "gba/milenage.h"
#include "store.h"
#include "util/secret.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BSF_PREFIX "bsfsim:"

struct bsf_binding {
	uint8_t version;
	char impi[KB_IMPI_MAX];
	int64_t expires;
};

struct bsfsim_src {
	struct kb_keysource base;
	struct kb_store *st;
	char fqdn[KB_GBA_FQDN_MAX + 1];
	char domain[KB_GBA_FQDN_MAX + 1];
	struct kb_naf_ctx naf;
	uint32_t lifetime;
};

static int binding_key(const char *btid, char *key, size_t cap)
{
	int n = snprintf(key, cap, BSF_PREFIX "%s", btid);
	return n > 0 && (size_t)n < cap ? n : -1;
}

static int bsf_ks(struct bsfsim_src *b, const char *impi, const uint8_t rand[KB_GBA_RAND_LEN],
		  uint8_t ks[KB_GBA_KEY_LEN])
{
	struct kb_rec_subscriber sub;
	struct kb_milenage m = {0};
	uint8_t ck[KB_MILENAGE_CK_LEN], ik[KB_MILENAGE_IK_LEN];
	size_t len = 0;
	int rc = b->st->ops->get(b->st, KB_ST_SUBSCRIBER, impi, strlen(impi), &sub, sizeof(sub),
				 &len);
	if (rc == KB_STORE_NOTFOUND)
		return KB_KS_UNKNOWN;
	if (rc != 0 || len != sizeof(sub))
		return KB_KS_ERR;
	rc = KB_KS_ERR;
	if (kb_milenage_init(&m, sub.k, sub.opc) != 0)
		goto out;
	if (kb_milenage_f2345(&m, rand, NULL, ck, ik, NULL) != 0)
		goto out;
	kb_gba_ks(ck, ik, ks);
	rc = KB_KS_FOUND;
out:
	kb_milenage_clear(&m);
	kb_memzero(&sub, sizeof(sub));
	kb_memzero(ck, sizeof(ck));
	kb_memzero(ik, sizeof(ik));
	return rc;
}

static int bsfsim_lookup(struct kb_keysource *src, const char *btid, struct kb_bootstrap *out)
{
	struct bsfsim_src *b = src->ctx;
	struct bsf_binding bind;
	struct kb_rec_bootstrap rec = {.version = KB_REC_VERSION, .has_ks = 1, .mode = KB_GBA_ME};
	char key[KB_GBA_BTID_MAX + sizeof(BSF_PREFIX)], err[64];
	size_t len = 0;
	int kl = binding_key(btid, key, sizeof(key)), rc;
	if (kl < 0)
		return KB_KS_UNKNOWN;
	rc = b->st->ops->get(b->st, KB_ST_META, key, (size_t)kl, &bind, sizeof(bind), &len);
	if (rc == KB_STORE_NOTFOUND)
		return KB_KS_UNKNOWN;
	if (rc != 0 || len != sizeof(bind) || bind.impi[KB_IMPI_MAX - 1] != '\0')
		return KB_KS_ERR;
	if (kb_gba_btid_parse(btid, rec.rand, NULL, 0, err, sizeof(err)) != 0)
		return KB_KS_UNKNOWN;
	memcpy(rec.impi, bind.impi, sizeof(rec.impi));
	rec.expires = bind.expires;
	rc = bsf_ks(b, bind.impi, rec.rand, rec.ks);
	if (rc == KB_KS_FOUND)
		rc = kb_bootstrap_from_record(&rec, btid, &b->naf, out);
	kb_memzero(&rec, sizeof(rec));
	return rc;
}

int kb_bsfsim_bootstrap(struct kb_keysource *src, const char *impi, const uint8_t *rand_in,
			char btid[KB_GBA_BTID_MAX], uint8_t rand_out[KB_GBA_RAND_LEN])
{
	struct bsfsim_src *b = src->ctx;
	struct bsf_binding bind = {.version = KB_REC_VERSION};
	uint8_t ks[KB_GBA_KEY_LEN];
	char key[KB_GBA_BTID_MAX + sizeof(BSF_PREFIX)];
	int rc, kl;
	if (strlen(impi) >= sizeof(bind.impi))
		return KB_KS_ERR;
	if (rand_in != NULL)
		memcpy(rand_out, rand_in, KB_GBA_RAND_LEN);
	else if (RAND_bytes(rand_out, KB_GBA_RAND_LEN) != 1)
		return KB_KS_ERR;
	/* the subscriber must exist and MILENAGE must run */
	rc = bsf_ks(b, impi, rand_out, ks);
	kb_memzero(ks, sizeof(ks));
	if (rc != KB_KS_FOUND)
		return rc;
	if (kb_gba_btid(rand_out, b->domain, btid, KB_GBA_BTID_MAX) < 0)
		return KB_KS_ERR;
	snprintf(bind.impi, sizeof(bind.impi), "%s", impi);
	bind.expires = (int64_t)time(NULL) + b->lifetime;
	kl = binding_key(btid, key, sizeof(key));
	if (kl < 0 || b->st->ops->put(b->st, KB_ST_META, key, (size_t)kl, &bind, sizeof(bind)) != 0)
		return KB_KS_ERR;
	return KB_KS_FOUND;
}

static void bsfsim_free(struct kb_keysource *src)
{
	free(src->ctx);
}

struct kb_keysource *kb_keysource_bsfsim(struct kb_store *st, const struct kb_naf_ctx *naf,
					 const char *bsf_domain, uint32_t lifetime)
{
	struct bsfsim_src *b = calloc(1, sizeof(*b));
	if (b == NULL)
		return NULL;
	snprintf(b->fqdn, sizeof(b->fqdn), "%s", naf->fqdn);
	snprintf(b->domain, sizeof(b->domain), "%s", bsf_domain);
	b->naf.fqdn = b->fqdn;
	b->naf.mrk_fn = naf->mrk_fn;
	b->st = st;
	b->lifetime = lifetime != 0 ? lifetime : 3600;
	b->base.name = "bsfsim";
	b->base.lookup = bsfsim_lookup;
	b->base.free = bsfsim_free;
	b->base.ctx = b;
	return &b->base;
}
