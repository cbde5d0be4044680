/* Job and event rings (see events.h). */
#include "events.h"

#include <rte_ring.h>
#include <rte_ring_elem.h>

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
	return rte_ring_dequeue_elem(r, job, sizeof(*job)) == 0 ? 0 : -1;
}

int kb_event_post(struct rte_ring *r, const struct kb_event *ev)
{
	return rte_ring_enqueue_elem(r, (void *)(uintptr_t)ev, sizeof(*ev)) == 0 ? 0 : -1;
}

unsigned kb_event_take(struct rte_ring *r, struct kb_event *ev, unsigned max)
{
	return rte_ring_dequeue_burst_elem(r, ev, sizeof(*ev), max, NULL);
}
