/* Per-burst ack deadlines with rte_timer (see retransmit.h). */
#include "retransmit.h"

#include "lcore.h"
#include "log.h"
#include "rollover.h"

#include <stdlib.h>
#include <string.h>

#include <rte_malloc.h>
#include <rte_timer.h>

int kb_retx_init(struct kb_lcore *lc, uint32_t cap, uint32_t n_rec)
{
	struct kb_shard *sh = &lc->sh;
	uint32_t qsize = rte_align32pow2(cap + 1);
	sh->retx = rte_malloc("kb_retx", sizeof(uint32_t) * qsize, 0);
	sh->recs = rte_zmalloc("kb_txrec", sizeof(struct kb_txrec) * n_rec, RTE_CACHE_LINE_SIZE);
	sh->rec_free = rte_malloc("kb_txrec_free", sizeof(uint32_t) * n_rec, 0);
	if (sh->retx == NULL || sh->recs == NULL || sh->rec_free == NULL) {
		kb_retx_fini(lc);
		return -1;
	}
	sh->retx_mask = qsize - 1;
	sh->retx_head = sh->retx_tail = 0;
	sh->n_rec = n_rec;
	for (uint32_t i = 0; i < n_rec; i++) {
		rte_timer_init(&sh->recs[i].tim);
		sh->recs[i].lc = lc;
		sh->recs[i].id = i;
		sh->rec_free[i] = n_rec - 1 - i;
	}
	sh->n_rec_free = n_rec;
	return 0;
}

void kb_retx_fini(struct kb_lcore *lc)
{
	struct kb_shard *sh = &lc->sh;
	rte_free(sh->retx);
	rte_free(sh->recs);
	rte_free(sh->rec_free);
	sh->retx = NULL;
	sh->recs = NULL;
	sh->rec_free = NULL;
	sh->n_rec = sh->n_rec_free = 0;
}

uint32_t kb_retx_free_recs(const struct kb_lcore *lc)
{
	return lc->sh.n_rec_free;
}

uint32_t kb_retx_queued(const struct kb_lcore *lc)
{
	return lc->sh.retx_tail - lc->sh.retx_head;
}

static void post_failed(struct kb_lcore *lc, const struct kb_ue *ue)
{
	struct kb_event ev = {
		.type = KB_EV_FAILED,
		.shard = (uint8_t)lc->idx,
		.svc = ue->svc,
		.csb_id = ue->csb_id,
		.gen = ue->gen,
		.value = ue->tries,
	};
	kb_lcore_event(lc, &ev);
}

static void deadline(struct rte_timer *tim, void *arg)
{
	struct kb_txrec *rec = arg;
	struct kb_lcore *lc = rec->lc;
	struct kb_shard *sh = &lc->sh;
	unsigned max_tries = lc->dp->cfg.retries;
	(void)tim;

	for (unsigned i = 0; i < rec->n; i++) {
		struct kb_ue *ue = &sh->ue[rec->slot[i]];
		/* a deadline of an earlier rollover (the UE acked it) must not
		 * touch the UE's state for the current one */
		if (ue->state != KB_UE_PENDING || ue->gen != sh->ro_job.gen ||
		    rec->gen != ue->gen || ue->svc != sh->ro_job.svc)
			continue;
		if (ue->tries >= max_tries) {
			ue->state = KB_UE_FAILED;
			sh->ro_pending--;
			sh->ro_failed++;
			lc->st.failed++;
			post_failed(lc, ue);
			continue;
		}
		/* the queue holds each UE at most once: a UE is in one record
		 * or in the queue, never both */
		sh->retx[sh->retx_tail & sh->retx_mask] = rec->slot[i];
		sh->retx_tail++;
	}
	rec->n = 0;
	sh->rec_free[sh->n_rec_free++] = rec->id;
}

int kb_retx_arm(struct kb_lcore *lc, const uint32_t *slots, unsigned n, unsigned tries,
		uint64_t now)
{
	struct kb_shard *sh = &lc->sh;
	(void)now;
	if (sh->n_rec_free == 0)
		return -1;
	struct kb_txrec *rec = &sh->recs[sh->rec_free[--sh->n_rec_free]];
	memcpy(rec->slot, slots, n * sizeof(uint32_t));
	rec->n = (uint16_t)n;
	rec->tries = (uint8_t)tries;
	rec->gen = sh->ro_job.gen;
	uint64_t ticks = lc->dp->tsc_hz / 1000 * lc->dp->cfg.ack_timeout_ms;
	for (unsigned t = 0; t < tries && t < 8; t++)
		ticks *= lc->dp->cfg.backoff;
	if (rte_timer_reset(&rec->tim, ticks, SINGLE, rte_lcore_id(), deadline, rec) != 0) {
		/* cannot happen for a stopped timer on our own lcore */
		sh->rec_free[sh->n_rec_free++] = rec->id;
		return -1;
	}
	return 0;
}

int kb_retx_pop(struct kb_lcore *lc, uint32_t *slot)
{
	struct kb_shard *sh = &lc->sh;
	if (sh->retx_head == sh->retx_tail)
		return -1;
	*slot = sh->retx[sh->retx_head & sh->retx_mask];
	sh->retx_head++;
	return 0;
}

void kb_retx_cancel_all(struct kb_lcore *lc)
{
	struct kb_shard *sh = &lc->sh;
	for (uint32_t i = 0; i < sh->n_rec; i++)
		rte_timer_stop(&sh->recs[i].tim);
}
