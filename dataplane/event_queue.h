/* The lcore's queue of events to the control thread (events.h).
 *
 * An lcore appends events (one per acked or failed UE, shard done, grant
 * wanted) here and flushes the queue into the shared event ring once per
 * loop, in one enqueue: cheaper than one ring operation per acked UE. An
 * event that does not fit in the ring (the control thread was descheduled
 * for a while) waits here instead of being lost: a lost DELIVERED would
 * leave the control plane's record of a rollover incomplete for good. The
 * queue grows on demand; it only holds more than one loop's events while
 * the ring is full. */
#ifndef KB_EVENT_QUEUE_H
#define KB_EVENT_QUEUE_H

#include <stdint.h>

#include "events.h"

struct rte_ring;

struct kb_event_queue {
	struct kb_event *ev;
	uint32_t head, n, cap; /* queued events are ev[head, n) */
	int socket;
};

int kb_event_queue_init(struct kb_event_queue *q, uint32_t cap, int socket);
void kb_event_queue_fini(struct kb_event_queue *q);
/* 0, or -1 when the queue is full and cannot grow (the event is lost). */
int kb_event_queue_add(struct kb_event_queue *q, const struct kb_event *ev);
/* Moves what fits into the ring, in order; returns the events still queued. */
uint32_t kb_event_queue_flush(struct kb_event_queue *q, struct rte_ring *ring);

#endif
