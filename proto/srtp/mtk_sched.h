/* MTK management for one PTM service, as a pure scheduler with an injected
 * clock: which MTK message to send when, and which MTK content may use.
 *
 * Rules (issue 7, PROFILE.md "MTK message"):
 * - MTK IDs run 1, 2, ... per MSK; the MTK message counter is per MSK and
 *   strictly increasing. Both are reserved ahead through a persistence hook
 *   (the control plane's store), so they never repeat, across restarts too.
 * - A new MTK's message goes out (announce) at least lead_ms before content
 *   uses it; content keeps the previous MTK until then. The first MTK of a
 *   service and the first MTK after an MSK change are announced at once and
 *   become usable lead_ms later.
 * - The current MTK's message is sent again every repeat_ms for late joiners,
 *   each time with a fresh counter.
 * - An MTK lives rotate_ms; then the next one takes over.
 * The caller seals and sends each action, in order, before any content it
 * protects with what kb_mtk_sched_content returns. */
#ifndef KB_MTK_SCHED_H
#define KB_MTK_SCHED_H

#include <stdbool.h>
#include <stdint.h>

/* A durable high-water mark of one MSK: every counter and MTK ID handed out
 * is <= the saved mark. */
struct kb_mtk_mark {
	uint32_t counter;
	uint16_t mtk_id;
};

/* The persistence interface; the control plane backs it with its store. */
struct kb_mtk_persist {
	/* The saved mark of msk_id, zeros if there is none. 0 or -1. */
	int (*load)(void *ctx, uint32_t msk_id, struct kb_mtk_mark *mark);
	/* Make a new mark durable before any value up to it is used. 0 or -1. */
	int (*save)(void *ctx, uint32_t msk_id, const struct kb_mtk_mark *mark);
	void *ctx;
};

struct kb_mtk_sched_cfg {
	uint64_t rotate_ms; /* MTK lifetime; 0: one MTK per MSK */
	uint64_t repeat_ms; /* resend period of the current MTK message; 0: never */
	uint64_t lead_ms; /* announce-to-use delay; must be < rotate_ms */
	uint32_t counter_block; /* counters reserved per save; 0 = 64 */
	uint16_t mtk_id_block; /* MTK IDs reserved per save; 0 = 4 */
};

/* One MTK message to seal and send now. */
struct kb_mtk_action {
	uint32_t msk_id;
	uint16_t mtk_id;
	uint32_t counter; /* the T COUNTER of this message */
	bool fresh; /* first announcement: generate the MTK and salt for the id */
};

#define KB_MTK_ACTIONS_MAX 2 /* actions one poll can return */

struct kb_mtk_msk_slot {
	uint32_t msk_id;
	uint32_t counter; /* last value handed out */
	uint16_t mtk_id; /* last value handed out */
	struct kb_mtk_mark saved;
	bool used;
};

struct kb_mtk_ref {
	uint32_t msk_id;
	uint16_t mtk_id;
};

struct kb_mtk_sched {
	struct kb_mtk_sched_cfg cfg;
	struct kb_mtk_persist p;
	struct kb_mtk_msk_slot slot[2]; /* the current MTK's MSK and the target MSK */
	uint32_t target_msk; /* the MSK the next new MTK goes under */
	bool have_cur, have_next, next_sent;
	struct kb_mtk_ref cur, next;
	uint64_t cur_since, cur_last_sent;
	uint64_t next_at, next_sent_at;
};

#define KB_MTK_ERR_PERSIST (-1)
#define KB_MTK_ERR_EXHAUSTED (-2) /* counter or MTK ID space of the MSK used up: roll the MSK */
#define KB_MTK_ERR_CONFIG (-3)

/* Start with msk_id (loads its mark). Returns 0 or a KB_MTK_ERR_*. */
int kb_mtk_sched_init(struct kb_mtk_sched *s, const struct kb_mtk_sched_cfg *cfg,
		      const struct kb_mtk_persist *p, uint32_t msk_id);

/* What to send at `now` (ms, any monotonic origin). Fills act[0..n) with
 * n <= KB_MTK_ACTIONS_MAX and returns n, or a KB_MTK_ERR_* (nothing to send;
 * call again later). *next_ms: when to poll again at the latest. */
int kb_mtk_sched_poll(struct kb_mtk_sched *s, uint64_t now, struct kb_mtk_action *act, unsigned max,
		      uint64_t *next_ms);

/* The MTK that content may use now: one whose message has gone out.
 * Returns 0, or -1 before the first MTK was announced and activated. */
int kb_mtk_sched_content(const struct kb_mtk_sched *s, struct kb_mtk_ref *ref);

/* MSK rollover: the next MTK goes under new_msk_id (announced at the next
 * poll, used lead_ms later); content stays on the current MTK until then.
 * Returns 0 or a KB_MTK_ERR_*. */
int kb_mtk_sched_set_msk(struct kb_mtk_sched *s, uint32_t new_msk_id);

#endif
