/* PTM push inside keyburstd (issue 7): the glue between the control plane's
 * PAP pushes (control/pap_api.h), the job and event rings (events.h) and the
 * PTM engine (ptm.h) on the dataplane lcores.
 *
 * - Each service with PTM is driven by one lcore (service index modulo the
 *   lcore count): its kb_ptm, its FIFO of pushes and its pacing live there.
 * - A push travels by reference: the bridge (control thread, under its
 *   lock) puts (push id, object, length) into a slot of a shared table and
 *   posts KB_JOB_PUSH naming the slot; the object stays the control plane's
 *   until the slot's KB_EV_PUSH_DONE/FAILED event has been handled.
 * - A slot is POSTED until the lcore starts sending it (CAS to SENDING);
 *   a cancel (PAP cancel-message, expiry) succeeds only before that (CAS to
 *   CANCELLED). One object per service is inside the engine at a time, so
 *   everything still queued stays cancellable.
 * - Frames are written by the engine straight into mbuf data and sent on
 *   the lcore's own TX queue; unsent ones wait in a small per-lcore queue
 *   (nothing new is built until it drained). A push is reported done only
 *   when every frame of it was taken by the port.
 * - The MSK: the first push of a service brings the control plane's current
 *   MSK; later MSKs come from rollovers (KB_JOB_PTM_MSK), so content moves
 *   to a new MTK sealed under the new MSK. */
#ifndef KB_DP_PTM_TX_H
#define KB_DP_PTM_TX_H

#include <stdbool.h>
#include <stdint.h>

#include "srtp/mtk_sched.h"

#define KB_PTM_SLOTS 256 /* pushes posted to the dataplane and not yet reported */
#define KB_PTM_NAME_MAX 128 /* the control plane's service id, NUL included */

struct kb_dp;
struct kb_lcore;
struct kb_job;
struct kb_event;
struct kb_ptm_dp;

/* Counters over every lcore (read by the bridge for /metrics). active_us:
 * time from the first SRTP packet of a busy period to its last, summed
 * (what the send rate is measured over; paced waits count as active). */
#define KB_PTM_TX_STATS(X)    \
	X(ptm_mtk_msgs)       \
	X(ptm_srtp_pkts)      \
	X(ptm_tx_bytes)       \
	X(ptm_objects)        \
	X(ptm_failed)         \
	X(ptm_cancelled)      \
	X(ptm_tx_dropped)     \
	X(ptm_alloc_failures) \
	X(ptm_seal_errors)    \
	X(ptm_sched_errors)   \
	X(ptm_active_us)      \
	X(ptm_active_cpu_us)

struct kb_ptm_tx_stats {
#define X(name) uint64_t name;
	KB_PTM_TX_STATS(X)
#undef X
};

/* Main thread, before the lcores run: the shared tables and one SRTP
 * burster per lcore. NULL on failure. kb_ptm_dp_free after they stopped. */
struct kb_ptm_dp *kb_ptm_dp_new(struct kb_dp *dp);
void kb_ptm_dp_free(struct kb_ptm_dp *p);

/* ---- control side (the bridge, one thread at a time) ---- */

/* Persistence of the MTK marks of a service (kb_pap_api_mtk_persist). */
typedef void (*kb_ptm_persist_fn)(const char *service, struct kb_mtk_persist *p);

struct kb_ptm_post {
	const char *service; /* the control plane's service id (copied) */
	uint16_t key_group;
	uint32_t push_num; /* the wire push id */
	const uint8_t *obj;
	uint32_t len;
	uint32_t msk_id; /* the service's current MSK */
	const uint8_t *msk;
	kb_ptm_persist_fn persist;
};

/* Queue a push for dataplane service index svc. 0, or -1 (no free slot,
 * job ring full, bad settings): the caller tries again later. */
int kb_ptm_post_push(struct kb_dp *dp, unsigned svc, const struct kb_ptm_post *post);
/* Cancel a posted push that has not started. 0 cancelled, -1 too late or
 * unknown. */
int kb_ptm_cancel_push(struct kb_dp *dp, uint32_t push_num);
/* PTM of service svc moves to a rollover's new MSK (the control plane
 * decided it: the rollover completed or reached [ptm] switch_at, docs/pap.md):
 * tell its PTM lcore if the service runs PTM (nothing to do otherwise: its
 * first push brings the MSK PTM uses). The next MTK goes under it at once.
 * 0, or -1 (job ring full). */
int kb_ptm_post_msk(struct kb_dp *dp, unsigned svc, uint32_t msk_id, const uint8_t *msk);
/* A PUSH_DONE/FAILED event: frees its slot. Returns true with *push_num and
 * *ok set when the control plane must hear about it (not for a cancelled
 * push, which it already finalised). */
bool kb_ptm_on_event(struct kb_dp *dp, const struct kb_event *ev, uint32_t *push_num, bool *ok);
void kb_ptm_tx_stats(const struct kb_dp *dp, struct kb_ptm_tx_stats *out);

/* ---- dataplane side (the owning lcore) ---- */

/* KB_JOB_PUSH and KB_JOB_PTM_MSK; wipes the job's MSK. */
void kb_ptm_take_job(struct kb_lcore *lc, struct kb_job *job);
/* Once per loop: send what is due (MTK messages, paced SRTP), report
 * finished pushes. now: TSC. */
void kb_ptm_poll(struct kb_lcore *lc, uint64_t now);

#endif
