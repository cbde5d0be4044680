/* MIKEY PRF (RFC 3830 §4.1.2) and the transport keys that protect a MIKEY
 * message itself (cs_id 0xFF, PROTOCOLS.md §1.4). */
#ifndef KB_MIKEY_PRF_H
#define KB_MIKEY_PRF_H

#include <stddef.h>
#include <stdint.h>

#define KB_MIKEY_ENCR_KEY_LEN 16
#define KB_MIKEY_AUTH_KEY_LEN 20
#define KB_MIKEY_SALT_LEN 14
#define KB_MIKEY_RAND_LEN 16

#define KB_MIKEY_CONST_ENCR 0x150533E1u
#define KB_MIKEY_CONST_AUTH 0x2D22AC75u
#define KB_MIKEY_CONST_SALT 0x29B88916u
#define KB_MIKEY_CS_ID_TRANSPORT 0xFF

struct kb_mikey_tkeys {
	uint8_t encr[KB_MIKEY_ENCR_KEY_LEN];
	uint8_t auth[KB_MIKEY_AUTH_KEY_LEN];
	uint8_t salt[KB_MIKEY_SALT_LEN];
};

/* PRF(inkey, label, out_len*8) with label = const ‖ cs_id ‖ csb_id ‖ rand.
 * Returns 0, or -1 on bad arguments (rand_len > 255, out_len > 1024). */
int kb_mikey_prf(const uint8_t *inkey, size_t inkey_len, uint32_t constant, uint8_t cs_id,
		 uint32_t csb_id, const uint8_t *rand, size_t rand_len, uint8_t *out,
		 size_t out_len);

/* The encr, auth and salt keys from a pre-shared key (MUK or MSK). */
int kb_mikey_derive_tkeys(const uint8_t *psk, size_t psk_len, uint32_t csb_id, const uint8_t *rand,
			  size_t rand_len, struct kb_mikey_tkeys *out);

/* The SHA-1 chaining state after one block of key ^ pad (0x36 or 0x5c;
 * key_len <= 64), as five 32-bit words in host byte order: the layout
 * IPsec-MB's HMAC-SHA-1 jobs take as _hashed_auth_key_xor_ipad/_opad.
 * OpenSSL's one-block SHA-1 (SHA-NI) takes about half the time of
 * IMB_SHA1_ONE_BLOCK in IPsec-MB 1.3 here. Returns 0, or -1. */
int kb_hmac_sha1_pad_state(const uint8_t *key, size_t key_len, uint8_t pad, uint8_t state[20]);

/* AES-CM IV: (salt XOR (00 00 ‖ csb_id ‖ t64)) ‖ 00 00. */
void kb_mikey_iv(const uint8_t salt[KB_MIKEY_SALT_LEN], uint32_t csb_id, uint64_t t64,
		 uint8_t iv[16]);

#endif
