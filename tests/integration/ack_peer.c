/* ack_peer: a small UE-side test peer for keyburstd's ack path (not the UE
 * simulator). A second DPDK process (memif client) that receives MSK
 * messages, opens each with the reference path and the roster's MUK, checks
 * that counters strictly increase per csb_id and that every UE got the same
 * MSK, and answers with real verification messages (kb_ref_build_ack).
 * It drops a fraction of acks (never more than --max-drops per UE, so every
 * UE is eventually delivered through retransmission) and, for the first
 * --forge messages, also sends forgeries: a wrong MAC, an unknown csb_id, a
 * stale counter (one below the first counter seen, never sent for this MSK),
 * a future counter (never sent), a truncated ack, random UDP bytes, and a
 * non-IP frame. Prints a JSON summary; exits 1 on any violation.
 *
 *   ack_peer <EAL> -- --roster R.csv [--idi FQDN] [--drop 0.3] [--max-drops 3]
 *                     [--forge 50] [--idle-s 3] [--timeout-s 120] [--seed 1] */
#include "mikey/mikey_codec.h"
#include "mikey/mikey_prf.h"
#include "mikey/mikey_ref.h"
#include "pkt.h"
#include "util/roster.h"
#include "util/secret.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <jansson.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

struct ue {
	char b_tid[KB_ROSTER_FIELD_MAX];
	uint8_t muk[KB_MUK_LEN];
	struct kb_mikey_tkeys tk;
	bool have_tk, seen, acked_once;
	uint32_t csb_id, first_ctr, last_ctr;
	unsigned drops, msgs;
};

static struct {
	struct ue *ues;
	size_t n_ues;
	const char *idi;
	double drop;
	unsigned max_drops, forge;
	uint64_t rng;
	uint8_t msk[KB_MSK_LEN];
	uint32_t msk_id;
	bool have_msk;
	/* counts */
	uint64_t rx, msgs, opened, open_failed, pulls, violations, msk_mismatch, unknown_idr;
	uint64_t acks_sent, acks_dropped, forged_mac, forged_unknown, forged_stale, forged_future,
		forged_truncated, garbage_udp, garbage_l2, tx_failed, forged_rounds;
	struct kb_ref_ctx *ref;
	struct rte_mempool *pool;
} P;

static volatile int quit;

static void on_signal(int s)
{
	(void)s;
	quit = 1;
}

static uint64_t rnd(void)
{
	/* xorshift64*: reproducible with --seed */
	P.rng ^= P.rng >> 12;
	P.rng ^= P.rng << 25;
	P.rng ^= P.rng >> 27;
	return P.rng * 2685821657736338717ull;
}

static int cmp_ue(const void *a, const void *b)
{
	return strcmp(((const struct ue *)a)->b_tid, ((const struct ue *)b)->b_tid);
}

static int load_roster(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	char *line = NULL, err[128];
	size_t cap = 0, n_cap = 0;
	ssize_t len;
	struct kb_roster_row row;
	while ((len = getline(&line, &cap, f)) > 0) {
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		if (len == 0 || kb_roster_is_header(line, (size_t)len))
			continue;
		if (kb_roster_parse_line(line, (size_t)len, &row, err, sizeof(err)) != 0) {
			fprintf(stderr, "ack_peer: roster: %s\n", err);
			return -1;
		}
		if (P.n_ues == n_cap) {
			n_cap = n_cap ? n_cap * 2 : 1024;
			P.ues = realloc(P.ues, n_cap * sizeof(*P.ues));
			if (P.ues == NULL)
				return -1;
		}
		struct ue *u = &P.ues[P.n_ues++];
		memset(u, 0, sizeof(*u));
		snprintf(u->b_tid, sizeof(u->b_tid), "%s", row.b_tid);
		memcpy(u->muk, row.muk, KB_MUK_LEN);
	}
	kb_memzero(&row, sizeof(row));
	free(line);
	fclose(f);
	qsort(P.ues, P.n_ues, sizeof(*P.ues), cmp_ue);
	return 0;
}

static struct ue *find_ue(const uint8_t *idr, uint16_t len)
{
	struct ue key;
	if (len >= sizeof(key.b_tid))
		return NULL;
	memcpy(key.b_tid, idr, len);
	key.b_tid[len] = '\0';
	return bsearch(&key, P.ues, P.n_ues, sizeof(*P.ues), cmp_ue);
}

/* A UDP reply to the frame `in` (swapped addresses and ports). */
static void send_reply(uint16_t port, const uint8_t *in, const uint8_t *payload, size_t len,
		       bool non_ip)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(P.pool);
	if (m == NULL) {
		P.tx_failed++;
		return;
	}
	uint8_t *o = rte_pktmbuf_mtod(m, uint8_t *);
	memcpy(o, in + 6, 6);
	memcpy(o + 6, in, 6);
	if (non_ip) {
		o[12] = 0x88, o[13] = 0xb5; /* local experimental ethertype */
		memcpy(o + 14, payload, len);
		m->data_len = m->pkt_len = (uint32_t)(14 + len);
	} else {
		const struct rte_ipv4_hdr *iip = (const struct rte_ipv4_hdr *)(in + 14);
		const struct rte_udp_hdr *iudp = (const struct rte_udp_hdr *)(in + 34);
		o[12] = 0x08, o[13] = 0x00;
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(o + 14);
		memset(ip, 0, 20);
		ip->version_ihl = RTE_IPV4_VHL_DEF;
		ip->time_to_live = 64;
		ip->next_proto_id = IPPROTO_UDP;
		ip->total_length = rte_cpu_to_be_16((uint16_t)(28 + len));
		ip->src_addr = iip->dst_addr;
		ip->dst_addr = iip->src_addr;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(o + 34);
		udp->src_port = iudp->dst_port;
		udp->dst_port = iudp->src_port;
		udp->dgram_len = rte_cpu_to_be_16((uint16_t)(8 + len));
		udp->dgram_cksum = 0;
		memcpy(o + 42, payload, len);
		udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
		m->data_len = m->pkt_len = (uint32_t)(42 + len);
	}
	if (rte_eth_tx_burst(port, 0, &m, 1) != 1) {
		rte_pktmbuf_free(m);
		P.tx_failed++;
	}
}

static void build_ack(struct ue *u, uint32_t csb, uint32_t ctr, uint8_t *buf, size_t *len)
{
	const struct kb_mikey_tkeys *tk = &u->tk;
	if (kb_ref_build_ack_ctx(P.ref, buf, 64, csb, ctr, (const uint8_t *)P.idi,
				 (uint16_t)strlen(P.idi), (const uint8_t *)u->b_tid,
				 (uint16_t)strlen(u->b_tid), tk, len) != 0)
		*len = 0;
}

static void forge(uint16_t port, const uint8_t *frame, struct ue *u, uint32_t ctr, bool first)
{
	uint8_t buf[64], junk[48];
	size_t len;
	P.forged_rounds++;
	/* wrong MAC */
	build_ack(u, u->csb_id, ctr, buf, &len);
	if (len == KB_ACK_LEN) {
		buf[len - 1] ^= 0x01;
		send_reply(port, frame, buf, len, false);
		P.forged_mac++;
	}
	/* unknown csb_id (a valid MAC under this UE's keys) */
	build_ack(u, u->csb_id ^ 0x5a5a5a5au, ctr, buf, &len);
	if (len == KB_ACK_LEN) {
		send_reply(port, frame, buf, len, false);
		P.forged_unknown++;
	}
	/* a counter never sent for this MSK: below the first, above the last */
	if (first) {
		build_ack(u, u->csb_id, ctr - 1, buf, &len);
		if (len == KB_ACK_LEN) {
			send_reply(port, frame, buf, len, false);
			P.forged_stale++;
		}
	}
	build_ack(u, u->csb_id, ctr + 100000, buf, &len);
	if (len == KB_ACK_LEN) {
		send_reply(port, frame, buf, len, false);
		P.forged_future++;
	}
	/* truncated ack */
	build_ack(u, u->csb_id, ctr, buf, &len);
	if (len == KB_ACK_LEN) {
		send_reply(port, frame, buf, len - 7, false);
		P.forged_truncated++;
	}
	/* garbage: random bytes to the MIKEY port, and a non-IP frame */
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)rnd();
	send_reply(port, frame, junk, 1 + rnd() % sizeof(junk), false);
	P.garbage_udp++;
	send_reply(port, frame, junk, sizeof(junk), true);
	P.garbage_l2++;
}

static void handle(uint16_t port, struct rte_mbuf *m)
{
	struct kb_rx_udp u;
	const uint8_t *frame = rte_pktmbuf_mtod(m, const uint8_t *);
	P.rx++;
	if (kb_pkt_classify(frame, m->data_len, &u) != KB_RX_UDP || u.af != AF_INET)
		return;
	struct kb_mikey_msg msg;
	struct kb_mikey_error err;
	P.msgs++;
	if (kb_mikey_decode(u.payload, u.len, &msg, &err) != 0 || msg.n_ids != 2) {
		P.open_failed++;
		return;
	}
	struct ue *ue = find_ue(msg.ids[1].data, msg.ids[1].len);
	if (ue == NULL) {
		P.unknown_idr++;
		return;
	}
	struct kb_mikey_opened *o = malloc(sizeof(*o));
	if (o == NULL)
		return;
	if (kb_ref_open_ctx(P.ref, u.payload, u.len, ue->muk, KB_MUK_LEN, NULL, 0, o, &err) != 0) {
		P.open_failed++;
		goto out;
	}
	P.opened++;
	uint32_t ctr = (uint32_t)msg.t_value;
	bool first = !ue->seen;
	/* the UE's replay rule: a counter must be greater than the last */
	if (ue->seen && (msg.csb_id != ue->csb_id || ctr <= ue->last_ctr)) {
		P.violations++;
		fprintf(stderr, "ack_peer: csb %08x: counter %u after %u\n", msg.csb_id, ctr,
			ue->last_ctr);
	}
	if (!ue->seen) {
		ue->first_ctr = ctr;
		ue->csb_id = msg.csb_id;
	}
	ue->seen = true;
	ue->last_ctr = ctr;
	ue->msgs++;
	if (!ue->have_tk) {
		if (kb_mikey_derive_tkeys(ue->muk, KB_MUK_LEN, msg.csb_id, msg.rand, msg.rand_len,
					  &ue->tk) != 0)
			goto out;
		ue->have_tk = true;
	}
	if (o->n_keydata == 0) {
		P.pulls++;
		goto out;
	}
	if (!P.have_msk) {
		memcpy(P.msk, o->keydata[0].key, KB_MSK_LEN);
		P.msk_id = msg.msk_id;
		P.have_msk = true;
	} else if (msg.msk_id != P.msk_id || o->keydata[0].key_len != KB_MSK_LEN ||
		   !kb_ct_equal(P.msk, o->keydata[0].key, KB_MSK_LEN)) {
		P.msk_mismatch++;
	}
	if (!msg.v)
		goto out;
	if (P.forged_rounds < P.forge)
		forge(port, frame, ue, ctr, first);
	if (ue->drops < P.max_drops && (double)(rnd() >> 11) / (double)(1ull << 53) < P.drop) {
		ue->drops++;
		P.acks_dropped++;
		goto out;
	}
	uint8_t buf[64];
	size_t len;
	build_ack(ue, msg.csb_id, ctr, buf, &len);
	if (len == KB_ACK_LEN) {
		send_reply(port, frame, buf, len, false);
		P.acks_sent++;
	}
out:
	kb_memzero(o, sizeof(*o));
	free(o);
}

int main(int argc, char **argv)
{
	int eal = rte_eal_init(argc, argv);
	if (eal < 0)
		rte_exit(EXIT_FAILURE, "ack_peer: EAL init failed\n");
	argc -= eal;
	argv += eal;
	static const struct option lo[] = {
		{"roster", required_argument, NULL, 'r'},
		{"idi", required_argument, NULL, 'i'},
		{"drop", required_argument, NULL, 'd'},
		{"max-drops", required_argument, NULL, 'm'},
		{"forge", required_argument, NULL, 'f'},
		{"idle-s", required_argument, NULL, 'I'},
		{"timeout-s", required_argument, NULL, 't'},
		{"seed", required_argument, NULL, 's'},
		{NULL, 0, NULL, 0},
	};
	const char *roster = NULL;
	double idle_s = 3, timeout_s = 120;
	P.idi = "bmsc.example.org";
	P.drop = 0.3;
	P.max_drops = 3;
	P.forge = 50;
	P.rng = 1;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'r':
			roster = optarg;
			break;
		case 'i':
			P.idi = optarg;
			break;
		case 'd':
			P.drop = atof(optarg);
			break;
		case 'm':
			P.max_drops = (unsigned)atoi(optarg);
			break;
		case 'f':
			P.forge = (unsigned)atoi(optarg);
			break;
		case 'I':
			idle_s = atof(optarg);
			break;
		case 't':
			timeout_s = atof(optarg);
			break;
		case 's':
			P.rng = strtoull(optarg, NULL, 0) | 1;
			break;
		default:
			rte_exit(2, "ack_peer: bad option\n");
		}
	}
	if (roster == NULL || load_roster(roster) != 0)
		rte_exit(2, "ack_peer: --roster R.csv needed and readable\n");
	P.ref = kb_ref_ctx_new();
	P.pool = rte_pktmbuf_pool_create("peer_mbuf", 16383, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					 (int)rte_socket_id());
	if (P.ref == NULL || P.pool == NULL)
		rte_exit(1, "ack_peer: out of memory\n");

	uint16_t port = 0;
	struct rte_eth_conf conf;
	memset(&conf, 0, sizeof(conf));
	if (rte_eth_dev_configure(port, 1, 1, &conf) != 0 ||
	    rte_eth_rx_queue_setup(port, 0, 1024, rte_eth_dev_socket_id(port), NULL, P.pool) != 0 ||
	    rte_eth_tx_queue_setup(port, 0, 1024, rte_eth_dev_socket_id(port), NULL) != 0 ||
	    rte_eth_dev_start(port) != 0)
		rte_exit(1, "ack_peer: port setup failed\n");
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	uint64_t hz = rte_get_tsc_hz(), start = rte_rdtsc(), last_rx = 0;
	struct rte_mbuf *pk[32];
	while (!quit) {
		uint16_t n = rte_eth_rx_burst(port, 0, pk, 32);
		uint64_t now = rte_rdtsc();
		for (uint16_t i = 0; i < n; i++) {
			handle(port, pk[i]);
			rte_pktmbuf_free(pk[i]);
		}
		if (n > 0)
			last_rx = now;
		if (last_rx != 0 && (double)(now - last_rx) / (double)hz > idle_s)
			break;
		if ((double)(now - start) / (double)hz > timeout_s)
			break;
	}

	uint64_t seen = 0;
	for (size_t i = 0; i < P.n_ues; i++)
		seen += P.ues[i].seen;
	bool ok = P.violations == 0 && P.msk_mismatch == 0 && P.open_failed == 0 &&
		  P.unknown_idr == 0 && P.opened > 0;
	json_t *j = json_pack(
		"{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
		"s:I, s:I, s:I, s:b}",
		"ues_in_roster", (json_int_t)P.n_ues, "ues_seen", (json_int_t)seen, "rx_frames",
		(json_int_t)P.rx, "messages", (json_int_t)P.msgs, "opened", (json_int_t)P.opened,
		"open_failed", (json_int_t)P.open_failed, "pulls", (json_int_t)P.pulls,
		"counter_violations", (json_int_t)P.violations, "msk_mismatch",
		(json_int_t)P.msk_mismatch, "acks_sent", (json_int_t)P.acks_sent, "acks_dropped",
		(json_int_t)P.acks_dropped, "forged_mac", (json_int_t)P.forged_mac,
		"forged_unknown_csb", (json_int_t)P.forged_unknown, "forged_stale",
		(json_int_t)P.forged_stale, "forged_future", (json_int_t)P.forged_future,
		"forged_truncated", (json_int_t)P.forged_truncated, "garbage_udp",
		(json_int_t)P.garbage_udp, "garbage_l2", (json_int_t)P.garbage_l2, "tx_failed",
		(json_int_t)P.tx_failed, "ok", ok);
	json_dumpf(j, stdout, JSON_INDENT(2));
	fputc('\n', stdout);
	json_decref(j);
	for (size_t i = 0; i < P.n_ues; i++)
		kb_memzero(&P.ues[i], sizeof(P.ues[i]));
	kb_memzero(P.msk, sizeof(P.msk));
	free(P.ues);
	kb_ref_ctx_free(P.ref);
	rte_eth_dev_stop(port);
	rte_eal_cleanup();
	return ok ? 0 : 1;
}
