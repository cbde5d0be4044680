/* MIKEY PRF (RFC 3830 §4.1.2) on OpenSSL HMAC-SHA-1. */
#include "mikey/mikey_prf.h"

#include "util/be.h"
#include "util/secret.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#define SHA1_LEN 20
#define PRF_PIECE 32 /* inkey is split into 256-bit pieces */
#define PRF_OUT_MAX 1024
#define LABEL_MAX (4 + 1 + 4 + 255)

static int hmac_sha1(const uint8_t *key, size_t key_len, const uint8_t *in, size_t in_len,
		     uint8_t out[SHA1_LEN])
{
	unsigned int n = 0;
	if (HMAC(EVP_sha1(), key, (int)key_len, in, in_len, out, &n) == NULL || n != SHA1_LEN)
		return -1;
	return 0;
}

/* out ^= P(s, label, m), truncated to out_len bytes. */
static int p_xor(const uint8_t *s, size_t s_len, const uint8_t *label, size_t label_len,
		 uint8_t *out, size_t out_len)
{
	/* buf holds A_i ‖ label; A_0 = label, so the first A_1 = HMAC(s, label) */
	uint8_t buf[SHA1_LEN + LABEL_MAX];
	uint8_t a[SHA1_LEN], block[SHA1_LEN];
	int rc = -1;

	memcpy(buf + SHA1_LEN, label, label_len);
	if (hmac_sha1(s, s_len, label, label_len, a) != 0)
		goto out;
	for (size_t done = 0; done < out_len; done += SHA1_LEN) {
		memcpy(buf, a, SHA1_LEN);
		if (hmac_sha1(s, s_len, buf, SHA1_LEN + label_len, block) != 0)
			goto out;
		size_t n = out_len - done < SHA1_LEN ? out_len - done : SHA1_LEN;
		for (size_t i = 0; i < n; i++)
			out[done + i] ^= block[i];
		if (done + SHA1_LEN < out_len && hmac_sha1(s, s_len, a, SHA1_LEN, a) != 0)
			goto out;
	}
	rc = 0;
out:
	kb_memzero(a, sizeof(a));
	kb_memzero(block, sizeof(block));
	kb_memzero(buf, sizeof(buf));
	return rc;
}

int kb_mikey_prf(const uint8_t *inkey, size_t inkey_len, uint32_t constant, uint8_t cs_id,
		 uint32_t csb_id, const uint8_t *rand, size_t rand_len, uint8_t *out,
		 size_t out_len)
{
	uint8_t label[LABEL_MAX];
	size_t label_len = 9 + rand_len;

	if (inkey == NULL || inkey_len == 0 || out == NULL || out_len == 0 ||
	    out_len > PRF_OUT_MAX || rand_len > 255 || (rand == NULL && rand_len != 0))
		return -1;
	kb_put32(label, constant);
	label[4] = cs_id;
	kb_put32(label + 5, csb_id);
	if (rand_len != 0)
		memcpy(label + 9, rand, rand_len);

	memset(out, 0, out_len);
	for (size_t off = 0; off < inkey_len; off += PRF_PIECE) {
		size_t n = inkey_len - off < PRF_PIECE ? inkey_len - off : PRF_PIECE;
		if (p_xor(inkey + off, n, label, label_len, out, out_len) != 0) {
			kb_memzero(out, out_len);
			return -1;
		}
	}
	return 0;
}

int kb_mikey_derive_tkeys(const uint8_t *psk, size_t psk_len, uint32_t csb_id, const uint8_t *rand,
			  size_t rand_len, struct kb_mikey_tkeys *out)
{
	const uint8_t cs = KB_MIKEY_CS_ID_TRANSPORT;

	if (out == NULL)
		return -1;
	if (kb_mikey_prf(psk, psk_len, KB_MIKEY_CONST_ENCR, cs, csb_id, rand, rand_len, out->encr,
			 sizeof(out->encr)) != 0 ||
	    kb_mikey_prf(psk, psk_len, KB_MIKEY_CONST_AUTH, cs, csb_id, rand, rand_len, out->auth,
			 sizeof(out->auth)) != 0 ||
	    kb_mikey_prf(psk, psk_len, KB_MIKEY_CONST_SALT, cs, csb_id, rand, rand_len, out->salt,
			 sizeof(out->salt)) != 0) {
		kb_memzero(out, sizeof(*out));
		return -1;
	}
	return 0;
}

void kb_mikey_iv(const uint8_t salt[KB_MIKEY_SALT_LEN], uint32_t csb_id, uint64_t t64,
		 uint8_t iv[16])
{
	uint8_t x[KB_MIKEY_SALT_LEN] = {0};

	kb_put32(x + 2, csb_id);
	kb_put32(x + 6, (uint32_t)(t64 >> 32));
	kb_put32(x + 10, (uint32_t)t64);
	for (int i = 0; i < KB_MIKEY_SALT_LEN; i++)
		iv[i] = salt[i] ^ x[i];
	iv[14] = 0;
	iv[15] = 0;
}
