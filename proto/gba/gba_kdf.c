/* TS 33.220 Annex B: the GBA KDF and the NAF-specific keys built on it. */
#include "gba/gba.h"

#include "util/be.h"
#include "util/secret.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <string.h>

const uint8_t kb_gba_ua_mbms[KB_GBA_UA_ID_LEN] = {0x01, 0x00, 0x00, 0x00, 0x01};
const uint8_t kb_gba_ua_http_digest[KB_GBA_UA_ID_LEN] = {0x01, 0x00, 0x00, 0x00, 0x02};
const uint8_t kb_gba_ua_push[KB_GBA_UA_ID_LEN] = {0x01, 0x00, 0x00, 0x00, 0x05};

int kb_gba_kdf(const uint8_t *key, size_t key_len, uint8_t fc, const uint8_t *const params[],
	       const size_t lens[], size_t n, uint8_t out[KB_GBA_KEY_LEN])
{
	if (out == NULL)
		return -1;
	int rc = -1;
	EVP_MAC *mac = NULL;
	EVP_MAC_CTX *ctx = NULL;
	if (key == NULL || (n > 0 && (params == NULL || lens == NULL)))
		goto out;
	for (size_t i = 0; i < n; i++)
		if (lens[i] > KB_GBA_PARAM_MAX || (lens[i] > 0 && params[i] == NULL))
			goto out;

	mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	ctx = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
	if (ctx == NULL)
		goto out;
	char digest[] = "SHA256";
	OSSL_PARAM p[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
		OSSL_PARAM_construct_end(),
	};
	if (EVP_MAC_init(ctx, key, key_len, p) != 1)
		goto out;
	if (EVP_MAC_update(ctx, &fc, 1) != 1)
		goto out;
	for (size_t i = 0; i < n; i++) {
		uint8_t l[2];
		kb_put16(l, (uint16_t)lens[i]);
		if (lens[i] > 0 && EVP_MAC_update(ctx, params[i], lens[i]) != 1)
			goto out;
		if (EVP_MAC_update(ctx, l, sizeof(l)) != 1)
			goto out;
	}
	size_t outl = 0;
	if (EVP_MAC_final(ctx, out, &outl, KB_GBA_KEY_LEN) != 1 || outl != KB_GBA_KEY_LEN)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		kb_memzero(out, KB_GBA_KEY_LEN);
	EVP_MAC_CTX_free(ctx); /* cleanses the HMAC pads */
	EVP_MAC_free(mac);
	return rc;
}

void kb_gba_ks(const uint8_t ck[KB_GBA_CK_LEN], const uint8_t ik[KB_GBA_IK_LEN],
	       uint8_t ks[KB_GBA_KEY_LEN])
{
	memcpy(ks, ck, KB_GBA_CK_LEN);
	memcpy(ks + KB_GBA_CK_LEN, ik, KB_GBA_IK_LEN);
}

int kb_gba_naf_key(const uint8_t ks[KB_GBA_KEY_LEN], enum kb_gba_naf_key which,
		   const uint8_t rand[KB_GBA_RAND_LEN], const char *impi, const uint8_t *naf_id,
		   size_t naf_id_len, uint8_t out[KB_GBA_KEY_LEN])
{
	static const char me[] = "gba-me", u[] = "gba-u";
	if (ks == NULL || rand == NULL || impi == NULL || naf_id == NULL || naf_id_len == 0)
		return -1;
	const char *label;
	switch (which) {
	case KB_GBA_KS_EXT_NAF:
		label = me;
		break;
	case KB_GBA_KS_INT_NAF:
		label = u;
		break;
	default:
		return -1;
	}
	const uint8_t *p[] = {(const uint8_t *)label, rand, (const uint8_t *)impi, naf_id};
	const size_t l[] = {strlen(label), KB_GBA_RAND_LEN, strlen(impi), naf_id_len};
	return kb_gba_kdf(ks, KB_GBA_KEY_LEN, KB_GBA_FC_NAF, p, l, 4, out);
}

long kb_gba_naf_id(const char *fqdn, const uint8_t ua_id[KB_GBA_UA_ID_LEN], uint8_t *out,
		   size_t cap)
{
	if (fqdn == NULL || ua_id == NULL || out == NULL)
		return -1;
	size_t n = strlen(fqdn);
	if (n == 0 || n > KB_GBA_FQDN_MAX || n + KB_GBA_UA_ID_LEN > cap)
		return -1;
	memcpy(out, fqdn, n);
	memcpy(out + n, ua_id, KB_GBA_UA_ID_LEN);
	return (long)(n + KB_GBA_UA_ID_LEN);
}
