/* keyburstd's shared state and the per-lcore poll loop.
 *
 * Each dataplane lcore owns one shard: the per-UE delivery state of the UEs
 * whose kb_sa_shard(csb_id) is its index (ARCHITECTURE.md decision 5). SA
 * records (keys) are read from the lock-free key table; nothing mutable is
 * ever written into them. The loop reads top to bottom like a packet's life:
 *   rx -> acks (and ARP) -> hand-over ring -> jobs -> build, seal, tx -> timers
 *   -> quiescent state.
 *
 * Acks that arrive on another lcore's queue: the receiving lcore verifies the
 * MAC (records are shared, read-only) and hands (slot, counter) to the owner
 * through an SP/SC rte_ring per (from, to) pair. Chosen over an atomic write
 * into the owner's arrays because the owner must compare the counter with its
 * own first/last send counters and bump its own progress counters: a ring
 * keeps every write to a shard on its owning lcore, with no false sharing. */
#ifndef KB_DP_LCORE_H
#define KB_DP_LCORE_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_common.h>
#include <rte_timer.h>

#include "config.h"
#include "event_queue.h"
#include "events.h"
#include "pkt.h"
#include "port.h"
#include "seal_burst.h"

#define KB_MAX_DP_LCORES 64
#define KB_RX_BURST 32
#define KB_PULL_QUEUE 256
#define KB_DLV_MAX 256 /* single-UE MSK deliveries in flight per shard */
#define KB_SVC_NONE 0xffff /* kb_ue.svc of a UE whose SA was deleted */
#define KB_BUILD_CHUNKS 4 /* bursts built per loop, pipelined (lcore.c) */
#define KB_TXQ_MAX (KB_BUILD_CHUNKS * KB_SEAL_BURST_MAX + 64)
#define KB_TX_STALL_MS 500 /* a TX queue that takes nothing this long: drop */

struct kb_keytable;
struct rte_rcu_qsbr;
struct rte_mempool;
struct rte_ring;
struct rte_eth_dev_tx_buffer;
struct kb_services;
struct kb_counter_grantor;
struct rte_hash;
struct rte_mbuf;
struct kb_ref_ctx;
struct kb_mikey_tkeys;
struct kb_ptm_dp;

enum kb_ue_state {
	KB_UE_IDLE = 0,
	KB_UE_PENDING, /* sent, waiting for an ack (or queued for retransmission) */
	KB_UE_DELIVERED, /* acked, or sent when no ack is wanted */
	KB_UE_FAILED,
};

/* Per-UE delivery state, owned by one lcore. 24 bytes. */
struct kb_ue {
	uint32_t csb_id;
	uint32_t next_ctr; /* the next counter value to use: never goes down */
	uint32_t first_ctr; /* counter of the current MSK's first send */
	uint32_t last_ctr; /* counter of the current MSK's last send */
	uint32_t gen; /* the service rollover generation this state is for */
	uint16_t svc;
	uint8_t state;
	uint8_t tries;
};

/* One sent burst waiting for acks: one rte_timer per burst, not per UE. */
struct kb_txrec {
	struct rte_timer tim;
	struct kb_lcore *lc;
	uint32_t id;
	uint32_t gen; /* the rollover generation its UEs were sent for */
	uint16_t n;
	uint8_t tries;
	uint32_t slot[KB_SEAL_BURST_MAX];
};

/* One single-UE MSK delivery (a UE asked over HTTP): the lcore's own copy
 * of the MSK, and its own deadline (retransmitted with a fresh counter until
 * acked or out of retries, like a rollover message). */
struct kb_dlv {
	uint64_t due; /* TSC of the next send */
	uint32_t slot;
	uint32_t msk_id;
	uint8_t msk[16];
	uint8_t tries; /* sends so far */
	uint8_t v; /* ack wanted */
	uint8_t tracked; /* owns the UE's ack state (not inside a running rollover) */
	uint8_t dead;
};

struct kb_shard {
	struct kb_ue *ue;
	uint32_t n_ue, cap;
	/* the rollover in progress (one at a time per shard) */
	bool ro_active, ro_done_posted;
	struct kb_job ro_job;
	uint32_t ro_cursor;
	uint32_t ro_target, ro_sent, ro_acked, ro_failed, ro_retried, ro_pending;
	/* slots whose ack deadline passed, waiting for a retransmission */
	uint32_t *retx;
	uint32_t retx_head, retx_tail, retx_mask;
	/* solicited pulls */
	uint32_t pull[KB_PULL_QUEUE];
	uint32_t pull_head, pull_tail;
	/* single-UE deliveries */
	struct kb_dlv *dlv;
	uint32_t n_dlv;
	/* ack deadlines */
	struct kb_txrec *recs;
	uint32_t *rec_free;
	uint32_t n_rec, n_rec_free;
};

#define KB_LCORE_STATS(X)     \
	X(tx_msgs)            \
	X(tx_pulls)           \
	X(tx_delivers)        \
	X(tx_dropped)         \
	X(tx_retry)           \
	X(tx_bytes)           \
	X(rx_pkts)            \
	X(acks_ok)            \
	X(acks_dup)           \
	X(acks_malformed)     \
	X(acks_unknown_csb)   \
	X(acks_bad_mac)       \
	X(acks_stale_counter) \
	X(rx_non_mikey)       \
	X(rx_other)           \
	X(arp_in)             \
	X(arp_replies)        \
	X(handover_out)       \
	X(handover_in)        \
	X(handover_dropped)   \
	X(retried)            \
	X(failed)             \
	X(seal_errors)        \
	X(alloc_failures)     \
	X(build_errors)       \
	X(counter_stalls)     \
	X(events_dropped)     \
	X(loops)

struct kb_lcore_stats {
#define X(name) uint64_t name;
	KB_LCORE_STATS(X)
#undef X
};

struct kb_dp;

struct kb_lcore {
	unsigned idx; /* shard index, queue id and QSBR thread id */
	unsigned lcore_id;
	struct kb_dp *dp;
	struct kb_sealer *sealer;
	struct rte_ring *jobs;
	struct kb_event_queue evq; /* to dp->events, flushed once per loop */
	struct rte_eth_dev_tx_buffer *txb; /* NULL when there is no port (fuzzing) */
	struct kb_shard sh;
	struct kb_lcore_stats st;
	/* token bucket: messages per second for this lcore (0 = unlimited) */
	uint64_t tb_rate, tb_tokens, tb_cap, tb_last;
	uint32_t max_ctr; /* highest counter value used */
	bool grant_asked;
	uint64_t busy_tsc, start_tsc, stop_tsc;
	/* sealed messages the TX queue has not taken yet (back-pressure: the
	 * builder waits while any are left; dropped only after KB_TX_STALL_MS
	 * without progress) */
	struct rte_mbuf *txq[KB_TXQ_MAX];
	uint32_t txq_head, txq_n;
	uint64_t txq_since; /* TSC of the last progress while txq_n > 0 */
	struct kb_ref_ctx *ref_ctx; /* --sealer openssl: the reference path */
} __rte_cache_aligned;

struct kb_dp {
	struct kb_config cfg;
	struct kb_keytable *kt;
	struct rte_rcu_qsbr *qsbr;
	struct rte_mempool *pool;
	struct kb_port_info port;
	bool have_port;
	struct kb_nexthop nh;
	struct kb_pkt_tmpl tmpl[KB_MAX_SERVICES];
	struct kb_services *svc;
	unsigned n_lcores;
	struct kb_lcore *lc[KB_MAX_DP_LCORES];
	struct rte_ring *ho[KB_MAX_DP_LCORES][KB_MAX_DP_LCORES]; /* hand-over [from][to] */
	struct rte_ring *events;
	/* UE directory: index (from the csb_id, roster_load.h) -> shard << 24 | slot */
	uint32_t *dir;
	uint32_t n_dir, cap_dir;
	/* with the control plane, csb_ids are random: csb_id -> shard << 24 | slot
	 * (rte_hash, lock-free readers, one writer: ctl_bridge.c) */
	struct rte_hash *dir_hash;
	uint64_t ctr_limit; /* counters < this are granted (atomic) */
	struct kb_counter_grantor *grantor;
	uint64_t tsc_hz;
	/* --sealer openssl (one-shot roster runs): the transport keys of every
	 * roster row, indexed like dir (kb_csb_to_index(csb_id) - 1) */
	struct kb_mikey_tkeys *ref_tk;
	uint32_t n_ref_tk;
	volatile int force_quit;
	uint8_t idi[KB_IDI_MAX];
	uint16_t idi_len;
	struct kb_ptm_dp *ptm; /* PTM push (ptm_tx.h); NULL without [control] */
};

extern int kb_logtype;

/* Allocate lcore state for shard idx with room for cap UEs. */
struct kb_lcore *kb_lcore_new(struct kb_dp *dp, unsigned idx, unsigned lcore_id, uint32_t cap);
void kb_lcore_free(struct kb_lcore *lc);
/* Queue an event for the control thread (event_queue.h): 0, or -1 (counted
 * in events_dropped) only when memory for the queue runs out. */
int kb_lcore_event(struct kb_lcore *lc, const struct kb_event *ev);
/* Flush the lcore's queued events into dp->events; the events still queued. */
uint32_t kb_lcore_events_flush(struct kb_lcore *lc);
/* The loop (rte_eal_remote_launch entry). arg is a struct kb_lcore. */
int kb_lcore_main(void *arg);
/* One loop iteration without the port (tests): jobs, build, timers. */
void kb_lcore_poll_once(struct kb_lcore *lc, uint64_t now);
/* Where a csb_id lives, or -1 if no UE has it. */
int kb_dp_locate(const struct kb_dp *dp, uint32_t csb_id, unsigned *shard, uint32_t *slot);

#define KB_DIR_SLOT_BITS 24

#endif
