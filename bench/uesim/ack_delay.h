/* A FIFO of outgoing acks held back by --delay-us. Every ack waits the same
 * time, so arrival order is deadline order and a ring is enough: push at
 * the tail, pop from the head once its time has come. Elements are opaque
 * (an mbuf pointer in DPDK mode, an ack and an address in socket mode). */
#ifndef KB_ACK_DELAY_H
#define KB_ACK_DELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kb_ack_delay {
	uint8_t *elems;
	uint64_t *due;
	size_t elem_size, cap, head, count;
};

int kb_ack_delay_init(struct kb_ack_delay *q, size_t cap, size_t elem_size);
void kb_ack_delay_free(struct kb_ack_delay *q);
/* false when full (the caller sends at once and counts it) */
bool kb_ack_delay_push(struct kb_ack_delay *q, uint64_t due, const void *elem);
/* The head element if its due time is <= now, else NULL; kb_ack_delay_pop
 * then removes it. */
void *kb_ack_delay_peek(struct kb_ack_delay *q, uint64_t now);
void kb_ack_delay_pop(struct kb_ack_delay *q);

#endif
