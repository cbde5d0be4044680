/* The service table and MSK rollover (control side of the job ring).
 *
 * Table: key group -> current and next MSK, key number, domain. A rollover
 * draws a fresh MSK with RAND_bytes into `next`, increments the key number,
 * and posts one job per dataplane lcore; each lcore delivers it to every UE
 * of the group it owns. When every shard reports done, `next` becomes
 * `current` and the old MSK is wiped. The lcores read the MSK from the table
 * (published before the job, release/acquire through the ring), so no key
 * travels through a ring. */
#ifndef KB_DP_ROLLOVER_H
#define KB_DP_ROLLOVER_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "mikey/mikey_profile.h"

struct kb_dp;

#define KB_GEN_HISTORY 16

struct kb_service {
	struct kb_service_cfg cfg;
	uint16_t key_number; /* of the newest MSK; 0 = none yet (0 means "current" on the wire) */
	uint16_t cur_kn; /* key number of msk_cur (valid when has_cur) */
	uint8_t msk_cur[KB_MSK_LEN];
	uint8_t msk_next[KB_MSK_LEN];
	bool has_cur;
	uint32_t gen; /* rollover generation, starts at 1 */
	bool active;
	unsigned shards_done;
	uint64_t start_tsc, end_tsc;
	uint32_t n_ues; /* UEs of this group */
	/* MSK ID of each recent rollover generation, for the events (which
	 * carry the generation) going back to the control plane */
	struct {
		uint32_t gen, msk_id;
	} gen_msk[KB_GEN_HISTORY];
};

struct kb_services {
	unsigned n;
	struct kb_service s[KB_MAX_SERVICES];
};

struct kb_rollover_progress {
	uint32_t msk_id;
	uint64_t ues, sent, acked, pending, retried, failed;
	bool active, done;
	double duration_s, rate_msgs_per_s;
};

/* The service index for a key group, or -1. */
int kb_service_find(const struct kb_services *t, uint16_t key_group);
static inline uint32_t kb_service_msk_id(const struct kb_service *s)
{
	return (uint32_t)s->cfg.key_group << 16 | s->key_number;
}

/* Start a rollover of a key group. Returns 0, -EBUSY if one is running,
 * -ENOENT for an unknown group, -EAGAIN if a job ring was full. */
int kb_rollover_start(struct kb_dp *dp, uint16_t key_group);
/* The same with an MSK drawn (and persisted) by the control plane: key
 * number kn of service index svc. */
int kb_rollover_start_msk(struct kb_dp *dp, unsigned svc, uint16_t kn, const uint8_t *msk);
/* Add a service at run time (the control plane created it). Control thread
 * only, one at a time; lcores see it once the index is published. Returns
 * the index, or -1 when the table is full. */
int kb_service_add(struct kb_dp *dp, uint16_t key_group, uint16_t udp_port, bool ack);
/* The MSK ID a rollover generation delivered, or 0 if too old / unknown. */
uint32_t kb_service_gen_msk_id(const struct kb_service *s, uint32_t gen);
/* Post a solicited pull for a csb_id to its owning lcore. 0 or -errno. */
int kb_pull_post(struct kb_dp *dp, uint32_t csb_id);
/* Control-thread housekeeping: drain events, finish rollovers whose shards
 * are all done, and grant counter windows. Returns events handled. */
unsigned kb_control_poll(struct kb_dp *dp, uint64_t *delivered, uint64_t *failed_events);
/* The same, and every event also goes to cb (the control plane bridge). */
struct kb_event;
typedef void (*kb_event_cb)(void *ctx, struct kb_dp *dp, const struct kb_event *ev);
unsigned kb_control_poll_cb(struct kb_dp *dp, uint64_t *delivered, uint64_t *failed_events,
			    kb_event_cb cb, void *ctx);
/* Progress of a service, summed over the shards (reads their counters). */
void kb_rollover_progress(const struct kb_dp *dp, unsigned svc, struct kb_rollover_progress *p);

/* Token bucket helpers (per lcore): refill then take up to want tokens. */
struct kb_lcore;
void kb_tb_init(struct kb_lcore *lc, uint64_t pps, uint64_t burst, uint64_t tsc_hz, uint64_t now);
unsigned kb_tb_take(struct kb_lcore *lc, unsigned want, uint64_t now, uint64_t tsc_hz);

/* Grant counters: ask the grantor for a window above every lcore's use. */
struct kb_counter_grantor;
int kb_counter_grant_init(struct kb_dp *dp, struct kb_counter_grantor *g, uint32_t *floor);
void kb_counter_grant_poll(struct kb_dp *dp, struct kb_counter_grantor *g);

#endif
