/* keyburstd's side of the control plane (ARCHITECTURE.md decision 1: one
 * daemon, two planes). The control plane (control/control.h) runs in its own
 * threads on the main lcore's core and reaches the dataplane only through
 * the hooks implemented here:
 *   sa_build            kb_sa_record_build
 *   publish/delete_sa   kb_keytable_publish/delete, plus the UE's slot in its
 *                       shard (a UE_ADD/UE_DEL job to the owning lcore) and
 *                       its directory entry (csb_id -> shard, slot)
 *   post_job            DELIVER / ROLLOVER / SOLICIT -> the lcores' job rings
 *   read_stats          the lcores' counters
 * Events (delivered, failed) come back from the event ring on the main
 * thread (kb_ctl_bridge_poll) and go to kb_control_on_delivered/failed.
 *
 * One lock (the bridge lock) makes the key table single-writer and the job
 * rings single-producer: every hook, the main thread's event drain and the
 * key-table reclaim hold it. Nothing holds it while calling into the control
 * plane or the store (lock order: control's writer lock -> bridge lock). */
#ifndef KB_DP_CTL_BRIDGE_H
#define KB_DP_CTL_BRIDGE_H

#include <stddef.h>
#include <stdint.h>

struct kb_dp;

/* Before the lcores start: the csb_id directory for capacity SAs. */
int kb_ctl_bridge_init(struct kb_dp *dp, uint32_t capacity, char *err, size_t errlen);
/* With the lcores running: start the control plane from dp->cfg.ctl (it
 * rebuilds the key tables from the store and resumes rollovers), then take
 * the counter floor and the first grant from the store-backed grantor. */
int kb_ctl_bridge_start(struct kb_dp *dp, char *err, size_t errlen);
/* Main thread, in its loop: events to the control plane, key-table reclaim,
 * counter grants. */
void kb_ctl_bridge_poll(struct kb_dp *dp);
/* Stop the control plane (listeners, timer, store). */
void kb_ctl_bridge_stop(struct kb_dp *dp);

#endif
