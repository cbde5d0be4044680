/* The MTK scheduler (mtk_sched.h): a small state machine driven by poll()
 * with the caller's clock. No I/O but the persistence hook. */
#include "srtp/mtk_sched.h"

#include <string.h>

#define DEFAULT_COUNTER_BLOCK 64
#define DEFAULT_MTK_ID_BLOCK 4

static struct kb_mtk_msk_slot *slot_find(struct kb_mtk_sched *s, uint32_t msk_id)
{
	for (unsigned i = 0; i < 2; i++)
		if (s->slot[i].used && s->slot[i].msk_id == msk_id)
			return &s->slot[i];
	return NULL;
}

/* Load msk_id's mark into a slot, evicting the slot no live MTK needs. */
static int slot_load(struct kb_mtk_sched *s, uint32_t msk_id)
{
	struct kb_mtk_msk_slot *sl = NULL;
	struct kb_mtk_mark m;

	if (slot_find(s, msk_id) != NULL)
		return 0;
	for (unsigned i = 0; i < 2 && sl == NULL; i++)
		if (!s->slot[i].used || !s->have_cur || s->slot[i].msk_id != s->cur.msk_id)
			sl = &s->slot[i];
	if (sl == NULL)
		return KB_MTK_ERR_CONFIG; /* cannot happen: cur needs one slot only */
	memset(&m, 0, sizeof(m));
	if (s->p.load(s->p.ctx, msk_id, &m) != 0)
		return KB_MTK_ERR_PERSIST;
	/* resume above the durable mark: values up to it may have been used */
	sl->msk_id = msk_id;
	sl->counter = m.counter;
	sl->mtk_id = m.mtk_id;
	sl->saved = m;
	sl->used = true;
	return 0;
}

static int take_counter(struct kb_mtk_sched *s, struct kb_mtk_msk_slot *sl, uint32_t *out)
{
	uint32_t c;

	if (sl->counter == UINT32_MAX)
		return KB_MTK_ERR_EXHAUSTED;
	c = sl->counter + 1;
	if (c > sl->saved.counter) {
		struct kb_mtk_mark m = sl->saved;
		uint32_t room = UINT32_MAX - c;

		m.counter = c + (room < s->cfg.counter_block - 1 ? room : s->cfg.counter_block - 1);
		if (s->p.save(s->p.ctx, sl->msk_id, &m) != 0)
			return KB_MTK_ERR_PERSIST;
		sl->saved = m;
	}
	sl->counter = c;
	*out = c;
	return 0;
}

static int take_mtk_id(struct kb_mtk_sched *s, struct kb_mtk_msk_slot *sl, uint16_t *out)
{
	uint16_t id;

	if (sl->mtk_id == UINT16_MAX)
		return KB_MTK_ERR_EXHAUSTED;
	id = (uint16_t)(sl->mtk_id + 1);
	if (id > sl->saved.mtk_id) {
		struct kb_mtk_mark m = sl->saved;
		unsigned room = UINT16_MAX - id;
		unsigned blk = s->cfg.mtk_id_block - 1u;

		m.mtk_id = (uint16_t)(id + (room < blk ? room : blk));
		if (s->p.save(s->p.ctx, sl->msk_id, &m) != 0)
			return KB_MTK_ERR_PERSIST;
		sl->saved = m;
	}
	sl->mtk_id = id;
	*out = id;
	return 0;
}

int kb_mtk_sched_init(struct kb_mtk_sched *s, const struct kb_mtk_sched_cfg *cfg,
		      const struct kb_mtk_persist *p, uint32_t msk_id)
{
	memset(s, 0, sizeof(*s));
	if (cfg == NULL || p == NULL || p->load == NULL || p->save == NULL)
		return KB_MTK_ERR_CONFIG;
	if (cfg->rotate_ms != 0 && cfg->lead_ms >= cfg->rotate_ms)
		return KB_MTK_ERR_CONFIG;
	s->cfg = *cfg;
	if (s->cfg.counter_block == 0)
		s->cfg.counter_block = DEFAULT_COUNTER_BLOCK;
	if (s->cfg.mtk_id_block == 0)
		s->cfg.mtk_id_block = DEFAULT_MTK_ID_BLOCK;
	s->p = *p;
	s->target_msk = msk_id;
	return slot_load(s, msk_id);
}

int kb_mtk_sched_set_msk(struct kb_mtk_sched *s, uint32_t new_msk_id)
{
	int rc;

	if (new_msk_id == s->target_msk)
		return 0;
	/* a pending MTK under the superseded MSK is dropped: nothing used it */
	if (s->have_next && s->next.msk_id != new_msk_id)
		s->have_next = false;
	rc = slot_load(s, new_msk_id);
	if (rc != 0)
		return rc;
	s->target_msk = new_msk_id;
	return 0;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* Create the next MTK if one is due: the first one, one under a new MSK, or
 * the rotation of the current one. */
static int plan_next(struct kb_mtk_sched *s, uint64_t now)
{
	struct kb_mtk_msk_slot *sl;
	uint64_t at;
	int rc;

	if (s->have_next)
		return 0;
	if (!s->have_cur || s->cur.msk_id != s->target_msk) {
		at = now + s->cfg.lead_ms;
	} else if (s->cfg.rotate_ms != 0 &&
		   now + s->cfg.lead_ms >= s->cur_since + s->cfg.rotate_ms) {
		/* on time: exactly at the end of the current MTK's life; late:
		 * still give the receivers lead_ms */
		at = max_u64(s->cur_since + s->cfg.rotate_ms, now + s->cfg.lead_ms);
	} else {
		return 0;
	}
	sl = slot_find(s, s->target_msk);
	if (sl == NULL)
		return KB_MTK_ERR_CONFIG;
	rc = take_mtk_id(s, sl, &s->next.mtk_id);
	if (rc != 0)
		return rc;
	s->next.msk_id = s->target_msk;
	s->next_at = at;
	s->next_sent = false;
	s->have_next = true;
	return 0;
}

static int emit(struct kb_mtk_sched *s, const struct kb_mtk_ref *ref, bool fresh,
		struct kb_mtk_action *a)
{
	struct kb_mtk_msk_slot *sl = slot_find(s, ref->msk_id);

	if (sl == NULL)
		return KB_MTK_ERR_CONFIG;
	a->msk_id = ref->msk_id;
	a->mtk_id = ref->mtk_id;
	a->fresh = fresh;
	return take_counter(s, sl, &a->counter);
}

int kb_mtk_sched_poll(struct kb_mtk_sched *s, uint64_t now, struct kb_mtk_action *act, unsigned max,
		      uint64_t *next_ms)
{
	unsigned n = 0;
	bool cur_sent = false;
	uint64_t wake = UINT64_MAX;
	int rc;

	if (max < KB_MTK_ACTIONS_MAX)
		return KB_MTK_ERR_CONFIG;
	rc = plan_next(s, now);
	if (rc != 0)
		return rc;
	/* 1. announce a new MTK before anything uses it */
	if (s->have_next && !s->next_sent) {
		rc = emit(s, &s->next, true, &act[n]);
		if (rc != 0)
			return rc;
		n++;
		s->next_sent = true;
		s->next_sent_at = now;
	}
	/* 2. switch content to it once its lead time has passed */
	if (s->have_next && s->next_sent && now >= s->next_at) {
		s->cur = s->next;
		s->cur_since = s->next_at;
		s->cur_last_sent = s->next_sent_at;
		s->have_cur = true;
		s->have_next = false;
		cur_sent = n != 0;
	}
	/* 3. repeat the current one for late joiners */
	if (s->have_cur && !cur_sent && s->cfg.repeat_ms != 0 &&
	    now >= s->cur_last_sent + s->cfg.repeat_ms) {
		rc = emit(s, &s->cur, false, &act[n]);
		if (rc != 0)
			return n != 0 ? (int)n : rc;
		n++;
		s->cur_last_sent = now;
	}
	if (next_ms != NULL) {
		if (s->have_next)
			wake = s->next_at;
		if (s->have_cur && s->cfg.repeat_ms != 0 &&
		    s->cur_last_sent + s->cfg.repeat_ms < wake)
			wake = s->cur_last_sent + s->cfg.repeat_ms;
		if (s->have_cur && !s->have_next && s->cfg.rotate_ms != 0 &&
		    s->cur_since + s->cfg.rotate_ms - s->cfg.lead_ms < wake)
			wake = s->cur_since + s->cfg.rotate_ms - s->cfg.lead_ms;
		*next_ms = wake;
	}
	return (int)n;
}

int kb_mtk_sched_content(const struct kb_mtk_sched *s, struct kb_mtk_ref *ref)
{
	if (!s->have_cur)
		return -1;
	*ref = s->cur;
	return 0;
}
