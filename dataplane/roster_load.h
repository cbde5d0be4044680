/* Bulk provisioning from a roster CSV (proto/util/roster.h): one SA per row,
 * published through the key table's writer API, and the row's delivery
 * state placed in its owning lcore's shard.
 *
 * csb_id assignment: csb_id = kb_csb_from_index(row index + 1), an
 * invertible 32-bit mix (0 maps to 0 only), so ids are unique and non-zero
 * by construction, look random on the wire, and the dataplane finds a UE's
 * directory entry from an ack's csb_id with arithmetic, not a second hash. */
#ifndef KB_DP_ROSTER_LOAD_H
#define KB_DP_ROSTER_LOAD_H

#include <stdint.h>

struct kb_dp;

static inline uint32_t kb_csb_from_index(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352du;
	x ^= x >> 15;
	x *= 0x846ca68bu;
	x ^= x >> 16;
	return x;
}

static inline uint32_t kb_csb_to_index(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x43021123u; /* inverse of 0x846ca68b mod 2^32 */
	x ^= x >> 15 ^ x >> 30;
	x *= 0x1d69e2a5u; /* inverse of 0x7feb352d mod 2^32 */
	x ^= x >> 16;
	return x;
}

/* Load every row of path into key group key_group. Counters start at
 * ctr_floor. Returns the number of UEs loaded, or -1 (logged). */
long kb_roster_load(struct kb_dp *dp, const char *path, uint16_t key_group, uint32_t ctr_floor);
/* Count the data rows of a roster file (to size tables). -1 on error. */
long kb_roster_count(const char *path);

#endif
