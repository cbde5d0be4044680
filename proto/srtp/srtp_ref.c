/* The OpenSSL reference for one SRTP packet, AES_CM_128_HMAC_SHA1_80 with an
 * MKI (RFC 3711 §3.1, §4.1.1, §4.2). Slow and obvious on purpose: it is what
 * the IPsec-MB burst path and libsrtp2 are checked against. */
#include "srtp/srtp.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <string.h>

#include "util/be.h"
#include "util/secret.h"

#define SHA1_LEN 20

/* XOR the AES-CM keystream for (SSRC, index) into buf. */
static int aes_cm(const struct kb_srtp_keys *k, uint32_t ssrc, uint64_t index, uint8_t *buf,
		  size_t len)
{
	EVP_CIPHER_CTX *ctx;
	uint8_t iv[16];
	int outl, rc = -1;

	if (len == 0)
		return 0;
	if (len > INT32_MAX)
		return -1;
	kb_srtp_iv(k->salt, ssrc, index, iv);
	ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL)
		return -1;
	if (EVP_EncryptInit_ex(ctx, EVP_aes_128_ctr(), NULL, k->encr, iv) == 1 &&
	    EVP_EncryptUpdate(ctx, buf, &outl, buf, (int)len) == 1 && (size_t)outl == len)
		rc = 0;
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

/* HMAC-SHA1(auth key, pkt[0, len) ‖ ROC) */
static int auth_tag(const struct kb_srtp_keys *k, const uint8_t *pkt, size_t len, uint32_t roc,
		    uint8_t out[SHA1_LEN])
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = NULL;
	OSSL_PARAM params[2];
	uint8_t r[4];
	size_t outl = 0;
	int rc = -1;

	if (mac == NULL)
		return -1;
	ctx = EVP_MAC_CTX_new(mac);
	if (ctx == NULL)
		goto out;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA1", 0);
	params[1] = OSSL_PARAM_construct_end();
	kb_put32(r, roc);
	if (EVP_MAC_init(ctx, k->auth, sizeof(k->auth), params) != 1 ||
	    EVP_MAC_update(ctx, pkt, len) != 1 || EVP_MAC_update(ctx, r, sizeof(r)) != 1 ||
	    EVP_MAC_final(ctx, out, &outl, SHA1_LEN) != 1 || outl != SHA1_LEN)
		goto out;
	rc = 0;
out:
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return rc;
}

int kb_srtp_ref_protect(const struct kb_srtp_keys *k, uint8_t *pkt, size_t len, size_t cap,
			uint32_t roc, const uint8_t *mki, size_t mki_len, size_t *out_len)
{
	struct kb_rtp_hdr h;
	uint8_t tag[SHA1_LEN];
	uint64_t index;

	if (kb_rtp_parse(pkt, len, &h) != 0 || cap < len || cap - len < mki_len + KB_SRTP_TAG_LEN)
		return -1;
	index = (uint64_t)roc << 16 | h.seq;
	if (aes_cm(k, h.ssrc, index, pkt + h.len, len - h.len) != 0)
		return -1;
	/* the tag covers header ‖ ciphertext ‖ ROC, not the MKI */
	if (auth_tag(k, pkt, len, roc, tag) != 0)
		return -1;
	if (mki_len != 0)
		memcpy(pkt + len, mki, mki_len);
	memcpy(pkt + len + mki_len, tag, KB_SRTP_TAG_LEN);
	*out_len = len + mki_len + KB_SRTP_TAG_LEN;
	return 0;
}

int kb_srtp_ref_unprotect(const struct kb_srtp_keys *k, uint8_t *pkt, size_t len, uint32_t roc,
			  const uint8_t *mki, size_t mki_len, size_t *out_len)
{
	struct kb_rtp_hdr h;
	uint8_t tag[SHA1_LEN];
	size_t rtp_len;
	uint64_t index;
	bool ok;

	if (len < mki_len + KB_SRTP_TAG_LEN)
		return -1;
	rtp_len = len - mki_len - KB_SRTP_TAG_LEN;
	if (kb_rtp_parse(pkt, rtp_len, &h) != 0)
		return -1;
	/* the MKI is public: it selects the key, a plain compare is fine */
	if (mki_len != 0 && memcmp(pkt + rtp_len, mki, mki_len) != 0)
		return -1;
	if (auth_tag(k, pkt, rtp_len, roc, tag) != 0)
		return -1;
	ok = kb_ct_equal(tag, pkt + rtp_len + mki_len, KB_SRTP_TAG_LEN);
	kb_memzero(tag, sizeof(tag));
	if (!ok)
		return -1;
	index = (uint64_t)roc << 16 | h.seq;
	if (aes_cm(k, h.ssrc, index, pkt + h.len, rtp_len - h.len) != 0)
		return -1;
	*out_len = rtp_len;
	return 0;
}
