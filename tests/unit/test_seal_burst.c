/* The IPsec-MB burst sealer against the OpenSSL reference (kb_ref_seal_*),
 * differential over many random SAs and parameters (fixed seed), plus the
 * known-answer message of tests/vectors/msk-message-1.json, ack
 * verification, the job-API path, the HMAC pads against OpenSSL HMAC
 * directly, the shard function and the in-memory counter grantor. */
#include "check.h"
#include "testlib.h"

#include "counter_grant.h"
#include "sa.h"
#include "seal_burst.h"

#include "mikey/mikey_prf.h"
#include "mikey/mikey_profile.h"
#include "mikey/mikey_ref.h"
#include "util/secret.h"

#include <intel-ipsec-mb.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define N_SA 48
#define MAX_MSG KB_MIKEY_MSG_MAX

static const char idi[] = "bmsc.example.org";

/* One SA as both sides see it: the record, and the transport keys the
 * reference derives on its own. */
struct test_sa {
	struct kb_sa_record rec;
	struct kb_mikey_tkeys tk;
	uint8_t psk[32];
	char idr[KB_SA_ID_MAX + 1];
};

static struct test_sa sas[N_SA];

static void make_sa(struct test_sa *t, uint32_t csb_id)
{
	static const char alpha[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint8_t rand[KB_MIKEY_RAND_LEN];
	size_t n = 4 + kb_test_rnd() % 60;
	size_t off;

	kb_test_rnd_bytes(t->psk, sizeof(t->psk));
	kb_test_rnd_bytes(rand, sizeof(rand));
	for (size_t i = 0; i < n; i++)
		t->idr[i] = alpha[kb_test_rnd() % 64];
	off = n;
	memcpy(t->idr + off, "==@bsf.example.org", 19);
	CHECK(kb_sa_record_build(&t->rec, t->psk, sizeof(t->psk), csb_id, rand, t->idr,
				 (uint16_t)kb_test_rnd(), NULL, 4) == 0);
	CHECK(kb_mikey_derive_tkeys(t->psk, sizeof(t->psk), csb_id, rand, sizeof(rand), &t->tk) ==
	      0);
}

static void setup_sas(void)
{
	for (unsigned i = 0; i < N_SA; i++) {
		uint32_t csb = (uint32_t)kb_test_rnd();
		make_sa(&sas[i], csb == 0 ? 1 : csb);
	}
}

/* One message of a burst, three copies: burst, job API, reference. */
struct case_msg {
	uint8_t burst[MAX_MSG], jobapi[MAX_MSG], ref[MAX_MSG];
	struct kb_mikey_layout lay;
	size_t ref_len;
	const struct test_sa *sa;
	uint32_t counter;
	int kind; /* 0 MSK, 1 pull, 2 MTK */
};

static struct case_msg cases[KB_SEAL_BURST_MAX];

static void make_case(struct case_msg *c, int kind)
{
	uint8_t msk[KB_MSK_LEN], salt[KB_MIKEY_SALT_LEN];
	const struct test_sa *sa = &sas[kb_test_rnd() % N_SA];
	uint32_t counter = (uint32_t)kb_test_rnd();
	int w = -1, r = -1;

	kb_test_rnd_bytes(msk, sizeof(msk));
	kb_test_rnd_bytes(salt, sizeof(salt));
	c->sa = sa;
	c->counter = counter;
	c->kind = kind;
	if (kind == 2) {
		struct kb_mtk_msg_params p = {
			.csb_id = sa->rec.csb_id,
			.counter = counter,
			.rand = sa->rec.rand,
			.domain = {0x62, 0xf2, 0x10},
			.msk_id = (uint32_t)kb_test_rnd(),
			.mtk_id = (uint16_t)kb_test_rnd(),
			.mtk = msk,
			.salt = salt,
		};
		w = kb_mtk_msg_write(c->burst, sizeof(c->burst), &p, &c->lay);
		r = kb_ref_seal_mtk(c->ref, sizeof(c->ref), &p, &sa->tk, &c->ref_len);
	} else {
		struct kb_msk_msg_params p = {
			.csb_id = sa->rec.csb_id,
			.counter = counter,
			.rand = kb_test_rnd() % 4 != 0 ? sa->rec.rand : NULL,
			.idi = (const uint8_t *)idi,
			.idi_len = sizeof(idi) - 1,
			.idr = sa->rec.idr,
			.idr_len = sa->rec.idr_len,
			.domain = {(uint8_t)kb_test_rnd(), (uint8_t)kb_test_rnd(),
				   (uint8_t)kb_test_rnd()},
			.msk_id = (uint32_t)kb_test_rnd(),
			.msk = kind == 1 ? NULL : msk,
			.v = kb_test_rnd() & 1,
		};
		w = kb_msk_msg_write(c->burst, sizeof(c->burst), &p, &c->lay);
		r = kb_ref_seal_msk(c->ref, sizeof(c->ref), &p, &sa->tk, &c->ref_len);
	}
	CHECK(w == 0);
	CHECK(r == 0);
	CHECK(c->lay.len == c->ref_len);
	CHECK(kind == 1 ? c->lay.encr_len == 0 : c->lay.encr_len > 0);
	memcpy(c->jobapi, c->burst, c->lay.len);
	kb_memzero(msk, sizeof(msk));
}

/* Seal n random messages (kinds drawn from `mix`) both ways and compare. */
static void run_burst(struct kb_sealer *s, unsigned n, const int *mix, unsigned n_mix)
{
	struct kb_seal_req req[KB_SEAL_BURST_MAX], jreq[KB_SEAL_BURST_MAX];
	unsigned bad = 0;

	for (unsigned i = 0; i < n; i++) {
		make_case(&cases[i], mix[kb_test_rnd() % n_mix]);
		req[i] = (struct kb_seal_req){cases[i].burst, &cases[i].lay, &cases[i].sa->rec,
					      cases[i].counter};
		jreq[i] = req[i];
		jreq[i].msg = cases[i].jobapi;
	}
	CHECK(kb_seal_burst(s, req, n) == n);
	CHECK(kb_seal_jobapi(s, jreq, n) == n);
	for (unsigned i = 0; i < n; i++) {
		if (memcmp(cases[i].burst, cases[i].ref, cases[i].ref_len) != 0 ||
		    memcmp(cases[i].jobapi, cases[i].ref, cases[i].ref_len) != 0) {
			if (bad++ == 0) {
				fprintf(stderr, "burst %u msg %u kind %d differs\n", n, i,
					cases[i].kind);
				CHECK_MEM(cases[i].burst, cases[i].ref, cases[i].ref_len);
				CHECK_MEM(cases[i].jobapi, cases[i].ref, cases[i].ref_len);
			}
		}
	}
	CHECK(bad == 0);
}

static struct kb_sealer *sealer;

static void test_msk_bursts(void)
{
	static const unsigned sizes[] = {1, 7, 32, 64};
	static const int msk_only[] = {0};

	for (unsigned k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++)
		for (int round = 0; round < 40; round++)
			run_burst(sealer, sizes[k], msk_only, 1);
}

static void test_mixed_bursts(void)
{
	static const unsigned sizes[] = {1, 7, 32, 64};
	static const int mixed[] = {0, 0, 1, 2};
	static const int pulls[] = {1};
	static const int mtk[] = {2};

	for (unsigned k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		for (int round = 0; round < 40; round++)
			run_burst(sealer, sizes[k], mixed, 4);
		run_burst(sealer, sizes[k], pulls, 1); /* no cipher job at all */
		run_burst(sealer, sizes[k], mtk, 1);
	}
}

/* --- the known answer, through the burst path ------------------------ */

static void test_known_answer(void)
{
	struct kb_test_msk_vector v;
	uint8_t msg[MAX_MSG], ok[2] = {0, 0};
	struct kb_sa_record rec;
	struct kb_mikey_layout lay;

	CHECK(kb_test_msk_vector_load(&v) == 0);
	CHECK(v.ack_len == KB_ACK_LEN);
	CHECK(kb_sa_record_build(&rec, v.muk, sizeof(v.muk), v.csb_id, v.rand, v.idr, 1, NULL, 2) ==
	      0);
	struct kb_msk_msg_params p = kb_test_msk_vector_params(&v);
	CHECK(kb_msk_msg_write(msg, sizeof(msg), &p, &lay) == 0);
	CHECK(lay.len == v.msg_len);
	struct kb_seal_req req = {msg, &lay, &rec, v.counter};
	CHECK(kb_seal_burst(sealer, &req, 1) == 1);
	CHECK_MEM(msg, v.msg, v.msg_len);

	/* the vector's ack verifies; the same ack with a flipped MAC bit does not */
	struct kb_ack_req areq[2] = {{v.ack, &rec}, {msg, &rec}};
	uint8_t bad_ack[KB_ACK_LEN];
	memcpy(bad_ack, v.ack, sizeof(bad_ack));
	bad_ack[KB_ACK_LEN - 1] ^= 0x01;
	areq[1].ack = bad_ack;
	kb_verify_ack_burst(sealer, areq, 2, (const uint8_t *)v.idi, (uint16_t)strlen(v.idi), ok);
	CHECK(ok[0] == 1);
	CHECK(ok[1] == 0);
	kb_memzero(&rec, sizeof(rec));
	kb_memzero(&v, sizeof(v));
}

/* --- acks --------------------------------------------------------------- */

static void test_acks(void)
{
	enum { N = 60 };
	static uint8_t acks[N][64];
	struct kb_ack_req req[N];
	uint8_t ok[N];
	int expect[N];

	for (unsigned i = 0; i < N; i++) {
		const struct test_sa *a = &sas[i % N_SA], *b = &sas[(i + 1) % N_SA];
		uint32_t counter = (uint32_t)kb_test_rnd();
		size_t len = 0;
		int kind = (int)(kb_test_rnd() % 5);
		/* kind 3: another SA's ack; kind 4: this SA's CSB ID, other keys */
		const struct test_sa *signer = kind >= 3 ? b : a;
		uint32_t csb = kind == 3 ? b->rec.csb_id : a->rec.csb_id;

		CHECK(kb_ref_build_ack(acks[i], sizeof(acks[i]), csb, counter, (const uint8_t *)idi,
				       sizeof(idi) - 1, (const uint8_t *)signer->idr,
				       (uint16_t)strlen(signer->idr), &signer->tk, &len) == 0);
		CHECK(len == KB_ACK_LEN);
		if (kind == 1)
			acks[i][KB_ACK_LEN - 1 - kb_test_rnd() % 20] ^=
				(uint8_t)(1u << (kb_test_rnd() % 8));
		if (kind == 2) /* the T payload's counter value: HDR 10, NP, type */
			acks[i][12 + kb_test_rnd() % 4] ^= (uint8_t)(1u << (kb_test_rnd() % 8));
		req[i] = (struct kb_ack_req){acks[i], &a->rec};
		expect[i] = kind == 0;
	}
	memset(ok, 0xee, sizeof(ok));
	kb_verify_ack_burst(sealer, req, KB_SEAL_BURST_MAX < N ? KB_SEAL_BURST_MAX : N,
			    (const uint8_t *)idi, sizeof(idi) - 1, ok);
	for (unsigned i = 0; i < N; i++) {
		CHECK(ok[i] == expect[i]);
		if (ok[i] != expect[i])
			fprintf(stderr, "ack %u: got %u want %d\n", i, ok[i], expect[i]);
	}
	/* a burst of one, and another idi: the MAC covers idi */
	static const char other_idi[] = "bmsc.example.net";
	for (unsigned i = 0; i < N; i++) {
		if (!expect[i])
			continue;
		kb_verify_ack_burst(sealer, &req[i], 1, (const uint8_t *)idi, sizeof(idi) - 1, ok);
		CHECK(ok[0] == 1);
		kb_verify_ack_burst(sealer, &req[i], 1, (const uint8_t *)other_idi,
				    sizeof(other_idi) - 1, ok);
		CHECK(ok[0] == 0);
	}
}

/* --- the record's precomputed material, against OpenSSL directly ------- */

static void test_pads_against_openssl(void)
{
	IMB_MGR *m = alloc_mb_mgr(0);
	uint8_t data[300], tag[20], want[20], block[16], ctr_out[16], zero[16] = {0};
	unsigned int wlen = 0;

	CHECK(m != NULL);
	if (m == NULL)
		return;
	init_mb_mgr_auto(m, NULL);
	for (unsigned i = 0; i < N_SA; i++) {
		const struct test_sa *t = &sas[i];
		size_t len = 1 + kb_test_rnd() % (sizeof(data) - 1); /* IPsec-MB rejects 0 */

		kb_test_rnd_bytes(data, len);
		IMB_JOB *job = IMB_GET_NEXT_JOB(m);
		memset(job, 0, sizeof(*job));
		job->cipher_mode = IMB_CIPHER_NULL;
		job->chain_order = IMB_ORDER_HASH_CIPHER;
		job->hash_alg = IMB_AUTH_HMAC_SHA_1;
		job->src = data;
		job->msg_len_to_hash_in_bytes = len;
		job->auth_tag_output = tag;
		job->auth_tag_output_len_in_bytes = sizeof(tag);
		job->u.HMAC._hashed_auth_key_xor_ipad = t->rec.hmac_ipad;
		job->u.HMAC._hashed_auth_key_xor_opad = t->rec.hmac_opad;
		job = IMB_SUBMIT_JOB(m);
		if (job == NULL)
			job = IMB_FLUSH_JOB(m);
		CHECK(job != NULL && job->status == IMB_STATUS_COMPLETED);
		CHECK(HMAC(EVP_sha1(), t->tk.auth, sizeof(t->tk.auth), data, len, want, &wlen) !=
		      NULL);
		CHECK_MEM(tag, want, sizeof(want));

		/* the expanded key: one AES-CTR block of zeros = E(k, iv) */
		uint8_t iv[16];
		int outl = 0;
		kb_test_rnd_bytes(iv, sizeof(iv));
		job = IMB_GET_NEXT_JOB(m);
		memset(job, 0, sizeof(*job));
		job->cipher_mode = IMB_CIPHER_CNTR;
		job->cipher_direction = IMB_DIR_ENCRYPT;
		job->chain_order = IMB_ORDER_CIPHER_HASH;
		job->hash_alg = IMB_AUTH_NULL;
		job->enc_keys = t->rec.aes_enc_keys;
		job->key_len_in_bytes = 16;
		job->src = zero;
		job->dst = ctr_out;
		job->msg_len_to_cipher_in_bytes = 16;
		job->iv = iv;
		job->iv_len_in_bytes = 16;
		job = IMB_SUBMIT_JOB(m);
		if (job == NULL)
			job = IMB_FLUSH_JOB(m);
		CHECK(job != NULL && job->status == IMB_STATUS_COMPLETED);
		EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
		CHECK(EVP_EncryptInit_ex(ctx, EVP_aes_128_ecb(), NULL, t->tk.encr, NULL) == 1);
		EVP_CIPHER_CTX_set_padding(ctx, 0);
		CHECK(EVP_EncryptUpdate(ctx, block, &outl, iv, 16) == 1 && outl == 16);
		EVP_CIPHER_CTX_free(ctx);
		CHECK_MEM(ctr_out, block, 16);
		/* the rest of the record */
		CHECK_MEM(t->rec.salt, t->tk.salt, KB_MIKEY_SALT_LEN);
		CHECK(t->rec.idr_len == strlen(t->idr));
		CHECK_MEM(t->rec.idr, t->idr, t->rec.idr_len);
	}
	free_mb_mgr(m);
}

static void test_record_limits(void)
{
	char long_idr[KB_SA_ID_MAX + 2];
	uint8_t psk[16] = {1}, rand[16] = {2};
	struct kb_sa_record rec;

	memset(long_idr, 'a', sizeof(long_idr) - 1);
	long_idr[sizeof(long_idr) - 1] = '\0';
	CHECK(kb_sa_record_build(&rec, psk, sizeof(psk), 7, rand, long_idr, 0, NULL, 1) == -1);
	long_idr[KB_SA_ID_MAX] = '\0';
	CHECK(kb_sa_record_build(&rec, psk, sizeof(psk), 7, rand, long_idr, 0, NULL, 1) == 0);
	CHECK(rec.idr_len == KB_SA_ID_MAX);
	struct kb_ue_addr addr = {.af = 2, .ip = {10, 0, 0, 9}, .port = 4359};
	CHECK(kb_sa_record_build(&rec, psk, sizeof(psk), 7, rand, "x", 9, &addr, 8) == 0);
	CHECK(rec.addr.port == 4359 && rec.addr.ip[3] == 9 && rec.key_group == 9);
	CHECK(rec.shard == kb_sa_shard(7, 8));
	kb_memzero(&rec, sizeof(rec));
}

static void test_shard(void)
{
	enum { SHARDS = 3, IDS = 30000 };
	unsigned count[SHARDS] = {0};

	for (uint32_t id = 1; id <= IDS; id++) {
		unsigned s = kb_sa_shard(id, SHARDS);
		CHECK(s < SHARDS);
		if (s < SHARDS)
			count[s]++;
		CHECK(kb_sa_shard(id, 1) == 0);
	}
	/* sequential csb_ids must still spread evenly (within 5%) */
	for (unsigned s = 0; s < SHARDS; s++)
		CHECK(count[s] > IDS / SHARDS * 95 / 100 && count[s] < IDS / SHARDS * 105 / 100);
	CHECK(kb_sa_shard(12345, 0) == 0);
}

static void test_counter_grantor(void)
{
	struct kb_counter_grantor g;

	kb_counter_grantor_memory(&g);
	CHECK(g.floor(&g) == 0);
	CHECK(g.grant(&g, 1000) >= 1000);
	uint64_t a = g.grant(&g, 1000);
	CHECK(g.grant(&g, 10) >= a); /* never goes back */
	CHECK(g.grant(&g, 5000) >= 5000);
	CHECK(g.grant(&g, UINT64_C(1) << 32) == UINT64_C(1) << 32);
	CHECK(g.grant(&g, (UINT64_C(1) << 32) + 1) == 0); /* past 32-bit counters */
}

int main(void)
{
	setup_sas();
	sealer = kb_sealer_new();
	CHECK(sealer != NULL);
	if (sealer == NULL)
		return kb_check_done();
	printf("ipsec-mb %s, arch %s\n", imb_get_version_str(), kb_sealer_arch(sealer));
	RUN(test_msk_bursts);
	RUN(test_mixed_bursts);
	RUN(test_known_answer);
	RUN(test_acks);
	RUN(test_pads_against_openssl);
	RUN(test_record_limits);
	RUN(test_shard);
	RUN(test_counter_grantor);
	kb_sealer_free(sealer);
	kb_sa_thread_release();
	kb_memzero(sas, sizeof(sas));
	return kb_check_done();
}
