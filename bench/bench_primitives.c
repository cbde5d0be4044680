/* The physical bound: the primitives' throughput measured with IPsec-MB
 * directly, on this core, with the same multi-buffer burst API the sealer
 * uses.
 *   prim/sha1_block_mb   HMAC-SHA-1 bursts of 64 jobs; items are SHA-1 block
 *                        compressions. len:55 is single-block jobs (one inner,
 *                        one outer compression: the per-job overhead counts);
 *                        len:1024 streams 17 inner + 1 outer per job: the
 *                        multi-buffer compression peak, used for the bound
 *   prim/aes128_block    AES-128-CTR over 1 KiB buffers in bursts: items are
 *                        16-byte block encryptions (the pipelined peak)
 *   prim/seal_crypto     the seal's crypto alone: per message one CTR job over
 *                        the key data and one HMAC job over the message before
 *                        the MAC, bursts of 64, keys hot, no message writing
 * scripts/bench turns the first two into the lower bound of one message:
 * sha1_blocks / sha1_rate + aes_blocks / aes_rate (the counts come from the
 * seal benchmarks' counters). */
#include <intel-ipsec-mb.h>
#include <string.h>

#include "bench.h"
#include "bench_common.h"
#include "imb_mgr.h"

#define BURST 64
#define AES_BUF 1024

static IMB_MGR *mgr(void)
{
	static IMB_MGR *m;

	if (m == NULL)
		m = kb_imb_mgr_new("kb_bench");
	return m;
}

static IMB_JOB jobs[BURST] __attribute__((aligned(64)));
static IMB_JOB hjobs[BURST] __attribute__((aligned(64)));
static uint8_t data[BURST][AES_BUF] __attribute__((aligned(64)));
static uint8_t tags[BURST][20];
static uint8_t ivs[BURST][16];
static uint8_t ipad[32] __attribute__((aligned(16))), opad[32] __attribute__((aligned(16)));
static uint8_t enc_keys[16 * 15] __attribute__((aligned(16)));
static uint8_t dec_keys[16 * 15] __attribute__((aligned(16)));

static void keys(IMB_MGR *m)
{
	static const uint8_t key[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
	uint8_t block[64];

	IMB_AES_KEYEXP_128(m, key, enc_keys, dec_keys);
	memset(block, 0x36, sizeof(block));
	IMB_SHA1_ONE_BLOCK(m, block, ipad);
	memset(block, 0x5c, sizeof(block));
	IMB_SHA1_ONE_BLOCK(m, block, opad);
}

static void hash_jobs(IMB_JOB *j, unsigned n, uint32_t len)
{
	for (unsigned i = 0; i < n; i++) {
		memset(&j[i], 0, sizeof(j[i]));
		j[i].cipher_mode = IMB_CIPHER_NULL;
		j[i].hash_alg = IMB_AUTH_HMAC_SHA_1;
		j[i].chain_order = IMB_ORDER_HASH_CIPHER;
		j[i].src = data[i];
		j[i].msg_len_to_hash_in_bytes = len;
		j[i].auth_tag_output = tags[i];
		j[i].auth_tag_output_len_in_bytes = 20;
		j[i].u.HMAC._hashed_auth_key_xor_ipad = ipad;
		j[i].u.HMAC._hashed_auth_key_xor_opad = opad;
	}
}

static void cipher_jobs(IMB_JOB *j, unsigned n, uint32_t off, uint32_t len)
{
	for (unsigned i = 0; i < n; i++) {
		memset(&j[i], 0, sizeof(j[i]));
		j[i].cipher_mode = IMB_CIPHER_CNTR;
		j[i].cipher_direction = IMB_DIR_ENCRYPT;
		j[i].key_len_in_bytes = IMB_KEY_128_BYTES;
		j[i].hash_alg = IMB_AUTH_NULL;
		j[i].chain_order = IMB_ORDER_CIPHER_HASH;
		j[i].enc_keys = enc_keys;
		j[i].iv = ivs[i];
		j[i].iv_len_in_bytes = 16;
		j[i].src = data[i] + off;
		j[i].dst = data[i] + off;
		j[i].msg_len_to_cipher_in_bytes = len;
	}
}

static void bm_sha1(struct kb_bench_state *st)
{
	const uint32_t len = (uint32_t)kb_bench_state_range(st, 0);
	/* compressions per job: inner over len + padding (the ipad block is
	 * precomputed), plus one for the outer hash */
	const uint64_t per_job = (len + 9 + 63) / 64 + 1;
	IMB_MGR *m = mgr();
	uint64_t fails = 0;

	if (m == NULL) {
		kb_bench_state_skip_with_error(st, "IPsec-MB manager");
		return;
	}
	keys(m);
	hash_jobs(jobs, BURST, len);
	while (kb_bench_keep_running_batch(st, per_job * BURST))
		fails += BURST - IMB_SUBMIT_HASH_BURST(m, jobs, BURST, IMB_AUTH_HMAC_SHA_1);
	if (fails != 0)
		kb_bench_state_skip_with_error(st, "hash burst failed");
	kb_bench_state_set_items_processed(st, kb_bench_state_iterations(st));
	kb_bench_state_set_label(st, "items = SHA-1 compressions");
}

static void bm_aes(struct kb_bench_state *st)
{
	const unsigned n = 16, blocks = AES_BUF / 16;
	IMB_MGR *m = mgr();
	uint64_t fails = 0;

	if (m == NULL) {
		kb_bench_state_skip_with_error(st, "IPsec-MB manager");
		return;
	}
	keys(m);
	cipher_jobs(jobs, n, 0, AES_BUF);
	while (kb_bench_keep_running_batch(st, (uint64_t)n * blocks))
		fails += n - IMB_SUBMIT_CIPHER_BURST(m, jobs, n, IMB_CIPHER_CNTR, IMB_DIR_ENCRYPT,
						     IMB_KEY_128_BYTES);
	if (fails != 0)
		kb_bench_state_skip_with_error(st, "cipher burst failed");
	kb_bench_state_set_items_processed(st, kb_bench_state_iterations(st));
	kb_bench_state_set_label(st, "items = AES-128 block encryptions");
}

static void bm_seal_crypto(struct kb_bench_state *st)
{
	struct kb_mikey_layout lay;
	struct kb_msk_msg_params p;
	struct kb_bench_ue ue;
	IMB_MGR *m = mgr();
	uint64_t fails = 0;

	if (m == NULL) {
		kb_bench_state_skip_with_error(st, "IPsec-MB manager");
		return;
	}
	/* the message shape: a real MSK message's layout */
	memset(&ue, 0, sizeof(ue));
	ue.csb_id = 1;
	ue.idr_len = KB_BENCH_IDR_LEN;
	memset(ue.idr, 'a', sizeof(ue.idr));
	kb_bench_msk_params(&ue, 1, &p);
	if (kb_msk_msg_write(data[0], sizeof(data[0]), &p, &lay) != 0) {
		kb_bench_state_skip_with_error(st, "kb_msk_msg_write");
		return;
	}
	keys(m);
	cipher_jobs(jobs, BURST, (uint32_t)lay.encr_off, (uint32_t)lay.encr_len);
	hash_jobs(hjobs, BURST, (uint32_t)lay.mac_off);
	while (kb_bench_keep_running_batch(st, BURST)) {
		fails += BURST - IMB_SUBMIT_CIPHER_BURST(m, jobs, BURST, IMB_CIPHER_CNTR,
							 IMB_DIR_ENCRYPT, IMB_KEY_128_BYTES);
		fails += BURST - IMB_SUBMIT_HASH_BURST(m, hjobs, BURST, IMB_AUTH_HMAC_SHA_1);
	}
	if (fails != 0)
		kb_bench_state_skip_with_error(st, "burst failed");
	kb_bench_state_set_items_processed(st, kb_bench_state_iterations(st));
	kb_bench_state_counter(st, "msg_bytes", (double)lay.len, 0);
	kb_bench_state_set_label(st, "items = messages (crypto only)");
}

void kb_bench_register_primitives(void)
{
	static const char *const len_name[] = {"len"};
	struct kb_bench *b = kb_bench_register("prim/sha1_block_mb", bm_sha1);

	kb_bench_args(b, 1, (const int64_t[]){55});
	kb_bench_args(b, 1, (const int64_t[]){1024});
	kb_bench_arg_names(b, 1, len_name);
	kb_bench_register("prim/aes128_block", bm_aes);
	kb_bench_register("prim/seal_crypto", bm_seal_crypto);
}
