/* Generic port initialisation: any ethdev (NIC, net_null, net_pcap, memif,
 * af_packet); one RX and one TX queue per dataplane lcore, RSS when the port
 * has it and there is more than one queue, checksum offloads when offered. */
#ifndef KB_DP_PORT_H
#define KB_DP_PORT_H

#include <stdbool.h>
#include <stdint.h>

struct rte_mempool;

struct kb_port_info {
	uint16_t port_id;
	uint16_t n_queues;
	uint8_t mac[6];
	bool rss;
	bool ip_csum_offload; /* TX IPv4 header checksum */
	bool udp_csum_offload; /* TX UDP checksum */
	char driver[32];
};

/* Configure and start the port. Returns 0 or a negative errno, with a
 * message logged. */
int kb_port_init(uint16_t port_id, uint16_t n_queues, struct rte_mempool *pool,
		 struct kb_port_info *info);
void kb_port_stop(uint16_t port_id);

#endif
