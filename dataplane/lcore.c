/* The per-lcore poll loop (see lcore.h). */
#include "lcore.h"

#include "ack.h"
#include "keytable.h"
#include "log.h"
#include "retransmit.h"
#include "rollover.h"
#include "roster_load.h"
#include "util/secret.h"

#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_hash.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>

RTE_LOG_REGISTER(kb_logtype, keyburst.dp, INFO);

#define KB_DRAIN_US 100
#define KB_TIMER_US 50

struct kb_lcore *kb_lcore_new(struct kb_dp *dp, unsigned idx, unsigned lcore_id, uint32_t cap)
{
	int socket =
		lcore_id < RTE_MAX_LCORE ? (int)rte_lcore_to_socket_id(lcore_id) : SOCKET_ID_ANY;
	struct kb_lcore *lc =
		rte_zmalloc_socket("kb_lcore", sizeof(*lc), RTE_CACHE_LINE_SIZE, socket);
	if (lc == NULL)
		return NULL;
	lc->idx = idx;
	lc->lcore_id = lcore_id;
	lc->dp = dp;
	lc->sh.cap = cap == 0 ? 1 : cap;
	lc->sh.ue = rte_zmalloc_socket("kb_ue", sizeof(struct kb_ue) * lc->sh.cap,
				       RTE_CACHE_LINE_SIZE, socket);
	lc->sh.dlv = rte_zmalloc_socket("kb_dlv", sizeof(struct kb_dlv) * KB_DLV_MAX,
					RTE_CACHE_LINE_SIZE, socket);
	/* no rollover yet: a generation no UE has (deliveries use 0) */
	lc->sh.ro_job.gen = UINT32_MAX;
	lc->sealer = kb_sealer_new();
	char name[RTE_RING_NAMESIZE];
	snprintf(name, sizeof(name), "kb_jobs_%u", idx);
	lc->jobs = kb_job_ring_create(name, dp->cfg.ring_size, socket);
	/* enough burst records for every UE to be outstanding in bursts of
	 * 1/8 of the burst size: more would only hide a stuck peer */
	uint32_t n_rec = lc->sh.cap / (dp->cfg.burst > 8 ? dp->cfg.burst / 8 : 1) + 64;
	if (lc->sh.ue == NULL || lc->sh.dlv == NULL || lc->sealer == NULL || lc->jobs == NULL ||
	    kb_retx_init(lc, lc->sh.cap, n_rec) != 0) {
		kb_lcore_free(lc);
		return NULL;
	}
	return lc;
}

void kb_lcore_free(struct kb_lcore *lc)
{
	if (lc == NULL)
		return;
	kb_retx_cancel_all(lc);
	kb_retx_fini(lc);
	rte_ring_free(lc->jobs);
	kb_sealer_free(lc->sealer);
	rte_free(lc->sh.ue);
	if (lc->sh.dlv != NULL)
		kb_memzero(lc->sh.dlv, sizeof(struct kb_dlv) * KB_DLV_MAX);
	rte_free(lc->sh.dlv);
	rte_free(lc->txb);
	rte_free(lc);
}

int kb_dp_locate(const struct kb_dp *dp, uint32_t csb_id, unsigned *shard, uint32_t *slot)
{
	uint32_t v;
	if (dp->dir_hash != NULL) {
		/* control-plane SAs: random csb_ids, looked up */
		void *data;
		if (rte_hash_lookup_data(dp->dir_hash, &csb_id, &data) < 0)
			return -1;
		v = (uint32_t)(uintptr_t)data;
	} else {
		/* ids are assigned as kb_csb_from_index(index + 1): invert, check range */
		uint32_t idx = kb_csb_to_index(csb_id);
		if (idx == 0 || idx > dp->n_dir)
			return -1;
		v = dp->dir[idx - 1];
	}
	if (v == UINT32_MAX)
		return -1;
	*shard = v >> KB_DIR_SLOT_BITS;
	*slot = v & ((1u << KB_DIR_SLOT_BITS) - 1);
	return *shard < dp->n_lcores ? 0 : -1;
}

/* ---- jobs ---- */

static void start_rollover(struct kb_lcore *lc, const struct kb_job *job)
{
	struct kb_shard *sh = &lc->sh;
	uint32_t target = 0;
	for (uint32_t i = 0; i < sh->n_ue; i++)
		target += sh->ue[i].svc == job->svc;
	sh->ro_job = *job;
	sh->ro_cursor = 0;
	sh->ro_sent = sh->ro_acked = sh->ro_failed = sh->ro_retried = sh->ro_pending = 0;
	__atomic_store_n(&sh->ro_target, target, __ATOMIC_RELEASE);
	/* drop what the previous rollover still had queued */
	sh->retx_head = sh->retx_tail;
	sh->ro_active = true;
	sh->ro_done_posted = false;
}

static void take_pull(struct kb_lcore *lc, const struct kb_job *job)
{
	struct kb_shard *sh = &lc->sh;
	for (unsigned i = 0; i < job->n_csb && i < KB_JOB_PULL_MAX; i++) {
		unsigned shard;
		uint32_t slot;
		if (kb_dp_locate(lc->dp, job->csb[i], &shard, &slot) != 0 || shard != lc->idx)
			continue;
		if (sh->pull_tail - sh->pull_head == KB_PULL_QUEUE) {
			lc->st.build_errors++;
			continue;
		}
		sh->pull[sh->pull_tail++ % KB_PULL_QUEUE] = slot;
	}
}

/* The control plane published an SA (ctl_bridge.c chose the slot). */
static void take_ue_add(struct kb_lcore *lc, const struct kb_job *job)
{
	struct kb_shard *sh = &lc->sh;
	if (job->slot >= sh->cap) {
		lc->st.build_errors++;
		return;
	}
	uint32_t next = job->ctr < 1 ? 1 : job->ctr;
	/* the same SA published again after a delete: its counter never goes down */
	if (job->slot < sh->n_ue && sh->ue[job->slot].csb_id == job->csb[0] &&
	    sh->ue[job->slot].next_ctr > next)
		next = sh->ue[job->slot].next_ctr;
	sh->ue[job->slot] = (struct kb_ue){
		.csb_id = job->csb[0],
		.next_ctr = next,
		.svc = job->svc,
		.state = KB_UE_IDLE,
	};
	if (job->slot >= sh->n_ue)
		sh->n_ue = job->slot + 1;
}

/* The SA is gone: the slot is never sent to again (and not reused). */
static void take_ue_del(struct kb_lcore *lc, const struct kb_job *job)
{
	struct kb_shard *sh = &lc->sh;
	if (job->slot >= sh->n_ue || sh->ue[job->slot].csb_id != job->csb[0])
		return;
	struct kb_ue *ue = &sh->ue[job->slot];
	if (sh->ro_active && ue->state == KB_UE_PENDING && ue->gen == sh->ro_job.gen &&
	    ue->svc == sh->ro_job.svc) {
		/* the rollover stops waiting for it: count it as failed */
		sh->ro_pending--;
		sh->ro_failed++;
		struct kb_event ev = {.type = KB_EV_FAILED,
				      .shard = (uint8_t)lc->idx,
				      .svc = ue->svc,
				      .csb_id = ue->csb_id,
				      .gen = ue->gen};
		if (kb_event_post(lc->dp->events, &ev) != 0)
			lc->st.events_dropped++;
	}
	ue->svc = KB_SVC_NONE;
	ue->state = KB_UE_IDLE;
}

/* A UE asked for an MSK: queue one delivery with its own copy of the key. */
static void take_deliver(struct kb_lcore *lc, const struct kb_job *job)
{
	struct kb_shard *sh = &lc->sh;
	unsigned shard;
	uint32_t slot, i;
	if (kb_dp_locate(lc->dp, job->csb[0], &shard, &slot) != 0 || shard != lc->idx ||
	    slot >= sh->n_ue || sh->ue[slot].svc == KB_SVC_NONE) {
		lc->st.build_errors++;
		return;
	}
	struct kb_ue *ue = &sh->ue[slot];
	bool in_rollover = sh->ro_active && ue->state == KB_UE_PENDING &&
			   ue->gen == sh->ro_job.gen && ue->svc == sh->ro_job.svc;
	/* the running rollover is already (re)sending this very key */
	if (in_rollover && job->msk_id == sh->ro_job.msk_id)
		return;
	for (i = 0; i < sh->n_dlv; i++)
		if (sh->dlv[i].slot == slot && !sh->dlv[i].dead)
			break;
	if (i == sh->n_dlv) {
		if (sh->n_dlv == KB_DLV_MAX) {
			lc->st.build_errors++; /* the UE asks again */
			return;
		}
		sh->n_dlv++;
	}
	struct kb_dlv *d = &sh->dlv[i];
	d->due = 0;
	d->slot = slot;
	d->msk_id = job->msk_id;
	memcpy(d->msk, job->msk, sizeof(d->msk));
	d->tries = 0;
	d->dead = 0;
	/* inside a running rollover the UE's ack state is the rollover's: send
	 * this other key once, without asking for an ack */
	d->tracked = !in_rollover;
	d->v = job->v && d->tracked;
	if (d->tracked)
		ue->gen = 0; /* a delivery, not a rollover generation */
}

static void take_job(struct kb_lcore *lc, struct kb_job *job)
{
	switch (job->type) {
	case KB_JOB_ROLLOVER:
		start_rollover(lc, job);
		break;
	case KB_JOB_PULL:
		take_pull(lc, job);
		break;
	case KB_JOB_UE_ADD:
		take_ue_add(lc, job);
		break;
	case KB_JOB_UE_DEL:
		take_ue_del(lc, job);
		break;
	case KB_JOB_DELIVER:
		take_deliver(lc, job);
		kb_memzero(job->msk, sizeof(job->msk));
		break;
	default:
		break;
	}
}

static void poll_jobs(struct kb_lcore *lc)
{
	struct kb_job job;
	/* a new rollover waits in the ring until the current one is done;
	 * other jobs are taken at once, so peek through the ring one at a time */
	if (lc->sh.ro_active && rte_ring_count(lc->jobs) > 0) {
		/* SC ring: only we dequeue, so the head stays where it is until we
		 * take it; look at its type without taking it */
		struct kb_job peek;
		if (rte_ring_dequeue_bulk_elem_start(lc->jobs, &peek, sizeof(peek), 1, NULL) == 0)
			return;
		uint8_t type = peek.type;
		kb_memzero(&peek, sizeof(peek));
		rte_ring_dequeue_elem_finish(lc->jobs, 0);
		if (type == KB_JOB_ROLLOVER || kb_job_take(lc->jobs, &job) != 0)
			return;
		take_job(lc, &job);
		return;
	}
	if (kb_job_take(lc->jobs, &job) != 0)
		return;
	take_job(lc, &job);
}

static void check_done(struct kb_lcore *lc)
{
	struct kb_shard *sh = &lc->sh;
	if (!sh->ro_active || sh->ro_cursor < sh->n_ue || kb_retx_queued(lc) != 0 ||
	    sh->ro_pending != 0)
		return;
	struct kb_event ev = {
		.type = KB_EV_SHARD_DONE,
		.shard = (uint8_t)lc->idx,
		.svc = sh->ro_job.svc,
		.gen = sh->ro_job.gen,
		.value = sh->ro_sent,
	};
	if (kb_event_post(lc->dp->events, &ev) == 0)
		sh->ro_active = false; /* otherwise try again next loop */
}

/* ---- build, seal, send ---- */

enum { KIND_MSK = 0, KIND_PULL = 1, KIND_DLV = 2 };

static uint64_t dlv_timeout(const struct kb_dp *dp, unsigned tries)
{
	uint64_t t = dp->tsc_hz / 1000 * dp->cfg.ack_timeout_ms;
	for (unsigned i = 1; i < tries && i <= 8; i++)
		t *= dp->cfg.backoff;
	return t;
}

/* Single-UE deliveries: drop the finished ones, then take the due ones
 * (slots[n..], with their index in dli). Returns the new n. */
static unsigned gather_dlv(struct kb_lcore *lc, unsigned n, unsigned max, uint32_t limit,
			   uint64_t now, uint32_t *slots, uint8_t *kind, uint16_t *dli,
			   bool *stalled)
{
	struct kb_shard *sh = &lc->sh;
	uint32_t w = 0;
	for (uint32_t i = 0; i < sh->n_dlv; i++) {
		struct kb_dlv *d = &sh->dlv[i];
		struct kb_ue *ue = &sh->ue[d->slot];
		bool done = d->dead || ue->svc == KB_SVC_NONE;
		if (!done && d->tries > 0 && now >= d->due) {
			if (!d->v)
				done = true; /* sent, no ack wanted */
			else if (!d->tracked || ue->gen != 0)
				done = true; /* a rollover took the UE over */
			else if (ue->state == KB_UE_DELIVERED)
				done = true; /* acked */
			else if (d->tries > lc->dp->cfg.retries) {
				ue->state = KB_UE_FAILED;
				lc->st.failed++;
				done = true;
			}
		}
		if (!done && d->tracked && ue->gen != 0)
			done = true; /* the rollover reached it before we sent */
		if (!done && d->tracked && d->tries > 0 && ue->state == KB_UE_DELIVERED)
			done = true;
		if (done) {
			kb_memzero(d, sizeof(*d));
			continue;
		}
		if (w != i) {
			sh->dlv[w] = *d;
			kb_memzero(d, sizeof(*d));
		}
		w++;
	}
	sh->n_dlv = w;
	for (uint32_t i = 0; i < sh->n_dlv && n < max; i++) {
		struct kb_dlv *d = &sh->dlv[i];
		if (now < d->due)
			continue;
		if (sh->ue[d->slot].next_ctr >= limit) {
			*stalled = true;
			break;
		}
		if (d->tries > 0 && d->v)
			lc->st.retried++;
		d->tries++;
		d->due = now + dlv_timeout(lc->dp, d->tries);
		slots[n] = d->slot;
		dli[n] = (uint16_t)i;
		kind[n++] = KIND_DLV;
	}
	return n;
}

static unsigned gather(struct kb_lcore *lc, unsigned max, uint32_t limit, uint64_t now,
		       uint32_t *slots, uint8_t *kind, uint16_t *dli, unsigned *n_ack)
{
	struct kb_shard *sh = &lc->sh;
	const struct kb_service *svc = &lc->dp->svc->s[sh->ro_job.svc];
	unsigned n = 0;
	uint32_t slot;
	bool ack = sh->ro_active && svc->cfg.ack;
	*n_ack = 0;

	/* pulls first: they are few and someone is waiting for them */
	while (n < max && sh->pull_head != sh->pull_tail) {
		slot = sh->pull[sh->pull_head % KB_PULL_QUEUE];
		if (sh->ue[slot].next_ctr >= limit)
			goto stall;
		sh->pull_head++;
		slots[n] = slot;
		kind[n++] = KIND_PULL;
	}
	if (sh->n_dlv > 0) {
		bool stalled = false;
		n = gather_dlv(lc, n, max, limit, now, slots, kind, dli, &stalled);
		if (stalled)
			goto stall;
	}
	if (!sh->ro_active)
		return n;
	/* an ack-wanted message needs a deadline record for its burst */
	if (ack && kb_retx_free_recs(lc) == 0)
		return n;
	while (n < max) {
		uint32_t head = sh->retx_head;
		if (kb_retx_pop(lc, &slot) != 0)
			break;
		struct kb_ue *ue = &sh->ue[slot];
		if (ue->state != KB_UE_PENDING)
			continue; /* acked while it waited */
		if (ue->next_ctr >= limit) {
			sh->retx_head = head; /* put it back */
			goto stall;
		}
		ue->tries++;
		sh->ro_retried++;
		lc->st.retried++;
		slots[n] = slot;
		kind[n++] = KIND_MSK;
	}
	while (n < max && sh->ro_cursor < sh->n_ue) {
		struct kb_ue *ue = &sh->ue[sh->ro_cursor];
		if (ue->svc != sh->ro_job.svc) {
			sh->ro_cursor++;
			continue;
		}
		if (ue->next_ctr >= limit)
			goto stall;
		ue->gen = sh->ro_job.gen;
		ue->state = ack ? KB_UE_PENDING : KB_UE_IDLE;
		ue->tries = 0;
		ue->first_ctr = 0;
		if (ack)
			sh->ro_pending++;
		slots[n] = sh->ro_cursor++;
		kind[n++] = KIND_MSK;
	}
	*n_ack = ack ? n : 0;
	return n;
stall:
	lc->st.counter_stalls++;
	if (!lc->grant_asked) {
		struct kb_event ev = {.type = KB_EV_GRANT_WANTED, .shard = (uint8_t)lc->idx};
		if (kb_event_post(lc->dp->events, &ev) == 0)
			lc->grant_asked = true;
	}
	*n_ack = ack ? n : 0;
	return n;
}

static void build_and_send(struct kb_lcore *lc, uint64_t now)
{
	struct kb_dp *dp = lc->dp;
	struct kb_shard *sh = &lc->sh;
	unsigned max = dp->cfg.burst;
	if (sh->pull_head == sh->pull_tail && !sh->ro_active && sh->n_dlv == 0)
		return;
	if (!__atomic_load_n(&dp->nh.known, __ATOMIC_ACQUIRE))
		return; /* no next hop MAC yet: ARP is asking */
	max = kb_tb_take(lc, max, now, dp->tsc_hz);
	if (max == 0)
		return;

	uint32_t limit32;
	uint64_t limit = __atomic_load_n(&dp->ctr_limit, __ATOMIC_ACQUIRE);
	limit32 = limit > UINT32_MAX ? UINT32_MAX : (uint32_t)limit;
	if (lc->grant_asked && (uint64_t)lc->max_ctr + 1 < limit)
		lc->grant_asked = false;

	uint32_t slots[KB_SEAL_BURST_MAX], csb[KB_SEAL_BURST_MAX];
	uint8_t kind[KB_SEAL_BURST_MAX];
	uint16_t dli[KB_SEAL_BURST_MAX];
	unsigned n_ack;
	unsigned n = gather(lc, max, limit32, now, slots, kind, dli, &n_ack);
	if (n < max && lc->tb_rate != 0)
		lc->tb_tokens += max - n; /* give back what we could not use */
	if (n == 0)
		return;

	const struct kb_sa_record *sa[KB_SEAL_BURST_MAX];
	struct rte_mbuf *m[KB_SEAL_BURST_MAX];
	struct kb_seal_req req[KB_SEAL_BURST_MAX];
	struct kb_mikey_layout lay[KB_SEAL_BURST_MAX];
	uint32_t ack_slots[KB_SEAL_BURST_MAX];
	unsigned n_ack_slots = 0, max_tries = 0;

	for (unsigned i = 0; i < n; i++)
		csb[i] = sh->ue[slots[i]].csb_id;
	kb_keytable_lookup_bulk(dp->kt, csb, n, sa);
	for (unsigned i = 0; i < n; i++)
		if (sa[i] != NULL) {
			rte_prefetch0(sa[i]->rand);
			rte_prefetch0(&sa[i]->addr);
		}
	if (rte_pktmbuf_alloc_bulk(dp->pool, m, n) != 0) {
		lc->st.alloc_failures++;
		/* the UEs were taken: with acks their deadline brings them
		 * back; without, rewind the cursor for the rollover ones */
		for (unsigned i = 0; i < n; i++) {
			sa[i] = NULL;
			m[i] = NULL;
		}
	}

	const struct kb_service *svc = &dp->svc->s[sh->ro_job.svc];
	unsigned k = 0;
	for (unsigned i = 0; i < n; i++) {
		struct kb_ue *ue = &sh->ue[slots[i]];
		if (sa[i] == NULL || m[i] == NULL) {
			if (m[i] != NULL)
				rte_pktmbuf_free(m[i]);
			if (m[i] != NULL)
				lc->st.build_errors++;
			if (kind[i] == KIND_DLV && sh->dlv[dli[i]].tries == 1)
				sh->dlv[dli[i]].tries = 0; /* not sent: the next loop tries again */
			if (kind[i] == KIND_MSK && ue->state == KB_UE_PENDING) {
				/* no SA (deleted) or no mbuf: let the deadline decide */
				ack_slots[n_ack_slots++] = slots[i];
			}
			continue;
		}
		const struct kb_service *s = kind[i] == KIND_PULL ? &dp->svc->s[ue->svc] : svc;
		if (kind[i] == KIND_DLV) {
			/* a single-UE delivery: its own key, its own deadline */
			const struct kb_dlv *d = &sh->dlv[dli[i]];
			struct kb_msk_msg_params dp_ = {
				.csb_id = ue->csb_id,
				.counter = ue->next_ctr,
				.rand = sa[i]->rand,
				.idi = dp->idi,
				.idi_len = dp->idi_len,
				.idr = sa[i]->idr,
				.idr_len = sa[i]->idr_len,
				.msk_id = d->msk_id,
				.msk = d->msk,
				.v = d->v != 0,
			};
			memcpy(dp_.domain, dp->cfg.domain, 3);
			size_t dlen = kb_msk_msg_len(&dp_);
			uint8_t *pl = kb_pkt_udp_prepare(&dp->tmpl[ue->svc], m[i], &sa[i]->addr,
							 (uint16_t)dlen);
			if (pl == NULL || kb_msk_msg_write(pl, dlen, &dp_, &lay[k]) != 0) {
				lc->st.build_errors++;
				rte_pktmbuf_free(m[i]);
				m[i] = NULL;
				continue;
			}
			req[k] = (struct kb_seal_req){
				.msg = pl, .lay = &lay[k], .sa = sa[i], .counter = dp_.counter};
			m[k] = m[i];
			k++;
			uint32_t c = ue->next_ctr++;
			if (c > lc->max_ctr)
				__atomic_store_n(&lc->max_ctr, c, __ATOMIC_RELAXED);
			lc->st.tx_delivers++;
			/* tracked, and no rollover took the UE in this very burst */
			if (d->tracked && ue->gen == 0) {
				if (d->tries == 1 || ue->state != KB_UE_PENDING) {
					ue->first_ctr = c;
					ue->state = d->v ? KB_UE_PENDING : KB_UE_DELIVERED;
				}
				ue->last_ctr = c;
			}
			continue;
		}
		struct kb_msk_msg_params p = {
			.csb_id = ue->csb_id,
			.counter = ue->next_ctr,
			.rand = sa[i]->rand,
			.idi = dp->idi,
			.idi_len = dp->idi_len,
			.idr = sa[i]->idr,
			.idr_len = sa[i]->idr_len,
			.msk_id = kind[i] == KIND_PULL ? (uint32_t)s->cfg.key_group << 16
						       : sh->ro_job.msk_id,
			.msk = kind[i] == KIND_PULL ? NULL : s->msk_next,
			.v = kind[i] == KIND_MSK && s->cfg.ack,
		};
		memcpy(p.domain, dp->cfg.domain, 3);
		size_t len = kb_msk_msg_len(&p);
		uint8_t *payload = kb_pkt_udp_prepare(
			&dp->tmpl[kind[i] == KIND_PULL ? ue->svc : sh->ro_job.svc], m[i],
			&sa[i]->addr, (uint16_t)len);
		if (payload == NULL || kb_msk_msg_write(payload, len, &p, &lay[k]) != 0) {
			lc->st.build_errors++;
			rte_pktmbuf_free(m[i]);
			m[i] = NULL;
			continue;
		}
		req[k] = (struct kb_seal_req){
			.msg = payload, .lay = &lay[k], .sa = sa[i], .counter = p.counter};
		m[k] = m[i];
		k++;
		/* the counter is spent once the message is written */
		uint32_t c = ue->next_ctr++;
		if (c > lc->max_ctr)
			__atomic_store_n(&lc->max_ctr, c, __ATOMIC_RELAXED);
		if (kind[i] == KIND_PULL) {
			lc->st.tx_pulls++;
			continue;
		}
		if (ue->first_ctr == 0)
			ue->first_ctr = c;
		ue->last_ctr = c;
		sh->ro_sent++;
		if (p.v) {
			ack_slots[n_ack_slots++] = slots[i];
			if (ue->tries > max_tries)
				max_tries = ue->tries;
		} else {
			ue->state = KB_UE_DELIVERED;
		}
	}
	(void)n_ack;
	if (n_ack_slots > 0 && kb_retx_arm(lc, ack_slots, n_ack_slots, max_tries, now) != 0)
		lc->st.build_errors++; /* cannot happen: gather checked a record is free */
	if (k == 0)
		return;

	unsigned sealed = kb_seal_burst(lc->sealer, req, k);
	if (sealed != k) {
		/* never send a message that is not sealed */
		lc->st.seal_errors += k;
		for (unsigned i = 0; i < k; i++)
			rte_pktmbuf_free(m[i]);
		return;
	}
	for (unsigned i = 0; i < k; i++) {
		kb_pkt_udp_finish(&dp->tmpl[0], m[i]);
		lc->st.tx_bytes += m[i]->pkt_len;
	}
	lc->st.tx_msgs += k;
	if (lc->txb == NULL) {
		for (unsigned i = 0; i < k; i++)
			rte_pktmbuf_free(m[i]);
		return;
	}
	for (unsigned i = 0; i < k; i++)
		rte_eth_tx_buffer(dp->port.port_id, (uint16_t)lc->idx, lc->txb, m[i]);
}

static void maybe_arp(struct kb_lcore *lc, uint64_t now, uint64_t *next)
{
	struct kb_dp *dp = lc->dp;
	if (lc->idx != 0 || __atomic_load_n(&dp->nh.known, __ATOMIC_ACQUIRE) || now < *next ||
	    lc->txb == NULL)
		return;
	*next = now + dp->tsc_hz;
	struct rte_mbuf *m = rte_pktmbuf_alloc(dp->pool);
	if (m == NULL)
		return;
	if (kb_pkt_arp_request(&dp->tmpl[0], &dp->nh, m) != 0) {
		rte_pktmbuf_free(m);
		return;
	}
	rte_eth_tx_buffer(dp->port.port_id, (uint16_t)lc->idx, lc->txb, m);
	rte_eth_tx_buffer_flush(dp->port.port_id, (uint16_t)lc->idx, lc->txb);
}

void kb_lcore_poll_once(struct kb_lcore *lc, uint64_t now)
{
	poll_jobs(lc);
	build_and_send(lc, now);
	check_done(lc);
}

int kb_lcore_main(void *arg)
{
	struct kb_lcore *lc = arg;
	struct kb_dp *dp = lc->dp;
	const uint16_t port = dp->port.port_id, q = (uint16_t)lc->idx;
	const uint64_t drain = dp->tsc_hz / 1000000 * KB_DRAIN_US;
	const uint64_t tick = dp->tsc_hz / 1000000 * KB_TIMER_US;
	uint64_t last_drain = 0, last_timer = 0, next_arp = 0;
	struct rte_mbuf *rx[KB_RX_BURST];

	rte_rcu_qsbr_thread_register(dp->qsbr, lc->idx);
	rte_rcu_qsbr_thread_online(dp->qsbr, lc->idx);
	kb_tb_init(lc, dp->cfg.pps / dp->n_lcores + (lc->idx < dp->cfg.pps % dp->n_lcores),
		   dp->cfg.burst, dp->tsc_hz, rte_rdtsc());
	KB_LOG(INFO, "lcore %u: shard %u, %u UEs, queue %u, sealer %s", lc->lcore_id, lc->idx,
	       lc->sh.n_ue, q, kb_sealer_arch(lc->sealer));
	lc->start_tsc = rte_rdtsc();

	while (!__atomic_load_n(&dp->force_quit, __ATOMIC_RELAXED)) {
		uint64_t now = rte_rdtsc();
		lc->st.loops++;

		uint16_t n = rte_eth_rx_burst(port, q, rx, KB_RX_BURST);
		if (n > 0)
			kb_ack_rx(lc, rx, n);
		kb_ack_handover_drain(lc);

		uint64_t before = lc->st.tx_msgs;
		kb_lcore_poll_once(lc, now);
		if (lc->st.tx_msgs != before || n > 0)
			lc->busy_tsc += rte_rdtsc() - now;

		if (now - last_drain > drain) {
			rte_eth_tx_buffer_flush(port, q, lc->txb);
			last_drain = now;
		}
		if (now - last_timer > tick) {
			rte_timer_manage();
			last_timer = now;
		}
		maybe_arp(lc, now, &next_arp);
		rte_rcu_qsbr_quiescent(dp->qsbr, lc->idx);
	}
	/* drain: everything built goes out before we stop */
	rte_eth_tx_buffer_flush(port, q, lc->txb);
	lc->stop_tsc = rte_rdtsc();
	rte_rcu_qsbr_thread_offline(dp->qsbr, lc->idx);
	rte_rcu_qsbr_thread_unregister(dp->qsbr, lc->idx);
	return 0;
}
