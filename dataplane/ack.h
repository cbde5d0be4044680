/* The RX path: frames -> ARP / MIKEY verification messages -> delivered.
 *
 * kb_ack_rx takes a burst of received mbufs and consumes every one (freed,
 * or an ARP reply queued for TX). It needs no running port: the fuzzer and
 * the tests call it with mbufs they fill. Everything that is not an accepted
 * ack is counted by reason and dropped: malformed, unknown csb, bad MAC,
 * stale counter, non-MIKEY, other traffic. Accepted acks go to the owning
 * lcore (directly, or through the hand-over ring). */
#ifndef KB_DP_ACK_H
#define KB_DP_ACK_H

#include <stdint.h>

struct kb_lcore;
struct rte_mbuf;

void kb_ack_rx(struct kb_lcore *lc, struct rte_mbuf **pkts, uint16_t n);
/* Owner side: an ack whose MAC verified, for a UE of this shard. */
void kb_ack_apply(struct kb_lcore *lc, uint32_t slot, uint32_t counter);
/* Apply what other lcores handed over. */
void kb_ack_handover_drain(struct kb_lcore *lc);

#endif
