/* The fast MIKEY PRF (precomputed HMAC states, proto/mikey/mikey_prf.c)
 * against a straightforward RFC 3830 §4.1.2 formulation on OpenSSL's
 * one-shot HMAC(), over random inkeys, labels and output lengths; the HMAC
 * pad states against HMAC() and IPsec-MB. */
#include "check.h"

#include "mikey/mikey_prf.h"

/* SHA1_Init & co. to resume SHA-1 from a pad state (deprecated in 3.0) */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdint.h>
#include <string.h>

/* last: it defines a SHA1 macro that clashes with OpenSSL's SHA1() */
#include <intel-ipsec-mb.h>

#define ROUNDS 3000

/* P(s, label, m): A_0 = label, A_i = HMAC(s, A_{i-1}),
 * P = HMAC(s, A_1 ‖ label) ‖ HMAC(s, A_2 ‖ label) ‖ ..., cut to out_len. */
static int ref_p(const uint8_t *s, size_t s_len, const uint8_t *label, size_t label_len,
		 uint8_t *out, size_t out_len)
{
	uint8_t a[20], msg[20 + 264], full[1024 + 20];
	unsigned int n = 0;
	size_t blocks = (out_len + 19) / 20;

	if (label_len > 264 || out_len > 1024)
		return -1;
	if (HMAC(EVP_sha1(), s, (int)s_len, label, label_len, a, &n) == NULL || n != 20)
		return -1;
	for (size_t i = 0; i < blocks; i++) {
		memcpy(msg, a, 20);
		memcpy(msg + 20, label, label_len);
		if (HMAC(EVP_sha1(), s, (int)s_len, msg, 20 + label_len, full + 20 * i, &n) ==
			    NULL ||
		    n != 20)
			return -1;
		if (HMAC(EVP_sha1(), s, (int)s_len, a, 20, a, &n) == NULL || n != 20)
			return -1;
	}
	memcpy(out, full, out_len);
	return 0;
}

/* PRF(inkey, label): inkey in 256-bit pieces s_1..s_n (the last one
 * shorter), out = P(s_1, label, m) XOR ... XOR P(s_n, label, m). */
static int ref_prf(const uint8_t *inkey, size_t inkey_len, uint32_t constant, uint8_t cs_id,
		   uint32_t csb_id, const uint8_t *rand, size_t rand_len, uint8_t *out,
		   size_t out_len)
{
	uint8_t label[9 + 255], p[1024];
	size_t pieces = (inkey_len + 31) / 32;

	label[0] = (uint8_t)(constant >> 24);
	label[1] = (uint8_t)(constant >> 16);
	label[2] = (uint8_t)(constant >> 8);
	label[3] = (uint8_t)constant;
	label[4] = cs_id;
	label[5] = (uint8_t)(csb_id >> 24);
	label[6] = (uint8_t)(csb_id >> 16);
	label[7] = (uint8_t)(csb_id >> 8);
	label[8] = (uint8_t)csb_id;
	memcpy(label + 9, rand, rand_len);
	memset(out, 0, out_len);
	for (size_t i = 0; i < pieces; i++) {
		size_t len = i + 1 < pieces ? 32 : inkey_len - 32 * i;
		if (ref_p(inkey + 32 * i, len, label, 9 + rand_len, p, out_len) != 0)
			return -1;
		for (size_t j = 0; j < out_len; j++)
			out[j] ^= p[j];
	}
	return 0;
}

static uint32_t rnd32(void)
{
	uint32_t v = 0;
	RAND_bytes((unsigned char *)&v, sizeof(v));
	return v;
}

/* lengths chosen around the 32-byte piece and 20-byte block boundaries */
static size_t pick_len(size_t max, const size_t *edges, size_t n_edges)
{
	uint32_t r = rnd32();
	if (r % 3 == 0)
		return edges[(r / 3) % n_edges];
	return 1 + (r / 3) % max;
}

static void test_prf_differential(void)
{
	static const size_t key_edges[] = {1, 16, 20, 31, 32, 33, 63, 64, 65, 96, 100};
	static const size_t out_edges[] = {1, 14, 16, 19, 20, 21, 40, 41, 1024};
	uint8_t key[128], rand[255], got[1024], want[1024];
	int mismatches = 0;

	for (int i = 0; i < ROUNDS; i++) {
		size_t key_len = pick_len(sizeof(key), key_edges, 11);
		size_t out_len = pick_len(200, out_edges, 9);
		size_t rand_len = rnd32() % 4 == 0 ? rnd32() % 256 : 16;
		uint32_t constant = rnd32(), csb = rnd32();
		uint8_t cs = (uint8_t)rnd32();

		RAND_bytes(key, (int)key_len);
		RAND_bytes(rand, sizeof(rand));
		memset(got, 0xee, sizeof(got));
		int rc =
			kb_mikey_prf(key, key_len, constant, cs, csb, rand, rand_len, got, out_len);
		int rrc = ref_prf(key, key_len, constant, cs, csb, rand, rand_len, want, out_len);
		if (rc != 0 || rrc != 0 || memcmp(got, want, out_len) != 0) {
			if (mismatches++ < 5)
				fprintf(stderr, "mismatch: key %zu out %zu rand %zu (rc %d/%d)\n",
					key_len, out_len, rand_len, rc, rrc);
		}
		/* nothing written past out_len */
		if (out_len < sizeof(got) && got[out_len] != 0xee)
			mismatches++;
	}
	CHECK(mismatches == 0);
}

static void test_tkeys_differential(void)
{
	uint8_t key[96], rand[255];
	struct kb_mikey_tkeys tk;
	uint8_t e[16], a[20], s[14];
	int mismatches = 0;

	for (int i = 0; i < ROUNDS; i++) {
		size_t key_len = i % 4 == 0 ? 1 + rnd32() % sizeof(key) : 32;
		size_t rand_len = i % 5 == 0 ? rnd32() % 256 : 16;
		uint32_t csb = rnd32();

		RAND_bytes(key, (int)key_len);
		RAND_bytes(rand, sizeof(rand));
		int rc = kb_mikey_derive_tkeys(key, key_len, csb, rand, rand_len, &tk);
		int rrc = ref_prf(key, key_len, KB_MIKEY_CONST_ENCR, 0xFF, csb, rand, rand_len, e,
				  sizeof(e)) |
			  ref_prf(key, key_len, KB_MIKEY_CONST_AUTH, 0xFF, csb, rand, rand_len, a,
				  sizeof(a)) |
			  ref_prf(key, key_len, KB_MIKEY_CONST_SALT, 0xFF, csb, rand, rand_len, s,
				  sizeof(s));
		if (rc != 0 || rrc != 0 || memcmp(tk.encr, e, sizeof(e)) != 0 ||
		    memcmp(tk.auth, a, sizeof(a)) != 0 || memcmp(tk.salt, s, sizeof(s)) != 0)
			mismatches++;
	}
	CHECK(mismatches == 0);
}

/* The reference itself against HMAC's RFC 2202 test case 2 shape: a short
 * key and output of one block equals HMAC(key, HMAC(key, label) ‖ label). */
static void test_reference_shape(void)
{
	uint8_t key[] = "Jefe", rand[16] = {0}, out[20], a[20], msg[20 + 25], want[20];
	unsigned int n;

	CHECK(ref_prf(key, 4, 1, 2, 3, rand, 16, out, 20) == 0);
	uint8_t label[25] = {0, 0, 0, 1, 2, 0, 0, 0, 3};
	HMAC(EVP_sha1(), key, 4, label, 25, a, &n);
	memcpy(msg, a, 20);
	memcpy(msg + 20, label, 25);
	HMAC(EVP_sha1(), key, 4, msg, 45, want, &n);
	CHECK_MEM(out, want, 20);
	uint8_t fast[20];
	CHECK(kb_mikey_prf(key, 4, 1, 2, 3, rand, 16, fast, 20) == 0);
	CHECK_MEM(fast, want, 20);
}

/* The pad states: HMAC resumed from them equals OpenSSL's HMAC(), and the
 * layout is IPsec-MB's (IMB_SHA1_ONE_BLOCK on the same block). */
static void test_pad_state(void)
{
	uint8_t key[64], msg[100], ipad[20], opad[20], d[20], got[20], want[20];
	DECLARE_ALIGNED(uint8_t imb[32], 16);
	uint8_t block[64];
	unsigned int n;
	int bad = 0, bad_imb = 0;
	IMB_MGR *m = alloc_mb_mgr(0);

	CHECK(m != NULL);
	if (m == NULL)
		return;
	init_mb_mgr_auto(m, NULL);
	for (int i = 0; i < 500; i++) {
		size_t key_len = rnd32() % 65, msg_len = rnd32() % sizeof(msg);
		RAND_bytes(key, sizeof(key));
		RAND_bytes(msg, sizeof(msg));
		CHECK(kb_hmac_sha1_pad_state(key, key_len, 0x36, ipad) == 0);
		CHECK(kb_hmac_sha1_pad_state(key, key_len, 0x5c, opad) == 0);
		SHA_CTX c;
		SHA1_Init(&c);
		memcpy(&c.h0, ipad, 4), memcpy(&c.h1, ipad + 4, 4), memcpy(&c.h2, ipad + 8, 4);
		memcpy(&c.h3, ipad + 12, 4), memcpy(&c.h4, ipad + 16, 4);
		c.Nl = 512; /* one block absorbed */
		SHA1_Update(&c, msg, msg_len);
		SHA1_Final(d, &c);
		SHA1_Init(&c);
		memcpy(&c.h0, opad, 4), memcpy(&c.h1, opad + 4, 4), memcpy(&c.h2, opad + 8, 4);
		memcpy(&c.h3, opad + 12, 4), memcpy(&c.h4, opad + 16, 4);
		c.Nl = 512;
		SHA1_Update(&c, d, sizeof(d));
		SHA1_Final(got, &c);
		HMAC(EVP_sha1(), key, (int)key_len, msg, msg_len, want, &n);
		bad += memcmp(got, want, sizeof(want)) != 0;

		memset(block, 0x36, sizeof(block));
		for (size_t k = 0; k < key_len; k++)
			block[k] ^= key[k];
		IMB_SHA1_ONE_BLOCK(m, block, imb);
		bad_imb += memcmp(imb, ipad, sizeof(ipad)) != 0;
	}
	CHECK(bad == 0);
	CHECK(bad_imb == 0);
	CHECK(kb_hmac_sha1_pad_state(key, 65, 0x36, ipad) == -1);
	CHECK(kb_hmac_sha1_pad_state(NULL, 1, 0x36, ipad) == -1);
	free_mb_mgr(m);
}

static void test_bad_args(void)
{
	uint8_t key[32] = {1}, rand[16] = {0}, out[1025];
	struct kb_mikey_tkeys tk;

	CHECK(kb_mikey_prf(NULL, 32, 1, 0, 1, rand, 16, out, 16) == -1);
	CHECK(kb_mikey_prf(key, 0, 1, 0, 1, rand, 16, out, 16) == -1);
	CHECK(kb_mikey_prf(key, 32, 1, 0, 1, rand, 16, NULL, 16) == -1);
	CHECK(kb_mikey_prf(key, 32, 1, 0, 1, rand, 16, out, 0) == -1);
	CHECK(kb_mikey_prf(key, 32, 1, 0, 1, rand, 16, out, 1025) == -1);
	CHECK(kb_mikey_prf(key, 32, 1, 0, 1, rand, 256, out, 16) == -1);
	CHECK(kb_mikey_prf(key, 32, 1, 0, 1, NULL, 16, out, 16) == -1);
	CHECK(kb_mikey_prf(key, 32, 1, 0, 1, NULL, 0, out, 16) == 0);
	CHECK(kb_mikey_derive_tkeys(key, 32, 1, rand, 16, NULL) == -1);
	memset(&tk, 0xaa, sizeof(tk));
	CHECK(kb_mikey_derive_tkeys(NULL, 32, 1, rand, 16, &tk) == -1);
	struct kb_mikey_tkeys zero = {0};
	CHECK_MEM(&tk, &zero, sizeof(tk)); /* wiped on failure */
}

int main(void)
{
	RUN(test_reference_shape);
	RUN(test_prf_differential);
	RUN(test_tkeys_differential);
	RUN(test_pad_state);
	RUN(test_bad_args);
	return kb_check_done();
}
