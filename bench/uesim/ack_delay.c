#include "ack_delay.h"

#include <stdlib.h>
#include <string.h>

int kb_ack_delay_init(struct kb_ack_delay *q, size_t cap, size_t elem_size)
{
	memset(q, 0, sizeof(*q));
	q->elems = calloc(cap ? cap : 1, elem_size);
	q->due = calloc(cap ? cap : 1, sizeof(*q->due));
	if (q->elems == NULL || q->due == NULL) {
		kb_ack_delay_free(q);
		return -1;
	}
	q->cap = cap;
	q->elem_size = elem_size;
	return 0;
}

void kb_ack_delay_free(struct kb_ack_delay *q)
{
	free(q->elems);
	free(q->due);
	memset(q, 0, sizeof(*q));
}

bool kb_ack_delay_push(struct kb_ack_delay *q, uint64_t due, const void *elem)
{
	if (q->count == q->cap)
		return false;
	size_t tail = (q->head + q->count) % q->cap;
	memcpy(q->elems + tail * q->elem_size, elem, q->elem_size);
	q->due[tail] = due;
	q->count++;
	return true;
}

void *kb_ack_delay_peek(struct kb_ack_delay *q, uint64_t now)
{
	if (q->count == 0 || q->due[q->head] > now)
		return NULL;
	return q->elems + q->head * q->elem_size;
}

void kb_ack_delay_pop(struct kb_ack_delay *q)
{
	if (q->count == 0)
		return;
	q->head = (q->head + 1) % q->cap;
	q->count--;
}
