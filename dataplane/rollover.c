/* Service table, rollover jobs, progress, token bucket and counter grants. */
#include "rollover.h"

#include "counter_grant.h"
#include "lcore.h"
#include "log.h"
#include "sa.h"
#include "util/secret.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>
#include <rte_cycles.h>

int kb_service_find(const struct kb_services *t, uint16_t key_group)
{
	for (unsigned i = 0; i < t->n; i++)
		if (t->s[i].cfg.key_group == key_group)
			return (int)i;
	return -1;
}

uint32_t kb_service_gen_msk_id(const struct kb_service *s, uint32_t gen)
{
	const __typeof__(s->gen_msk[0]) *e = &s->gen_msk[gen % KB_GEN_HISTORY];
	return gen != 0 && e->gen == gen ? e->msk_id : 0;
}

int kb_service_add(struct kb_dp *dp, uint16_t key_group, uint16_t udp_port, bool ack)
{
	struct kb_services *t = dp->svc;
	unsigned n = t->n;
	if (n == KB_MAX_SERVICES)
		return -1;
	struct kb_service *s = &t->s[n];
	memset(s, 0, sizeof(*s));
	snprintf(s->cfg.name, sizeof(s->cfg.name), "group-%u", key_group);
	s->cfg.key_group = key_group;
	s->cfg.udp_port = udp_port;
	s->cfg.ack = ack;
	dp->cfg.svc[n] = s->cfg;
	if (dp->have_port)
		kb_pkt_tmpl_init(&dp->tmpl[n], dp->port.mac, dp->cfg.has_ip4 ? dp->cfg.ip4 : NULL,
				 dp->cfg.has_ip6 ? dp->cfg.ip6 : NULL, udp_port, &dp->nh,
				 dp->port.ip_csum_offload, dp->port.udp_csum_offload,
				 dp->cfg.udp_csum_v4);
	/* the entry is complete before anyone can find it */
	__atomic_store_n(&dp->cfg.n_services, n + 1, __ATOMIC_RELEASE);
	__atomic_store_n(&t->n, n + 1, __ATOMIC_RELEASE);
	KB_LOG(INFO, "service for key group %u added (udp port %u, acks %s)", key_group, udp_port,
	       ack ? "on" : "off");
	return (int)n;
}

int kb_rollover_start(struct kb_dp *dp, uint16_t key_group)
{
	int i = kb_service_find(dp->svc, key_group);
	if (i < 0)
		return -ENOENT;
	struct kb_service *s = &dp->svc->s[i];
	if (s->active)
		return -EBUSY;
	uint8_t msk[KB_MSK_LEN];
	if (RAND_bytes(msk, KB_MSK_LEN) != 1) {
		KB_LOG(ERR, "RAND_bytes failed: no MSK drawn");
		return -EIO;
	}
	/* key number 0 means "the current MSK" on the wire: skip it */
	int rc = kb_rollover_start_msk(
		dp, (unsigned)i, (uint16_t)(s->key_number == 0xffff ? 1 : s->key_number + 1), msk);
	kb_memzero(msk, sizeof(msk));
	return rc;
}

int kb_rollover_start_msk(struct kb_dp *dp, unsigned i, uint16_t kn, const uint8_t *msk)
{
	if (i >= dp->svc->n)
		return -ENOENT;
	struct kb_service *s = &dp->svc->s[i];
	uint16_t key_group = s->cfg.key_group;
	if (s->active)
		return -EBUSY;
	memcpy(s->msk_next, msk, KB_MSK_LEN);
	s->key_number = kn;
	s->gen++;
	s->gen_msk[s->gen % KB_GEN_HISTORY].gen = s->gen;
	s->gen_msk[s->gen % KB_GEN_HISTORY].msk_id = kb_service_msk_id(s);
	s->active = true;
	s->shards_done = 0;
	s->start_tsc = rte_rdtsc();
	s->end_tsc = 0;

	struct kb_job job = {
		.type = KB_JOB_ROLLOVER,
		.svc = (uint16_t)i,
		.gen = s->gen,
		.msk_id = kb_service_msk_id(s),
	};
	/* the ring's release ordering publishes msk_next before the job */
	for (unsigned l = 0; l < dp->n_lcores; l++)
		if (kb_job_post(dp->lc[l]->jobs, &job) != 0) {
			KB_LOG(ERR, "job ring of lcore %u full: rollover of group %u incomplete", l,
			       key_group);
			return -EAGAIN;
		}
	KB_LOG(INFO, "rollover of key group %u: MSK ID %08x, generation %u", key_group, job.msk_id,
	       s->gen);
	return 0;
}

int kb_pull_post(struct kb_dp *dp, uint32_t csb_id)
{
	unsigned shard;
	uint32_t slot;
	if (kb_dp_locate(dp, csb_id, &shard, &slot) != 0)
		return -ENOENT;
	struct kb_lcore *lc = dp->lc[shard];
	struct kb_job job = {.type = KB_JOB_PULL, .n_csb = 1};
	job.csb[0] = csb_id;
	job.svc = lc->sh.ue[slot].svc;
	return kb_job_post(lc->jobs, &job) == 0 ? 0 : -EAGAIN;
}

static void rollover_finish(struct kb_dp *dp, struct kb_service *s)
{
	s->end_tsc = rte_rdtsc();
	s->active = false;
	memcpy(s->msk_cur, s->msk_next, KB_MSK_LEN);
	kb_memzero(s->msk_next, KB_MSK_LEN);
	s->has_cur = true;
	s->cur_kn = s->key_number;
	struct kb_rollover_progress p;
	kb_rollover_progress(dp, (unsigned)(s - dp->svc->s), &p);
	KB_LOG(INFO,
	       "rollover of key group %u done: %lu UEs, %lu sent, %lu acked, %lu failed, %.0f "
	       "msgs/s",
	       s->cfg.key_group, p.ues, p.sent, p.acked, p.failed, p.rate_msgs_per_s);
}

unsigned kb_control_poll(struct kb_dp *dp, uint64_t *delivered, uint64_t *failed_events)
{
	return kb_control_poll_cb(dp, delivered, failed_events, NULL, NULL);
}

unsigned kb_control_poll_cb(struct kb_dp *dp, uint64_t *delivered, uint64_t *failed_events,
			    kb_event_cb cb, void *ctx)
{
	struct kb_event ev[64];
	unsigned total = 0, n;
	while ((n = kb_event_take(dp->events, ev, RTE_DIM(ev))) > 0) {
		for (unsigned i = 0; i < n; i++) {
			if (cb != NULL)
				cb(ctx, dp, &ev[i]);
			switch (ev[i].type) {
			case KB_EV_DELIVERED:
				if (delivered != NULL)
					(*delivered)++;
				break;
			case KB_EV_FAILED:
				if (failed_events != NULL)
					(*failed_events)++;
				KB_LOG(DEBUG, "csb %08x: no ack after all retries", ev[i].csb_id);
				break;
			case KB_EV_SHARD_DONE: {
				struct kb_service *s = &dp->svc->s[ev[i].svc];
				if (s->active && ev[i].gen == s->gen &&
				    ++s->shards_done == dp->n_lcores)
					rollover_finish(dp, s);
				break;
			}
			case KB_EV_GRANT_WANTED:
				break;
			default:
				break;
			}
		}
		total += n;
	}
	if (dp->grantor != NULL)
		kb_counter_grant_poll(dp, dp->grantor);
	return total;
}

void kb_rollover_progress(const struct kb_dp *dp, unsigned svc, struct kb_rollover_progress *p)
{
	const struct kb_service *s = &dp->svc->s[svc];
	memset(p, 0, sizeof(*p));
	p->msk_id = kb_service_msk_id(s);
	p->active = s->active;
	p->done = !s->active && s->gen > 0;
	for (unsigned l = 0; l < dp->n_lcores; l++) {
		const struct kb_shard *sh = &dp->lc[l]->sh;
		/* shards count for their current job only */
		if (sh->ro_job.svc != svc || sh->ro_job.gen != s->gen)
			continue;
		p->ues += __atomic_load_n(&sh->ro_target, __ATOMIC_RELAXED);
		p->sent += __atomic_load_n(&sh->ro_sent, __ATOMIC_RELAXED);
		p->acked += __atomic_load_n(&sh->ro_acked, __ATOMIC_RELAXED);
		p->pending += __atomic_load_n(&sh->ro_pending, __ATOMIC_RELAXED);
		p->retried += __atomic_load_n(&sh->ro_retried, __ATOMIC_RELAXED);
		p->failed += __atomic_load_n(&sh->ro_failed, __ATOMIC_RELAXED);
	}
	if (s->gen > 0) {
		uint64_t end = s->end_tsc != 0 ? s->end_tsc : rte_rdtsc();
		p->duration_s = (double)(end - s->start_tsc) / (double)dp->tsc_hz;
		if (p->duration_s > 0)
			p->rate_msgs_per_s = (double)p->sent / p->duration_s;
	}
}

void kb_tb_init(struct kb_lcore *lc, uint64_t pps, uint64_t burst, uint64_t tsc_hz, uint64_t now)
{
	(void)tsc_hz;
	lc->tb_rate = pps;
	lc->tb_cap = burst * 4;
	lc->tb_tokens = lc->tb_cap;
	lc->tb_last = now;
}

unsigned kb_tb_take(struct kb_lcore *lc, unsigned want, uint64_t now, uint64_t tsc_hz)
{
	if (lc->tb_rate == 0)
		return want;
	uint64_t dt = now - lc->tb_last;
	/* whole tokens only; keep the remainder of the time for the next call */
	uint64_t add = dt * lc->tb_rate / tsc_hz;
	if (add > 0) {
		lc->tb_last += add * tsc_hz / lc->tb_rate;
		lc->tb_tokens += add;
		if (lc->tb_tokens > lc->tb_cap) {
			lc->tb_tokens = lc->tb_cap;
			lc->tb_last = now;
		}
	}
	unsigned n = lc->tb_tokens < want ? (unsigned)lc->tb_tokens : want;
	lc->tb_tokens -= n;
	return n;
}

int kb_counter_grant_init(struct kb_dp *dp, struct kb_counter_grantor *g, uint32_t *floor)
{
	uint64_t f = g->floor(g);
	if (f >= UINT32_MAX - dp->cfg.counter_window) {
		KB_LOG(ERR, "counter floor %lu: the 32-bit counter space is used up", f);
		return -1;
	}
	*floor = f < 1 ? 1 : (uint32_t)f;
	uint64_t lim = g->grant(g, (uint64_t)*floor + dp->cfg.counter_window);
	if (lim == 0) {
		KB_LOG(ERR, "counter grant failed");
		return -1;
	}
	__atomic_store_n(&dp->ctr_limit, lim, __ATOMIC_RELEASE);
	dp->grantor = g;
	return 0;
}

void kb_counter_grant_poll(struct kb_dp *dp, struct kb_counter_grantor *g)
{
	uint64_t lim = __atomic_load_n(&dp->ctr_limit, __ATOMIC_ACQUIRE);
	uint64_t hi = 0;
	for (unsigned l = 0; l < dp->n_lcores; l++) {
		uint32_t m = __atomic_load_n(&dp->lc[l]->max_ctr, __ATOMIC_RELAXED);
		if (m > hi)
			hi = m;
	}
	/* low-water mark: half a window left */
	if (hi + dp->cfg.counter_window / 2 < lim)
		return;
	uint64_t want = hi + dp->cfg.counter_window;
	if (want > UINT32_MAX)
		want = UINT32_MAX;
	uint64_t nl = g->grant(g, want);
	if (nl > lim)
		__atomic_store_n(&dp->ctr_limit, nl, __ATOMIC_RELEASE);
}
