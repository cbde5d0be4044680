/* PTM push for one service (issue 7): MTK management (proto/srtp/mtk_sched)
 * with MTK messages sealed under MSK-derived transport keys (kb_seal_burst),
 * and push objects as SRTP packets (proto/srtp framing, kb_srtp_protect_burst),
 * written as whole Ethernet/IPv4/UDP frames to the service's multicast group
 * (MAC 01:00:5e + the low 23 bits of the group), paced to a bit rate.
 *
 * No DPDK: the caller hands out frame buffers (mbuf data on an lcore, plain
 * arrays in tests and tools) and a clock, so the daemon, the tests and the
 * benchmark share this code. One service is driven by one thread. */
#ifndef KB_PTM_H
#define KB_PTM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "seal_burst.h"
#include "srtp/mtk_sched.h"
#include "srtp/srtp.h"
#include "srtp_burst.h"

#define KB_PTM_L2L3_LEN (14 + 20 + 8) /* Ethernet, IPv4, UDP */
#define KB_PTM_FRAME_MAX 1514
#define KB_PTM_BURST_MAX 32 /* frames one kb_ptm_step writes at most */
#define KB_PTM_MTKS 4 /* MTKs remembered per service (current, next, old) */
#define KB_PTM_QUEUE 16 /* push objects waiting per service */

struct kb_ptm_cfg {
	uint8_t domain[3]; /* key domain (MCC ‖ MNC) */
	uint32_t mtk_csb_id; /* the service's MTK csb_id (non-zero) */
	uint8_t rand[KB_MIKEY_RAND_LEN]; /* RAND of the MTK messages, fixed per (MSK, csb_id) */
	/* addressing: IPv4 in network byte order, ports in host order */
	uint8_t src_mac[6];
	uint8_t src_ip[4];
	uint8_t group_ip[4]; /* the multicast group (224.0.0.0/4) */
	uint16_t src_port;
	uint16_t mtk_port; /* MTK messages (PROFILE.md: 4359) */
	uint16_t data_port; /* SRTP content */
	uint8_t ttl; /* 0: 16 */
	/* SRTP */
	uint32_t ssrc;
	uint8_t pt; /* 0: 96 */
	uint16_t srtp_max; /* whole SRTP packet size budget; 0: 1200 */
	uint64_t rate_bps; /* content pacing, bits of frames per second; 0: unpaced */
	struct kb_mtk_sched_cfg sched;
	struct kb_mtk_persist persist; /* durable per-MSK counter / MTK ID marks */
};

/* A push object: the caller keeps obj alive until kb_ptm_step reports it
 * done (or kb_ptm_cancel removed it). */
struct kb_ptm_object {
	uint32_t push_id; /* the 4-byte push id on the wire */
	const uint8_t *obj;
	uint32_t len;
};

struct kb_ptm_stats {
	uint64_t mtk_msgs, srtp_pkts, objects_done, bytes_sent;
	uint64_t seal_errors, sched_errors, paced_waits;
};

struct kb_ptm;

/* sealer and burster belong to the calling thread (one per lcore).
 * NULL on bad configuration or out of memory. */
struct kb_ptm *kb_ptm_new(const struct kb_ptm_cfg *cfg, struct kb_sealer *sealer,
			  struct kb_srtp_burster *burster);
void kb_ptm_free(struct kb_ptm *p); /* wipes every key */

/* The service's MSK: the first call starts MTK scheduling; a later call with
 * another msk_id is a rollover (the next MTK goes under the new MSK; content
 * moves to it only after its MTK message went out). The MSK is copied (the
 * caller wipes its own). Returns 0 or -1. */
int kb_ptm_set_msk(struct kb_ptm *p, uint32_t msk_id, const uint8_t msk[16]);

/* Queue an object. 0, or -1 if the queue is full or len is too large. */
int kb_ptm_push(struct kb_ptm *p, const struct kb_ptm_object *o);
/* Drop a queued object that has not started. 0, or -1 if not queued. */
int kb_ptm_cancel(struct kb_ptm *p, uint32_t push_id);
/* Objects queued or in flight. */
unsigned kb_ptm_pending(const struct kb_ptm *p);

/* Write up to max (<= KB_PTM_BURST_MAX) frames due at now_ns (any monotonic
 * origin): MTK messages first (a new MTK before any content under it, the
 * current one every repeat period), then paced SRTP packets. bufs[i] must
 * hold KB_PTM_FRAME_MAX bytes; lens[i] gets each frame length. Objects that
 * completed are reported in done[] (*n_done; room for KB_PTM_BURST_MAX): they
 * were fully written in this or an earlier call's frames. *next_ns: when to
 * call again at the latest. Returns the number of frames (0 is fine), or -1
 * (a seal failure: nothing of this call may be sent). */
int kb_ptm_step(struct kb_ptm *p, uint64_t now_ns, uint8_t *const *bufs, uint16_t *lens,
		unsigned max, uint32_t *done, unsigned *n_done, uint64_t *next_ns);

const struct kb_ptm_stats *kb_ptm_get_stats(const struct kb_ptm *p);

/* The Ethernet multicast MAC of an IPv4 group: 01:00:5e ‖ low 23 bits. */
void kb_ptm_mcast_mac(const uint8_t group_ip[4], uint8_t mac[6]);

#endif
