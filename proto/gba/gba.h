/* GBA (TS 33.220): the Annex B KDF, NAF key derivation, NAF_Id, B-TID, and
 * the choice of MBMS keys (MUK, MRK) from the NAF keys (TS 33.246).
 * Pure C on OpenSSL; every buffer that held key material is wiped. */
#ifndef KB_GBA_H
#define KB_GBA_H

#include <stddef.h>
#include <stdint.h>

#define KB_GBA_KEY_LEN 32 /* Ks, Ks_(ext/int)_NAF, MUK, MRK, KDF output */
#define KB_GBA_CK_LEN 16
#define KB_GBA_IK_LEN 16
#define KB_GBA_RAND_LEN 16
#define KB_GBA_UA_ID_LEN 5
#define KB_GBA_FQDN_MAX 255
#define KB_GBA_NAF_ID_MAX (KB_GBA_FQDN_MAX + KB_GBA_UA_ID_LEN)
#define KB_GBA_PARAM_MAX 65535 /* Annex B: every Li is two bytes */
#define KB_GBA_B64_RAND_LEN 24 /* base64 of 16 bytes, with "==" */
/* B-TID text, NUL included: base64(RAND) "@" domain */
#define KB_GBA_BTID_MAX (KB_GBA_B64_RAND_LEN + 1 + KB_GBA_FQDN_MAX + 1)

/* FC of the NAF key derivation (Annex B.3). */
#define KB_GBA_FC_NAF 0x01

/* Ua security protocol identifiers (TS 33.220 Annex H). */
extern const uint8_t kb_gba_ua_mbms[KB_GBA_UA_ID_LEN]; /* 01 00 00 00 01 */
extern const uint8_t kb_gba_ua_http_digest[KB_GBA_UA_ID_LEN]; /* 01 00 00 00 02 */
extern const uint8_t kb_gba_ua_push[KB_GBA_UA_ID_LEN]; /* 01 00 00 00 05 */

/* out = HMAC-SHA-256(key, FC || P0 || L0 || ... || Pn-1 || Ln-1), Li the
 * 2-byte big-endian length of Pi. Returns 0, or -1 if a parameter is longer
 * than 65535 bytes, an argument is NULL, or OpenSSL fails. */
int kb_gba_kdf(const uint8_t *key, size_t key_len, uint8_t fc, const uint8_t *const params[],
	       const size_t lens[], size_t n, uint8_t out[KB_GBA_KEY_LEN]);

/* Ks = CK || IK. */
void kb_gba_ks(const uint8_t ck[KB_GBA_CK_LEN], const uint8_t ik[KB_GBA_IK_LEN],
	       uint8_t ks[KB_GBA_KEY_LEN]);

/* Which NAF key: the label P0 of Annex B.3. */
enum kb_gba_naf_key {
	KB_GBA_KS_EXT_NAF, /* "gba-me": Ks_NAF in GBA_ME, Ks_ext_NAF in GBA_U */
	KB_GBA_KS_INT_NAF, /* "gba-u": Ks_int_NAF (GBA_U only) */
};

/* KDF(Ks, FC 0x01, label, RAND, IMPI (UTF-8), NAF_Id). Returns 0 or -1. */
int kb_gba_naf_key(const uint8_t ks[KB_GBA_KEY_LEN], enum kb_gba_naf_key which,
		   const uint8_t rand[KB_GBA_RAND_LEN], const char *impi, const uint8_t *naf_id,
		   size_t naf_id_len, uint8_t out[KB_GBA_KEY_LEN]);

/* NAF_Id = FQDN || Ua security protocol id. Writes into out (at most
 * KB_GBA_NAF_ID_MAX bytes are needed) and returns the length, or -1 if the
 * FQDN is empty, longer than 255 bytes, or does not fit in cap. */
long kb_gba_naf_id(const char *fqdn, const uint8_t ua_id[KB_GBA_UA_ID_LEN], uint8_t *out,
		   size_t cap);

/* B-TID = base64(RAND) "@" BSF domain, NUL-terminated. Returns the length,
 * or -1 if the domain is empty, too long, or does not fit in cap. */
long kb_gba_btid(const uint8_t rand[KB_GBA_RAND_LEN], const char *bsf_domain, char *out,
		 size_t cap);

/* Parse a B-TID back into RAND and the BSF domain (domain may be NULL).
 * Strict: exactly 24 canonical base64 characters, one '@', a non-empty
 * domain of printable characters without spaces. Returns 0, or -1 with a
 * message in err. */
int kb_gba_btid_parse(const char *btid, uint8_t rand[KB_GBA_RAND_LEN], char *domain,
		      size_t domain_cap, char *err, size_t errlen);

/* ---- MBMS keys (TS 33.246 §6.1, PROTOCOLS.md §2) ---- */

enum kb_gba_mode {
	KB_GBA_ME, /* keys in the ME: MUK = Ks_NAF, MRK = f(Ks_NAF) */
	KB_GBA_U, /* keys in the UICC: MUK = Ks_int_NAF, MRK = Ks_ext_NAF */
};

/* GBA_ME MRK derivation from Ks_NAF. TS 33.246 Annex F gives the formula; we
 * could not read it, so it is a named, configurable profile choice
 * (docs/gba.md). Returns 0 or -1. */
typedef int (*kb_gba_mrk_fn)(const uint8_t ks_naf[KB_GBA_KEY_LEN], uint8_t mrk[KB_GBA_KEY_LEN]);

struct kb_gba_mrk_variant {
	const char *name;
	kb_gba_mrk_fn fn;
	const char *desc;
};

/* The profile default: MRK = KDF(Ks_NAF, FC 0x01, P0 "MBMS-MRK"). */
#define KB_GBA_MRK_DEFAULT "kdf-mbms-mrk"

/* The registry: lookup by name (NULL for an unknown or NULL name), and the
 * whole table for --help texts and config validation. */
kb_gba_mrk_fn kb_gba_mrk_lookup(const char *name);
const struct kb_gba_mrk_variant *kb_gba_mrk_variants(size_t *count);

/* MUK and MRK for a UE.
 *   KB_GBA_U:  ks_ext_naf = Ks_ext_NAF, ks_int_naf = Ks_int_NAF (required);
 *              MUK = Ks_int_NAF, MRK = Ks_ext_NAF; mrk_fn is ignored.
 *   KB_GBA_ME: ks_ext_naf = Ks_NAF, ks_int_naf must be NULL;
 *              MUK = Ks_NAF, MRK = mrk_fn(Ks_NAF) (NULL = the default).
 * Returns 0, or -1 (muk and mrk are then zeroed). */
int kb_gba_mbms_keys(enum kb_gba_mode mode, const uint8_t ks_ext_naf[KB_GBA_KEY_LEN],
		     const uint8_t *ks_int_naf, kb_gba_mrk_fn mrk_fn, uint8_t muk[KB_GBA_KEY_LEN],
		     uint8_t mrk[KB_GBA_KEY_LEN]);

#endif
