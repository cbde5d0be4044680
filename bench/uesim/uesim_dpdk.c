/* DPDK mode: any ethdev (memif, af_packet, a NIC). rx burst -> classify
 * (dataplane/pkt.c) -> the UE model per message -> acks built with the
 * dataplane's header templates, from the UE's address back to the BM-SC's
 * address, port and MAC -> tx burst. ARP requests for any address are
 * answered with our MAC (the UEs sit behind us, like a gateway would). */
#include "uesim.h"

#include "ack_delay.h"
#include "pkt.h"
#include "port.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_log.h>
#include <rte_mempool.h>

#define DPDK_BURST_MAX 64
#define TX_MAX (3 * DPDK_BURST_MAX)

/* dataplane/port.c logs through KB_LOG; in keyburstd lcore.c defines the type */
RTE_LOG_REGISTER(kb_logtype, keyburst.uesim, INFO);

struct dpdk_ctx {
	struct kb_uesim *sim;
	const struct kb_uesim_opts *o;
	struct kb_uesim_run *run;
	struct kb_port_info info;
	struct rte_mempool *pool;
	struct kb_ack_delay delay;
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

static void rx_one(struct dpdk_ctx *c, struct rte_mbuf *m, uint64_t now_ns)
{
	struct kb_rx_udp u;
	struct kb_ue_reply rep;
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
	if (m->nb_segs != 1) {
		c->run->rx_other++; /* MSK messages are small: never chained */
		rte_pktmbuf_free(m);
		return;
	}
	enum kb_rx_kind k = kb_pkt_classify(f, rte_pktmbuf_data_len(m), &u);
	if (k == KB_RX_ARP) {
		arp_in(c, m, f);
		return;
	}
	if (k != KB_RX_UDP || u.dport != c->o->udp_port) {
		c->run->rx_other++;
		rte_pktmbuf_free(m);
		return;
	}
	kb_uesim_handle(c->sim, u.payload, u.len, &rep);
	for (unsigned i = 0; i < rep.copies; i++) {
		struct rte_mbuf *a = ack_frame(c, f, &u, rep.ack);
		if (a == NULL) {
			c->run->tx_fail++;
			continue;
		}
		if (c->o->delay_us > 0) {
			if (kb_ack_delay_push(&c->delay, now_ns + c->o->delay_us * 1000ull, &a))
				continue;
			c->run->delay_overflow++;
		}
		tx_add(c, a);
	}
	rte_pktmbuf_free(m);
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
	if (now - *down_since < 2.0)
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
	if (kb_port_init(o->port_id, 1, c.pool, &c.info) != 0)
		goto out_pool;
	if (o->delay_us > 0 &&
	    kb_ack_delay_init(&c.delay, o->delay_queue, sizeof(struct rte_mbuf *)) != 0) {
		fprintf(stderr, "uesim: no memory for the delay queue\n");
		goto out_port;
	}
	fprintf(stderr, "uesim: %u UEs, port %u (%s), UDP port %u\n", sim->n_ue, o->port_id,
		c.info.driver, o->udp_port);

	kb_uesim_run_start(&run, sim, o);
	double next_link_check = 0, down_since = 0;
	while (!kb_uesim_run_tick(&run)) {
		uint16_t n = rte_eth_rx_burst(o->port_id, 0, rx, o->burst);
		double now = kb_uesim_now();
		uint64_t now_ns = (uint64_t)(now * 1e9);
		if (n == 0 && now >= next_link_check) {
			link_watch(&c, now, &down_since);
			next_link_check = now + 0.5;
		}
		for (uint16_t i = 0; i < n; i++)
			rx_one(&c, rx[i], now_ns);
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
	kb_ack_delay_free(&c.delay);
out_port:
	kb_port_stop(o->port_id);
out_pool:
	rte_mempool_free(c.pool);
	return rc;
}
