/* Job and event rings (see events.h). */
#include "events.h"

#include "util/secret.h"

#include <string.h>

#include <rte_ring.h>
#include <rte_ring_elem.h>
#include <rte_ring_peek_zc.h>

_Static_assert(sizeof(struct kb_job) % 4 == 0, "ring elements are multiples of 4 bytes");
_Static_assert(sizeof(struct kb_event) == 16, "events are 16 bytes");

struct rte_ring *kb_job_ring_create(const char *name, unsigned size, int socket)
{
	return rte_ring_create_elem(name, sizeof(struct kb_job), size, socket,
				    RING_F_SP_ENQ | RING_F_SC_DEQ);
}

struct rte_ring *kb_event_ring_create(const char *name, unsigned size, int socket)
{
	return rte_ring_create_elem(name, sizeof(struct kb_event), size, socket, RING_F_SC_DEQ);
}

int kb_job_post(struct rte_ring *r, const struct kb_job *job)
{
	return rte_ring_enqueue_elem(r, (void *)(uintptr_t)job, sizeof(*job)) == 0 ? 0 : -1;
}

int kb_job_take(struct rte_ring *r, struct kb_job *job)
{
	/* zero-copy dequeue (the ring is single-consumer): copy the job out,
	 * then wipe the ring slot, so no MSK stays behind in ring memory */
	struct rte_ring_zc_data zcd;
	if (rte_ring_dequeue_zc_bulk_elem_start(r, sizeof(*job), 1, &zcd, NULL) != 1)
		return -1;
	memcpy(job, zcd.ptr1, sizeof(*job));
	if (job->type == KB_JOB_DELIVER)
		kb_memzero(zcd.ptr1, sizeof(*job));
	rte_ring_dequeue_zc_elem_finish(r, 1);
	return 0;
}

int kb_event_post(struct rte_ring *r, const struct kb_event *ev)
{
	return rte_ring_enqueue_elem(r, (void *)(uintptr_t)ev, sizeof(*ev)) == 0 ? 0 : -1;
}

unsigned kb_event_take(struct rte_ring *r, struct kb_event *ev, unsigned max)
{
	return rte_ring_dequeue_burst_elem(r, ev, sizeof(*ev), max, NULL);
}
