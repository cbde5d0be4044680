/* RFC 3711 §4.3: the AES-CM key derivation with key_derivation_rate 0, and
 * the per-packet AES-CM IV (§4.1.1). */
#include "srtp/srtp.h"

#include <openssl/evp.h>
#include <string.h>

#include "util/secret.h"

int kb_srtp_keystream(const uint8_t key[16], const uint8_t iv[16], uint8_t *out, size_t len)
{
	EVP_CIPHER_CTX *ctx;
	int outl, rc = -1;

	if (len > INT32_MAX)
		return -1;
	ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL)
		return -1;
	/* keystream = encryption of zeros */
	memset(out, 0, len);
	if (EVP_EncryptInit_ex(ctx, EVP_aes_128_ctr(), NULL, key, iv) != 1)
		goto out;
	if (EVP_EncryptUpdate(ctx, out, &outl, out, (int)len) != 1 || (size_t)outl != len)
		goto out;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

int kb_srtp_kdf(const uint8_t mkey[KB_SRTP_MASTER_KEY_LEN],
		const uint8_t msalt[KB_SRTP_MASTER_SALT_LEN], uint8_t label, uint8_t *out,
		size_t out_len)
{
	uint8_t iv[16];

	/* key_id = label ‖ (index DIV kdr) = label ‖ 0^48 (kdr 0); x = key_id
	 * XOR master salt, so the label lands at byte 7 of the 14-byte salt */
	memcpy(iv, msalt, KB_SRTP_MASTER_SALT_LEN);
	iv[7] ^= label;
	iv[14] = 0;
	iv[15] = 0;
	return kb_srtp_keystream(mkey, iv, out, out_len);
}

int kb_srtp_derive(const uint8_t mkey[KB_SRTP_MASTER_KEY_LEN],
		   const uint8_t msalt[KB_SRTP_MASTER_SALT_LEN], struct kb_srtp_keys *out)
{
	if (kb_srtp_kdf(mkey, msalt, KB_SRTP_LABEL_ENCR, out->encr, sizeof(out->encr)) != 0 ||
	    kb_srtp_kdf(mkey, msalt, KB_SRTP_LABEL_AUTH, out->auth, sizeof(out->auth)) != 0 ||
	    kb_srtp_kdf(mkey, msalt, KB_SRTP_LABEL_SALT, out->salt, sizeof(out->salt)) != 0) {
		kb_memzero(out, sizeof(*out));
		return -1;
	}
	return 0;
}

void kb_srtp_iv(const uint8_t salt[KB_SRTP_SALT_LEN], uint32_t ssrc, uint64_t index, uint8_t iv[16])
{
	memcpy(iv, salt, KB_SRTP_SALT_LEN);
	iv[14] = 0;
	iv[15] = 0;
	/* SSRC * 2^64: bytes 4..7 */
	iv[4] ^= (uint8_t)(ssrc >> 24);
	iv[5] ^= (uint8_t)(ssrc >> 16);
	iv[6] ^= (uint8_t)(ssrc >> 8);
	iv[7] ^= (uint8_t)ssrc;
	/* index (48 bits) * 2^16: bytes 8..13 */
	for (int i = 0; i < 6; i++)
		iv[13 - i] ^= (uint8_t)(index >> (8 * i));
}
