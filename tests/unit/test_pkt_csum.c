/* keyburstd's software UDP checksums (dataplane/pkt.c) against two
 * independent computations: a plain RFC 1071 sum of big-endian 16-bit words
 * written here, and DPDK's rte_ipv4/ipv6_udptcp_cksum; and the receiver's
 * check (the sum over the datagram with its checksum is 0xffff). Odd and
 * even lengths, the 0 -> 0xffff rule, random contents. */
#include "check.h"
#include "pkt.h"
#include "testlib.h"

#include <stdint.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_udp.h>

/* RFC 1071, the slow way: 16-bit big-endian words, end-around carry */
static uint32_t naive_sum(const uint8_t *p, size_t n, uint32_t s)
{
	for (size_t i = 0; i < n; i += 2) {
		s += (uint32_t)p[i] << 8 | (i + 1 < n ? p[i + 1] : 0);
		s = (s & 0xffff) + (s >> 16);
	}
	return s;
}

static uint16_t naive_udp(const uint8_t *src, const uint8_t *dst, size_t alen, const uint8_t *udp,
			  uint16_t ulen)
{
	uint8_t ph[4] = {0, 17, (uint8_t)(ulen >> 8), (uint8_t)ulen};
	uint32_t s = naive_sum(src, alen, 0);
	s = naive_sum(dst, alen, s);
	s = naive_sum(ph, 4, s);
	s = naive_sum(udp, ulen, s);
	uint16_t c = (uint16_t)~s;
	return c == 0 ? 0xffff : c;
}

static void fill(uint8_t *p, size_t n)
{
	kb_test_rnd_bytes(p, n);
}

/* A frame as keyburstd builds it: Ethernet, IPv4 (20), UDP, payload. */
static void test_ipv4(void)
{
	static uint8_t f[14 + 20 + 8 + 1500];
	for (unsigned len = 0; len <= 400; len++) {
		for (int rep = 0; rep < 4; rep++) {
			uint16_t ulen = (uint16_t)(8 + len);
			fill(f, sizeof(f));
			struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(f + 14);
			struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(f + 34);
			ip->version_ihl = RTE_IPV4_VHL_DEF;
			ip->next_proto_id = 17;
			ip->total_length = rte_cpu_to_be_16((uint16_t)(20 + ulen));
			udp->dgram_len = rte_cpu_to_be_16(ulen);
			udp->dgram_cksum = 0;
			uint16_t got = kb_pkt_udp4_cksum(ip, udp, ulen);
			uint8_t gb[2];
			memcpy(gb, &got, 2); /* stored as is: network order in memory */
			uint16_t want =
				naive_udp((uint8_t *)&ip->src_addr, (uint8_t *)&ip->dst_addr, 4,
					  (uint8_t *)udp, ulen);
			CHECK((uint16_t)(gb[0] << 8 | gb[1]) == want);
			CHECK(got == rte_ipv4_udptcp_cksum(ip, udp));
			/* the receiver's check: everything, checksum included, sums
			 * to 0xffff */
			udp->dgram_cksum = got;
			uint8_t ph[4] = {0, 17, (uint8_t)(ulen >> 8), (uint8_t)ulen};
			uint32_t s = naive_sum((uint8_t *)&ip->src_addr, 8, 0);
			s = naive_sum(ph, 4, s);
			CHECK(naive_sum((uint8_t *)udp, ulen, s) == 0xffff);
		}
	}
}

static void test_ipv6(void)
{
	static uint8_t f[14 + 40 + 8 + 1500];
	for (unsigned len = 0; len <= 400; len += 3) {
		uint16_t ulen = (uint16_t)(8 + len);
		fill(f, sizeof(f));
		struct rte_ipv6_hdr *ip6 = (struct rte_ipv6_hdr *)(f + 14);
		struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(f + 54);
		ip6->proto = 17;
		ip6->payload_len = rte_cpu_to_be_16(ulen);
		udp->dgram_len = rte_cpu_to_be_16(ulen);
		udp->dgram_cksum = 0;
		uint16_t got = kb_pkt_udp6_cksum(ip6, udp, ulen);
		uint8_t gb[2];
		memcpy(gb, &got, 2);
		uint16_t want = naive_udp(ip6->src_addr, ip6->dst_addr, 16, (uint8_t *)udp, ulen);
		CHECK((uint16_t)(gb[0] << 8 | gb[1]) == want);
		CHECK(got == rte_ipv6_udptcp_cksum(ip6, udp));
	}
}

/* A datagram whose sum is 0xffff must carry 0xffff, never 0 (RFC 768). */
static void test_zero_rule(void)
{
	uint8_t ip[20] = {0x45, 0, 0, 30, 0, 0, 0, 0, 64, 17, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
	uint8_t udp[10] = {0, 0, 0, 0, 0, 10, 0, 0, 0, 0};
	/* pick the payload so the whole sum folds to 0xffff */
	uint32_t s = naive_sum(ip + 12, 8, 0);
	uint8_t ph[4] = {0, 17, 0, 10};
	s = naive_sum(ph, 4, s);
	s = naive_sum(udp, 10, s);
	uint16_t need = (uint16_t)(0xffff - s);
	udp[8] = (uint8_t)(need >> 8);
	udp[9] = (uint8_t)need;
	CHECK(naive_sum(udp, 10, naive_sum(ph, 4, naive_sum(ip + 12, 8, 0))) == 0xffff);
	uint16_t got = kb_pkt_udp4_cksum(ip, udp, 10);
	CHECK(got == 0xffff);
}

int main(void)
{
	RUN(test_ipv4);
	RUN(test_ipv6);
	RUN(test_zero_rule);
	return kb_check_done();
}
