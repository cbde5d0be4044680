/* MIKEY known answers (tests/vectors/msk-message-1.json) and cross-checks
 * against OpenSSL called directly: the PRF written out per RFC 3830 §4.1.2,
 * AES-128-CTR and HMAC-SHA-1 of the sealed messages. */
#include "check.h"
#include "testlib.h"

#include "mikey/mikey_codec.h"
#include "mikey/mikey_prf.h"
#include "mikey/mikey_profile.h"
#include "mikey/mikey_ref.h"
#include "util/secret.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

/* The vector, decoded. */
static struct kb_test_msk_vector vec;
static bool vec_loaded;

static void load_vector(void)
{
	vec_loaded = kb_test_msk_vector_load(&vec) == 0;
	CHECK(vec_loaded);
	CHECK(vec.msg_len > 100);
	CHECK(vec.ack_len == KB_ACK_LEN);
}

/* ---- an independent PRF, straight from RFC 3830 §4.1.2 ---- */

static void indep_prf(const uint8_t *key, size_t key_len, uint32_t c, uint32_t csb,
		      const uint8_t *rand, size_t rand_len, uint8_t *out, size_t out_len)
{
	uint8_t label[9 + 255], a[20], buf[20 + sizeof(label)], blk[20];
	size_t label_len = 9 + rand_len, m = (out_len + 19) / 20;
	unsigned int n;

	label[0] = (uint8_t)(c >> 24);
	label[1] = (uint8_t)(c >> 16);
	label[2] = (uint8_t)(c >> 8);
	label[3] = (uint8_t)c;
	label[4] = 0xff;
	label[5] = (uint8_t)(csb >> 24);
	label[6] = (uint8_t)(csb >> 16);
	label[7] = (uint8_t)(csb >> 8);
	label[8] = (uint8_t)csb;
	memcpy(label + 9, rand, rand_len);
	memset(out, 0, out_len);
	for (size_t piece = 0; piece * 32 < key_len; piece++) {
		const uint8_t *s = key + piece * 32;
		size_t s_len = key_len - piece * 32 > 32 ? 32 : key_len - piece * 32;
		/* A_0 = label; A_i = HMAC(s, A_i-1); block i = HMAC(s, A_i ‖ label) */
		HMAC(EVP_sha1(), s, (int)s_len, label, label_len, a, &n);
		for (size_t i = 0; i < m; i++) {
			memcpy(buf, a, 20);
			memcpy(buf + 20, label, label_len);
			HMAC(EVP_sha1(), s, (int)s_len, buf, 20 + label_len, blk, &n);
			for (size_t j = 0; j < 20 && i * 20 + j < out_len; j++)
				out[i * 20 + j] ^= blk[j];
			HMAC(EVP_sha1(), s, (int)s_len, a, 20, a, &n);
		}
	}
}

static void test_transport_keys(void)
{
	struct kb_mikey_tkeys tk;
	uint8_t want[20];

	CHECK(kb_mikey_derive_tkeys(vec.muk, 32, vec.csb_id, vec.rand, 16, &tk) == 0);
	CHECK_MEM(tk.encr, vec.tk.encr, 16);
	CHECK_MEM(tk.auth, vec.tk.auth, 20);
	CHECK_MEM(tk.salt, vec.tk.salt, 14);

	/* the independent PRF agrees with the vector, too */
	indep_prf(vec.muk, 32, KB_MIKEY_CONST_ENCR, vec.csb_id, vec.rand, 16, want, 16);
	CHECK_MEM(want, vec.tk.encr, 16);
	indep_prf(vec.muk, 32, KB_MIKEY_CONST_AUTH, vec.csb_id, vec.rand, 16, want, 20);
	CHECK_MEM(want, vec.tk.auth, 20);
	indep_prf(vec.muk, 32, KB_MIKEY_CONST_SALT, vec.csb_id, vec.rand, 16, want, 14);
	CHECK_MEM(want, vec.tk.salt, 14);
}

/* Several inkey pieces, several output blocks, odd lengths. */
static void test_prf_shapes(void)
{
	static const size_t key_lens[] = {1, 16, 31, 32, 33, 64, 65, 100};
	static const size_t out_lens[] = {1, 14, 20, 21, 40, 41, 100};
	uint8_t key[100], rand[40], got[100], want[100];

	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i * 7 + 3);
	for (size_t i = 0; i < sizeof(rand); i++)
		rand[i] = (uint8_t)(0xa0 ^ i);
	for (size_t k = 0; k < sizeof(key_lens) / sizeof(key_lens[0]); k++) {
		for (size_t o = 0; o < sizeof(out_lens) / sizeof(out_lens[0]); o++) {
			size_t rl = (k + o) % 2 ? 16 : 40;
			CHECK(kb_mikey_prf(key, key_lens[k], 0x12345678u, 0xff, 0xdeadbeefu, rand,
					   rl, got, out_lens[o]) == 0);
			indep_prf(key, key_lens[k], 0x12345678u, 0xdeadbeefu, rand, rl, want,
				  out_lens[o]);
			CHECK_MEM(got, want, out_lens[o]);
		}
	}
	CHECK(kb_mikey_prf(key, 16, 1, 0xff, 1, rand, 256, got, 16) == -1);
	CHECK(kb_mikey_prf(key, 0, 1, 0xff, 1, rand, 16, got, 16) == -1);
	CHECK(kb_mikey_prf(key, 16, 1, 0xff, 1, rand, 16, got, 0) == -1);
}

/* The IV, written out: (salt XOR (00 00 ‖ csb ‖ t64)) ‖ 00 00. */
static void test_iv(void)
{
	uint8_t iv[16], want[16];
	uint8_t x[14] = {0, 0, 0x00, 0x01, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0, 7};

	kb_mikey_iv(vec.tk.salt, vec.csb_id, vec.counter, iv);
	for (int i = 0; i < 14; i++)
		want[i] = vec.tk.salt[i] ^ x[i];
	want[14] = want[15] = 0;
	CHECK_MEM(iv, want, 16);
}

/* AES-128-CTR with OpenSSL directly. */
static void indep_ctr(const uint8_t *key, const uint8_t iv[16], const uint8_t *in, uint8_t *out,
		      int len)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0, f = 0;
	CHECK(c != NULL);
	CHECK(EVP_EncryptInit_ex(c, EVP_aes_128_ctr(), NULL, key, iv) == 1);
	CHECK(EVP_EncryptUpdate(c, out, &n, in, len) == 1);
	CHECK(EVP_EncryptFinal_ex(c, out + n, &f) == 1);
	CHECK(n + f == len);
	EVP_CIPHER_CTX_free(c);
}

static void test_msk_message(void)
{
	struct kb_msk_msg_params p = kb_test_msk_vector_params(&vec);
	uint8_t buf[KB_MIKEY_MSG_MAX], plain[64], iv[16], mac[20];
	size_t len = 0;
	unsigned int n;

	CHECK(kb_msk_msg_len(&p) == vec.msg_len);
	CHECK(kb_ref_seal_msk(buf, sizeof(buf), &p, &vec.tk, &len) == 0);
	CHECK(len == vec.msg_len);
	CHECK_MEM(buf, vec.msg, vec.msg_len);

	/* independent: the vector's MAC is HMAC-SHA-1 over all bytes before it */
	HMAC(EVP_sha1(), vec.tk.auth, 20, vec.msg, vec.msg_len - 20, mac, &n);
	CHECK_MEM(mac, vec.msg + vec.msg_len - 20, 20);

	/* independent: decrypt the 25-byte key data at the KEMAC and compare it
	 * with the plaintext sub-payload written out by hand */
	size_t encr_off = vec.msg_len - 20 - 1 - 25;
	uint8_t want[25] = {0x00, 0x01, 0x00, 0x10};
	memcpy(want + 4, vec.msk, 16);
	want[20] = 4;
	want[21] = (uint8_t)(vec.msk_id >> 24);
	want[22] = (uint8_t)(vec.msk_id >> 16);
	want[23] = (uint8_t)(vec.msk_id >> 8);
	want[24] = (uint8_t)vec.msk_id;
	CHECK(vec.msg[encr_off - 2] == 0 && vec.msg[encr_off - 1] == 25);
	memcpy(iv, vec.tk.salt, 14);
	iv[2] ^= (uint8_t)(vec.csb_id >> 24);
	iv[3] ^= (uint8_t)(vec.csb_id >> 16);
	iv[4] ^= (uint8_t)(vec.csb_id >> 8);
	iv[5] ^= (uint8_t)vec.csb_id;
	iv[10] ^= (uint8_t)(vec.counter >> 24);
	iv[11] ^= (uint8_t)(vec.counter >> 16);
	iv[12] ^= (uint8_t)(vec.counter >> 8);
	iv[13] ^= (uint8_t)vec.counter;
	iv[14] = iv[15] = 0;
	indep_ctr(vec.tk.encr, iv, vec.msg + encr_off, plain, 25);
	CHECK_MEM(plain, want, 25);
	kb_memzero(plain, sizeof(plain));
}

static void test_open(void)
{
	struct kb_mikey_opened o;
	struct kb_mikey_error err = {0};

	CHECK(kb_ref_open(vec.msg, vec.msg_len, vec.muk, 32, NULL, 0, &o, &err) == 0);
	CHECK(o.msg.data_type == 0 && o.msg.v == 1 && o.msg.csb_id == vec.csb_id);
	CHECK(o.msg.t_type == 2 && o.msg.t_value == vec.counter);
	CHECK(o.msg.has_msk_id && o.msg.msk_id == vec.msk_id);
	CHECK(o.msg.has_domain && memcmp(o.msg.domain, vec.domain, 3) == 0);
	CHECK(o.msg.n_ids == 2);
	CHECK(o.msg.ids[0].len == strlen(vec.idi) &&
	      memcmp(o.msg.ids[0].data, vec.idi, strlen(vec.idi)) == 0);
	CHECK(o.msg.ids[1].len == strlen(vec.idr) &&
	      memcmp(o.msg.ids[1].data, vec.idr, strlen(vec.idr)) == 0);
	CHECK(o.n_keydata == 1);
	CHECK(o.keydata[0].type == 0 && o.keydata[0].kv == 1);
	CHECK(o.keydata[0].key_len == 16);
	CHECK(o.keydata[0].key != NULL && memcmp(o.keydata[0].key, vec.msk, 16) == 0);
	CHECK(o.keydata[0].spi_len == 4);
	kb_memzero(&o, sizeof(o));

	/* with pre-derived keys and a reused context */
	struct kb_ref_ctx *c = kb_ref_ctx_new();
	CHECK(c != NULL);
	for (int i = 0; i < 3; i++) {
		CHECK(kb_ref_open_tk(c, vec.msg, vec.msg_len, &vec.tk, &o, &err) == 0);
		CHECK(o.n_keydata == 1 && memcmp(o.keydata[0].key, vec.msk, 16) == 0);
	}
	kb_ref_ctx_free(c);
	kb_memzero(&o, sizeof(o));
}

static void test_ack(void)
{
	uint8_t buf[64], mac[20], in[128];
	size_t len = 0, il = strlen(vec.idi), rl = strlen(vec.idr);
	struct kb_mikey_msg m;
	struct kb_mikey_error err;
	unsigned int n;

	CHECK(kb_ref_build_ack(buf, sizeof(buf), vec.csb_id, vec.counter, (const uint8_t *)vec.idi,
			       (uint16_t)il, (const uint8_t *)vec.idr, (uint16_t)rl, &vec.tk,
			       &len) == 0);
	CHECK(len == vec.ack_len);
	CHECK_MEM(buf, vec.ack, vec.ack_len);

	/* independent: ack before MAC ‖ idi ‖ idr ‖ counter(4) */
	memcpy(in, vec.ack, 18);
	memcpy(in + 18, vec.idi, il);
	memcpy(in + 18 + il, vec.idr, rl);
	memcpy(in + 18 + il + rl, "\0\0\0\x07", 4);
	CHECK(vec.counter == 7);
	HMAC(EVP_sha1(), vec.tk.auth, 20, in, 18 + il + rl + 4, mac, &n);
	CHECK_MEM(mac, vec.ack + 18, 20);

	CHECK(kb_mikey_decode(vec.ack, vec.ack_len, &m, &err) == 0);
	CHECK(m.data_type == 1 && m.csb_id == vec.csb_id && m.t_value == vec.counter);
	CHECK(kb_ref_verify_ack(vec.ack, &m, (const uint8_t *)vec.idi, (uint16_t)il,
				(const uint8_t *)vec.idr, (uint16_t)rl, &vec.tk) == 0);
	/* wrong IDr, or a flipped MAC bit: refused */
	CHECK(kb_ref_verify_ack(vec.ack, &m, (const uint8_t *)vec.idi, (uint16_t)il,
				(const uint8_t *)vec.idr, (uint16_t)rl - 1, &vec.tk) == -1);
	memcpy(buf, vec.ack, vec.ack_len);
	buf[vec.ack_len - 1] ^= 1;
	CHECK(kb_mikey_decode(buf, vec.ack_len, &m, &err) == 0);
	CHECK(kb_ref_verify_ack(buf, &m, (const uint8_t *)vec.idi, (uint16_t)il,
				(const uint8_t *)vec.idr, (uint16_t)rl, &vec.tk) == -1);
}

static void test_pull(void)
{
	struct kb_msk_msg_params p = kb_test_msk_vector_params(&vec);
	uint8_t buf[KB_MIKEY_MSG_MAX], mac[20];
	size_t len = 0;
	struct kb_mikey_msg m;
	struct kb_mikey_error err;
	struct kb_mikey_opened o;
	unsigned int n;

	p.msk = NULL;
	p.v = true; /* ignored for a pull */
	CHECK(kb_ref_seal_msk(buf, sizeof(buf), &p, &vec.tk, &len) == 0);
	CHECK(len == vec.msg_len - 25);
	CHECK(kb_mikey_decode(buf, len, &m, &err) == 0);
	CHECK(m.v == 0);
	CHECK(m.has_kemac && m.encr_len == 0 && m.encr_alg == 1 && m.mac_alg == 1);
	CHECK(m.msk_id == (vec.msk_id & 0xffff0000u));
	CHECK((m.msk_id & 0xffff) == 0);
	/* the pull is the MSK message up to the KEMAC, bar V and the key number */
	CHECK(memcmp(buf + 4, vec.msg + 4, 17) == 0);
	CHECK(buf[3] == 0x00 && vec.msg[3] == 0x80);
	CHECK(memcmp(buf + 25, vec.msg + 25, len - 25 - 24) == 0);
	HMAC(EVP_sha1(), vec.tk.auth, 20, buf, len - 20, mac, &n);
	CHECK_MEM(mac, buf + len - 20, 20);
	CHECK(kb_ref_open(buf, len, vec.muk, 32, NULL, 0, &o, &err) == 0);
	CHECK(o.n_keydata == 0 && o.plain_len == 0);
}

static void test_mtk_message(void)
{
	uint8_t mtk[16], salt[14], rand[16], buf[KB_MIKEY_MSG_MAX], mac[20], iv[16], plain[64];
	struct kb_mikey_tkeys tk;
	size_t len = 0;
	unsigned int n;

	for (int i = 0; i < 16; i++) {
		mtk[i] = (uint8_t)(0x30 + i);
		rand[i] = (uint8_t)(0xc0 + i);
	}
	for (int i = 0; i < 14; i++)
		salt[i] = (uint8_t)(0x70 + i);
	struct kb_mtk_msg_params p = {.csb_id = 0x0a0b0c0d,
				      .counter = 0x01020304,
				      .rand = rand,
				      .domain = {0x62, 0xf2, 0x10},
				      .msk_id = vec.msk_id,
				      .mtk_id = 0x0102,
				      .mtk = mtk,
				      .salt = salt};
	/* MTK messages are protected by the MSK */
	CHECK(kb_mikey_derive_tkeys(vec.msk, 16, p.csb_id, rand, 16, &tk) == 0);
	CHECK(kb_ref_seal_mtk(buf, sizeof(buf), &p, &tk, &len) == 0);

	struct kb_mikey_msg m;
	struct kb_mikey_error err;
	CHECK(kb_mikey_decode(buf, len, &m, &err) == 0);
	CHECK(m.data_type == 0 && m.v == 0 && m.csb_id == p.csb_id && m.map_type == 1);
	CHECK(m.n_ids == 0 && m.has_rand && m.rand_len == 16);
	CHECK(m.has_mtk_id && m.mtk_id == 0x0102 && m.mtk_id_len == 2);
	CHECK(m.msk_id == vec.msk_id && m.t_value == p.counter);

	/* independent MAC and decryption */
	HMAC(EVP_sha1(), tk.auth, 20, buf, m.mac_off, mac, &n);
	CHECK_MEM(mac, m.mac, 20);
	kb_mikey_iv(tk.salt, p.csb_id, p.counter, iv);
	CHECK(m.encr_len == 39);
	indep_ctr(tk.encr, iv, m.encr, plain, m.encr_len);
	uint8_t want[39] = {0x00, 0x11, 0x00, 0x10};
	memcpy(want + 4, mtk, 16);
	want[20] = 0;
	want[21] = 14;
	memcpy(want + 22, salt, 14);
	want[36] = 2;
	want[37] = 0x01;
	want[38] = 0x02;
	CHECK_MEM(plain, want, 39);

	struct kb_mikey_opened o;
	CHECK(kb_ref_open(buf, len, vec.msk, 16, NULL, 0, &o, &err) == 0);
	CHECK(o.n_keydata == 1);
	CHECK(o.keydata[0].type == 1 && o.keydata[0].kv == 1);
	CHECK(o.keydata[0].key_len == 16 && memcmp(o.keydata[0].key, mtk, 16) == 0);
	CHECK(o.keydata[0].salt_len == 14 && memcmp(o.keydata[0].salt, salt, 14) == 0);
	CHECK(o.keydata[0].spi_len == 2 && o.keydata[0].spi[0] == 0x01 &&
	      o.keydata[0].spi[1] == 0x02);
	/* the MUK does not open an MTK message */
	CHECK(kb_ref_open(buf, len, vec.muk, 32, NULL, 0, &o, &err) == -1);
	kb_memzero(&o, sizeof(o));
	kb_memzero(&tk, sizeof(tk));
}

/* An update message without RAND opens with the CSB's RAND from the caller. */
static void test_update_without_rand(void)
{
	struct kb_msk_msg_params p = kb_test_msk_vector_params(&vec);
	uint8_t buf[KB_MIKEY_MSG_MAX];
	size_t len = 0;
	struct kb_mikey_opened o;
	struct kb_mikey_error err = {0};

	p.rand = NULL;
	p.counter = 8;
	CHECK(kb_ref_seal_msk(buf, sizeof(buf), &p, &vec.tk, &len) == 0);
	CHECK(len == vec.msg_len - 18);
	CHECK(kb_ref_open(buf, len, vec.muk, 32, NULL, 0, &o, &err) == -1);
	CHECK(strstr(err.msg, "RAND") != NULL);
	CHECK(kb_ref_open(buf, len, vec.muk, 32, vec.rand, 16, &o, &err) == 0);
	CHECK(o.n_keydata == 1 && memcmp(o.keydata[0].key, vec.msk, 16) == 0);
	kb_memzero(&o, sizeof(o));
}

int main(void)
{
	load_vector();
	if (!vec_loaded)
		return kb_check_done();
	RUN(test_transport_keys);
	RUN(test_prf_shapes);
	RUN(test_iv);
	RUN(test_msk_message);
	RUN(test_open);
	RUN(test_ack);
	RUN(test_pull);
	RUN(test_mtk_message);
	RUN(test_update_without_rand);
	return kb_check_done();
}
