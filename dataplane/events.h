/* The two rings between the planes (ARCHITECTURE.md decision 1):
 *  jobs   control -> dataplane: one SP/SC ring per dataplane lcore (the
 *         control thread is the only producer; a rollover goes to every lcore)
 *  events dataplane -> control: one MP/SC ring (delivered, failed, shard done,
 *         counter grant wanted). The dataplane never waits on it: when full,
 *         the event is dropped and counted.
 * Elements are copied into the rings (rte_ring_elem), so nothing is
 * allocated per job or event. Jobs carry no key: the MSK stays in the service
 * table (rollover.h) and the job names its slot. */
#ifndef KB_DP_EVENTS_H
#define KB_DP_EVENTS_H

#include <stdint.h>

struct rte_ring;

enum kb_job_type {
	KB_JOB_ROLLOVER = 1, /* deliver the service's new MSK to every UE of the group */
	KB_JOB_PULL = 2, /* solicited pull for the listed csb_ids */
};

#define KB_JOB_PULL_MAX 8

struct kb_job {
	uint8_t type;
	uint8_t n_csb;
	uint16_t svc; /* service table index */
	uint32_t gen; /* rollover generation of the service */
	uint32_t msk_id;
	uint32_t csb[KB_JOB_PULL_MAX];
	uint32_t pad[3];
} __attribute__((aligned(8)));

enum kb_event_type {
	KB_EV_DELIVERED = 1,
	KB_EV_FAILED = 2,
	KB_EV_SHARD_DONE = 3, /* a shard finished (all sent, and acked or failed) a rollover */
	KB_EV_GRANT_WANTED = 4, /* counters near the granted limit */
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
