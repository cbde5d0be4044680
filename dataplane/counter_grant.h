/* MIKEY counters never repeat (ARCHITECTURE.md decision 3).
 *
 * Scheme: a single high-water mark H bounds every counter value any SA has
 * used. The grantor (control plane) persists H before the dataplane may use
 * values below it. At start, every SA's next counter is raised to at least
 * the persisted H (kb_counter_floor), so nothing used before a crash can be
 * used again. The dataplane asks for the next window well before it runs
 * out (low-water mark) and never blocks: a UE whose counter would reach the
 * limit waits for the grant. One persisted number serves 10M SAs. */
#ifndef KB_COUNTER_GRANT_H
#define KB_COUNTER_GRANT_H

#include <stdint.h>

struct kb_counter_grantor {
	/* Persist and return a new limit >= want (may be larger). Called on the
	 * control plane, never on a dataplane lcore. 0 on failure. */
	uint64_t (*grant)(struct kb_counter_grantor *g, uint64_t want);
	/* The floor for this run: the limit persisted by the previous run. */
	uint64_t (*floor)(struct kb_counter_grantor *g);
	void *ctx;
};

/* In-memory grantor until the store lands (no persistence across runs). */
void kb_counter_grantor_memory(struct kb_counter_grantor *g);

#endif
