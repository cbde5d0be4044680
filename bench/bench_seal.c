/* MSK message sealing, each path in the same pipeline: pick the next UE in
 * the visiting order, take its next counter, write the profile's MSK message,
 * seal it. Paths: write only (no crypto: the floor of the pipeline), the
 * IPsec-MB burst sealer, the per-message IPsec-MB job API, the OpenSSL
 * reference with reused contexts, and OpenSSL naive (new EVP contexts per
 * message). The cryptodev path is in bench_cryptodev.c.
 *
 * Args: ues (1K: records hot in cache; 1M: cold, in DRAM, visited in a
 * random order) and burst (messages handed to the sealer at once). One
 * benchmark iteration is one message: time/iteration is ns/message and
 * items_per_second is messages/s. */
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "bench_common.h"
#include "mikey/mikey_ref.h"
#include "seal_burst.h"

#define MSG_CAP KB_MIKEY_MSG_MAX
#define CHECK_COUNTER 0x7ffffff0u

enum seal_path { SEAL_WRITE, SEAL_BURST, SEAL_JOBAPI, SEAL_OSSL_CTX, SEAL_OSSL_NAIVE };

static uint8_t bufs[KB_SEAL_BURST_MAX][MSG_CAP] __attribute__((aligned(64)));
static struct kb_mikey_layout lays[KB_SEAL_BURST_MAX];
static struct kb_seal_req reqs[KB_SEAL_BURST_MAX];

static inline uint32_t next_ue(const struct kb_bench_pop *pop, uint32_t *pos)
{
	uint32_t i = pop->order[*pos];

	*pos = *pos + 1 == pop->n ? 0 : *pos + 1;
	return i;
}

static struct kb_sealer *sealer(void)
{
	static struct kb_sealer *s;

	if (s == NULL)
		s = kb_sealer_new();
	return s;
}

/* Seal UE idx's message with counter c through `path` into buf. */
static int seal_one(enum seal_path path, struct kb_ref_ctx *ctx, const struct kb_bench_pop *pop,
		    uint32_t idx, uint32_t c, uint8_t *buf, size_t *len)
{
	struct kb_msk_msg_params p;
	struct kb_mikey_layout lay;
	struct kb_seal_req r;

	switch (path) {
	case SEAL_OSSL_CTX:
		kb_bench_msk_params(&pop->ue[idx], c, &p);
		return kb_ref_seal_msk_ctx(ctx, buf, MSG_CAP, &p, &pop->ue[idx].tk, len);
	case SEAL_OSSL_NAIVE:
		kb_bench_msk_params(&pop->ue[idx], c, &p);
		return kb_ref_seal_msk(buf, MSG_CAP, &p, &pop->ue[idx].tk, len);
	default:
		kb_bench_msk_params_rec(&pop->rec[idx], c, &p);
		if (kb_msk_msg_write(buf, MSG_CAP, &p, &lay) != 0)
			return -1;
		*len = lay.len;
		r = (struct kb_seal_req){
			.msg = buf, .lay = &lay, .sa = &pop->rec[idx], .counter = c};
		if (path == SEAL_BURST)
			return kb_seal_burst(sealer(), &r, 1) == 1 ? 0 : -1;
		if (path == SEAL_JOBAPI)
			return kb_seal_jobapi(sealer(), &r, 1) == 1 ? 0 : -1;
		return 0;
	}
}

/* Before timing: the path's bytes must equal the OpenSSL reference's. */
static int check_path(enum seal_path path, struct kb_ref_ctx *ctx, const struct kb_bench_pop *pop)
{
	uint8_t want[MSG_CAP], got[MSG_CAP];
	struct kb_msk_msg_params p;
	size_t wlen = 0, glen = 0;
	uint32_t idx = pop->order[0];

	if (path == SEAL_WRITE)
		return 0;
	kb_bench_msk_params(&pop->ue[idx], CHECK_COUNTER, &p);
	if (kb_ref_seal_msk(want, sizeof(want), &p, &pop->ue[idx].tk, &wlen) != 0)
		return -1;
	if (seal_one(path, ctx, pop, idx, CHECK_COUNTER, got, &glen) != 0)
		return -1;
	return wlen == glen && memcmp(want, got, wlen) == 0 ? 0 : -1;
}

static void run_seal(struct kb_bench_state *st, enum seal_path path)
{
	struct kb_bench_pop *pop = kb_bench_pop_get((uint32_t)kb_bench_state_range(st, 0));
	unsigned burst = path == SEAL_BURST || path == SEAL_JOBAPI || path == SEAL_WRITE
				 ? (unsigned)kb_bench_state_range(st, 1)
				 : 1;
	struct kb_ref_ctx *ctx = NULL;
	uint32_t pos = 0, fails = 0;
	struct kb_mikey_layout shape;
	struct kb_msk_msg_params sp;
	size_t len = 0;
	char label[64];

	if (pop == NULL || sealer() == NULL) {
		kb_bench_state_skip_with_error(st, "setup failed (population or sealer)");
		return;
	}
	if (path == SEAL_OSSL_CTX || path == SEAL_OSSL_NAIVE) {
		ctx = kb_ref_ctx_new();
		if (ctx == NULL) {
			kb_bench_state_skip_with_error(st, "kb_ref_ctx_new failed");
			return;
		}
	}
	kb_bench_msk_params_rec(&pop->rec[0], 1, &sp);
	if (kb_msk_msg_write(bufs[0], MSG_CAP, &sp, &shape) != 0 ||
	    check_path(path, ctx, pop) != 0) {
		kb_bench_state_skip_with_error(st, "sealed bytes differ from kb_ref_seal_msk");
		kb_ref_ctx_free(ctx);
		return;
	}

	while (kb_bench_keep_running_batch(st, burst)) {
		if (path == SEAL_OSSL_CTX || path == SEAL_OSSL_NAIVE) {
			uint32_t idx = next_ue(pop, &pos);

			fails += seal_one(path, ctx, pop, idx, pop->ctr[idx]++, bufs[0], &len) != 0;
			continue;
		}
		for (unsigned j = 0; j < burst; j++) {
			/* what the daemon does too: start loading the UE one burst
			 * ahead, so cold records arrive while this burst seals */
			uint32_t ahead = pos + burst < pop->n ? pos + burst : pos + burst - pop->n;
			uint32_t aidx = pop->order[ahead % pop->n];
			kb_sa_prefetch(&pop->rec[aidx]);
			__builtin_prefetch(&pop->ctr[aidx], 1, 3);

			uint32_t idx = next_ue(pop, &pos);
			const struct kb_sa_record *rec = &pop->rec[idx];
			struct kb_msk_msg_params p;

			kb_bench_msk_params_rec(rec, pop->ctr[idx], &p);
			fails += kb_msk_msg_write(bufs[j], MSG_CAP, &p, &lays[j]) != 0;
			reqs[j] = (struct kb_seal_req){.msg = bufs[j],
						       .lay = &lays[j],
						       .sa = rec,
						       .counter = pop->ctr[idx]++};
		}
		if (path == SEAL_BURST)
			fails += burst - kb_seal_burst(sealer(), reqs, burst);
		else if (path == SEAL_JOBAPI)
			fails += burst - kb_seal_jobapi(sealer(), reqs, burst);
	}
	kb_ref_ctx_free(ctx);
	if (fails != 0) {
		kb_bench_state_skip_with_error(st, "a message failed to seal");
		return;
	}
	kb_bench_state_set_items_processed(st, kb_bench_state_iterations(st));
	(void)len;
	kb_bench_state_counter(st, "msg_bytes", (double)shape.len, 0);
	/* the crypto work in one message, for the bound in scripts/bench */
	kb_bench_state_counter(st, "sha1_blocks", (double)((shape.mac_off + 9 + 63) / 64 + 1), 0);
	kb_bench_state_counter(st, "aes_blocks", (double)((shape.encr_len + 15) / 16), 0);
	snprintf(label, sizeof(label), "%s",
		 path == SEAL_WRITE ? "no crypto" : kb_sealer_arch(sealer()));
	kb_bench_state_set_label(st, label);
}

static void bm_write(struct kb_bench_state *st)
{
	run_seal(st, SEAL_WRITE);
}

static void bm_burst(struct kb_bench_state *st)
{
	run_seal(st, SEAL_BURST);
}

static void bm_jobapi(struct kb_bench_state *st)
{
	run_seal(st, SEAL_JOBAPI);
}

static void bm_ossl_ctx(struct kb_bench_state *st)
{
	run_seal(st, SEAL_OSSL_CTX);
}

static void bm_ossl_naive(struct kb_bench_state *st)
{
	run_seal(st, SEAL_OSSL_NAIVE);
}

static void add(const char *name, kb_bench_fn fn, const int64_t *bursts, unsigned n_bursts)
{
	static const char *const names[] = {"ues", "burst"};
	const int64_t sizes[] = {kb_bench_cfg.hot_ues, kb_bench_cfg.cold_ues};
	struct kb_bench *b = kb_bench_register(name, fn);

	for (unsigned s = 0; s < 2; s++) {
		for (unsigned k = 0; k < (n_bursts ? n_bursts : 1); k++) {
			int64_t a[2] = {sizes[s], n_bursts ? bursts[k] : 0};

			kb_bench_args(b, n_bursts ? 2 : 1, a);
		}
	}
	kb_bench_arg_names(b, n_bursts ? 2 : 1, names);
}

void kb_bench_register_seal(void)
{
	static const int64_t bursts[] = {32, 64};
	static const int64_t job_bursts[] = {1, 32};

	add("seal/write_only", bm_write, bursts, 1);
	add("seal/burst", bm_burst, bursts, 2);
	add("seal/jobapi", bm_jobapi, job_bursts, 2);
	add("seal/openssl_ctx", bm_ossl_ctx, NULL, 0);
	add("seal/openssl_naive", bm_ossl_naive, NULL, 0);
}
