/* keyburstd's RX path (dataplane/ack.c kb_ack_rx): any frame must be
 * classified, counted and freed without a crash, a leak or a stall. EAL is
 * initialised once without hugepages or PCI; there is no port: the handler
 * works on mbufs we fill. Two shards, so acks for the other shard go through
 * the hand-over ring. Eight UEs with known MUKs (MUK = (i+1) repeated,
 * RAND = 0x11.., B-TID "ue<i>@bsf.example.org", csb_id = index mix of i+1),
 * so the committed corpus holds acks whose MAC verifies. */
#include "ack.h"
#include "config.h"
#include "keytable.h"
#include "lcore.h"
#include "rollover.h"
#include "roster_load.h"
#include "sa.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>

#define N_UES 8

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct kb_dp dp;
static struct kb_services svcs;
/* lcore state lives in rte_malloc memory, which LeakSanitizer does not scan:
 * keep what it points to reachable from here */
static struct kb_sealer *keep_sealer[2];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "--file-prefix=fuzzack%d", (int)getpid());
	char *eal[] = {"fuzz_ack_rx", "--no-huge",     "--no-pci",       "-m",   "128", "-l",
		       "0",           "--log-level=1", "--no-telemetry", prefix, NULL};
	if (rte_eal_init((int)(sizeof(eal) / sizeof(eal[0])) - 1, eal) < 0)
		abort();
	kb_config_defaults(&dp.cfg);
	dp.cfg.n_services = 1;
	dp.cfg.svc[0] =
		(struct kb_service_cfg){.name = "f", .key_group = 1, .udp_port = 4359, .ack = true};
	svcs.n = 1;
	svcs.s[0].cfg = dp.cfg.svc[0];
	svcs.s[0].gen = 1;
	dp.svc = &svcs;
	dp.n_lcores = 2;
	dp.tsc_hz = rte_get_tsc_hz();
	dp.idi_len = (uint16_t)strlen(dp.cfg.idi);
	memcpy(dp.idi, dp.cfg.idi, dp.idi_len);
	dp.pool = rte_pktmbuf_pool_create("fz_mbuf", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	dp.kt = kb_keytable_create("fz_sa", 64, 2, 0);
	dp.events = kb_event_ring_create("fz_ev", 1024, 0);
	if (dp.pool == NULL || dp.kt == NULL || dp.events == NULL)
		abort();
	dp.qsbr = kb_keytable_qsbr(dp.kt);
	rte_rcu_qsbr_thread_register(dp.qsbr, 0);
	rte_rcu_qsbr_thread_online(dp.qsbr, 0);
	for (unsigned i = 0; i < 2; i++) {
		dp.lc[i] = kb_lcore_new(&dp, i, rte_lcore_id(), N_UES);
		if (dp.lc[i] == NULL)
			abort();
		keep_sealer[i] = dp.lc[i]->sealer;
		dp.lc[i]->sh.ro_job = (struct kb_job){.type = KB_JOB_ROLLOVER, .gen = 1};
	}
	dp.ho[0][1] = rte_ring_create_elem("fz_ho01", 8, 64, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
	dp.ho[1][0] = rte_ring_create_elem("fz_ho10", 8, 64, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
	dp.cap_dir = N_UES;
	dp.dir = calloc(N_UES, sizeof(uint32_t));
	static const uint8_t ip4[4] = {192, 0, 2, 1}, nh_ip[4] = {192, 0, 2, 254};
	memcpy(dp.nh.ip4, nh_ip, 4);
	dp.nh.has_ip4 = true;
	static const uint8_t mac[6] = {2, 0, 0, 0, 0, 1};
	kb_pkt_tmpl_init(&dp.tmpl[0], mac, ip4, NULL, 4359, &dp.nh, false, false, true);

	struct kb_sa_record rec;
	uint8_t muk[32], rand[16];
	memset(rand, 0x11, sizeof(rand));
	for (uint32_t i = 0; i < N_UES; i++) {
		char idr[64];
		snprintf(idr, sizeof(idr), "ue%u@bsf.example.org", i);
		memset(muk, (int)(i + 1), sizeof(muk));
		uint32_t csb = kb_csb_from_index(i + 1);
		struct kb_ue_addr a = {.af = AF_INET, .ip = {100, 64, 0, (uint8_t)i}, .port = 4359};
		if (kb_sa_record_build(&rec, muk, 32, csb, rand, idr, 1, &a, 2) != 0 ||
		    kb_keytable_publish(dp.kt, &rec) != 0)
			abort();
		unsigned shard = kb_sa_shard(csb, 2);
		struct kb_shard *sh = &dp.lc[shard]->sh;
		sh->ue[sh->n_ue] = (struct kb_ue){.csb_id = csb, .svc = 0};
		dp.dir[dp.n_dir++] = shard << KB_DIR_SLOT_BITS | sh->n_ue;
		sh->n_ue++;
	}
	return 0;
}

static void reset_state(void)
{
	/* every input starts from the same state: UEs pending, counters 5..9 */
	for (unsigned l = 0; l < 2; l++) {
		struct kb_shard *sh = &dp.lc[l]->sh;
		for (uint32_t s = 0; s < sh->n_ue; s++) {
			struct kb_ue *ue = &sh->ue[s];
			ue->state = KB_UE_PENDING;
			ue->gen = 1;
			ue->first_ctr = 5;
			ue->last_ctr = 9;
			ue->next_ctr = 10;
		}
		sh->ro_pending = sh->n_ue;
	}
	struct kb_event ev[64];
	while (kb_event_take(dp.events, ev, 64) > 0)
		;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* the input is one or more frames: 2-byte big-endian length, bytes */
	struct rte_mbuf *m[KB_RX_BURST];
	uint16_t n = 0;
	reset_state();
	while (size >= 2 && n < KB_RX_BURST) {
		size_t len = (size_t)(data[0] << 8 | data[1]);
		data += 2;
		size -= 2;
		if (len > size)
			len = size;
		struct rte_mbuf *b = rte_pktmbuf_alloc(dp.pool);
		if (b == NULL)
			abort();
		if (len > rte_pktmbuf_tailroom(b))
			len = rte_pktmbuf_tailroom(b);
		/* an exact-size copy, so ASan sees reads past the frame */
		memcpy(rte_pktmbuf_mtod(b, uint8_t *), data, len);
		b->data_len = (uint16_t)len;
		b->pkt_len = (uint32_t)len;
		m[n++] = b;
		data += len;
		size -= len;
	}
	if (n > 0)
		kb_ack_rx(dp.lc[0], m, n);
	kb_ack_handover_drain(dp.lc[1]);
	for (unsigned l = 0; l < 2; l++)
		kb_lcore_events_flush(dp.lc[l]);
	rte_rcu_qsbr_quiescent(dp.qsbr, 0);
	/* every mbuf came back: nothing leaked or was held */
	if (rte_mempool_in_use_count(dp.pool) != 0)
		abort();
	return 0;
}
