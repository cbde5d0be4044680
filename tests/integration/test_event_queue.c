/* The lcore's event queue (dataplane/event_queue.c) in front of a small
 * event ring: while the control thread does not drain the ring, events wait
 * in the queue (growing it, and sliding it down when its front is free);
 * none is lost, none is reordered, and a flush reports what is still
 * queued. Runs on a real EAL (--no-huge) and a real rte_ring. */
#include "check.h"

#include "event_queue.h"
#include "events.h"

#include <stdio.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_ring.h>

#define RING 64
#define TOTAL 5000

static uint32_t next_want; /* the csb_id the control side expects next */

static unsigned drain(struct rte_ring *r, unsigned max)
{
	struct kb_event ev[16];
	unsigned got = 0;
	while (got < max) {
		unsigned want = max - got < 16 ? max - got : 16;
		unsigned n = kb_event_take(r, ev, want);
		if (n == 0)
			break;
		for (unsigned i = 0; i < n; i++) {
			CHECK(ev[i].csb_id == next_want);
			CHECK(ev[i].value == next_want * 7u);
			CHECK(ev[i].type == KB_EV_DELIVERED);
			next_want++;
		}
		got += n;
	}
	return got;
}

int main(void)
{
	char prefix[32];
	snprintf(prefix, sizeof(prefix), "kbevq%d", (int)getpid());
	char *eal_argv[] = {"test_event_queue", "--no-huge", "--no-pci", "-m", "128",
			    "--file-prefix",    prefix,      "-l",       "0",  "--log-level",
			    "lib.*:warning"};
	if (rte_eal_init((int)(sizeof(eal_argv) / sizeof(eal_argv[0])), eal_argv) < 0) {
		fprintf(stderr, "rte_eal_init failed\n");
		return 1;
	}
	int socket = (int)rte_socket_id();
	struct rte_ring *ring = kb_event_ring_create("t_ev", RING, socket);
	struct kb_event_queue q;
	CHECK(ring != NULL);
	CHECK(kb_event_queue_init(&q, 16, socket) == 0);
	if (ring == NULL || q.ev == NULL)
		return kb_check_done();

	/* an idle queue: nothing to flush */
	CHECK(kb_event_queue_flush(&q, ring) == 0);

	/* the control side stalls: 1000 events, the ring takes what fits
	 * (a ring of 64 holds 63), the rest stays queued and the queue grows */
	uint32_t added = 0;
	for (; added < 1000; added++) {
		struct kb_event ev = {
			.type = KB_EV_DELIVERED, .csb_id = added, .value = added * 7u};
		CHECK(kb_event_queue_add(&q, &ev) == 0);
	}
	CHECK(q.cap >= 1000);
	CHECK(kb_event_queue_flush(&q, ring) == 1000 - (RING - 1));
	CHECK(rte_ring_count(ring) == RING - 1);

	/* the control side comes back a little at a time while the lcore keeps
	 * adding and flushing: the queue's front frees up and slides down */
	while (added < TOTAL || q.n > q.head || rte_ring_count(ring) > 0) {
		for (int k = 0; k < 5 && added < TOTAL; k++, added++) {
			struct kb_event ev = {
				.type = KB_EV_DELIVERED, .csb_id = added, .value = added * 7u};
			CHECK(kb_event_queue_add(&q, &ev) == 0);
		}
		uint32_t left = kb_event_queue_flush(&q, ring);
		CHECK(left == q.n - q.head);
		drain(ring, 11);
	}
	CHECK(next_want == TOTAL);
	CHECK(q.head == 0 && q.n == 0);

	kb_event_queue_fini(&q);
	rte_ring_free(ring);
	rte_eal_cleanup();
	return kb_check_done();
}
