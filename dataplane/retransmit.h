/* Ack deadlines and retransmission, on the owning lcore.
 *
 * Every burst of ack-wanted messages gets one rte_timer (a kb_txrec from a
 * per-shard pool), armed at timeout * backoff^tries. When it fires, each UE
 * of the burst that is still pending goes to the shard's retransmission
 * queue (the next build takes it first, with a fresh counter), or, after
 * `retries` retransmissions, is marked failed and an event is posted. The
 * pool bounds outstanding bursts: when it is empty the builder waits, which
 * is the back-pressure that keeps memory fixed. */
#ifndef KB_DP_RETRANSMIT_H
#define KB_DP_RETRANSMIT_H

#include <stdint.h>

struct kb_lcore;

/* Allocate the queue and n_rec burst records for a shard of cap UEs. */
int kb_retx_init(struct kb_lcore *lc, uint32_t cap, uint32_t n_rec);
void kb_retx_fini(struct kb_lcore *lc);
/* Records available for new bursts. */
uint32_t kb_retx_free_recs(const struct kb_lcore *lc);
/* Arm a deadline for n slots just sent (tries = the highest try count among
 * them). Returns 0, or -1 if no record is free (caller checked). */
int kb_retx_arm(struct kb_lcore *lc, const uint32_t *slots, unsigned n, unsigned tries,
		uint64_t now);
/* Take the next slot due for retransmission. 0 or -1 if none. */
int kb_retx_pop(struct kb_lcore *lc, uint32_t *slot);
uint32_t kb_retx_queued(const struct kb_lcore *lc);
/* Stop every armed timer (shutdown). */
void kb_retx_cancel_all(struct kb_lcore *lc);

#endif
