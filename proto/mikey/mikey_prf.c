/* MIKEY PRF (RFC 3830 §4.1.2) on HMAC-SHA-1.
 *
 * Speed matters here: the control plane derives three transport keys per UE
 * for millions of UEs (bulk import, roster load). Each HMAC key (a 256-bit
 * piece of the inkey) is absorbed once into SHA-1 states after key^ipad and
 * key^opad; every HMAC under that key then starts from a copy of those
 * states, so it costs two compressions and no allocation. OpenSSL's
 * low-level SHA1_* is deprecated in 3.0 but present (and uses SHA-NI where
 * the CPU has it); measured on the project VM per HMAC of a 45-byte message:
 * HMAC() 2.2-3.5 us, EVP_MAC_CTX_dup 1.1-1.8 us, EVP_MAC_init(NULL key)
 * 0.35-0.55 us, EVP_MD_CTX_copy_ex 0.31-0.34 us, SHA_CTX copy 0.23 us. */
#define OPENSSL_SUPPRESS_DEPRECATED /* SHA1_Init/Update/Final, see above */

#include "mikey/mikey_prf.h"

#include "util/be.h"
#include "util/secret.h"

#include <openssl/sha.h>
#include <string.h>

#define SHA1_LEN 20
#define SHA1_BLOCK 64
#define PRF_PIECE 32 /* inkey is split into 256-bit pieces */
#define PRF_OUT_MAX 1024
#define LABEL_MAX (4 + 1 + 4 + 255)

/* HMAC-SHA-1 under one key: the states after the first (key-only) block */
struct hmac_key {
	SHA_CTX inner, outer;
};

static void hmac_key_init(struct hmac_key *k, const uint8_t *key, size_t key_len)
{
	uint8_t block[SHA1_BLOCK];

	/* pieces are at most 32 bytes, below the block size: used as they are */
	memset(block, 0x36, sizeof(block));
	for (size_t i = 0; i < key_len; i++)
		block[i] ^= key[i];
	SHA1_Init(&k->inner);
	SHA1_Update(&k->inner, block, sizeof(block));
	memset(block, 0x5c, sizeof(block));
	for (size_t i = 0; i < key_len; i++)
		block[i] ^= key[i];
	SHA1_Init(&k->outer);
	SHA1_Update(&k->outer, block, sizeof(block));
	kb_memzero(block, sizeof(block));
}

/* HMAC(key, a ‖ b) */
static void hmac2(const struct hmac_key *k, const uint8_t *a, size_t a_len, const uint8_t *b,
		  size_t b_len, uint8_t out[SHA1_LEN])
{
	SHA_CTX c = k->inner;
	uint8_t d[SHA1_LEN];

	SHA1_Update(&c, a, a_len);
	if (b_len != 0)
		SHA1_Update(&c, b, b_len);
	SHA1_Final(d, &c);
	c = k->outer;
	SHA1_Update(&c, d, sizeof(d));
	SHA1_Final(out, &c);
	kb_memzero(d, sizeof(d));
	kb_memzero(&c, sizeof(c));
}

/* out ^= P(s, label, m), truncated to out_len bytes:
 * A_0 = label, A_i = HMAC(s, A_{i-1}), P = HMAC(s, A_1 ‖ label) ‖ ... */
static void p_xor(const struct hmac_key *k, const uint8_t *label, size_t label_len, uint8_t *out,
		  size_t out_len)
{
	uint8_t a[SHA1_LEN], block[SHA1_LEN];

	hmac2(k, label, label_len, NULL, 0, a);
	for (size_t done = 0; done < out_len; done += SHA1_LEN) {
		hmac2(k, a, SHA1_LEN, label, label_len, block);
		size_t n = out_len - done < SHA1_LEN ? out_len - done : SHA1_LEN;
		for (size_t i = 0; i < n; i++)
			out[done + i] ^= block[i];
		if (done + SHA1_LEN < out_len)
			hmac2(k, a, SHA1_LEN, NULL, 0, a);
	}
	kb_memzero(a, sizeof(a));
	kb_memzero(block, sizeof(block));
}

struct prf_req {
	uint32_t constant;
	uint8_t *out;
	size_t out_len;
};

/* Several PRF outputs over the same inkey and label tail, differing only in
 * the constant: each piece's HMAC key is set up once for all of them. */
static int prf_multi(const uint8_t *inkey, size_t inkey_len, uint8_t cs_id, uint32_t csb_id,
		     const uint8_t *rand, size_t rand_len, const struct prf_req *req, size_t n_req)
{
	uint8_t label[LABEL_MAX];
	size_t label_len = 9 + rand_len;
	struct hmac_key k;

	if (inkey == NULL || inkey_len == 0 || rand_len > 255 || (rand == NULL && rand_len != 0))
		return -1;
	for (size_t r = 0; r < n_req; r++)
		if (req[r].out == NULL || req[r].out_len == 0 || req[r].out_len > PRF_OUT_MAX)
			return -1;
	label[4] = cs_id;
	kb_put32(label + 5, csb_id);
	if (rand_len != 0)
		memcpy(label + 9, rand, rand_len);

	for (size_t r = 0; r < n_req; r++)
		memset(req[r].out, 0, req[r].out_len);
	for (size_t off = 0; off < inkey_len; off += PRF_PIECE) {
		size_t n = inkey_len - off < PRF_PIECE ? inkey_len - off : PRF_PIECE;
		hmac_key_init(&k, inkey + off, n);
		for (size_t r = 0; r < n_req; r++) {
			kb_put32(label, req[r].constant);
			p_xor(&k, label, label_len, req[r].out, req[r].out_len);
		}
	}
	kb_memzero(&k, sizeof(k));
	return 0;
}

int kb_mikey_prf(const uint8_t *inkey, size_t inkey_len, uint32_t constant, uint8_t cs_id,
		 uint32_t csb_id, const uint8_t *rand, size_t rand_len, uint8_t *out,
		 size_t out_len)
{
	struct prf_req req = {constant, out, out_len};

	return prf_multi(inkey, inkey_len, cs_id, csb_id, rand, rand_len, &req, 1);
}

int kb_mikey_derive_tkeys(const uint8_t *psk, size_t psk_len, uint32_t csb_id, const uint8_t *rand,
			  size_t rand_len, struct kb_mikey_tkeys *out)
{
	if (out == NULL)
		return -1;
	struct prf_req req[] = {
		{KB_MIKEY_CONST_ENCR, out->encr, sizeof(out->encr)},
		{KB_MIKEY_CONST_AUTH, out->auth, sizeof(out->auth)},
		{KB_MIKEY_CONST_SALT, out->salt, sizeof(out->salt)},
	};
	if (prf_multi(psk, psk_len, KB_MIKEY_CS_ID_TRANSPORT, csb_id, rand, rand_len, req, 3) !=
	    0) {
		kb_memzero(out, sizeof(*out));
		return -1;
	}
	return 0;
}

int kb_hmac_sha1_pad_state(const uint8_t *key, size_t key_len, uint8_t pad, uint8_t state[20])
{
	uint8_t block[SHA1_BLOCK];
	SHA_CTX c;

	if ((key == NULL && key_len != 0) || key_len > SHA1_BLOCK || state == NULL)
		return -1;
	memset(block, pad, sizeof(block));
	for (size_t i = 0; i < key_len; i++)
		block[i] ^= key[i];
	SHA1_Init(&c);
	SHA1_Transform(&c, block);
	const uint32_t h[5] = {c.h0, c.h1, c.h2, c.h3, c.h4};
	memcpy(state, h, sizeof(h));
	kb_memzero(block, sizeof(block));
	kb_memzero(&c, sizeof(c));
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
