/* Services, their MSKs, rollovers and solicited pulls. A rollover persists
 * the new MSK and marks the service "rolling" before the job is posted, so
 * a restart finds it and posts it again (kb_ctl_rollover_resume_all). */
#include "ctl_internal.h"
#include "pap_api.h"

#include "util/be.h"
#include "util/secret.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int kb_ctl_service_get(struct kb_ctl *c, const char *id, struct kb_rec_service *out)
{
	size_t len = 0;
	int rc = c->st->ops->get(c->st, KB_ST_SERVICE, id, strlen(id), out, sizeof(*out), &len);
	if (rc == 0 && (len != sizeof(*out) || out->version != KB_REC_VERSION))
		return KB_STORE_ERR;
	return rc;
}

struct by_group {
	const uint8_t *domain;
	uint16_t group;
	struct kb_rec_service *out;
};

static int by_group_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
	struct by_group *g = arg;
	struct kb_rec_service s;
	(void)key;
	(void)klen;
	if (vlen != sizeof(s))
		return 0;
	memcpy(&s, val, sizeof(s)); /* LMDB values are not aligned */
	if (s.key_group == g->group && memcmp(s.key_domain, g->domain, 3) == 0) {
		*g->out = s;
		return 1;
	}
	return 0;
}

int kb_ctl_service_by_group(struct kb_ctl *c, const uint8_t domain[3], uint16_t group,
			    struct kb_rec_service *out)
{
	struct by_group g = {.domain = domain, .group = group, .out = out};
	int rc = c->st->ops->iterate(c->st, KB_ST_SERVICE, NULL, 0, by_group_cb, &g);
	return rc == 1 ? 0 : rc == 0 ? KB_STORE_NOTFOUND : KB_STORE_ERR;
}

int kb_ctl_msk_get(struct kb_ctl *c, const struct kb_rec_service *svc, uint16_t kn,
		   uint8_t msk[KB_MSK_LEN])
{
	struct kb_rec_msk rec;
	uint8_t key[7];
	size_t len = 0;
	kb_msk_key(key, svc->key_domain, svc->key_group, kn);
	int rc = c->st->ops->get(c->st, KB_ST_MSK, key, sizeof(key), &rec, sizeof(rec), &len);
	if (rc == 0 && len == sizeof(rec))
		memcpy(msk, rec.msk, KB_MSK_LEN);
	else if (rc == 0)
		rc = KB_STORE_ERR;
	kb_memzero(&rec, sizeof(rec));
	return rc;
}

static int put_msk(struct kb_store_batch *b, struct kb_ctl *c, const struct kb_rec_service *svc,
		   uint16_t kn, uint8_t msk_out[KB_MSK_LEN])
{
	struct kb_rec_msk rec = {.version = KB_REC_VERSION, .created = kb_ctl_now()};
	uint8_t key[7];
	int rc = -1;
	if (RAND_bytes(rec.msk, sizeof(rec.msk)) != 1)
		goto out;
	kb_msk_key(key, svc->key_domain, svc->key_group, kn);
	rc = c->st->ops->batch_put(b, KB_ST_MSK, key, sizeof(key), &rec, sizeof(rec));
	if (rc == 0 && msk_out != NULL)
		memcpy(msk_out, rec.msk, KB_MSK_LEN);
out:
	kb_memzero(&rec, sizeof(rec));
	return rc;
}

int kb_ctl_service_create(struct kb_ctl *c, const struct kb_rec_service *in)
{
	struct kb_rec_service svc = *in, other;
	struct kb_store_batch *b;
	size_t len = 0;
	pthread_mutex_lock(&c->writer);
	if (c->st->ops->get(c->st, KB_ST_SERVICE, svc.id, strlen(svc.id), NULL, 0, &len) == 0 ||
	    kb_ctl_service_by_group(c, svc.key_domain, svc.key_group, &other) == 0) {
		pthread_mutex_unlock(&c->writer);
		return 1;
	}
	svc.version = KB_REC_VERSION;
	svc.current_kn = 1;
	svc.next_kn = 0;
	svc.rollover_started = 0;
	svc.next_rollover = svc.rollover_period != 0 ? kb_ctl_now() + svc.rollover_period : 0;
	b = c->st->ops->batch_begin(c->st);
	if (b == NULL)
		goto fail;
	if (put_msk(b, c, &svc, 1, NULL) != 0 ||
	    c->st->ops->batch_put(b, KB_ST_SERVICE, svc.id, strlen(svc.id), &svc, sizeof(svc)) !=
		    0) {
		c->st->ops->batch_abort(b);
		goto fail;
	}
	if (c->st->ops->batch_commit(b) != 0)
		goto fail;
	pthread_mutex_unlock(&c->writer);
	return 0;
fail:
	pthread_mutex_unlock(&c->writer);
	return -1;
}

struct count_group {
	uint16_t group;
	uint64_t n, cap;
	uint32_t *csb;
	bool oom;
};

static int count_group_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
	struct count_group *g = arg;
	(void)key;
	(void)klen;
	struct kb_rec_sa sa;
	if (klen == 4 && kb_rec_sa_decode(val, vlen, &sa) == 0 && sa.key_group == g->group) {
		if (g->n == g->cap) {
			size_t cap = g->cap != 0 ? g->cap * 2 : 1024;
			uint32_t *n = realloc(g->csb, cap * sizeof(*n));
			if (n == NULL) {
				g->oom = true;
				return 1;
			}
			g->csb = n;
			g->cap = cap;
		}
		/* keys come in ascending order: csb[] is sorted */
		g->csb[g->n++] = kb_be32(key);
	}
	kb_memzero(&sa, sizeof(sa));
	return 0;
}

static void progress_begin(struct kb_ctl *c, const struct kb_rec_service *svc)
{
	struct count_group g = {.group = svc->key_group};
	c->st->ops->iterate(c->st, KB_ST_SA, NULL, 0, count_group_cb, &g);
	uint8_t *answered = g.oom ? NULL : calloc(g.n / 8 + 1, 1);
	if (answered == NULL) {
		fprintf(stderr, "control: rollover progress of %s not tracked (no memory)\n",
			svc->id);
		free(g.csb);
		return;
	}
	pthread_mutex_lock(&c->roll_lock);
	struct kb_rollover_progress *slot = NULL;
	for (int i = 0; i < KB_MAX_ROLLOVERS && slot == NULL; i++)
		if (c->roll[i].used && strcmp(c->roll[i].service, svc->id) == 0)
			slot = &c->roll[i];
	for (int i = 0; i < KB_MAX_ROLLOVERS && slot == NULL; i++)
		if (!c->roll[i].used)
			slot = &c->roll[i];
	if (slot != NULL) {
		free(slot->csb);
		free(slot->answered);
		slot->csb = g.csb;
		slot->answered = answered;
		g.csb = NULL;
		answered = NULL;
		slot->used = true;
		snprintf(slot->service, sizeof(slot->service), "%s", svc->id);
		slot->key_group = svc->key_group;
		slot->msk_id = (uint32_t)svc->key_group << 16 | svc->next_kn;
		slot->targets = g.n;
		atomic_store(&slot->delivered, 0);
		atomic_store(&slot->failed, 0);
		slot->started = svc->rollover_started;
	}
	pthread_mutex_unlock(&c->roll_lock);
	free(g.csb);
	free(answered);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

void kb_ctl_rollover_free(struct kb_ctl *c)
{
	for (int i = 0; i < KB_MAX_ROLLOVERS; i++) {
		free(c->roll[i].csb);
		free(c->roll[i].answered);
		c->roll[i].csb = NULL;
		c->roll[i].answered = NULL;
	}
}

static int post_rollover(struct kb_ctl *c, const struct kb_rec_service *svc)
{
	struct kb_ctl_job job = {
		.type = KB_CTL_JOB_ROLLOVER,
		.key_group = svc->key_group,
		.msk_id = (uint32_t)svc->key_group << 16 | svc->next_kn,
		.ack_wanted = svc->ack_wanted != 0,
		.retries = svc->retries,
	};
	int rc;
	memcpy(job.key_domain, svc->key_domain, 3);
	if (kb_ctl_msk_get(c, svc, svc->next_kn, job.msk) != 0)
		return -1;
	progress_begin(c, svc);
	rc = c->hooks.post_job != NULL ? c->hooks.post_job(c->hooks.ctx, &job) : -1;
	kb_memzero(job.msk, sizeof(job.msk));
	atomic_fetch_add(rc == 0 ? &c->jobs_posted : &c->jobs_refused, 1);
	if (rc == 0) {
		/* PTM moves to the new MSK only once enough UEs hold it (at
		 * once if the group has no UE, or progress is not tracked) */
		struct kb_rollover_progress pr = {0};
		bool tracked = kb_ctl_rollover_progress(c, svc->id, &pr) && pr.msk_id == job.msk_id;
		kb_pap_api_rollover_progress(svc->id, job.msk_id, 0, 0, tracked ? pr.targets : 0);
	}
	return rc;
}

int kb_ctl_rollover_start(struct kb_ctl *c, const char *service, char *err, size_t errlen)
{
	struct kb_rec_service svc;
	struct kb_store_batch *b;
	pthread_mutex_lock(&c->writer);
	if (kb_ctl_service_get(c, service, &svc) != 0) {
		snprintf(err, errlen, "unknown service");
		goto fail;
	}
	if (svc.next_kn != 0) {
		/* the previous rollover has not finished: the new MSK replaces
		 * it as current, and the UE keeps at most two MSKs */
		svc.current_kn = svc.next_kn;
	}
	svc.next_kn = (uint16_t)(svc.current_kn == 0xffff ? 1 : svc.current_kn + 1);
	svc.rollover_started = kb_ctl_now();
	svc.next_rollover =
		svc.rollover_period != 0 ? svc.rollover_started + svc.rollover_period : 0;
	b = c->st->ops->batch_begin(c->st);
	if (b == NULL) {
		snprintf(err, errlen, "store unavailable");
		goto fail;
	}
	if (put_msk(b, c, &svc, svc.next_kn, NULL) != 0 ||
	    c->st->ops->batch_put(b, KB_ST_SERVICE, svc.id, strlen(svc.id), &svc, sizeof(svc)) !=
		    0) {
		c->st->ops->batch_abort(b);
		snprintf(err, errlen, "store write failed");
		goto fail;
	}
	/* durable before any UE can see the new MSK */
	if (c->st->ops->batch_commit(b) != 0) {
		snprintf(err, errlen, "store commit failed");
		goto fail;
	}
	if (post_rollover(c, &svc) != 0) {
		snprintf(err, errlen,
			 "the dataplane refused the job (it stays pending and is "
			 "posted again at restart or on the next rollover request)");
		goto fail;
	}
	pthread_mutex_unlock(&c->writer);
	return 0;
fail:
	pthread_mutex_unlock(&c->writer);
	return -1;
}

static int resume_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
	struct kb_ctl *c = arg;
	struct kb_rec_service svc;
	(void)key;
	(void)klen;
	if (vlen != sizeof(svc))
		return 0;
	memcpy(&svc, val, sizeof(svc));
	if (svc.next_kn != 0) {
		fprintf(stderr, "control: resuming rollover of %s to key number %u\n", svc.id,
			svc.next_kn);
		post_rollover(c, &svc);
	}
	return 0;
}

int kb_ctl_rollover_resume_all(struct kb_ctl *c)
{
	pthread_mutex_lock(&c->writer);
	int rc = c->st->ops->iterate(c->st, KB_ST_SERVICE, NULL, 0, resume_cb, c);
	pthread_mutex_unlock(&c->writer);
	return rc;
}

/* The rollover is complete when every target answered (ack or give-up):
 * the new MSK becomes the current one in the store. */
static void maybe_finish(struct kb_ctl *c, struct kb_rollover_progress *p)
{
	struct kb_rec_service svc;
	if (atomic_load(&p->delivered) + atomic_load(&p->failed) < p->targets)
		return;
	pthread_mutex_lock(&c->writer);
	if (kb_ctl_service_get(c, p->service, &svc) == 0 &&
	    ((uint32_t)svc.key_group << 16 | svc.next_kn) == p->msk_id) {
		svc.current_kn = svc.next_kn;
		svc.next_kn = 0;
		c->st->ops->put(c->st, KB_ST_SERVICE, svc.id, strlen(svc.id), &svc, sizeof(svc));
	}
	pthread_mutex_unlock(&c->writer);
}

static void on_event(uint32_t csb_id, uint32_t msk_id, bool ok)
{
	struct kb_ctl *c = kb_ctl_g;
	struct kb_rollover_progress *hit = NULL;
	char service[KB_SERVICE_ID_MAX];
	uint64_t delivered = 0, failed = 0, targets = 0;
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->roll_lock);
	for (int i = 0; i < KB_MAX_ROLLOVERS; i++)
		if (c->roll[i].used && c->roll[i].msk_id == msk_id) {
			struct kb_rollover_progress *p = &c->roll[i];
			if (p->targets == 0 || p->csb == NULL)
				break;
			const uint32_t *at =
				bsearch(&csb_id, p->csb, p->targets, sizeof(*p->csb), cmp_u32);
			if (at == NULL)
				break; /* not a target of this rollover */
			size_t ix = (size_t)(at - p->csb);
			uint8_t bit = (uint8_t)(1u << (ix % 8));
			if ((p->answered[ix / 8] & bit) != 0)
				break; /* this UE already answered */
			p->answered[ix / 8] |= bit;
			hit = p;
			atomic_fetch_add(ok ? &hit->delivered : &hit->failed, 1);
			memcpy(service, p->service, sizeof(service));
			delivered = atomic_load(&p->delivered);
			failed = atomic_load(&p->failed);
			targets = p->targets;
			break;
		}
	pthread_mutex_unlock(&c->roll_lock);
	if (hit != NULL) {
		maybe_finish(c, hit);
		kb_pap_api_rollover_progress(service, msk_id, delivered, failed, targets);
	}
}

void kb_control_on_delivered(uint32_t csb_id, uint32_t msk_id)
{
	on_event(csb_id, msk_id, true);
}

void kb_control_on_failed(uint32_t csb_id, uint32_t msk_id)
{
	on_event(csb_id, msk_id, false);
}

bool kb_ctl_rollover_progress(struct kb_ctl *c, const char *service,
			      struct kb_rollover_progress *out)
{
	bool found = false;
	pthread_mutex_lock(&c->roll_lock);
	for (int i = 0; i < KB_MAX_ROLLOVERS; i++)
		if (c->roll[i].used && strcmp(c->roll[i].service, service) == 0) {
			struct kb_rollover_progress *p = &c->roll[i];
			out->used = true;
			memcpy(out->service, p->service, sizeof(out->service));
			out->key_group = p->key_group;
			out->msk_id = p->msk_id;
			out->targets = p->targets;
			atomic_store(&out->delivered, atomic_load(&p->delivered));
			atomic_store(&out->failed, atomic_load(&p->failed));
			out->started = p->started;
			found = true;
			break;
		}
	pthread_mutex_unlock(&c->roll_lock);
	return found;
}

struct solicit_ctx {
	struct kb_ctl *c;
	const struct kb_rec_service *svc;
	uint64_t posted, refused;
};

static int solicit_one(struct solicit_ctx *s, uint32_t csb_id)
{
	struct kb_ctl_job job = {
		.type = KB_CTL_JOB_SOLICIT,
		.csb_id = csb_id,
		.key_group = s->svc->key_group,
		.msk_id = (uint32_t)s->svc->key_group << 16, /* key number 0 */
		.ack_wanted = false,
		.retries = s->svc->retries,
	};
	memcpy(job.key_domain, s->svc->key_domain, 3);
	int rc = s->c->hooks.post_job != NULL ? s->c->hooks.post_job(s->c->hooks.ctx, &job) : -1;
	if (rc == 0)
		s->posted++;
	else
		s->refused++;
	return 0;
}

static int solicit_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
	struct solicit_ctx *s = arg;
	(void)val;
	(void)vlen;
	/* registration key: IMPI NUL service id */
	const char *impi = key;
	size_t il = strnlen(impi, klen);
	if (il + 1 >= klen || strlen(s->svc->id) != klen - il - 1 ||
	    memcmp((const char *)key + il + 1, s->svc->id, klen - il - 1) != 0)
		return 0;
	struct kb_rec_ue ue;
	uint8_t v[KB_REC_ENC_MAX];
	size_t len = 0;
	/* the MUK may be past its Ks_NAF lifetime: allowed for this message
	 * (TS 33.246 §6.3.2.2.4) */
	if (s->c->st->ops->get(s->c->st, KB_ST_UE, impi, il, v, sizeof(v), &len) == 0 &&
	    len <= sizeof(v) && kb_rec_ue_decode(v, len, &ue) == 0)
		solicit_one(s, ue.csb_id);
	return 0;
}

int kb_ctl_solicit(struct kb_ctl *c, const char *service, const char *impi, uint64_t *posted,
		   char *err, size_t errlen)
{
	struct kb_rec_service svc;
	struct solicit_ctx s = {.c = c, .svc = &svc};
	if (kb_ctl_service_get(c, service, &svc) != 0) {
		snprintf(err, errlen, "unknown service");
		return -1;
	}
	if (impi != NULL) {
		struct kb_rec_ue ue;
		uint8_t v[KB_REC_ENC_MAX];
		size_t len = 0;
		if (c->st->ops->get(c->st, KB_ST_UE, impi, strlen(impi), v, sizeof(v), &len) != 0 ||
		    len > sizeof(v) || kb_rec_ue_decode(v, len, &ue) != 0) {
			snprintf(err, errlen, "unknown UE");
			return -1;
		}
		solicit_one(&s, ue.csb_id);
	} else {
		c->st->ops->iterate(c->st, KB_ST_REG, NULL, 0, solicit_cb, &s);
	}
	*posted = s.posted;
	atomic_fetch_add(&c->jobs_posted, s.posted);
	atomic_fetch_add(&c->jobs_refused, s.refused);
	if (s.refused != 0) {
		snprintf(err, errlen, "%llu jobs refused by the dataplane",
			 (unsigned long long)s.refused);
		return -1;
	}
	return 0;
}
