/* The two rings between the planes (ARCHITECTURE.md decision 1):
 *  jobs   control -> dataplane: one SP/SC ring per dataplane lcore (the
 *         control thread is the only producer; a rollover goes to every lcore)
 *  events dataplane -> control: one MP/SC ring (delivered, failed, shard done,
 *         counter grant wanted). The dataplane never waits on it: when full,
 *         the event is dropped and counted.
 * Elements are copied into the rings (rte_ring_elem), so nothing is
 * allocated per job or event. Rollover and pull jobs carry no key: the MSK
 * stays in the service table (rollover.h) and the job names its slot. A
 * DELIVER job (one UE asked for an MSK over HTTP) carries its MSK: the lcore
 * keeps it in its own delivery slot (the service table's keys may move on
 * while the UE is still being retransmitted to), and the ring slot is wiped
 * after the copy.
 *
 * The job rings are single-producer: with the control plane running, every
 * producer holds the bridge's post lock (ctl_bridge.c). */
#ifndef KB_DP_EVENTS_H
#define KB_DP_EVENTS_H

#include <stdint.h>

struct rte_ring;

enum kb_job_type {
	KB_JOB_ROLLOVER = 1, /* deliver the service's new MSK to every UE of the group */
	KB_JOB_PULL = 2, /* solicited pull for the listed csb_ids */
	KB_JOB_UE_ADD = 3, /* the control plane published a new SA: add its UE at slot */
	KB_JOB_UE_DEL = 4, /* the control plane deleted an SA: retire the UE at slot */
	KB_JOB_DELIVER = 5, /* send msk_id (the MSK is in the job) to one UE */
	/* PTM push (ptm_tx.h), to the lcore that drives service svc: */
	KB_JOB_PUSH = 6, /* gen = wire push id, csb[0] = push slot (kb_ptm_dp); the
			    service's MSK (msk_id, msk) rides along for its first push */
	KB_JOB_PTM_MSK = 7, /* an MSK rollover reached the service: msk_id, msk */
};

#define KB_JOB_PULL_MAX 8

struct kb_job {
	uint8_t type;
	uint8_t n_csb;
	uint16_t svc; /* service table index */
	uint32_t gen; /* rollover generation of the service */
	uint32_t msk_id;
	uint32_t csb[KB_JOB_PULL_MAX]; /* UE_ADD, UE_DEL, DELIVER: csb[0] */
	uint32_t slot; /* UE_ADD, UE_DEL: the UE's slot in its shard */
	uint32_t ctr; /* UE_ADD: the UE's first counter value (the floor) */
	uint8_t v; /* DELIVER: ask for a verification message */
	uint8_t pad[3];
	uint8_t msk[16]; /* DELIVER, PUSH, PTM_MSK; wiped once the lcore has copied it */
} __attribute__((aligned(8)));

enum kb_event_type {
	KB_EV_DELIVERED = 1,
	KB_EV_FAILED = 2,
	KB_EV_SHARD_DONE = 3, /* a shard finished (all sent, and acked or failed) a rollover */
	KB_EV_GRANT_WANTED = 4, /* counters near the granted limit */
	/* PTM push: every frame of the push in csb_id (its slot) left the port
	 * (gen = wire push id), or the lcore dropped it (failed or cancelled) */
	KB_EV_PUSH_DONE = 5,
	KB_EV_PUSH_FAILED = 6,
};

struct kb_event {
	uint8_t type;
	uint8_t shard;
	uint16_t svc;
	uint32_t csb_id;
	uint32_t gen;
	uint32_t value;
};

struct rte_ring *kb_job_ring_create(const char *name, unsigned size, int socket);
struct rte_ring *kb_event_ring_create(const char *name, unsigned size, int socket);
/* 0 or -1 (ring full). */
int kb_job_post(struct rte_ring *r, const struct kb_job *job);
int kb_job_take(struct rte_ring *r, struct kb_job *job);
int kb_event_post(struct rte_ring *r, const struct kb_event *ev);
unsigned kb_event_take(struct rte_ring *r, struct kb_event *ev, unsigned max);

#endif
