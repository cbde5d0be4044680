/* The lcore's queue of events to the control thread (see event_queue.h). */
#include "event_queue.h"

#include <string.h>

#include <rte_malloc.h>
#include <rte_ring_elem.h>

int kb_event_queue_init(struct kb_event_queue *q, uint32_t cap, int socket)
{
	memset(q, 0, sizeof(*q));
	q->socket = socket;
	q->ev = rte_malloc_socket("kb_evq", sizeof(*q->ev) * cap, RTE_CACHE_LINE_SIZE, socket);
	if (q->ev == NULL)
		return -1;
	q->cap = cap;
	return 0;
}

void kb_event_queue_fini(struct kb_event_queue *q)
{
	rte_free(q->ev);
	memset(q, 0, sizeof(*q));
}

int kb_event_queue_add(struct kb_event_queue *q, const struct kb_event *ev)
{
	if (q->n == q->cap && q->head > 0) {
		/* room at the front: slide the queued events down */
		memmove(q->ev, q->ev + q->head, (q->n - q->head) * sizeof(*q->ev));
		q->n -= q->head;
		q->head = 0;
	}
	if (q->n == q->cap) {
		if (q->cap > UINT32_MAX / 2)
			return -1;
		struct kb_event *grown = rte_realloc_socket(q->ev, sizeof(*q->ev) * q->cap * 2,
							    RTE_CACHE_LINE_SIZE, q->socket);
		if (grown == NULL)
			return -1;
		q->ev = grown;
		q->cap *= 2;
	}
	q->ev[q->n++] = *ev;
	return 0;
}

uint32_t kb_event_queue_flush(struct kb_event_queue *q, struct rte_ring *ring)
{
	if (q->n == q->head)
		return 0;
	q->head += rte_ring_enqueue_burst_elem(ring, q->ev + q->head, sizeof(*q->ev),
					       q->n - q->head, NULL);
	if (q->head == q->n)
		q->head = q->n = 0;
	return q->n - q->head;
}
