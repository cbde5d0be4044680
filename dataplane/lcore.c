/* The per-lcore poll loop (see lcore.h). */
#include "lcore.h"

#include "ack.h"
#include "keytable.h"
#include "log.h"
#include "mikey/mikey_ref.h"
#include "ptm_tx.h"
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
	int evq_rc = kb_event_queue_init(&lc->evq, 1024, socket);
	/* enough burst records for every UE to be outstanding in bursts of
	 * 1/8 of the burst size: more would only hide a stuck peer */
	uint32_t n_rec = lc->sh.cap / (dp->cfg.burst > 8 ? dp->cfg.burst / 8 : 1) + 64;
	if (lc->sh.ue == NULL || lc->sh.dlv == NULL || lc->sealer == NULL || lc->jobs == NULL ||
	    evq_rc != 0 || kb_retx_init(lc, lc->sh.cap, n_rec) != 0) {
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
	kb_event_queue_fini(&lc->evq);
	kb_sealer_free(lc->sealer);
	kb_ref_ctx_free(lc->ref_ctx);
	if (lc->txq_n > 0)
		rte_pktmbuf_free_bulk(lc->txq + lc->txq_head, lc->txq_n);
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
		kb_lcore_event(lc, &ev);
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
	case KB_JOB_PUSH:
	case KB_JOB_PTM_MSK:
		kb_ptm_take_job(lc, job); /* PTM push (ptm_tx.c) */
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
	/* done means sent: nothing of it left in the TX queue */
	if (!sh->ro_active || sh->ro_cursor < sh->n_ue || kb_retx_queued(lc) != 0 ||
	    sh->ro_pending != 0 || lc->txq_n != 0)
		return;
	struct kb_event ev = {
		.type = KB_EV_SHARD_DONE,
		.shard = (uint8_t)lc->idx,
		.svc = sh->ro_job.svc,
		.gen = sh->ro_job.gen,
		.value = sh->ro_sent,
	};
	if (kb_lcore_event(lc, &ev) == 0)
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
		/* a few builds ahead: the hardware prefetcher lags on this stream */
		rte_prefetch0(ue + 4 * KB_SEAL_BURST_MAX);
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
		if (kb_lcore_event(lc, &ev) == 0)
			lc->grant_asked = true;
	}
	*n_ack = ack ? n : 0;
	return n;
}

/* One chunk (one seal burst) of a build: its SA records and its mbufs,
 * taken and prefetched one chunk ahead of the chunk being written. */
struct chunk {
	unsigned off, n;
	const struct kb_sa_record *sa[KB_SEAL_BURST_MAX];
	struct rte_mbuf *m[KB_SEAL_BURST_MAX];
};

/* Look up a chunk's SAs (one bulk lookup) and take its mbufs in bulk.
 * Called for chunk c + 1 before chunk c is written; chunk_build(c) then
 * prefetches c + 1's records one per message it writes (all at once would
 * fill the line-fill buffers and stall on the prefetches themselves), so
 * they arrive while c is written and sealed. With prefetch set (the first
 * chunk: nothing to overlap with) they are prefetched here. The records stay
 * valid until this loop's quiescent report: nothing is carried from one
 * loop to the next. */
static void chunk_prepare(struct kb_lcore *lc, const uint32_t *csb, struct chunk *c, bool prefetch)
{
	struct kb_dp *dp = lc->dp;
	kb_keytable_lookup_bulk(dp->kt, csb + c->off, c->n, c->sa);
	if (prefetch)
		for (unsigned i = 0; i < c->n; i++)
			if (c->sa[i] != NULL)
				kb_sa_prefetch(c->sa[i]);
	if (dp->ref_tk != NULL)
		for (unsigned i = 0; i < c->n; i++) {
			uint32_t x = kb_csb_to_index(csb[c->off + i]);
			if (x != 0 && x <= dp->n_ref_tk)
				rte_prefetch0(&dp->ref_tk[x - 1]);
		}
	if (rte_pktmbuf_alloc_bulk(dp->pool, c->m, c->n) != 0) {
		lc->st.alloc_failures++;
		memset(c->m, 0, sizeof(c->m[0]) * c->n);
	}
}

/* Send what the TX queue will take; keep the rest for the next loop. Drops
 * (counted tx_dropped) only after KB_TX_STALL_MS without any progress: a
 * dead peer must not hold mbufs for ever, a slow one only slows us down. */
static void tx_push(struct kb_lcore *lc, uint64_t now)
{
	if (lc->txq_n == 0)
		return;
	if (lc->txb == NULL) {
		/* no port (tests, fuzzing): the messages end here */
		rte_pktmbuf_free_bulk(lc->txq + lc->txq_head, lc->txq_n);
		lc->txq_head = lc->txq_n = 0;
		return;
	}
	uint16_t sent = rte_eth_tx_burst(lc->dp->port.port_id, (uint16_t)lc->idx,
					 lc->txq + lc->txq_head, (uint16_t)lc->txq_n);
	lc->txq_head += sent;
	lc->txq_n -= sent;
	if (lc->txq_n == 0) {
		lc->txq_head = 0;
		lc->txq_since = 0;
		return;
	}
	lc->st.tx_retry++;
	if (sent > 0 || lc->txq_since == 0) {
		lc->txq_since = now;
		return;
	}
	if (now - lc->txq_since < lc->dp->tsc_hz / 1000 * KB_TX_STALL_MS)
		return;
	rte_pktmbuf_free_bulk(lc->txq + lc->txq_head, lc->txq_n);
	lc->st.tx_dropped += lc->txq_n;
	lc->txq_head = lc->txq_n = 0;
	lc->txq_since = 0;
}

/* Seal through the OpenSSL reference (reused contexts): --sealer openssl,
 * the baseline the benchmark compares the IPsec-MB bursts with, inside the
 * same pipeline. Returns the number sealed (stops at the first failure). */
static unsigned seal_ref(struct kb_lcore *lc, const struct kb_seal_req *req, unsigned n)
{
	const struct kb_dp *dp = lc->dp;
	for (unsigned i = 0; i < n; i++) {
		uint32_t csb = req[i].sa->csb_id, x = kb_csb_to_index(csb);
		if (x == 0 || x > dp->n_ref_tk ||
		    kb_ref_seal_ctx(lc->ref_ctx, req[i].msg, req[i].lay, csb, req[i].counter,
				    &dp->ref_tk[x - 1]) != 0)
			return i;
	}
	return n;
}

/* Write, seal, checksum and queue one chunk (gathered slots [c->off, +n)). */
static void chunk_build(struct kb_lcore *lc, uint64_t now, const uint32_t *slots,
			const uint8_t *kind, const uint16_t *dli, struct chunk *c,
			const struct kb_msk_msg_params *ro, const struct chunk *next)
{
	struct kb_dp *dp = lc->dp;
	struct kb_shard *sh = &lc->sh;
	struct rte_mbuf **m = c->m;
	const struct kb_sa_record **sa = c->sa;
	struct kb_seal_req req[KB_SEAL_BURST_MAX];
	struct kb_mikey_layout lay[KB_SEAL_BURST_MAX];
	uint32_t ack_slots[KB_SEAL_BURST_MAX];
	unsigned n_ack_slots = 0, max_tries = 0, k = 0;
	slots += c->off;
	kind += c->off;
	dli += c->off;

	unsigned pf = 0; /* next chunk's records prefetched so far */
	for (unsigned i = 0; i < c->n; i++) {
		struct kb_ue *ue = &sh->ue[slots[i]];
		if (next != NULL && pf < next->n) {
			if (next->sa[pf] != NULL)
				kb_sa_prefetch(next->sa[pf]);
			pf++;
		}
		if (sa[i] == NULL || m[i] == NULL) {
			if (m[i] != NULL) {
				rte_pktmbuf_free(m[i]);
				lc->st.build_errors++;
			}
			if (kind[i] == KIND_DLV && sh->dlv[dli[i]].tries == 1)
				sh->dlv[dli[i]].tries = 0; /* not sent: the next loop tries again */
			if (kind[i] == KIND_MSK && ue->state == KB_UE_PENDING) {
				/* no SA (deleted) or no mbuf: let the deadline decide */
				ack_slots[n_ack_slots++] = slots[i];
			}
			continue;
		}
		struct kb_msk_msg_params p;
		const struct kb_pkt_tmpl *t;
		const struct kb_dlv *d = NULL;
		if (kind[i] == KIND_MSK) {
			/* the rollover: what every message shares (field by field:
			 * a whole-struct copy of `ro` stalls on store forwarding) */
			p.idi = ro->idi;
			p.idi_len = ro->idi_len;
			memcpy(p.domain, ro->domain, 3);
			p.msk_id = ro->msk_id;
			p.msk = ro->msk;
			p.v = ro->v;
			t = &dp->tmpl[sh->ro_job.svc];
		} else if (kind[i] == KIND_PULL) {
			const struct kb_service *s = &dp->svc->s[ue->svc];
			p = (struct kb_msk_msg_params){
				.idi = dp->idi,
				.idi_len = dp->idi_len,
				.msk_id = (uint32_t)s->cfg.key_group << 16,
				.msk = NULL,
				.v = false,
			};
			memcpy(p.domain, dp->cfg.domain, 3);
			t = &dp->tmpl[ue->svc];
		} else {
			/* a single-UE delivery: its own key, its own deadline */
			d = &sh->dlv[dli[i]];
			p = (struct kb_msk_msg_params){
				.idi = dp->idi,
				.idi_len = dp->idi_len,
				.msk_id = d->msk_id,
				.msk = d->msk,
				.v = d->v != 0,
			};
			memcpy(p.domain, dp->cfg.domain, 3);
			t = &dp->tmpl[ue->svc];
		}
		p.csb_id = ue->csb_id;
		p.counter = ue->next_ctr;
		p.rand = sa[i]->rand;
		p.idr = sa[i]->idr;
		p.idr_len = sa[i]->idr_len;
		size_t len = kb_msk_msg_len(&p);
		uint8_t *payload = kb_pkt_udp_prepare(t, m[i], &sa[i]->addr, (uint16_t)len);
		if (payload == NULL || kb_msk_msg_write(payload, len, &p, &lay[k]) != 0) {
			lc->st.build_errors++;
			rte_pktmbuf_free(m[i]);
			continue;
		}
		req[k] = (struct kb_seal_req){
			.msg = payload, .lay = &lay[k], .sa = sa[i], .counter = p.counter};
		m[k++] = m[i];
		/* the counter is spent once the message is written */
		uint32_t ctr = ue->next_ctr++;
		if (ctr > lc->max_ctr)
			__atomic_store_n(&lc->max_ctr, ctr, __ATOMIC_RELAXED);
		if (kind[i] == KIND_PULL) {
			lc->st.tx_pulls++;
			continue;
		}
		if (kind[i] == KIND_DLV) {
			lc->st.tx_delivers++;
			/* tracked, and no rollover took the UE in this very build */
			if (d->tracked && ue->gen == 0) {
				if (d->tries == 1 || ue->state != KB_UE_PENDING) {
					ue->first_ctr = ctr;
					ue->state = d->v ? KB_UE_PENDING : KB_UE_DELIVERED;
				}
				ue->last_ctr = ctr;
			}
			continue;
		}
		if (ue->first_ctr == 0)
			ue->first_ctr = ctr;
		ue->last_ctr = ctr;
		sh->ro_sent++;
		if (p.v) {
			ack_slots[n_ack_slots++] = slots[i];
			if (ue->tries > max_tries)
				max_tries = ue->tries;
		} else {
			ue->state = KB_UE_DELIVERED;
		}
	}
	for (; next != NULL && pf < next->n; pf++)
		if (next->sa[pf] != NULL)
			kb_sa_prefetch(next->sa[pf]);
	/* one deadline per chunk: build_and_send kept a record for each */
	if (n_ack_slots > 0 && kb_retx_arm(lc, ack_slots, n_ack_slots, max_tries, now) != 0)
		lc->st.build_errors++;
	if (k == 0)
		return;

	unsigned sealed =
		lc->ref_ctx != NULL ? seal_ref(lc, req, k) : kb_seal_burst(lc->sealer, req, k);
	if (sealed != k) {
		/* never send a message that is not sealed */
		lc->st.seal_errors += k;
		rte_pktmbuf_free_bulk(m, k);
		return;
	}
	kb_pkt_udp_finish_burst(&dp->tmpl[0], m, k);
	uint64_t bytes = 0;
	for (unsigned i = 0; i < k; i++)
		bytes += m[i]->pkt_len;
	lc->st.tx_bytes += bytes;
	lc->st.tx_msgs += k;
	/* build_and_send only builds into an empty queue, at most
	 * KB_BUILD_CHUNKS chunks: this always fits */
	memcpy(lc->txq + lc->txq_head + lc->txq_n, m, k * sizeof(m[0]));
	lc->txq_n += k;
	tx_push(lc, now);
}

/* Build, seal and send up to KB_BUILD_CHUNKS bursts: gather the UEs, then
 * a software pipeline over the chunks (chunk c + 1 looked up, prefetched
 * and given mbufs while chunk c is written, sealed and sent). */
static void build_and_send(struct kb_lcore *lc, uint64_t now)
{
	struct kb_dp *dp = lc->dp;
	struct kb_shard *sh = &lc->sh;
	const unsigned burst = dp->cfg.burst;
	unsigned max = burst * KB_BUILD_CHUNKS;

	/* back-pressure: the queue first; nothing new until it is empty */
	tx_push(lc, now);
	if (lc->txq_n > 0)
		return;
	if (sh->pull_head == sh->pull_tail && !sh->ro_active && sh->n_dlv == 0)
		return;
	if (!__atomic_load_n(&dp->nh.known, __ATOMIC_ACQUIRE))
		return; /* no next hop MAC yet: ARP is asking */
	const struct kb_service *svc = &dp->svc->s[sh->ro_job.svc];
	if (sh->ro_active && svc->cfg.ack) {
		/* every chunk with ack-wanted messages takes a deadline record */
		uint32_t fr = kb_retx_free_recs(lc);
		if (fr > 0 && max > fr * burst)
			max = fr * burst;
	}
	max = kb_tb_take(lc, max, now, dp->tsc_hz);
	if (max == 0)
		return;

	uint32_t limit32;
	uint64_t limit = __atomic_load_n(&dp->ctr_limit, __ATOMIC_ACQUIRE);
	limit32 = limit > UINT32_MAX ? UINT32_MAX : (uint32_t)limit;
	if (lc->grant_asked && (uint64_t)lc->max_ctr + 1 < limit)
		lc->grant_asked = false;

	uint32_t slots[KB_TXQ_MAX], csb[KB_TXQ_MAX];
	uint8_t kind[KB_TXQ_MAX];
	uint16_t dli[KB_TXQ_MAX];
	unsigned n_ack;
	unsigned n = gather(lc, max, limit32, now, slots, kind, dli, &n_ack);
	(void)n_ack;
	if (n < max && lc->tb_rate != 0)
		lc->tb_tokens += max - n; /* give back what we could not use */
	if (n == 0)
		return;
	for (unsigned i = 0; i < n; i++)
		csb[i] = sh->ue[slots[i]].csb_id;

	/* what every rollover message shares */
	struct kb_msk_msg_params ro = {
		.idi = dp->idi,
		.idi_len = dp->idi_len,
		.msk_id = sh->ro_job.msk_id,
		.msk = svc->msk_next,
		.v = svc->cfg.ack,
	};
	memcpy(ro.domain, dp->cfg.domain, 3);

	struct chunk ck[2];
	unsigned nc = (n + burst - 1) / burst;
	ck[0].off = 0;
	ck[0].n = n < burst ? n : burst;
	chunk_prepare(lc, csb, &ck[0], true);
	for (unsigned c = 0; c < nc; c++) {
		struct chunk *cur = &ck[c & 1], *next = NULL;
		if (c + 1 < nc) {
			next = &ck[(c + 1) & 1];
			next->off = cur->off + cur->n;
			next->n = n - next->off < burst ? n - next->off : burst;
			chunk_prepare(lc, csb, next, false);
		}
		chunk_build(lc, now, slots, kind, dli, cur, &ro, next);
	}
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

int kb_lcore_event(struct kb_lcore *lc, const struct kb_event *ev)
{
	if (kb_event_queue_add(&lc->evq, ev) == 0)
		return 0;
	lc->st.events_dropped++;
	return -1;
}

uint32_t kb_lcore_events_flush(struct kb_lcore *lc)
{
	return kb_event_queue_flush(&lc->evq, lc->dp->events);
}

void kb_lcore_poll_once(struct kb_lcore *lc, uint64_t now)
{
	poll_jobs(lc);
	build_and_send(lc, now);
	check_done(lc);
	kb_ptm_poll(lc, now);
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

		/* a loop builds up to KB_BUILD_CHUNKS bursts: take as many acks
		 * back, or the RX ring overflows at full rate */
		uint16_t n = 0, got;
		do {
			got = rte_eth_rx_burst(port, q, rx, KB_RX_BURST);
			if (got > 0)
				kb_ack_rx(lc, rx, got);
			n += got;
		} while (got == KB_RX_BURST && n < KB_RX_BURST * KB_BUILD_CHUNKS * 2);
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
		kb_lcore_events_flush(lc);
		rte_rcu_qsbr_quiescent(dp->qsbr, lc->idx);
	}
	/* drain: everything built goes out before we stop (a TX queue that
	 * takes nothing for KB_TX_STALL_MS gets its messages dropped) */
	rte_eth_tx_buffer_flush(port, q, lc->txb);
	while (lc->txq_n > 0)
		tx_push(lc, rte_rdtsc());
	kb_lcore_events_flush(lc); /* what does not fit: the main thread's, after */
	lc->stop_tsc = rte_rdtsc();
	rte_rcu_qsbr_thread_offline(dp->qsbr, lc->idx);
	rte_rcu_qsbr_thread_unregister(dp->qsbr, lc->idx);
	return 0;
}
