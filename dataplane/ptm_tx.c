/* PTM push inside keyburstd (see ptm_tx.h). */
#include "ptm_tx.h"

#include "events.h"
#include "lcore.h"
#include "log.h"
#include "ptm.h"
#include "rollover.h"
#include "util/secret.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>

enum { SLOT_FREE = 0, SLOT_POSTED, SLOT_SENDING, SLOT_CANCELLED };

struct ptm_slot {
	uint32_t state; /* atomic: the bridge and the owning lcore race on it */
	uint32_t push_num;
	const uint8_t *obj;
	uint32_t len;
};

struct ptm_svc {
	/* written by the bridge before the first job names the service (the
	 * job ring orders it before the lcore's reads) */
	bool configured;
	uint16_t lcore;
	char name[KB_PTM_NAME_MAX];
	struct kb_ptm_cfg cfg;
	/* the owning lcore's */
	struct kb_ptm *ptm;
	bool listed, have_msk;
	uint32_t fifo[KB_PTM_SLOTS]; /* slots waiting; a slot is in one FIFO at most */
	uint32_t head, tail;
	int32_t cur; /* the slot inside the engine, or -1 */
	uint64_t next_ns;
	struct kb_ptm_stats seen; /* engine counters already added to the lcore's */
};

struct ptm_ev {
	uint32_t slot;
	bool ok;
};

struct ptm_lcore {
	struct kb_srtp_burster *burster;
	uint16_t svc[KB_MAX_SERVICES];
	unsigned n_svc;
	/* frames the TX queue did not take yet */
	struct rte_mbuf *pend[KB_PTM_BURST_MAX];
	unsigned pend_head, n_pend;
	uint64_t pend_since;
	/* finished slots to report once their frames left (or the ring has room) */
	struct ptm_ev ev[KB_PTM_SLOTS];
	unsigned n_ev;
	bool busy;
	uint64_t busy_since, last_srtp;
	uint64_t busy_cpu_ns; /* the lcore thread's CPU time when busy began */
	struct kb_ptm_tx_stats st;
} __rte_cache_aligned;

struct kb_ptm_dp {
	struct ptm_slot slot[KB_PTM_SLOTS];
	struct ptm_svc svc[KB_MAX_SERVICES];
	struct ptm_lcore lc[KB_MAX_DP_LCORES];
	unsigned n_lcores;
};

struct kb_ptm_dp *kb_ptm_dp_new(struct kb_dp *dp)
{
	size_t sz = (sizeof(struct kb_ptm_dp) + RTE_CACHE_LINE_SIZE - 1) / RTE_CACHE_LINE_SIZE *
		    RTE_CACHE_LINE_SIZE;
	struct kb_ptm_dp *p = aligned_alloc(RTE_CACHE_LINE_SIZE, sz);
	if (p == NULL)
		return NULL;
	memset(p, 0, sz);
	p->n_lcores = dp->n_lcores;
	for (unsigned l = 0; l < dp->n_lcores; l++) {
		p->lc[l].burster = kb_srtp_burster_new();
		if (p->lc[l].burster == NULL) {
			kb_ptm_dp_free(p);
			return NULL;
		}
	}
	for (unsigned i = 0; i < KB_MAX_SERVICES; i++)
		p->svc[i].cur = -1;
	return p;
}

void kb_ptm_dp_free(struct kb_ptm_dp *p)
{
	if (p == NULL)
		return;
	for (unsigned i = 0; i < KB_MAX_SERVICES; i++)
		kb_ptm_free(p->svc[i].ptm); /* wipes the MSKs and MTKs */
	for (unsigned l = 0; l < p->n_lcores; l++) {
		if (p->lc[l].n_pend > 0)
			rte_pktmbuf_free_bulk(p->lc[l].pend + p->lc[l].pend_head, p->lc[l].n_pend);
		kb_srtp_burster_free(p->lc[l].burster);
	}
	kb_memzero(p, sizeof(*p));
	free(p);
}

/* ---- control side ---- */

/* The engine's settings for a service, on its first push. */
static int svc_setup(struct kb_dp *dp, struct ptm_svc *s, unsigned svc,
		     const struct kb_ptm_post *post)
{
	struct kb_ptm_svc_cfg pc;
	struct kb_ptm_cfg *c = &s->cfg;

	if (!dp->cfg.has_ip4 || dp->n_lcores == 0 || post->persist == NULL ||
	    strlen(post->service) >= sizeof(s->name)) {
		KB_LOG(ERR, "PTM %s: needs an IPv4 source address ([port] ip)", post->service);
		return -1;
	}
	kb_config_ptm(&dp->cfg, post->key_group, &pc);
	memset(c, 0, sizeof(*c));
	memcpy(c->domain, dp->cfg.domain, 3);
	/* the MTK messages' CSB ID and RAND: fixed for this run (the receivers
	 * take both from each message) */
	if (RAND_bytes((uint8_t *)&c->mtk_csb_id, sizeof(c->mtk_csb_id)) != 1 ||
	    RAND_bytes(c->rand, sizeof(c->rand)) != 1)
		return -1;
	c->mtk_csb_id |= 1;
	memcpy(c->src_mac, dp->port.mac, 6);
	memcpy(c->src_ip, dp->cfg.ip4, 4);
	memcpy(c->group_ip, pc.group, 4);
	c->src_port = dp->svc->s[svc].cfg.udp_port != 0 ? dp->svc->s[svc].cfg.udp_port : 4359;
	c->mtk_port = pc.mtk_port;
	c->data_port = pc.data_port;
	c->ttl = pc.ttl;
	c->ssrc = pc.ssrc;
	while (c->ssrc == 0)
		if (RAND_bytes((uint8_t *)&c->ssrc, sizeof(c->ssrc)) != 1)
			return -1;
	c->pt = pc.pt;
	c->srtp_max = pc.srtp_max;
	c->rate_bps = pc.rate_bps;
	c->sched = (struct kb_mtk_sched_cfg){
		.rotate_ms = pc.rotate_ms,
		.repeat_ms = pc.repeat_ms,
		.lead_ms = pc.lead_ms,
		.counter_block = pc.counter_block,
	};
	snprintf(s->name, sizeof(s->name), "%s", post->service);
	post->persist(s->name, &c->persist); /* ctx = s->name, which stays */
	s->lcore = (uint16_t)(svc % dp->n_lcores);
	s->configured = true;
	KB_LOG(INFO, "PTM %s: group %u.%u.%u.%u ports %u/%u, %lu bit/s, lcore %u", s->name,
	       pc.group[0], pc.group[1], pc.group[2], pc.group[3], pc.mtk_port, pc.data_port,
	       (unsigned long)pc.rate_bps, s->lcore);
	return 0;
}

int kb_ptm_post_push(struct kb_dp *dp, unsigned svc, const struct kb_ptm_post *post)
{
	struct kb_ptm_dp *p = dp->ptm;
	unsigned i;

	if (p == NULL || svc >= KB_MAX_SERVICES || post->msk == NULL)
		return -1;
	struct ptm_svc *s = &p->svc[svc];
	if (!s->configured && svc_setup(dp, s, svc, post) != 0)
		return -1;
	/* only this thread turns FREE slots into POSTED */
	for (i = 0; i < KB_PTM_SLOTS; i++)
		if (__atomic_load_n(&p->slot[i].state, __ATOMIC_ACQUIRE) == SLOT_FREE)
			break;
	if (i == KB_PTM_SLOTS)
		return -1;
	struct ptm_slot *sl = &p->slot[i];
	sl->push_num = post->push_num;
	sl->obj = post->obj;
	sl->len = post->len;
	__atomic_store_n(&sl->state, SLOT_POSTED, __ATOMIC_RELEASE);
	struct kb_job job = {
		.type = KB_JOB_PUSH,
		.n_csb = 1,
		.svc = (uint16_t)svc,
		.gen = post->push_num,
		.msk_id = post->msk_id,
	};
	job.csb[0] = i;
	memcpy(job.msk, post->msk, sizeof(job.msk));
	int rc = kb_job_post(dp->lc[s->lcore]->jobs, &job);
	kb_memzero(&job, sizeof(job));
	if (rc != 0) {
		__atomic_store_n(&sl->state, SLOT_FREE, __ATOMIC_RELEASE);
		return -1;
	}
	return 0;
}

int kb_ptm_cancel_push(struct kb_dp *dp, uint32_t push_num)
{
	struct kb_ptm_dp *p = dp->ptm;
	if (p == NULL)
		return -1;
	for (unsigned i = 0; i < KB_PTM_SLOTS; i++) {
		struct ptm_slot *sl = &p->slot[i];
		uint32_t want = SLOT_POSTED;
		if (__atomic_load_n(&sl->state, __ATOMIC_ACQUIRE) == SLOT_FREE ||
		    sl->push_num != push_num)
			continue;
		/* the lcore's CAS to SENDING and this one: exactly one wins */
		return __atomic_compare_exchange_n(&sl->state, &want, SLOT_CANCELLED, false,
						   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)
			       ? 0
			       : -1;
	}
	return -1;
}

int kb_ptm_post_msk(struct kb_dp *dp, unsigned svc, uint32_t msk_id, const uint8_t *msk)
{
	struct kb_ptm_dp *p = dp->ptm;
	if (p == NULL || svc >= KB_MAX_SERVICES || !p->svc[svc].configured)
		return 0;
	struct kb_job job = {
		.type = KB_JOB_PTM_MSK,
		.svc = (uint16_t)svc,
		.msk_id = msk_id,
	};
	memcpy(job.msk, msk, sizeof(job.msk));
	int rc = kb_job_post(dp->lc[p->svc[svc].lcore]->jobs, &job);
	kb_memzero(&job, sizeof(job));
	return rc;
}

bool kb_ptm_on_event(struct kb_dp *dp, const struct kb_event *ev, uint32_t *push_num, bool *ok)
{
	struct kb_ptm_dp *p = dp->ptm;
	if (p == NULL || ev->csb_id >= KB_PTM_SLOTS)
		return false;
	struct ptm_slot *sl = &p->slot[ev->csb_id];
	uint32_t st = __atomic_load_n(&sl->state, __ATOMIC_ACQUIRE);
	if (st == SLOT_FREE)
		return false;
	*push_num = sl->push_num;
	*ok = ev->type == KB_EV_PUSH_DONE && st == SLOT_SENDING;
	sl->obj = NULL;
	__atomic_store_n(&sl->state, SLOT_FREE, __ATOMIC_RELEASE);
	return st != SLOT_CANCELLED; /* a cancelled push was finalised by its canceller */
}

void kb_ptm_tx_stats(const struct kb_dp *dp, struct kb_ptm_tx_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (dp->ptm == NULL)
		return;
	/* relaxed reads of the lcores' counters: a snapshot */
	for (unsigned l = 0; l < dp->ptm->n_lcores; l++) {
#define X(name) out->name += __atomic_load_n(&dp->ptm->lc[l].st.name, __ATOMIC_RELAXED);
		KB_PTM_TX_STATS(X)
#undef X
	}
}

/* ---- dataplane side ---- */

static void ev_add(struct ptm_lcore *L, uint32_t slot, bool ok)
{
	/* every slot is reported once: KB_PTM_SLOTS entries always fit */
	L->ev[L->n_ev++] = (struct ptm_ev){.slot = slot, .ok = ok};
}

static void ev_flush(struct kb_lcore *lc, struct ptm_lcore *L)
{
	unsigned i;
	for (i = 0; i < L->n_ev; i++) {
		struct kb_event ev = {
			.type = L->ev[i].ok ? KB_EV_PUSH_DONE : KB_EV_PUSH_FAILED,
			.shard = (uint8_t)lc->idx,
			.csb_id = L->ev[i].slot,
		};
		if (kb_event_post(lc->dp->events, &ev) != 0)
			break; /* the ring is full: the rest next loop, never lost */
	}
	memmove(L->ev, L->ev + i, (L->n_ev - i) * sizeof(L->ev[0]));
	L->n_ev -= i;
}

void kb_ptm_take_job(struct kb_lcore *lc, struct kb_job *job)
{
	struct kb_ptm_dp *p = lc->dp->ptm;
	struct ptm_lcore *L;
	struct ptm_svc *s;

	if (p == NULL || job->svc >= KB_MAX_SERVICES || !p->svc[job->svc].configured)
		goto out;
	L = &p->lc[lc->idx];
	s = &p->svc[job->svc];
	if (s->ptm == NULL) {
		s->ptm = kb_ptm_new(&s->cfg, lc->sealer, L->burster);
		if (s->ptm == NULL)
			KB_LOG(ERR, "PTM %s: engine setup failed", s->name);
	}
	if (s->ptm != NULL && !s->listed) {
		L->svc[L->n_svc++] = job->svc;
		s->listed = true;
	}
	/* the first push brings the MSK; later ones only come from rollovers
	 * (a push posted before a rollover must not switch back) */
	if (s->ptm != NULL && (job->type == KB_JOB_PTM_MSK || !s->have_msk)) {
		if (kb_ptm_set_msk(s->ptm, job->msk_id, job->msk) == 0) {
			if (s->have_msk)
				KB_LOG(INFO, "PTM %s: MSK %08x, the next MTK goes under it",
				       s->name, job->msk_id);
			s->have_msk = true;
		} else {
			L->st.ptm_sched_errors++;
			KB_LOG(ERR, "PTM %s: MSK %08x refused (MTK marks not readable?)", s->name,
			       job->msk_id);
		}
	}
	if (job->type == KB_JOB_PUSH && job->csb[0] < KB_PTM_SLOTS) {
		if (s->ptm == NULL || !s->have_msk) {
			L->st.ptm_failed++;
			ev_add(L, job->csb[0], false);
		} else {
			s->fifo[s->tail++ % KB_PTM_SLOTS] = job->csb[0];
		}
	}
out:
	kb_memzero(job->msk, sizeof(job->msk));
}

/* CPU time of this thread: busy periods measured without the time the
 * lcore was preempted (a shared machine) */
static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t tsc_ns(const struct kb_dp *dp, uint64_t t)
{
	return t / dp->tsc_hz * 1000000000ull + t % dp->tsc_hz * 1000000000ull / dp->tsc_hz;
}

/* Hand the next queued push to the engine, unless it was cancelled. */
static void start_next(struct kb_ptm_dp *p, struct ptm_lcore *L, struct ptm_svc *s)
{
	while (s->cur < 0 && s->head != s->tail) {
		uint32_t slot = s->fifo[s->head++ % KB_PTM_SLOTS], want = SLOT_POSTED;
		struct ptm_slot *sl = &p->slot[slot];
		if (!__atomic_compare_exchange_n(&sl->state, &want, SLOT_SENDING, false,
						 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			L->st.ptm_cancelled++;
			ev_add(L, slot, false);
			continue;
		}
		struct kb_ptm_object o = {.push_id = sl->push_num, .obj = sl->obj, .len = sl->len};
		if (kb_ptm_push(s->ptm, &o) != 0) {
			L->st.ptm_failed++;
			ev_add(L, slot, false);
			continue;
		}
		s->cur = (int32_t)slot;
		s->next_ns = 0;
	}
}

/* Send frames on the lcore's queue; keep what it did not take. */
static void tx_frames(struct kb_lcore *lc, struct ptm_lcore *L, struct rte_mbuf **m, unsigned n,
		      uint64_t now)
{
	uint16_t sent = 0;
	if (lc->txb == NULL) {
		/* no port (tests): the frames end here */
		rte_pktmbuf_free_bulk(m, n);
		return;
	}
	if (n > 0)
		sent = rte_eth_tx_burst(lc->dp->port.port_id, (uint16_t)lc->idx, m, (uint16_t)n);
	if (sent < n) {
		memcpy(L->pend, m + sent, (n - sent) * sizeof(m[0]));
		L->pend_head = 0;
		L->n_pend = n - sent;
		L->pend_since = now;
	}
}

/* Retry the frames the queue refused. 0 when none are left. Dropped (and
 * the pushes they finish reported failed) only after KB_TX_STALL_MS without
 * progress, like the MSK path. */
static int tx_retry(struct kb_lcore *lc, struct ptm_lcore *L, uint64_t now)
{
	uint16_t sent = rte_eth_tx_burst(lc->dp->port.port_id, (uint16_t)lc->idx,
					 L->pend + L->pend_head, (uint16_t)L->n_pend);
	L->pend_head += sent;
	L->n_pend -= sent;
	if (L->n_pend == 0)
		return 0;
	if (sent > 0) {
		L->pend_since = now;
		return -1;
	}
	if (now - L->pend_since < lc->dp->tsc_hz / 1000 * KB_TX_STALL_MS)
		return -1;
	rte_pktmbuf_free_bulk(L->pend + L->pend_head, L->n_pend);
	L->st.ptm_tx_dropped += L->n_pend;
	L->n_pend = 0;
	for (unsigned i = 0; i < L->n_ev; i++)
		L->ev[i].ok = false;
	return 0;
}

static void add_engine_stats(struct ptm_lcore *L, struct ptm_svc *s)
{
	const struct kb_ptm_stats *e = kb_ptm_get_stats(s->ptm);
	L->st.ptm_mtk_msgs += e->mtk_msgs - s->seen.mtk_msgs;
	L->st.ptm_srtp_pkts += e->srtp_pkts - s->seen.srtp_pkts;
	L->st.ptm_tx_bytes += e->bytes_sent - s->seen.bytes_sent;
	L->st.ptm_seal_errors += e->seal_errors - s->seen.seal_errors;
	L->st.ptm_sched_errors += e->sched_errors - s->seen.sched_errors;
	s->seen = *e;
}

/* One engine step of a service into fresh mbufs, then out. */
static void step(struct kb_lcore *lc, struct kb_ptm_dp *p, struct ptm_lcore *L, struct ptm_svc *s,
		 uint64_t ns, uint64_t now)
{
	struct rte_mbuf *m[KB_PTM_BURST_MAX];
	uint8_t *bufs[KB_PTM_BURST_MAX];
	uint16_t lens[KB_PTM_BURST_MAX];
	uint32_t done[KB_PTM_BURST_MAX];
	unsigned n_done = 0;
	uint64_t next = 0, pkts = s->seen.srtp_pkts;

	if (rte_pktmbuf_alloc_bulk(lc->dp->pool, m, KB_PTM_BURST_MAX) != 0) {
		L->st.ptm_alloc_failures++;
		return; /* the pool refills as the port sends */
	}
	for (unsigned i = 0; i < KB_PTM_BURST_MAX; i++)
		bufs[i] = rte_pktmbuf_mtod(m[i], uint8_t *);
	int n = kb_ptm_step(s->ptm, ns, bufs, lens, KB_PTM_BURST_MAX, done, &n_done, &next);
	add_engine_stats(L, s);
	if (n < 0) {
		/* a seal failure (a bug, not a condition): nothing of it is sent;
		 * the push stays in flight, its content is still ours */
		rte_pktmbuf_free_bulk(m, KB_PTM_BURST_MAX);
		s->next_ns = ns + 1000000;
		return;
	}
	for (int i = 0; i < n; i++) {
		m[i]->data_len = lens[i];
		m[i]->pkt_len = lens[i];
	}
	if (n < KB_PTM_BURST_MAX)
		rte_pktmbuf_free_bulk(m + n, KB_PTM_BURST_MAX - (unsigned)n);
	for (unsigned i = 0; i < n_done; i++)
		if (s->cur >= 0 && p->slot[s->cur].push_num == done[i]) {
			ev_add(L, (uint32_t)s->cur, true);
			L->st.ptm_objects++;
			s->cur = -1;
		}
	s->next_ns = next;
	tx_frames(lc, L, m, (unsigned)n, now);
	if (s->seen.srtp_pkts != pkts) {
		if (!L->busy) {
			L->busy = true;
			L->busy_since = now;
			L->busy_cpu_ns = thread_cpu_ns();
		}
		L->last_srtp = now;
	}
}

void kb_ptm_poll(struct kb_lcore *lc, uint64_t now)
{
	struct kb_ptm_dp *p = lc->dp->ptm;
	if (p == NULL)
		return;
	struct ptm_lcore *L = &p->lc[lc->idx];
	if (L->n_svc == 0 && L->n_ev == 0)
		return;
	/* back-pressure: nothing new while frames wait for the queue */
	if (L->n_pend > 0 && tx_retry(lc, L, now) != 0)
		return;
	uint64_t ns = tsc_ns(lc->dp, now);
	bool any = false;
	for (unsigned i = 0; i < L->n_svc && L->n_pend == 0; i++) {
		struct ptm_svc *s = &p->svc[L->svc[i]];
		start_next(p, L, s);
		if (ns >= s->next_ns)
			step(lc, p, L, s, ns, now);
		start_next(p, L, s); /* the next object right after one finished */
	}
	for (unsigned i = 0; i < L->n_svc; i++)
		any |= p->svc[L->svc[i]].cur >= 0 ||
		       p->svc[L->svc[i]].head != p->svc[L->svc[i]].tail;
	if (!any && L->busy) {
		L->busy = false;
		L->st.ptm_active_us += (L->last_srtp - L->busy_since) * 1000000 / lc->dp->tsc_hz;
		L->st.ptm_active_cpu_us += (thread_cpu_ns() - L->busy_cpu_ns) / 1000;
	}
	if (L->n_pend == 0 && L->n_ev > 0)
		ev_flush(lc, L);
}
