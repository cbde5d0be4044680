/* Port initialisation (see port.h). */
#include "port.h"

#include "log.h"

#include <errno.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_mempool.h>

#define KB_RX_DESC 1024
#define KB_TX_DESC 1024

int kb_port_init(uint16_t port_id, uint16_t n_queues, struct rte_mempool *pool,
		 struct kb_port_info *info)
{
	struct rte_eth_dev_info dev;
	struct rte_eth_conf conf;
	int rc;

	memset(info, 0, sizeof(*info));
	if (!rte_eth_dev_is_valid_port(port_id)) {
		KB_LOG(ERR, "port %u does not exist (%u ports)", port_id,
		       rte_eth_dev_count_avail());
		return -ENODEV;
	}
	rc = rte_eth_dev_info_get(port_id, &dev);
	if (rc != 0)
		return rc;
	if (n_queues > dev.max_rx_queues || n_queues > dev.max_tx_queues) {
		KB_LOG(ERR, "port %u (%s) has %u rx / %u tx queues, %u lcores need one each",
		       port_id, dev.driver_name, dev.max_rx_queues, dev.max_tx_queues, n_queues);
		return -EINVAL;
	}
	memset(&conf, 0, sizeof(conf));
	if (n_queues > 1 && dev.flow_type_rss_offloads != 0) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf =
			(RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP) & dev.flow_type_rss_offloads;
		info->rss = conf.rx_adv_conf.rss_conf.rss_hf != 0;
	}
	if (dev.tx_offload_capa & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) {
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
		info->ip_csum_offload = true;
	}
	if (dev.tx_offload_capa & RTE_ETH_TX_OFFLOAD_UDP_CKSUM) {
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
		info->udp_csum_offload = true;
	}
	if (dev.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE)
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;

	rc = rte_eth_dev_configure(port_id, n_queues, n_queues, &conf);
	if (rc != 0) {
		KB_LOG(ERR, "port %u: configure: %s", port_id, rte_strerror(-rc));
		return rc;
	}
	uint16_t nb_rxd = KB_RX_DESC, nb_txd = KB_TX_DESC;
	rc = rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &nb_rxd, &nb_txd);
	if (rc != 0)
		return rc;
	int socket = rte_eth_dev_socket_id(port_id);
	for (uint16_t q = 0; q < n_queues; q++) {
		struct rte_eth_rxconf rxc = dev.default_rxconf;
		struct rte_eth_txconf txc = dev.default_txconf;
		txc.offloads = conf.txmode.offloads;
		rc = rte_eth_rx_queue_setup(port_id, q, nb_rxd, socket, &rxc, pool);
		if (rc != 0) {
			KB_LOG(ERR, "port %u: rx queue %u: %s", port_id, q, rte_strerror(-rc));
			return rc;
		}
		rc = rte_eth_tx_queue_setup(port_id, q, nb_txd, socket, &txc);
		if (rc != 0) {
			KB_LOG(ERR, "port %u: tx queue %u: %s", port_id, q, rte_strerror(-rc));
			return rc;
		}
	}
	rc = rte_eth_dev_start(port_id);
	if (rc != 0) {
		KB_LOG(ERR, "port %u: start: %s", port_id, rte_strerror(-rc));
		return rc;
	}
	/* acks come to our own address; promiscuous only helps virtual peers
	 * that do not know our MAC yet, and may be refused: not an error */
	(void)rte_eth_promiscuous_enable(port_id);

	struct rte_ether_addr mac;
	rte_eth_macaddr_get(port_id, &mac);
	memcpy(info->mac, mac.addr_bytes, 6);
	info->port_id = port_id;
	info->n_queues = n_queues;
	snprintf(info->driver, sizeof(info->driver), "%s", dev.driver_name);
	KB_LOG(INFO, "port %u (%s): %u queues, rss %s, tx csum offload ip %s udp %s", port_id,
	       dev.driver_name, n_queues, info->rss ? "on" : "off",
	       info->ip_csum_offload ? "yes" : "no", info->udp_csum_offload ? "yes" : "no");
	return 0;
}

void kb_port_stop(uint16_t port_id)
{
	(void)rte_eth_dev_stop(port_id);
	(void)rte_eth_dev_close(port_id);
}
