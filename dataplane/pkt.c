/* Ethernet/IPv4/IPv6/UDP templates, checksums and ARP (see pkt.h). */
#include "pkt.h"

#include <string.h>
#include <sys/socket.h>

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

static uint32_t sum16(const uint8_t *p, size_t n)
{
	uint32_t s = 0;
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	return s;
}

static uint16_t fold(uint32_t s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

void kb_pkt_tmpl_init(struct kb_pkt_tmpl *t, const uint8_t src_mac[6], const uint8_t *ip4,
		      const uint8_t *ip6, uint16_t sport, const struct kb_nexthop *nh,
		      bool ip_csum_offload, bool udp_csum_offload, bool udp_csum_v4)
{
	memset(t, 0, sizeof(*t));
	t->nh = nh;
	t->ip_csum_offload = ip_csum_offload;
	t->udp_csum_offload = udp_csum_offload;
	t->udp_csum_v4 = udp_csum_v4;
	memcpy(t->src_mac, src_mac, 6);

	/* IPv4 */
	struct rte_ether_hdr *eh = (struct rte_ether_hdr *)t->v4;
	memcpy(eh->src_addr.addr_bytes, src_mac, 6);
	eh->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(t->v4 + 14);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	if (ip4 != NULL) {
		t->has_ip4 = true;
		memcpy(t->ip4, ip4, 4);
		memcpy(&ip->src_addr, ip4, 4);
	}
	/* length and destination are zero here: added per packet */
	t->ip4_sum = sum16((const uint8_t *)ip, 20);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(t->v4 + 34);
	udp->src_port = rte_cpu_to_be_16(sport);

	/* IPv6 */
	eh = (struct rte_ether_hdr *)t->v6;
	memcpy(eh->src_addr.addr_bytes, src_mac, 6);
	eh->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
	struct rte_ipv6_hdr *ip6h = (struct rte_ipv6_hdr *)(t->v6 + 14);
	ip6h->vtc_flow = rte_cpu_to_be_32(6u << 28);
	ip6h->proto = IPPROTO_UDP;
	ip6h->hop_limits = 64;
	if (ip6 != NULL) {
		t->has_ip6 = true;
		memcpy(t->ip6, ip6, 16);
		memcpy(ip6h->src_addr, ip6, 16);
	}
	udp = (struct rte_udp_hdr *)(t->v6 + 54);
	udp->src_port = rte_cpu_to_be_16(sport);
}

uint8_t *kb_pkt_udp_prepare(const struct kb_pkt_tmpl *t, struct rte_mbuf *m,
			    const struct kb_ue_addr *a, uint16_t payload_len)
{
	uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
	uint16_t udp_len = (uint16_t)(8 + payload_len);

	if (a->af == AF_INET) {
		if (!t->has_ip4 || rte_pktmbuf_tailroom(m) < KB_PKT_V4_HDRS + payload_len)
			return NULL;
		memcpy(p, t->v4, KB_PKT_V4_HDRS);
		memcpy(p, t->nh->mac, 6);
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(p + 14);
		uint16_t tot = (uint16_t)(20 + udp_len);
		ip->total_length = rte_cpu_to_be_16(tot);
		memcpy(&ip->dst_addr, a->ip, 4);
		if (t->ip_csum_offload) {
			m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
		} else {
			/* incremental: the template's sum plus what varies */
			uint32_t s = t->ip4_sum + tot + (uint32_t)(a->ip[0] << 8 | a->ip[1]) +
				     (uint32_t)(a->ip[2] << 8 | a->ip[3]);
			ip->hdr_checksum = rte_cpu_to_be_16((uint16_t)~fold(s));
		}
		struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(p + 34);
		udp->dst_port = rte_cpu_to_be_16(a->port);
		udp->dgram_len = rte_cpu_to_be_16(udp_len);
		m->l2_len = 14;
		m->l3_len = 20;
		m->data_len = (uint16_t)(KB_PKT_V4_HDRS + payload_len);
		m->pkt_len = m->data_len;
		return p + KB_PKT_V4_HDRS;
	}
	if (a->af == AF_INET6) {
		if (!t->has_ip6 || rte_pktmbuf_tailroom(m) < KB_PKT_V6_HDRS + payload_len)
			return NULL;
		memcpy(p, t->v6, KB_PKT_V6_HDRS);
		memcpy(p, t->nh->mac, 6);
		struct rte_ipv6_hdr *ip6 = (struct rte_ipv6_hdr *)(p + 14);
		ip6->payload_len = rte_cpu_to_be_16(udp_len);
		memcpy(ip6->dst_addr, a->ip, 16);
		struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(p + 54);
		udp->dst_port = rte_cpu_to_be_16(a->port);
		udp->dgram_len = rte_cpu_to_be_16(udp_len);
		m->l2_len = 14;
		m->l3_len = 40;
		m->data_len = (uint16_t)(KB_PKT_V6_HDRS + payload_len);
		m->pkt_len = m->data_len;
		return p + KB_PKT_V6_HDRS;
	}
	return NULL;
}

/* Ones' complement sum of n bytes as native-order 16-bit words, carried in
 * a 64-bit accumulator of 32-bit loads (2^16 = 1 mod 0xffff: folding gives
 * the same result as the 16-bit sum). n < 64 KiB, so it cannot overflow. */
static uint64_t sum_native(const uint8_t *p, size_t n, uint64_t acc)
{
	size_t i = 0;
	for (; i + 4 <= n; i += 4) {
		uint32_t w;
		memcpy(&w, p + i, 4);
		acc += w;
	}
	if (i + 2 <= n) {
		uint16_t w;
		memcpy(&w, p + i, 2);
		acc += w;
		i += 2;
	}
	if (i < n) {
		/* the odd last byte is the high-order byte of a zero-padded word */
		uint8_t pad[2] = {p[i], 0};
		uint16_t w;
		memcpy(&w, pad, 2);
		acc += w;
	}
	return acc;
}

static uint16_t fold_native(uint64_t s)
{
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static uint16_t udp_final(uint64_t acc)
{
	uint16_t c = (uint16_t)~fold_native(acc);
	return c == 0 ? 0xffff : c; /* 0 means "no checksum" on the wire */
}

uint16_t kb_pkt_udp4_cksum(const void *ip, const void *udp, uint16_t udp_len)
{
	const uint8_t *h = ip;
	/* pseudo-header: source, destination (network order, summed as they
	 * lie in memory), zero, protocol, UDP length */
	uint8_t ph[4] = {0, IPPROTO_UDP, (uint8_t)(udp_len >> 8), (uint8_t)udp_len};
	uint64_t acc = sum_native(h + 12, 8, 0);
	acc = sum_native(ph, 4, acc);
	return udp_final(sum_native(udp, udp_len, acc));
}

uint16_t kb_pkt_udp6_cksum(const void *ip6, const void *udp, uint16_t udp_len)
{
	const uint8_t *h = ip6;
	uint8_t ph[8] = {0, 0, (uint8_t)(udp_len >> 8), (uint8_t)udp_len, 0, 0, 0, IPPROTO_UDP};
	uint64_t acc = sum_native(h + 8, 32, 0);
	acc = sum_native(ph, 8, acc);
	return udp_final(sum_native(udp, udp_len, acc));
}

static inline void finish_one(const struct kb_pkt_tmpl *t, struct rte_mbuf *m)
{
	uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
	if (m->l3_len == 20) {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(p + 14);
		struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(p + 34);
		if (t->udp_csum_offload) {
			m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_UDP_CKSUM;
			m->l4_len = 8;
			udp->dgram_cksum = rte_ipv4_phdr_cksum(ip, m->ol_flags);
		} else if (t->udp_csum_v4) {
			udp->dgram_cksum = 0;
			udp->dgram_cksum =
				kb_pkt_udp4_cksum(ip, udp, rte_be_to_cpu_16(udp->dgram_len));
		} else {
			udp->dgram_cksum = 0; /* RFC 768: none (configured) */
		}
	} else {
		struct rte_ipv6_hdr *ip6 = (struct rte_ipv6_hdr *)(p + 14);
		struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(p + 54);
		if (t->udp_csum_offload) {
			m->ol_flags |= RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_UDP_CKSUM;
			m->l4_len = 8;
			udp->dgram_cksum = rte_ipv6_phdr_cksum(ip6, m->ol_flags);
		} else {
			udp->dgram_cksum = 0;
			udp->dgram_cksum =
				kb_pkt_udp6_cksum(ip6, udp, rte_be_to_cpu_16(udp->dgram_len));
		}
	}
}

void kb_pkt_udp_finish(const struct kb_pkt_tmpl *t, struct rte_mbuf *m)
{
	finish_one(t, m);
}

void kb_pkt_udp_finish_burst(const struct kb_pkt_tmpl *t, struct rte_mbuf **m, unsigned n)
{
	/* one copy of the loop per case: the per-packet test is only the
	 * address family */
	if (t->udp_csum_offload) {
		for (unsigned i = 0; i < n; i++)
			finish_one(t, m[i]);
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		uint8_t *p = rte_pktmbuf_mtod(m[i], uint8_t *);
		if (m[i]->l3_len == 20 && t->udp_csum_v4) {
			struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(p + 34);
			udp->dgram_cksum = 0;
			udp->dgram_cksum =
				kb_pkt_udp4_cksum(p + 14, udp, rte_be_to_cpu_16(udp->dgram_len));
		} else {
			finish_one(t, m[i]);
		}
	}
}

enum kb_rx_kind kb_pkt_classify(const uint8_t *f, uint32_t len, struct kb_rx_udp *u)
{
	if (len < 14)
		return KB_RX_MALFORMED;
	uint16_t et = (uint16_t)(f[12] << 8 | f[13]);
	const uint8_t *l3 = f + 14;
	uint32_t l3len = len - 14;
	const uint8_t *l4;
	uint32_t l4max;

	if (et == RTE_ETHER_TYPE_ARP)
		return l3len >= sizeof(struct rte_arp_hdr) ? KB_RX_ARP : KB_RX_MALFORMED;
	if (et == RTE_ETHER_TYPE_IPV4) {
		if (l3len < 20)
			return KB_RX_MALFORMED;
		unsigned ihl = (l3[0] & 0xf) * 4u;
		uint16_t tot = (uint16_t)(l3[2] << 8 | l3[3]);
		if ((l3[0] >> 4) != 4 || ihl < 20 || tot < ihl || tot > l3len)
			return KB_RX_MALFORMED;
		if (l3[9] != IPPROTO_UDP)
			return KB_RX_OTHER;
		if ((l3[6] & 0x3f) != 0 || l3[7] != 0) /* MF or offset: a fragment */
			return KB_RX_OTHER;
		u->af = AF_INET;
		memset(u->src, 0, sizeof(u->src));
		memcpy(u->src, l3 + 12, 4);
		l4 = l3 + ihl;
		l4max = tot - ihl;
	} else if (et == RTE_ETHER_TYPE_IPV6) {
		if (l3len < 40 || (l3[0] >> 4) != 6)
			return KB_RX_MALFORMED;
		uint16_t plen = (uint16_t)(l3[4] << 8 | l3[5]);
		if (plen > l3len - 40)
			return KB_RX_MALFORMED;
		if (l3[6] != IPPROTO_UDP) /* extension headers: not ours */
			return KB_RX_OTHER;
		u->af = AF_INET6;
		memcpy(u->src, l3 + 8, 16);
		l4 = l3 + 40;
		l4max = plen;
	} else {
		return KB_RX_OTHER;
	}
	if (l4max < 8)
		return KB_RX_MALFORMED;
	uint16_t ulen = (uint16_t)(l4[4] << 8 | l4[5]);
	if (ulen < 8 || ulen > l4max)
		return KB_RX_MALFORMED;
	u->sport = (uint16_t)(l4[0] << 8 | l4[1]);
	u->dport = (uint16_t)(l4[2] << 8 | l4[3]);
	u->payload = l4 + 8;
	u->len = (uint16_t)(ulen - 8);
	return KB_RX_UDP;
}

int kb_pkt_arp_input(const struct kb_pkt_tmpl *t, struct kb_nexthop *nh, struct rte_mbuf *m)
{
	if (rte_pktmbuf_data_len(m) < 14 + sizeof(struct rte_arp_hdr))
		return 0;
	struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eh + 1);
	if (arp->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
	    arp->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) || arp->arp_hlen != 6 ||
	    arp->arp_plen != 4)
		return 0;
	/* learn: any ARP packet the next hop sends tells us its MAC */
	if (nh->has_ip4 && memcmp(&arp->arp_data.arp_sip, nh->ip4, 4) == 0 &&
	    !rte_is_zero_ether_addr(&arp->arp_data.arp_sha) &&
	    !rte_is_multicast_ether_addr(&arp->arp_data.arp_sha)) {
		memcpy(nh->mac, arp->arp_data.arp_sha.addr_bytes, 6);
		__atomic_store_n(&nh->known, 1, __ATOMIC_RELEASE);
	}
	if (!t->has_ip4 || arp->arp_opcode != rte_cpu_to_be_16(RTE_ARP_OP_REQUEST) ||
	    memcmp(&arp->arp_data.arp_tip, t->ip4, 4) != 0)
		return 0;
	/* answer in place */
	arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
	arp->arp_data.arp_tha = arp->arp_data.arp_sha;
	arp->arp_data.arp_tip = arp->arp_data.arp_sip;
	memcpy(arp->arp_data.arp_sha.addr_bytes, t->src_mac, 6);
	memcpy(&arp->arp_data.arp_sip, t->ip4, 4);
	eh->dst_addr = arp->arp_data.arp_tha;
	memcpy(eh->src_addr.addr_bytes, t->src_mac, 6);
	m->ol_flags = 0;
	return 1;
}

int kb_pkt_arp_request(const struct kb_pkt_tmpl *t, const struct kb_nexthop *nh, struct rte_mbuf *m)
{
	if (!t->has_ip4 || !nh->has_ip4)
		return -1;
	uint16_t len = (uint16_t)(14 + sizeof(struct rte_arp_hdr));
	if (rte_pktmbuf_tailroom(m) < len)
		return -1;
	struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eh + 1);
	memset(eh->dst_addr.addr_bytes, 0xff, 6);
	memcpy(eh->src_addr.addr_bytes, t->src_mac, 6);
	eh->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
	arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = 6;
	arp->arp_plen = 4;
	arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
	memcpy(arp->arp_data.arp_sha.addr_bytes, t->src_mac, 6);
	memcpy(&arp->arp_data.arp_sip, t->ip4, 4);
	memset(arp->arp_data.arp_tha.addr_bytes, 0, 6);
	memcpy(&arp->arp_data.arp_tip, nh->ip4, 4);
	m->data_len = len;
	m->pkt_len = len;
	return 0;
}
