/* The in-memory counter grantor: the same contract as the persistent one
 * (monotonic limits, a floor), without surviving a restart. The limit lives
 * in the ctx pointer itself, so the grantor needs no allocation and no free. */
#include "counter_grant.h"

#include <stddef.h>

/* MIKEY counters are 32 bits: a limit is exclusive, so at most 2^32 */
#define COUNTER_LIMIT_MAX (UINT64_C(1) << 32)

_Static_assert(sizeof(uintptr_t) >= sizeof(uint64_t), "the limit is kept in a pointer");

static uint64_t mem_grant(struct kb_counter_grantor *g, uint64_t want)
{
	uint64_t cur = (uint64_t)(uintptr_t)g->ctx;

	if (want > COUNTER_LIMIT_MAX)
		return 0; /* counter space exhausted: the SA needs a new key */
	if (want > cur)
		g->ctx = (void *)(uintptr_t)want;
	return (uint64_t)(uintptr_t)g->ctx;
}

static uint64_t mem_floor(struct kb_counter_grantor *g)
{
	(void)g;
	return 0; /* nothing persisted: no previous run to stay above */
}

void kb_counter_grantor_memory(struct kb_counter_grantor *g)
{
	g->grant = mem_grant;
	g->floor = mem_floor;
	g->ctx = NULL;
}
