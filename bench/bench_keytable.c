/* Key-table bulk lookup (rte_hash RW_CONCURRENCY_LF + QSBR, dataplane/
 * keytable.c) at 1M and 10M SAs: kb_keytable_lookup_bulk of 32 or 64 csb_ids
 * drawn at random, as a burst of acks or jobs would bring them. Items are
 * lookups. The table is filled through the writer API (kb_keytable_publish);
 * to keep setup in seconds, the records are copies of one record built with
 * kb_sa_record_build, each with its own csb_id (a lookup does not read keys).
 * The publish rate is reported as publish_per_s. One table lives at a time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "bench.h"
#include "bench_common.h"

#ifdef KB_BENCH_DPDK
#include <rte_lcore.h>
#include <rte_rcu_qsbr.h>

#include "keytable.h"
#include "util/roster.h"
#include "util/secret.h"

#define IDS (1u << 20)

static struct {
	struct kb_keytable *t;
	uint32_t n;
	double publish_per_s;
	uint32_t *ids;
} kt;

static int table(uint32_t n)
{
	static struct kb_sa_record rec;
	struct kb_ue_addr addr = {.af = AF_INET, .port = 4359};
	struct kb_roster_row row;
	uint8_t rand[KB_MIKEY_RAND_LEN] = {0};
	uint64_t s = 88172645463325252ULL;
	char name[32];
	double t0;

	if (kt.t != NULL && kt.n == n)
		return 0;
	if (kt.t != NULL) {
		rte_rcu_qsbr_thread_offline(kb_keytable_qsbr(kt.t), 0);
		rte_rcu_qsbr_thread_unregister(kb_keytable_qsbr(kt.t), 0);
		kb_keytable_free(kt.t);
		kt.t = NULL;
		kt.n = 0;
	}
	if (kb_bench_eal() != 0)
		return -1;
	if (kt.ids == NULL) {
		kt.ids = malloc(sizeof(*kt.ids) * IDS);
		if (kt.ids == NULL)
			return -1;
	}
	kb_roster_gen_row(1, 0, &row);
	if (kb_sa_record_build(&rec, row.muk, KB_MUK_LEN, 1, rand, row.b_tid, 1, &addr, 1) != 0)
		return -1;
	kb_memzero(&row, sizeof(row));
	snprintf(name, sizeof(name), "kbb%u", n);
	kt.t = kb_keytable_create(name, n, 1, (int)rte_socket_id());
	if (kt.t == NULL)
		return -1;
	t0 = kb_bench_now();
	for (uint32_t i = 0; i < n; i++) {
		rec.csb_id = i + 1;
		if (kb_keytable_publish(kt.t, &rec) != 0) {
			fprintf(stderr, "kb_bench: publish %u of %u failed\n", i, n);
			return -1;
		}
	}
	kt.publish_per_s = n / (kb_bench_now() - t0);
	fprintf(stderr, "kb_bench: key table of %u SAs filled at %.0f/s\n", n, kt.publish_per_s);
	for (uint32_t i = 0; i < IDS; i++) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		kt.ids[i] = (uint32_t)(s % n) + 1;
	}
	if (rte_rcu_qsbr_thread_register(kb_keytable_qsbr(kt.t), 0) != 0)
		return -1;
	rte_rcu_qsbr_thread_online(kb_keytable_qsbr(kt.t), 0);
	kt.n = n;
	return 0;
}

static void bm_lookup(struct kb_bench_state *st)
{
	uint32_t n = (uint32_t)kb_bench_state_range(st, 0);
	unsigned burst = (unsigned)kb_bench_state_range(st, 1);
	const struct kb_sa_record *out[64];
	uint64_t missing = 0;
	uint32_t pos = 0;

	if (table(n) != 0) {
		kb_bench_state_skip_with_error(st, "key table setup failed (EAL memory?)");
		return;
	}
	while (kb_bench_keep_running_batch(st, burst)) {
		missing += burst - kb_keytable_lookup_bulk(kt.t, kt.ids + pos, burst, out);
		pos = pos + burst > IDS - 64 ? 0 : pos + burst;
		/* a reader reports a quiescent state once per loop */
		rte_rcu_qsbr_quiescent(kb_keytable_qsbr(kt.t), 0);
	}
	if (missing != 0) {
		kb_bench_state_skip_with_error(st, "a published csb_id was not found");
		return;
	}
	kb_bench_state_set_items_processed(st, kb_bench_state_iterations(st));
	kb_bench_state_counter(st, "publish_per_s", kt.publish_per_s, 0);
}

void kb_bench_register_keytable(void)
{
	static const char *const names[] = {"sas", "burst"};
	uint32_t sizes[2] = {1000000, kb_bench_cfg.keytable_max};
	struct kb_bench *b;

	if (kb_bench_cfg.no_eal)
		return;
	if (kb_bench_cfg.small)
		sizes[0] = 4096;
	b = kb_bench_register("keytable/lookup_bulk", bm_lookup);
	for (unsigned s = 0; s < 2; s++) {
		if (s == 1 && sizes[1] <= sizes[0])
			break;
		for (unsigned k = 0; k < 2; k++) {
			int64_t a[2] = {sizes[s], k == 0 ? 32 : 64};

			kb_bench_args(b, 2, a);
		}
	}
	kb_bench_arg_names(b, 2, names);
}
#else
void kb_bench_register_keytable(void)
{
}
#endif
