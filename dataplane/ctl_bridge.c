/* The control plane's hooks into keyburstd (see ctl_bridge.h). */
#include "ctl_bridge.h"

#include "control/control.h"
#include "control/pap_api.h"
#include "counter_grant.h"
#include "events.h"
#include "keytable.h"
#include "lcore.h"
#include "log.h"
#include "ptm_tx.h"
#include "rollover.h"
#include "sa.h"
#include "util/secret.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>

/* a directory value whose SA was deleted: shard >= 128 never locates */
#define DIR_DELETED (1u << 31)

struct ev_note {
	uint32_t csb_id, msk_id; /* a push: msk_id is the push number */
	uint8_t ok;
	uint8_t push; /* a PTM push finished (kb_pap_api_on_*), not an MSK delivery */
};

static struct {
	struct kb_dp *dp;
	pthread_mutex_t lock;
	uint32_t next_slot[KB_MAX_DP_LCORES];
	uint32_t floor;
	bool have_floor;
	bool started;
	uint16_t ue_udp_port;
	struct kb_counter_grantor *grantor;
	/* events drained under the lock, handed to the control plane after */
	struct ev_note *notes;
	size_t n_notes, cap_notes;
} B = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* A job ring slot: the lcores drain quickly; wait for one rather than lose
 * a UE (we are on a control thread, never on a dataplane lcore). */
static int post_wait(struct rte_ring *r, const struct kb_job *job)
{
	for (int i = 0; i < 20000; i++) {
		if (kb_job_post(r, job) == 0)
			return 0;
		if (__atomic_load_n(&B.dp->force_quit, __ATOMIC_RELAXED))
			break;
		usleep(50);
	}
	return -1;
}

static void take_floor(void)
{
	if (B.have_floor)
		return;
	struct kb_counter_grantor *g = kb_control_counter_grantor();
	uint64_t f = g != NULL ? g->floor(g) : 1;
	B.floor = f < 1 ? 1 : f > UINT32_MAX ? UINT32_MAX : (uint32_t)f;
	B.have_floor = true;
}

/* The dataplane service for a control-plane key group (created on first
 * use: the control plane creates services at run time). */
static int svc_for(uint16_t key_group, bool ack)
{
	int i = kb_service_find(B.dp->svc, key_group);
	if (i >= 0)
		return i;
	return kb_service_add(B.dp, key_group, B.ue_udp_port, ack);
}

/* ---- hooks ---- */

static int hook_publish(void *ctx, const struct kb_sa_record *rec)
{
	struct kb_dp *dp = ctx;
	uint32_t csb = rec->csb_id;
	void *data;
	int rc;
	pthread_mutex_lock(&B.lock);
	take_floor();
	int svc = svc_for(rec->key_group, true);
	if (svc < 0) {
		KB_LOG(ERR, "SA %08x: no room for key group %u's service", csb, rec->key_group);
		rc = -ENOSPC;
		goto out;
	}
	unsigned shard = rec->shard;
	if (shard >= dp->n_lcores) {
		rc = -EINVAL;
		goto out;
	}
	/* the record first: a UE is only ever sent to once its SA is readable */
	rc = kb_keytable_publish(dp->kt, rec);
	if (rc != 0) {
		KB_LOG(ERR, "SA %08x: key table publish failed (%d)", csb, rc);
		goto out;
	}
	uint32_t slot;
	uint32_t v = UINT32_MAX;
	if (rte_hash_lookup_data(dp->dir_hash, &csb, &data) >= 0)
		v = (uint32_t)(uintptr_t)data;
	if (v != UINT32_MAX && (v & DIR_DELETED) == 0) {
		rc = 0; /* a replacement of a live SA: its UE state stays */
		goto out;
	}
	if (v != UINT32_MAX) {
		/* published again after a delete: the same slot, whose counter
		 * never went down (take_ue_add keeps the higher one) */
		v &= ~DIR_DELETED;
		shard = v >> KB_DIR_SLOT_BITS;
		slot = v & ((1u << KB_DIR_SLOT_BITS) - 1);
	} else {
		slot = B.next_slot[shard];
		if (slot >= dp->lc[shard]->sh.cap || slot >= (1u << KB_DIR_SLOT_BITS)) {
			KB_LOG(ERR, "SA %08x: shard %u is full (%u UEs; raise [control] max_ues)",
			       csb, shard, dp->lc[shard]->sh.cap);
			kb_keytable_delete(dp->kt, csb);
			rc = -ENOSPC;
			goto out;
		}
	}
	struct kb_job job = {
		.type = KB_JOB_UE_ADD,
		.n_csb = 1,
		.svc = (uint16_t)svc,
		.slot = slot,
		.ctr = B.floor,
	};
	job.csb[0] = csb;
	v = (uint32_t)shard << KB_DIR_SLOT_BITS | slot;
	/* the slot's state first (job ring, FIFO with any later DELIVER), then
	 * the directory entry that acks and jobs find it by */
	if (post_wait(dp->lc[shard]->jobs, &job) != 0) {
		KB_LOG(ERR, "SA %08x: job ring of lcore %u stays full", csb, shard);
		kb_keytable_delete(dp->kt, csb);
		rc = -EAGAIN;
		goto out;
	}
	if (rte_hash_add_key_data(dp->dir_hash, &csb, (void *)(uintptr_t)v) != 0) {
		KB_LOG(ERR, "SA %08x: the directory is full", csb);
		rc = -ENOSPC;
		goto out;
	}
	if (slot == B.next_slot[shard])
		B.next_slot[shard]++;
	dp->svc->s[svc].n_ues++;
	rc = 0;
out:
	pthread_mutex_unlock(&B.lock);
	return rc;
}

static int hook_delete(void *ctx, uint32_t csb)
{
	struct kb_dp *dp = ctx;
	void *data;
	pthread_mutex_lock(&B.lock);
	int rc = kb_keytable_delete(dp->kt, csb);
	if (rte_hash_lookup_data(dp->dir_hash, &csb, &data) >= 0) {
		uint32_t v = (uint32_t)(uintptr_t)data;
		if ((v & DIR_DELETED) == 0) {
			unsigned shard = v >> KB_DIR_SLOT_BITS;
			struct kb_job job = {.type = KB_JOB_UE_DEL, .n_csb = 1};
			job.csb[0] = csb;
			job.slot = v & ((1u << KB_DIR_SLOT_BITS) - 1);
			if (post_wait(dp->lc[shard]->jobs, &job) != 0)
				KB_LOG(ERR, "SA %08x: UE removal not posted", csb);
			/* the key stays (lock-free tables keep deleted key slots);
			 * the value says the UE is gone */
			rte_hash_add_key_data(dp->dir_hash, &csb,
					      (void *)(uintptr_t)(v | DIR_DELETED));
		}
	}
	pthread_mutex_unlock(&B.lock);
	return rc;
}

static bool rings_have_room(const struct kb_dp *dp)
{
	for (unsigned l = 0; l < dp->n_lcores; l++)
		if (rte_ring_free_count(dp->lc[l]->jobs) == 0)
			return false;
	return true;
}

static int post_rollover(struct kb_dp *dp, const struct kb_ctl_job *cj)
{
	int svc = svc_for(cj->key_group, cj->ack_wanted);
	if (svc < 0)
		return -1;
	struct kb_service *s = &dp->svc->s[svc];
	uint32_t msk_id = cj->msk_id;
	if (s->active) {
		if (kb_service_msk_id(s) == msk_id)
			return 0; /* already rolling out this very key */
		KB_LOG(WARNING,
		       "key group %u: rollover to %08x refused, %08x is still being delivered",
		       cj->key_group, msk_id, kb_service_msk_id(s));
		return -1;
	}
	for (int i = 0; i < 2000 && !rings_have_room(dp); i++)
		usleep(500);
	if (!rings_have_room(dp))
		return -1;
	s->cfg.ack = cj->ack_wanted;
	dp->cfg.svc[svc].ack = cj->ack_wanted;
	int rc = kb_rollover_start_msk(dp, (unsigned)svc, (uint16_t)msk_id, cj->msk);
	return rc == 0 ? 0 : -1;
}

static int post_deliver(struct kb_dp *dp, const struct kb_ctl_job *cj)
{
	unsigned shard;
	uint32_t slot;
	int svc = svc_for(cj->key_group, cj->ack_wanted);
	if (svc < 0 || kb_dp_locate(dp, cj->csb_id, &shard, &slot) != 0)
		return -1;
	struct kb_job job = {
		.type = KB_JOB_DELIVER,
		.n_csb = 1,
		.svc = (uint16_t)svc,
		.msk_id = cj->msk_id,
		.v = cj->ack_wanted,
	};
	job.csb[0] = cj->csb_id;
	memcpy(job.msk, cj->msk, sizeof(job.msk));
	int rc = post_wait(dp->lc[shard]->jobs, &job);
	kb_memzero(&job, sizeof(job));
	return rc;
}

static int hook_post_job(void *ctx, const struct kb_ctl_job *cj)
{
	struct kb_dp *dp = ctx;
	int rc = -1;
	if (memcmp(cj->key_domain, dp->cfg.domain, 3) != 0) {
		KB_LOG(ERR,
		       "job for key domain %02x%02x%02x refused: [identity] key_domain is "
		       "%02x%02x%02x",
		       cj->key_domain[0], cj->key_domain[1], cj->key_domain[2], dp->cfg.domain[0],
		       dp->cfg.domain[1], dp->cfg.domain[2]);
		return -1;
	}
	pthread_mutex_lock(&B.lock);
	switch (cj->type) {
	case KB_CTL_JOB_DELIVER_MSK:
		rc = post_deliver(dp, cj);
		break;
	case KB_CTL_JOB_ROLLOVER:
		/* PTM moves to this MSK later, through hook_ptm_use_msk */
		rc = post_rollover(dp, cj);
		break;
	case KB_CTL_JOB_SOLICIT:
		rc = kb_pull_post(dp, cj->csb_id) == 0 ? 0 : -1;
		break;
	}
	pthread_mutex_unlock(&B.lock);
	return rc;
}

/* ---- PAP pushes (control/pap_api.h) → PTM (ptm_tx.h) ---- */

/* Called by the PAP thread (with its own lock held: never call back into
 * pap_api from here). */
static int hook_post_push(void *ctx, const struct kb_pap_push_job *job)
{
	struct kb_dp *dp = ctx;
	int rc = -1;
	if (memcmp(job->key_domain, dp->cfg.domain, 3) != 0)
		return -1;
	pthread_mutex_lock(&B.lock);
	int svc = svc_for(job->key_group, true);
	if (svc >= 0) {
		struct kb_ptm_post post = {
			.service = job->service,
			.key_group = job->key_group,
			.push_num = job->push_num,
			.obj = job->obj,
			.len = job->len,
			.msk_id = job->msk_id,
			.msk = job->msk,
			.persist = kb_pap_api_mtk_persist,
		};
		rc = kb_ptm_post_push(dp, (unsigned)svc, &post);
	}
	pthread_mutex_unlock(&B.lock);
	return rc;
}

/* PAP decided PTM of the group may seal MTK messages with this MSK (the
 * rollover reached [ptm] switch_at). PAP thread or main thread. */
static int hook_ptm_use_msk(void *ctx, const uint8_t key_domain[3], uint16_t key_group,
			    uint32_t msk_id, const uint8_t msk[KB_MSK_LEN])
{
	struct kb_dp *dp = ctx;
	int rc = 0;
	if (memcmp(key_domain, dp->cfg.domain, 3) != 0)
		return -1;
	pthread_mutex_lock(&B.lock);
	int svc = kb_service_find(dp->svc, key_group);
	if (svc >= 0)
		rc = kb_ptm_post_msk(dp, (unsigned)svc, msk_id, msk);
	pthread_mutex_unlock(&B.lock);
	return rc;
}

static int hook_cancel_push(void *ctx, uint32_t push_num)
{
	pthread_mutex_lock(&B.lock);
	int rc = kb_ptm_cancel_push(ctx, push_num);
	pthread_mutex_unlock(&B.lock);
	return rc;
}

static const char *const stat_names[] = {
#define X(name) #name,
	KB_LCORE_STATS(X) KB_PTM_TX_STATS(X)
#undef X
};

static size_t hook_read_stats(void *ctx, struct kb_ctl_stat *out, size_t cap)
{
	struct kb_dp *dp = ctx;
	struct kb_lcore_stats tot;
	memset(&tot, 0, sizeof(tot));
	/* relaxed reads of other threads' counters: a snapshot, not a fence */
	for (unsigned l = 0; l < dp->n_lcores; l++) {
#define X(name) tot.name += __atomic_load_n(&dp->lc[l]->st.name, __ATOMIC_RELAXED);
		KB_LCORE_STATS(X)
#undef X
	}
	struct kb_ptm_tx_stats ptm;
	kb_ptm_tx_stats(dp, &ptm);
	const uint64_t *v = (const uint64_t *)&tot, *pv = (const uint64_t *)&ptm;
	const size_t n_lc = sizeof(tot) / sizeof(uint64_t);
	size_t n = sizeof(stat_names) / sizeof(stat_names[0]);
	if (n > cap)
		n = cap;
	for (size_t i = 0; i < n; i++) {
		out[i].name = stat_names[i];
		out[i].value = i < n_lc ? v[i] : pv[i - n_lc];
	}
	return n;
}

/* ---- events (main thread) ---- */

static void note(uint32_t csb, uint32_t msk_id, bool ok, bool push)
{
	if (B.n_notes == B.cap_notes) {
		size_t cap = B.cap_notes ? B.cap_notes * 2 : 4096;
		struct ev_note *p = realloc(B.notes, cap * sizeof(*p));
		if (p == NULL) {
			KB_LOG(ERR, "event to the control plane lost: out of memory");
			return;
		}
		B.notes = p;
		B.cap_notes = cap;
	}
	B.notes[B.n_notes++] =
		(struct ev_note){.csb_id = csb, .msk_id = msk_id, .ok = ok, .push = push};
}

static void on_event(void *ctx, struct kb_dp *dp, const struct kb_event *ev)
{
	(void)ctx;
	if (ev->type == KB_EV_PUSH_DONE || ev->type == KB_EV_PUSH_FAILED) {
		uint32_t num;
		bool ok;
		if (kb_ptm_on_event(dp, ev, &num, &ok))
			note(0, num, ok, true);
		return;
	}
	if (ev->svc >= dp->svc->n)
		return;
	const struct kb_service *s = &dp->svc->s[ev->svc];
	/* generation 0 is a single-UE delivery: no rollover to account for */
	uint32_t msk_id = kb_service_gen_msk_id(s, ev->gen);
	if (msk_id == 0)
		return;
	switch (ev->type) {
	case KB_EV_DELIVERED:
		note(ev->csb_id, msk_id, true, false);
		break;
	case KB_EV_FAILED:
		note(ev->csb_id, msk_id, false, false);
		break;
	case KB_EV_SHARD_DONE:
		/* without acks, a message that left is a delivery: no ack event
		 * will say so (value = messages the shard sent) */
		if (!s->cfg.ack)
			for (uint32_t i = 0; i < ev->value; i++)
				note(0, msk_id, true, false);
		break;
	default:
		break;
	}
}

void kb_ctl_bridge_poll(struct kb_dp *dp)
{
	pthread_mutex_lock(&B.lock);
	kb_control_poll_cb(dp, NULL, NULL, on_event, NULL);
	kb_keytable_reclaim(dp->kt);
	pthread_mutex_unlock(&B.lock);
	/* outside the lock: the control plane takes its own locks and the store */
	for (size_t i = 0; i < B.n_notes; i++) {
		if (B.notes[i].push) {
			if (B.notes[i].ok)
				kb_pap_api_on_delivered(B.notes[i].msk_id);
			else
				kb_pap_api_on_failed(B.notes[i].msk_id);
			continue;
		}
		if (B.notes[i].ok)
			kb_control_on_delivered(B.notes[i].csb_id, B.notes[i].msk_id);
		else
			kb_control_on_failed(B.notes[i].csb_id, B.notes[i].msk_id);
	}
	B.n_notes = 0;
	if (B.grantor != NULL)
		kb_counter_grant_poll(dp, B.grantor);
}

/* ---- start / stop ---- */

int kb_ctl_bridge_init(struct kb_dp *dp, uint32_t capacity, char *err, size_t errlen)
{
	/* deleted SAs keep their key (see hook_delete): room for re-bootstraps */
	struct rte_hash_parameters hp = {
		.name = "kb_csb_dir",
		.entries = capacity * 2 < 1024 ? 1024 : capacity * 2,
		.key_len = sizeof(uint32_t),
		.hash_func = rte_hash_crc,
		.socket_id = (int)rte_socket_id(),
		.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF,
	};
	B.dp = dp;
	dp->dir_hash = rte_hash_create(&hp);
	if (dp->dir_hash == NULL) {
		snprintf(err, errlen, "csb_id directory: %s", rte_strerror(rte_errno));
		return -1;
	}
	/* PTM push: its tables exist before the lcores look at dp->ptm */
	dp->ptm = kb_ptm_dp_new(dp);
	if (dp->ptm == NULL) {
		snprintf(err, errlen, "PTM push tables: out of memory or no IPsec-MB");
		return -1;
	}
	return 0;
}

static const char *opt(const char *s)
{
	return s[0] != '\0' ? s : NULL;
}

/* [pap]: the PAP listener for Push Initiators, posting to PTM. */
static int pap_configure(struct kb_dp *dp, char *err, size_t errlen)
{
	const struct kb_pap_conf *k = &dp->cfg.pap;
	struct kb_pap_initiator ini[KB_PAP_CONF_INITIATORS];
	if (k->port == 0)
		return 0;
	for (unsigned i = 0; i < k->n_initiators; i++)
		ini[i] = (struct kb_pap_initiator){
			.id = k->ini[i].id,
			.password = k->ini[i].password,
			.allowed = k->ini[i].allowed,
		};
	struct kb_pap_api_cfg pc = {
		.addr = opt(k->addr),
		.port = k->port,
		.tls_cert = opt(k->tls_cert),
		.tls_key = opt(k->tls_key),
		.initiators = ini,
		.n_initiators = k->n_initiators,
		.rate = k->rate,
		.burst = k->burst,
		.max_body = k->max_body,
		.max_content = k->max_content,
		.default_lifetime = k->default_lifetime,
		.post_push = hook_post_push,
		.cancel_push = hook_cancel_push,
		.use_msk = hook_ptm_use_msk,
		.ctx = dp,
		.switch_at = k->switch_at,
		.client_ca = opt(k->client_ca),
		.require_client_cert = k->require_client_cert,
	};
	if (kb_pap_api_configure(&pc) != 0) {
		snprintf(err, errlen, "[pap]: invalid settings");
		return -1;
	}
	return 0;
}

int kb_ctl_bridge_start(struct kb_dp *dp, char *err, size_t errlen)
{
	const struct kb_control_conf *k = &dp->cfg.ctl;
	const char *token = opt(k->admin_token);
	if (token == NULL)
		token = getenv("KEYBURST_ADMIN_TOKEN");
	B.ue_udp_port = k->ue_udp_port != 0 ? k->ue_udp_port : 4359;
	struct kb_control_cfg cfg = {
		.fqdn = dp->cfg.idi,
		.ue_addr = opt(k->ue_addr),
		.ue_port = k->ue_port,
		.tls_cert = opt(k->tls_cert),
		.tls_key = opt(k->tls_key),
		.admin_addr = opt(k->admin_addr),
		.admin_port = k->admin_port,
		.admin_token = token,
		.store_path = k->store,
		.store_map_size = k->store_map_size,
		.max_body = k->max_body,
		.nonce_lifetime = k->nonce_lifetime,
		.http_threads = k->http_threads,
		.ue_udp_port = B.ue_udp_port,
		.n_shards = dp->n_lcores,
		.mrk_variant = opt(k->mrk_variant),
		.bsf_sim = k->bsf_sim,
		.bsf_domain = opt(k->bsf_domain),
		.bsf_lifetime = k->bsf_lifetime,
		/* derivation workers share the main lcore's core (see below) */
		.import_threads = k->import_threads,
		.metrics_auth = k->metrics_auth,
	};
	struct kb_control_hooks hooks = {
		.ctx = dp,
		.sa_build = kb_sa_record_build,
		.publish_sa = hook_publish,
		.delete_sa = hook_delete,
		.post_job = hook_post_job,
		.read_stats = hook_read_stats,
	};
	if (pap_configure(dp, err, errlen) != 0)
		return -1;
	/* control threads (HTTP pools, timer) inherit this thread's affinity:
	 * the main lcore's core, never a dataplane lcore's */
	rte_cpuset_t cpus = rte_lcore_cpuset(rte_get_main_lcore());
	int prc = pthread_setaffinity_np(pthread_self(), sizeof(cpus), &cpus);
	if (prc != 0) {
		snprintf(err, errlen, "main lcore affinity: %s", strerror(prc));
		return -1;
	}
	if (kb_control_start(&cfg, &hooks, err, errlen) != 0)
		return -1;
	B.started = true;
	struct kb_counter_grantor *g = kb_control_counter_grantor();
	uint32_t floor;
	pthread_mutex_lock(&B.lock);
	take_floor();
	pthread_mutex_unlock(&B.lock);
	/* floor: the high-water mark the store persisted before this run; the
	 * first window is persisted before any counter is used */
	if (g == NULL || kb_counter_grant_init(dp, g, &floor) != 0) {
		snprintf(err, errlen, "counter grant from the store failed");
		kb_ctl_bridge_stop(dp);
		return -1;
	}
	dp->grantor = NULL; /* granted by kb_ctl_bridge_poll, outside the bridge lock */
	B.grantor = g;
	KB_LOG(INFO, "control plane up: store %s, counter floor %u, %u SAs in the key table",
	       k->store, floor, kb_keytable_count(dp->kt));
	return 0;
}

/* The PTM tables hold content pointers and keys: freed (and wiped) only
 * once no lcore runs; otherwise left to the process's exit. */
static void ptm_release(struct kb_dp *dp)
{
	for (unsigned l = 0; l < dp->n_lcores; l++)
		if (rte_eal_get_lcore_state(dp->lc[l]->lcore_id) == RUNNING)
			return;
	kb_ptm_dp_free(dp->ptm);
	dp->ptm = NULL;
}

void kb_ctl_bridge_stop(struct kb_dp *dp)
{
	if (!B.started)
		return;
	kb_control_stop();
	ptm_release(dp);
	B.started = false;
	B.grantor = NULL;
	free(B.notes);
	B.notes = NULL;
	B.n_notes = B.cap_notes = 0;
}
