/* MBMS keys from GBA (TS 33.246 §6.1): which NAF key is the MUK, and how
 * the MRK (the HTTP Digest password towards the BM-SC) is obtained. */
#include "gba/gba.h"

#include "util/secret.h"

#include <string.h>

/* Profile default [P]: MRK = KDF(Ks_NAF, FC 0x01, P0 = "MBMS-MRK").
 * A distinct label under the Annex B KDF keeps MRK independent of MUK = Ks_NAF
 * (knowing the Digest password does not give the MIKEY key). */
static int mrk_kdf_mbms_mrk(const uint8_t ks_naf[KB_GBA_KEY_LEN], uint8_t mrk[KB_GBA_KEY_LEN])
{
	static const char label[] = "MBMS-MRK";
	const uint8_t *p[] = {(const uint8_t *)label};
	const size_t l[] = {sizeof(label) - 1};
	return kb_gba_kdf(ks_naf, KB_GBA_KEY_LEN, KB_GBA_FC_NAF, p, l, 1, mrk);
}

/* Interop variant: MRK = Ks_NAF, the plain GBA HTTP Digest password of
 * TS 33.222/TS 24.109, for a peer that does not separate MRK from MUK. */
static int mrk_ks_naf(const uint8_t ks_naf[KB_GBA_KEY_LEN], uint8_t mrk[KB_GBA_KEY_LEN])
{
	memcpy(mrk, ks_naf, KB_GBA_KEY_LEN);
	return 0;
}

static const struct kb_gba_mrk_variant variants[] = {
	{KB_GBA_MRK_DEFAULT, mrk_kdf_mbms_mrk,
	 "MRK = KDF(Ks_NAF, FC 0x01, \"MBMS-MRK\") (profile default)"},
	{"ks-naf", mrk_ks_naf, "MRK = Ks_NAF (interop: MRK and MUK are the same key)"},
};

const struct kb_gba_mrk_variant *kb_gba_mrk_variants(size_t *count)
{
	if (count != NULL)
		*count = sizeof(variants) / sizeof(variants[0]);
	return variants;
}

kb_gba_mrk_fn kb_gba_mrk_lookup(const char *name)
{
	if (name == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++)
		if (strcmp(variants[i].name, name) == 0)
			return variants[i].fn;
	return NULL;
}

int kb_gba_mbms_keys(enum kb_gba_mode mode, const uint8_t ks_ext_naf[KB_GBA_KEY_LEN],
		     const uint8_t *ks_int_naf, kb_gba_mrk_fn mrk_fn, uint8_t muk[KB_GBA_KEY_LEN],
		     uint8_t mrk[KB_GBA_KEY_LEN])
{
	if (ks_ext_naf == NULL || muk == NULL || mrk == NULL)
		return -1;
	int rc = -1;
	switch (mode) {
	case KB_GBA_U:
		if (ks_int_naf == NULL)
			break;
		memcpy(muk, ks_int_naf, KB_GBA_KEY_LEN);
		memcpy(mrk, ks_ext_naf, KB_GBA_KEY_LEN);
		rc = 0;
		break;
	case KB_GBA_ME:
		/* a Ks_int_NAF here means the caller mixed up the modes */
		if (ks_int_naf != NULL)
			break;
		if (mrk_fn == NULL)
			mrk_fn = mrk_kdf_mbms_mrk;
		if (mrk_fn(ks_ext_naf, mrk) != 0)
			break;
		memcpy(muk, ks_ext_naf, KB_GBA_KEY_LEN);
		rc = 0;
		break;
	}
	if (rc != 0) {
		kb_memzero(muk, KB_GBA_KEY_LEN);
		kb_memzero(mrk, KB_GBA_KEY_LEN);
	}
	return rc;
}
