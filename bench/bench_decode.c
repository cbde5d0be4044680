/* The strict MIKEY decoder (kb_mikey_decode) on a sealed MSK message of the
 * benchmark's shape and on a verification message (ack). */
#include <string.h>

#include "bench.h"
#include "bench_common.h"
#include "mikey/mikey_codec.h"
#include "mikey/mikey_ref.h"

static void run_decode(struct kb_bench_state *st, bool ack)
{
	struct kb_bench_pop *pop = kb_bench_pop_get(kb_bench_cfg.hot_ues);
	uint8_t buf[KB_MIKEY_MSG_MAX];
	struct kb_msk_msg_params p;
	struct kb_mikey_error err;
	struct kb_mikey_msg m;
	size_t len = 0;
	uint64_t fails = 0;
	int r;

	if (pop == NULL) {
		kb_bench_state_skip_with_error(st, "population");
		return;
	}
	kb_bench_msk_params(&pop->ue[0], 1, &p);
	if (ack)
		r = kb_ref_build_ack(buf, sizeof(buf), pop->ue[0].csb_id, 1,
				     (const uint8_t *)KB_BENCH_IDI, sizeof(KB_BENCH_IDI) - 1,
				     pop->ue[0].idr, pop->ue[0].idr_len, &pop->ue[0].tk, &len);
	else
		r = kb_ref_seal_msk(buf, sizeof(buf), &p, &pop->ue[0].tk, &len);
	if (r != 0) {
		kb_bench_state_skip_with_error(st, "building the message failed");
		return;
	}
	while (kb_bench_keep_running(st))
		fails += kb_mikey_decode(buf, len, &m, &err) != 0;
	if (fails != 0)
		kb_bench_state_skip_with_error(st, "decode failed");
	kb_bench_state_set_items_processed(st, kb_bench_state_iterations(st));
	kb_bench_state_set_bytes_processed(st, kb_bench_state_iterations(st) * len);
	kb_bench_state_counter(st, "msg_bytes", (double)len, 0);
}

static void bm_msk(struct kb_bench_state *st)
{
	run_decode(st, false);
}

static void bm_ack(struct kb_bench_state *st)
{
	run_decode(st, true);
}

void kb_bench_register_decode(void)
{
	kb_bench_register("decode/msk_message", bm_msk);
	kb_bench_register("decode/ack", bm_ack);
}
