/* DPDK mode: any ethdev (memif, af_packet, a NIC). rx burst -> classify
 * (dataplane/pkt.c) -> the UE model over the whole burst (ue_burst.c:
 * IPsec-MB bursts; or the OpenSSL reference per message with --crypto ref)
 * -> each ack written over the message's own mbuf, addresses and ports
 * swapped, so it leaves from the UE's address to the BM-SC's address, port
 * and MAC -> one tx burst. ARP requests for any address are answered with
 * our MAC (the UEs sit behind us, like a gateway would). */
#include "uesim.h"

#include "ack_delay.h"
#include "pkt.h"
#include "ue_burst.h"
#include "port.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_dev.h>
#include <rte_devargs.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>
#include <rte_log.h>
#include <rte_mempool.h>

#define DPDK_BURST_MAX 64
#define TX_MAX (3 * DPDK_BURST_MAX)

/* dataplane/port.c (the kbpkt library) logs through KB_LOG's kb_logtype,
 * which the program defines: keyburstd in lcore.c, uesim here */
RTE_LOG_REGISTER(kb_logtype, keyburst.uesim, INFO);

struct dpdk_ctx {
	struct kb_uesim *sim;
	const struct kb_uesim_opts *o;
	struct kb_uesim_run *run;
	struct kb_port_info info;
	struct rte_mempool *pool;
	struct kb_ack_delay delay;
	struct kb_ue_burst *burst; /* NULL: the OpenSSL reference path */
	struct rte_mbuf *tx[TX_MAX];
	unsigned n_tx;
};

static void tx_flush(struct dpdk_ctx *c)
{
	unsigned sent = 0;
	/* a few tries: a memif ring drains fast, and acks are the point */
	for (int tries = 0; sent < c->n_tx && tries < 64; tries++)
		sent += rte_eth_tx_burst(c->o->port_id, 0, c->tx + sent,
					 (uint16_t)(c->n_tx - sent));
	if (sent < c->n_tx) {
		c->run->tx_fail += c->n_tx - sent;
		rte_pktmbuf_free_bulk(c->tx + sent, c->n_tx - sent);
	}
	c->n_tx = 0;
}

static void tx_add(struct dpdk_ctx *c, struct rte_mbuf *m)
{
	if (c->n_tx == TX_MAX)
		tx_flush(c);
	c->tx[c->n_tx++] = m;
}

/* Proxy ARP: answer for whatever address is asked, with our MAC. */
static void arp_in(struct dpdk_ctx *c, struct rte_mbuf *m, const uint8_t *f)
{
	struct kb_pkt_tmpl t;
	struct kb_nexthop nh = {.known = 1};
	/* the ARP target protocol address: 14 (Ethernet) + 24 */
	kb_pkt_tmpl_init(&t, c->info.mac, f + 14 + 24, NULL, c->o->udp_port, &nh, false, false,
			 true);
	if (kb_pkt_arp_input(&t, &nh, m) == 1)
		tx_add(c, m);
	else
		rte_pktmbuf_free(m);
}

/* An ack to the sender of frame f, from the address the message went to. */
static struct rte_mbuf *ack_frame(struct dpdk_ctx *c, const uint8_t *f, const struct kb_rx_udp *u,
				  const uint8_t ack[KB_ACK_LEN])
{
	struct kb_pkt_tmpl t;
	struct kb_nexthop nh = {.known = 1};
	struct kb_ue_addr to = {.af = u->af, .port = u->sport};
	memcpy(nh.mac, f + 6, 6);
	memcpy(to.ip, u->src, sizeof(to.ip));
	if (u->af == AF_INET)
		kb_pkt_tmpl_init(&t, c->info.mac, f + 14 + 16, NULL, u->dport, &nh,
				 c->info.ip_csum_offload, c->info.udp_csum_offload, true);
	else
		kb_pkt_tmpl_init(&t, c->info.mac, NULL, f + 14 + 24, u->dport, &nh,
				 c->info.ip_csum_offload, c->info.udp_csum_offload, true);
	struct rte_mbuf *m = rte_pktmbuf_alloc(c->pool);
	if (m == NULL)
		return NULL;
	uint8_t *p = kb_pkt_udp_prepare(&t, m, &to, KB_ACK_LEN);
	if (p == NULL) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	memcpy(p, ack, KB_ACK_LEN);
	kb_pkt_udp_finish(&t, m);
	return m;
}

/* Turn the received frame m (a message to u->dport, parsed by
 * kb_pkt_classify) into the ack in place: MACs, addresses and ports
 * swapped, lengths and checksums redone. false if its headers are not the
 * plain Ethernet / IPv4 (no options) or IPv6 / UDP this needs. */
static bool ack_in_place(struct dpdk_ctx *c, struct rte_mbuf *m, const struct kb_rx_udp *u,
			 const uint8_t ack[KB_ACK_LEN])
{
	uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);
	struct rte_udp_hdr *udp;
	uint16_t frame_len;
	if (u->af == AF_INET) {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(f + 14);
		udp = (struct rte_udp_hdr *)(ip + 1);
		if ((ip->version_ihl & 0x0f) != 5 || (const uint8_t *)(udp + 1) != u->payload)
			return false;
		rte_be32_t a = ip->src_addr;
		ip->src_addr = ip->dst_addr;
		ip->dst_addr = a;
		ip->total_length = rte_cpu_to_be_16(20 + 8 + KB_ACK_LEN);
		ip->time_to_live = 64;
		ip->hdr_checksum = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		frame_len = 14 + 20 + 8 + KB_ACK_LEN;
		udp->dgram_len = rte_cpu_to_be_16(8 + KB_ACK_LEN);
		rte_memcpy(udp + 1, ack, KB_ACK_LEN);
		rte_be16_t p = udp->src_port;
		udp->src_port = udp->dst_port;
		udp->dst_port = p;
		udp->dgram_cksum = 0;
		udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
	} else {
		struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)(f + 14);
		udp = (struct rte_udp_hdr *)(ip + 1);
		if ((const uint8_t *)(udp + 1) != u->payload)
			return false;
		uint8_t a[16];
		memcpy(a, ip->src_addr, 16);
		memcpy(ip->src_addr, ip->dst_addr, 16);
		memcpy(ip->dst_addr, a, 16);
		ip->payload_len = rte_cpu_to_be_16(8 + KB_ACK_LEN);
		ip->hop_limits = 64;
		frame_len = 14 + 40 + 8 + KB_ACK_LEN;
		udp->dgram_len = rte_cpu_to_be_16(8 + KB_ACK_LEN);
		rte_memcpy(udp + 1, ack, KB_ACK_LEN);
		rte_be16_t p = udp->src_port;
		udp->src_port = udp->dst_port;
		udp->dst_port = p;
		udp->dgram_cksum = 0;
		udp->dgram_cksum = rte_ipv6_udptcp_cksum(ip, udp);
	}
	memcpy(f, f + 6, 6); /* to the sender's MAC, from ours */
	memcpy(f + 6, c->info.mac, 6);
	m->data_len = frame_len;
	m->pkt_len = frame_len;
	m->ol_flags &= RTE_MBUF_F_INDIRECT | RTE_MBUF_F_EXTERNAL;
	return true;
}

static void ack_out(struct dpdk_ctx *c, struct rte_mbuf *a, uint64_t now_ns)
{
	if (c->o->delay_us > 0) {
		if (kb_ack_delay_push(&c->delay, now_ns + c->o->delay_us * 1000ull, &a))
			return;
		c->run->delay_overflow++;
	}
	tx_add(c, a);
}

/* The acks of one message: the first in the message's own mbuf, a
 * duplicate in a new one. Consumes m. */
static void reply(struct dpdk_ctx *c, struct rte_mbuf *m, const struct kb_rx_udp *u,
		  const struct kb_ue_reply *rep, uint64_t now_ns)
{
	if (rep->copies == 0) {
		rte_pktmbuf_free(m);
		return;
	}
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
	struct rte_mbuf *second = NULL;
	if (rep->copies == 2) {
		second = ack_frame(c, f, u, rep->ack);
		if (second == NULL)
			c->run->tx_fail++;
	}
	struct rte_mbuf *first = m;
	if (!ack_in_place(c, m, u, rep->ack)) {
		first = ack_frame(c, f, u, rep->ack);
		rte_pktmbuf_free(m);
		if (first == NULL)
			c->run->tx_fail++;
	}
	if (first != NULL)
		ack_out(c, first, now_ns);
	if (second != NULL)
		ack_out(c, second, now_ns);
}

/* One rx burst: classify every frame, hand the MIKEY payloads to the UE
 * model at once, answer. */
static void rx_burst(struct dpdk_ctx *c, struct rte_mbuf **rx, uint16_t n, uint64_t now_ns)
{
	struct rte_mbuf *mb[DPDK_BURST_MAX];
	struct kb_rx_udp u[DPDK_BURST_MAX];
	const uint8_t *msg[DPDK_BURST_MAX];
	uint16_t len[DPDK_BURST_MAX];
	enum kb_ue_verdict v[DPDK_BURST_MAX];
	struct kb_ue_reply rep[DPDK_BURST_MAX];
	unsigned k = 0;
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = rx[i];
		const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(rx[i + 1], void *));
		if (m->nb_segs != 1) {
			c->run->rx_other++; /* MSK messages are small: never chained */
			rte_pktmbuf_free(m);
			continue;
		}
		enum kb_rx_kind kind = kb_pkt_classify(f, rte_pktmbuf_data_len(m), &u[k]);
		if (kind == KB_RX_ARP) {
			arp_in(c, m, f);
			continue;
		}
		/* to a multicast MAC: PTM content, never an MSK message */
		if (unlikely(f[0] & 1) && c->run->ptm != NULL) {
			kb_ptm_rx_frame(c->run->ptm, rte_pktmbuf_mtod(m, uint8_t *),
					rte_pktmbuf_data_len(m));
			rte_pktmbuf_free(m);
			continue;
		}
		if (kind != KB_RX_UDP || u[k].dport != c->o->udp_port) {
			c->run->rx_other++;
			rte_pktmbuf_free(m);
			continue;
		}
		mb[k] = m;
		msg[k] = u[k].payload;
		len[k] = u[k].len;
		k++;
	}
	if (k == 0)
		return;
	if (c->burst != NULL) {
		kb_ue_burst_handle(c->burst, msg, len, k, v, rep);
	} else {
		for (unsigned i = 0; i < k; i++)
			v[i] = kb_uesim_handle(c->sim, msg[i], len[i], &rep[i]);
	}
	for (unsigned i = 0; i < k; i++)
		reply(c, mb[i], &u[i], &rep[i], now_ns);
}

/* A memif server takes its client's connections by itself, a new one after
 * the client died too; restarting it would only cut one being set up (a
 * client such as keyburstd connects once). The UE model is never touched. */
static bool memif_server(uint16_t port_id)
{
	struct rte_eth_dev_info di;
	if (rte_eth_dev_info_get(port_id, &di) != 0 || di.device == NULL ||
	    strcmp(di.driver_name, "net_memif") != 0)
		return false;
	const struct rte_devargs *da = rte_dev_devargs(di.device);
	return da != NULL && da->args != NULL &&
	       (strstr(da->args, "role=server") != NULL || strstr(da->args, "role=master") != NULL);
}

/* A memif client connects once, when the port starts; if the server was not
 * ready then, the link stays down. Restarting the port tries again. */
static void link_watch(struct dpdk_ctx *c, double now, double *down_since)
{
	struct rte_eth_link link;
	if (rte_eth_link_get_nowait(c->o->port_id, &link) != 0 || link.link_status) {
		*down_since = 0;
		return;
	}
	if (*down_since == 0) {
		*down_since = now;
		return;
	}
	if (now - *down_since < 2.0 || memif_server(c->o->port_id))
		return;
	fprintf(stderr, "uesim: port %u link down for 2 s, restarting it\n", c->o->port_id);
	rte_eth_dev_stop(c->o->port_id);
	if (rte_eth_dev_start(c->o->port_id) != 0)
		fprintf(stderr, "uesim: port %u restart failed\n", c->o->port_id);
	*down_since = now;
}

int kb_uesim_run_dpdk(struct kb_uesim *sim, const struct kb_uesim_opts *o)
{
	struct dpdk_ctx c = {.sim = sim, .o = o};
	struct kb_uesim_run run;
	struct rte_mbuf *rx[DPDK_BURST_MAX];
	int rc = 2;
	c.run = &run;
	if (!rte_eth_dev_is_valid_port(o->port_id)) {
		fprintf(stderr, "uesim: no ethdev port %u (give a --vdev or a NIC)\n", o->port_id);
		return 2;
	}
	c.pool = rte_pktmbuf_pool_create("uesim_pool", o->n_mbufs, 256, 0,
					 RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
	if (c.pool == NULL) {
		fprintf(stderr, "uesim: cannot create a pool of %u mbufs\n", o->n_mbufs);
		return 2;
	}
	/* a memif client cannot start before its server's socket exists:
	 * keyburstd may still be loading its roster, so try again for a while */
	double t_wait = kb_uesim_now() + o->port_wait_s;
	while (kb_port_init(o->port_id, 1, c.pool, &c.info) != 0) {
		if (kb_uesim_stop || kb_uesim_now() >= t_wait) {
			fprintf(stderr, "uesim: port %u did not start\n", o->port_id);
			goto out_pool;
		}
		usleep(200000);
	}
	if (o->delay_us > 0 &&
	    kb_ack_delay_init(&c.delay, o->delay_queue, sizeof(struct rte_mbuf *)) != 0) {
		fprintf(stderr, "uesim: no memory for the delay queue\n");
		goto out_port;
	}
	if (!o->ref_crypto) {
		c.burst = kb_ue_burst_new(sim);
		if (c.burst == NULL) {
			fprintf(stderr, "uesim: cannot set up the IPsec-MB burst path\n");
			goto out_delay;
		}
	}
	fprintf(stderr, "uesim: %u UEs, port %u (%s), UDP port %u, crypto %s%s\n", sim->n_ue,
		o->port_id, c.info.driver, o->udp_port, c.burst ? "ipsec-mb " : "openssl",
		c.burst ? kb_ue_burst_arch(c.burst) : "");

	kb_uesim_run_start(&run, sim, o);
	if (kb_ptm_rx_new(sim, o, &run.ptm) != 0)
		goto out_burst;
	kb_ptm_rx_dpdk_port(run.ptm, o->port_id);
	double next_link_check = 0, down_since = 0;
	while (!kb_uesim_run_tick(&run)) {
		uint16_t n = rte_eth_rx_burst(o->port_id, 0, rx, o->burst);
		double now = kb_uesim_now();
		uint64_t now_ns = (uint64_t)(now * 1e9);
		if (n == 0 && now >= next_link_check) {
			link_watch(&c, now, &down_since);
			next_link_check = now + 0.5;
		}
		if (n > 0)
			rx_burst(&c, rx, n, now_ns);
		struct rte_mbuf **d;
		while ((d = kb_ack_delay_peek(&c.delay, now_ns)) != NULL) {
			tx_add(&c, *d);
			kb_ack_delay_pop(&c.delay);
		}
		if (c.n_tx > 0)
			tx_flush(&c);
	}
	rc = kb_uesim_run_finish(&run);
	struct rte_mbuf **d;
	while ((d = kb_ack_delay_peek(&c.delay, UINT64_MAX)) != NULL) {
		rte_pktmbuf_free(*d);
		kb_ack_delay_pop(&c.delay);
	}
	kb_ptm_rx_free(run.ptm);
out_burst:
	kb_ue_burst_free(c.burst);
out_delay:
	kb_ack_delay_free(&c.delay);
out_port:
	kb_port_stop(o->port_id);
out_pool:
	rte_mempool_free(c.pool);
	return rc;
}
