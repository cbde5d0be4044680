/* Packet building and parsing for keyburstd: Ethernet / IPv4 / IPv6 / UDP
 * from a per-(port, service) header template, checksums (offloaded when the
 * port offers it, software otherwise), and ARP (answer requests for our
 * address, request and learn the next hop's MAC). */
#ifndef KB_DP_PKT_H
#define KB_DP_PKT_H

#include <stdbool.h>
#include <stdint.h>

#include "sa.h"

struct rte_mbuf;

#define KB_PKT_V4_HDRS (14 + 20 + 8)
#define KB_PKT_V6_HDRS (14 + 40 + 8)

/* The next hop: a static MAC from the config or learned by ARP. Written by
 * whichever lcore sees the ARP answer, read by all; `known` is published
 * after the bytes (release/acquire). */
struct kb_nexthop {
	uint8_t mac[6];
	uint8_t ip4[4];
	bool has_ip4;
	volatile uint8_t known;
};

struct kb_pkt_tmpl {
	uint8_t v4
		[KB_PKT_V4_HDRS]; /* dst MAC, IP total length/dst, UDP dst/len filled per packet */
	uint8_t v6[KB_PKT_V6_HDRS];
	uint32_t ip4_sum; /* ones' complement sum of the template IPv4 header */
	bool ip_csum_offload, udp_csum_offload, udp_csum_v4;
	bool has_ip4, has_ip6;
	uint8_t src_mac[6];
	uint8_t ip4[4];
	uint8_t ip6[16];
	const struct kb_nexthop *nh;
};

void kb_pkt_tmpl_init(struct kb_pkt_tmpl *t, const uint8_t src_mac[6], const uint8_t *ip4,
		      const uint8_t *ip6, uint16_t sport, const struct kb_nexthop *nh,
		      bool ip_csum_offload, bool udp_csum_offload, bool udp_csum_v4);

/* Headers for a UDP datagram of payload_len bytes to addr. Sets the mbuf's
 * lengths and returns where the payload goes, or NULL if the address family
 * has no source address or the mbuf is too small. */
uint8_t *kb_pkt_udp_prepare(const struct kb_pkt_tmpl *t, struct rte_mbuf *m,
			    const struct kb_ue_addr *a, uint16_t payload_len);
/* The UDP checksum, once the payload is final (or the offload request). */
void kb_pkt_udp_finish(const struct kb_pkt_tmpl *t, struct rte_mbuf *m);
/* The same for n packets built by kb_pkt_udp_prepare: the offload/software
 * choice is made once per burst, not per packet. */
void kb_pkt_udp_finish_burst(const struct kb_pkt_tmpl *t, struct rte_mbuf **m, unsigned n);

/* UDP checksums in software (RFC 768 / RFC 8200 pseudo-headers, RFC 1071
 * sum): the value to store in the UDP header, whose checksum field must be
 * zero; 0 is sent as 0xffff. ip points at the IPv4 (20-byte) or IPv6
 * header, udp at the UDP header followed by its payload (udp_len bytes in
 * all). Sums 32-bit words into a 64-bit accumulator (vectorised by the
 * compiler): several times faster than DPDK's 16-bit loop. */
uint16_t kb_pkt_udp4_cksum(const void *ip, const void *udp, uint16_t udp_len);
uint16_t kb_pkt_udp6_cksum(const void *ip6, const void *udp, uint16_t udp_len);

/* A received frame, classified. For KB_RX_UDP, payload/len/sport/src are set. */
enum kb_rx_kind {
	KB_RX_OTHER = 0, /* not for us: not IP, not UDP, wrong port, fragment */
	KB_RX_UDP,
	KB_RX_ARP,
	KB_RX_MALFORMED, /* truncated or inconsistent headers */
};

struct kb_rx_udp {
	const uint8_t *payload;
	uint16_t len;
	uint16_t sport, dport;
	uint8_t af;
	uint8_t src[16];
};

/* Classify a contiguous frame of len bytes. */
enum kb_rx_kind kb_pkt_classify(const uint8_t *frame, uint32_t len, struct kb_rx_udp *u);

/* ARP input on a frame: learns the next hop's MAC from any ARP packet it
 * sends, and turns a request for our IPv4 address into the reply in place
 * (returns 1: send the mbuf back). Returns 0 when the mbuf is to be freed. */
int kb_pkt_arp_input(const struct kb_pkt_tmpl *t, struct kb_nexthop *nh, struct rte_mbuf *m);
/* Write an ARP request for the next hop's IPv4 address. 0 or -1. */
int kb_pkt_arp_request(const struct kb_pkt_tmpl *t, const struct kb_nexthop *nh,
		       struct rte_mbuf *m);

#endif
