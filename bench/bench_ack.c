/* Ack verification: the V MACs of verification messages, in IPsec-MB hash
 * bursts (kb_verify_ack_burst, 32 or 64 at once), against the OpenSSL
 * reference with a reused context (kb_ref_verify_ack_ctx, one at a time, on
 * a message decoded before timing). The acks are real: built with
 * kb_ref_build_ack for every UE before timing, then visited in the
 * population's random order; every one must verify. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "bench_common.h"
#include "mikey/mikey_ref.h"
#include "seal_burst.h"

#define ACK_STRIDE 64
#define ACK_COUNTER 5

struct ack_set {
	uint32_t n;
	uint8_t *acks; /* n * ACK_STRIDE: the ack of UE i at i * ACK_STRIDE */
	struct kb_mikey_msg *msgs; /* decoded, for the OpenSSL path (hot set only) */
};

static struct ack_set sets[2];

static struct ack_set *ack_set(const struct kb_bench_pop *pop, bool decoded)
{
	struct kb_ref_ctx *ctx;
	struct ack_set *a = NULL;
	size_t len;

	for (unsigned i = 0; i < 2; i++)
		if (sets[i].n == pop->n || (a == NULL && sets[i].n == 0))
			a = &sets[i];
	if (a == NULL)
		return NULL;
	if (a->n == pop->n && (!decoded || a->msgs != NULL))
		return a;
	ctx = kb_ref_ctx_new();
	if (ctx == NULL)
		return NULL;
	if (a->acks == NULL) {
		a->acks = aligned_alloc(64, (size_t)pop->n * ACK_STRIDE);
		if (a->acks == NULL)
			goto fail;
		for (uint32_t i = 0; i < pop->n; i++) {
			const struct kb_bench_ue *ue = &pop->ue[i];

			if (kb_ref_build_ack_ctx(ctx, a->acks + (size_t)i * ACK_STRIDE, ACK_STRIDE,
						 ue->csb_id, ACK_COUNTER,
						 (const uint8_t *)KB_BENCH_IDI,
						 sizeof(KB_BENCH_IDI) - 1, ue->idr, ue->idr_len,
						 &ue->tk, &len) != 0)
				goto fail;
		}
	}
	if (decoded && a->msgs == NULL) {
		struct kb_mikey_error err;

		a->msgs = calloc(pop->n, sizeof(*a->msgs));
		if (a->msgs == NULL)
			goto fail;
		for (uint32_t i = 0; i < pop->n; i++)
			if (kb_mikey_decode(a->acks + (size_t)i * ACK_STRIDE, KB_ACK_LEN,
					    &a->msgs[i], &err) != 0)
				goto fail;
	}
	a->n = pop->n;
	kb_ref_ctx_free(ctx);
	return a;
fail:
	kb_ref_ctx_free(ctx);
	return NULL;
}

static void bm_ack_burst(struct kb_bench_state *st)
{
	struct kb_bench_pop *pop = kb_bench_pop_get((uint32_t)kb_bench_state_range(st, 0));
	unsigned burst = (unsigned)kb_bench_state_range(st, 1);
	struct kb_ack_req req[KB_SEAL_BURST_MAX];
	uint8_t ok[KB_SEAL_BURST_MAX];
	struct kb_sealer *s = kb_sealer_new();
	struct ack_set *a = pop != NULL ? ack_set(pop, false) : NULL;
	uint64_t bad = 0;
	uint32_t pos = 0;

	if (a == NULL || s == NULL) {
		kb_bench_state_skip_with_error(st, "setup failed");
		kb_sealer_free(s);
		return;
	}
	while (kb_bench_keep_running_batch(st, burst)) {
		for (unsigned j = 0; j < burst; j++) {
			uint32_t idx = pop->order[pos];

			pos = pos + 1 == pop->n ? 0 : pos + 1;
			req[j].ack = a->acks + (size_t)idx * ACK_STRIDE;
			req[j].sa = &pop->rec[idx];
		}
		kb_verify_ack_burst(s, req, burst, (const uint8_t *)KB_BENCH_IDI,
				    sizeof(KB_BENCH_IDI) - 1, ok);
		for (unsigned j = 0; j < burst; j++)
			bad += ok[j] != 1;
	}
	kb_sealer_free(s);
	if (bad != 0) {
		kb_bench_state_skip_with_error(st, "a genuine ack did not verify");
		return;
	}
	kb_bench_state_set_items_processed(st, kb_bench_state_iterations(st));
}

static void bm_ack_openssl(struct kb_bench_state *st)
{
	struct kb_bench_pop *pop = kb_bench_pop_get((uint32_t)kb_bench_state_range(st, 0));
	struct ack_set *a = pop != NULL ? ack_set(pop, true) : NULL;
	struct kb_ref_ctx *ctx = kb_ref_ctx_new();
	uint64_t bad = 0;
	uint32_t pos = 0;

	if (a == NULL || ctx == NULL) {
		kb_bench_state_skip_with_error(st, "setup failed");
		kb_ref_ctx_free(ctx);
		return;
	}
	while (kb_bench_keep_running(st)) {
		uint32_t idx = pop->order[pos];
		const struct kb_bench_ue *ue = &pop->ue[idx];

		pos = pos + 1 == pop->n ? 0 : pos + 1;
		bad += kb_ref_verify_ack_ctx(ctx, a->acks + (size_t)idx * ACK_STRIDE, &a->msgs[idx],
					     (const uint8_t *)KB_BENCH_IDI,
					     sizeof(KB_BENCH_IDI) - 1, ue->idr, ue->idr_len,
					     &ue->tk) != 0;
	}
	kb_ref_ctx_free(ctx);
	if (bad != 0) {
		kb_bench_state_skip_with_error(st, "a genuine ack did not verify");
		return;
	}
	kb_bench_state_set_items_processed(st, kb_bench_state_iterations(st));
}

void kb_bench_register_ack(void)
{
	static const char *const names[] = {"ues", "burst"};
	struct kb_bench *b = kb_bench_register("ack/burst", bm_ack_burst);

	for (unsigned s = 0; s < 2; s++) {
		for (unsigned k = 0; k < 2; k++) {
			int64_t a[2] = {s == 0 ? kb_bench_cfg.hot_ues : kb_bench_cfg.cold_ues,
					k == 0 ? 32 : 64};

			kb_bench_args(b, 2, a);
		}
	}
	kb_bench_arg_names(b, 2, names);
	/* the OpenSSL comparison on the hot set only: the decoded messages of
	 * 1M acks would dwarf what is measured */
	b = kb_bench_register("ack/openssl_ctx", bm_ack_openssl);
	kb_bench_args(b, 1, (const int64_t[]){kb_bench_cfg.hot_ues});
	kb_bench_arg_names(b, 1, names);
}
