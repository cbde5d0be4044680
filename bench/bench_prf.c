/* Per-UE key setup, done once per MUK in the control plane: the transport
 * keys (MIKEY PRF, cs_id 0xFF: encr, auth, salt), and the whole SA record
 * (the same derivation plus AES key expansion and the HMAC pad states). */
#include <string.h>
#include <sys/socket.h>

#include "bench.h"
#include "bench_common.h"
#include "util/roster.h"
#include "util/secret.h"

static void bm_tkeys(struct kb_bench_state *st)
{
	struct kb_roster_row row;
	struct kb_mikey_tkeys tk;
	uint8_t rand[KB_MIKEY_RAND_LEN];
	uint32_t csb = 1;
	uint64_t fails = 0;

	kb_roster_gen_row(1, 0, &row);
	memset(rand, 0x5a, sizeof(rand));
	while (kb_bench_keep_running(st))
		fails += kb_mikey_derive_tkeys(row.muk, KB_MUK_LEN, csb++, rand, sizeof(rand),
					       &tk) != 0;
	kb_memzero(&tk, sizeof(tk));
	kb_memzero(&row, sizeof(row));
	if (fails != 0)
		kb_bench_state_skip_with_error(st, "derivation failed");
	kb_bench_state_set_items_processed(st, kb_bench_state_iterations(st));
	kb_bench_state_set_label(st, "items = UEs");
}

static void bm_record(struct kb_bench_state *st)
{
	static struct kb_sa_record rec;
	struct kb_ue_addr addr = {.af = AF_INET, .port = 4359};
	struct kb_roster_row row;
	uint8_t rand[KB_MIKEY_RAND_LEN];
	uint32_t csb = 1;
	uint64_t fails = 0;

	kb_roster_gen_row(1, 0, &row);
	memset(rand, 0x5a, sizeof(rand));
	while (kb_bench_keep_running(st))
		fails += kb_sa_record_build(&rec, row.muk, KB_MUK_LEN, csb++, rand, row.b_tid, 1,
					    &addr, 1) != 0;
	kb_memzero(&rec, sizeof(rec));
	kb_memzero(&row, sizeof(row));
	if (fails != 0)
		kb_bench_state_skip_with_error(st, "kb_sa_record_build failed");
	kb_bench_state_set_items_processed(st, kb_bench_state_iterations(st));
	kb_bench_state_set_label(st, "items = UEs");
}

void kb_bench_register_prf(void)
{
	kb_bench_register("prf/transport_keys", bm_tkeys);
	kb_bench_register("prf/sa_record_build", bm_record);
}
