/* The PAP endpoint (pap_api.h): Digest-authenticated, allowlisted and
 * rate-limited Push Initiators; push-message, statusquery-message and
 * cancel-message; durable pushes; posting to the dataplane; result
 * notifications. Order of checks: size (413), client certificate (pap_tls.h:
 * none when required → 403) or else Digest (401), parse, certificate names
 * no initiator / allowlist (2001), rate (4000, HTTP 429), then the message. */
#include "pap_api.h"

#include "ctl_internal.h"
#include "http_util.h"
#include "pap/pap.h"
#include "pap_tls.h"
#include "util/secret.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define PAP_PATH "/pap"
#define PAP_MT "application/xml"
#define PUSHES_MAX 1024

/* Stored value of KB_ST_PUSH: this header, then the content bytes while
 * the push is not final. */
struct kb_rec_push {
	uint8_t version;
	uint8_t state; /* enum kb_pap_state */
	uint8_t priority;
	uint8_t notify_pending;
	uint32_t num;
	uint32_t len; /* content bytes following the header */
	int64_t received, deliver_after, deliver_before, event_time;
	char initiator[KB_PAP_INITIATOR_MAX];
	char push_id[KB_PAP_PUSH_ID_MAX + 1];
	char service[KB_SERVICE_ID_MAX];
	char address[KB_PAP_SERVICE_ID_MAX + KB_PAP_HOST_MAX + 32];
	char notify_to[KB_PAP_URL_MAX + 1];
};

struct push {
	bool used, posted;
	struct kb_rec_push r;
	uint8_t *content;
};

struct bucket {
	double tokens;
	int64_t last_us;
};

/* The MSK a service's PTM was told to use after a rollover (use_msk). */
struct ptm_switch {
	bool used, posted;
	char service[KB_SERVICE_ID_MAX];
	uint32_t msk_id;
};
#define SWITCHES_MAX 64

static struct {
	bool configured;
	struct kb_pap_api_cfg cfg;
	struct kb_pap_initiator ini[KB_PAP_INITIATORS_MAX];
	char ini_id[KB_PAP_INITIATORS_MAX][KB_PAP_INITIATOR_MAX];
	char ini_pw[KB_PAP_INITIATORS_MAX][KB_DIGEST_PASSWORD_MAX];
	char addr[64];
	char client_ca[512];
	char realm[KB_GBA_FQDN_MAX + 8];
	struct bucket bk[KB_PAP_INITIATORS_MAX];
	struct kb_ctl *c;
	struct kb_digest_server *digest;
	struct MHD_Daemon *d;
	char *cert_pem, *key_pem, *ca_pem;
	pthread_mutex_t lock; /* pushes, buckets, next_num */
	struct push p[PUSHES_MAX];
	struct ptm_switch sw[SWITCHES_MAX];
	unsigned sw_next; /* the slot to reuse when all are taken */
	uint32_t next_num;
	pthread_t thr;
	bool thr_running;
	atomic_bool stop;
} g = {.lock = PTHREAD_MUTEX_INITIALIZER};

struct pap_req {
	size_t len, cap;
	char *body;
	bool too_large;
};

int kb_pap_api_configure(const struct kb_pap_api_cfg *cfg)
{
	if (cfg->n_initiators > KB_PAP_INITIATORS_MAX || cfg->post_push == NULL ||
	    !(cfg->switch_at >= 0 && cfg->switch_at <= 1) ||
	    (cfg->client_ca != NULL &&
	     (cfg->tls_cert == NULL || strlen(cfg->client_ca) >= sizeof(g.client_ca))) ||
	    (cfg->require_client_cert && cfg->client_ca == NULL))
		return -1;
	memset(g.ini, 0, sizeof(g.ini));
	g.cfg = *cfg;
	for (size_t i = 0; i < cfg->n_initiators; i++) {
		const struct kb_pap_initiator *s = &cfg->initiators[i];
		const char *pw = s->password != NULL ? s->password : "";
		/* no password: certificate only (Digest never accepts it) */
		if (s->id == NULL || strlen(s->id) >= KB_PAP_INITIATOR_MAX ||
		    strlen(pw) >= KB_DIGEST_PASSWORD_MAX || s->id[0] == '\0' ||
		    (pw[0] == '\0' && cfg->client_ca == NULL))
			return -1;
		snprintf(g.ini_id[i], sizeof(g.ini_id[i]), "%s", s->id);
		snprintf(g.ini_pw[i], sizeof(g.ini_pw[i]), "%s", pw);
		g.ini[i].id = g.ini_id[i];
		g.ini[i].password = g.ini_pw[i];
		g.ini[i].allowed = s->allowed;
	}
	g.cfg.initiators = g.ini;
	snprintf(g.addr, sizeof(g.addr), "%s", cfg->addr != NULL ? cfg->addr : "127.0.0.1");
	g.cfg.addr = g.addr;
	if (cfg->client_ca != NULL) {
		snprintf(g.client_ca, sizeof(g.client_ca), "%s", cfg->client_ca);
		g.cfg.client_ca = g.client_ca;
	}
	if (g.cfg.rate <= 0)
		g.cfg.rate = 10;
	if (g.cfg.burst <= 0)
		g.cfg.burst = 20;
	if (g.cfg.max_body == 0)
		g.cfg.max_body = 1 << 20;
	if (g.cfg.max_content == 0)
		g.cfg.max_content = g.cfg.max_body;
	if (g.cfg.default_lifetime == 0)
		g.cfg.default_lifetime = 3600;
	g.configured = true;
	return 0;
}

static int ini_find(const char *id)
{
	for (size_t i = 0; i < g.cfg.n_initiators; i++)
		if (strcmp(g.ini_id[i], id) == 0)
			return (int)i;
	return -1;
}

static int digest_lookup(void *ctx, const char *username, bool userhash, enum kb_digest_alg alg,
			 const char *realm, struct kb_digest_secret *secret)
{
	int i = ini_find(username);
	(void)ctx;
	(void)alg;
	(void)realm;
	if (userhash || i < 0 || g.ini_pw[i][0] == '\0')
		return -1;
	snprintf(secret->password, sizeof(secret->password), "%s", g.ini_pw[i]);
	return 0;
}

static bool rate_ok(int ini)
{
	struct timespec ts;
	int64_t now;
	struct bucket *b = &g.bk[ini];
	bool ok;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	pthread_mutex_lock(&g.lock);
	if (b->last_us == 0)
		b->tokens = g.cfg.burst;
	else
		b->tokens += (double)(now - b->last_us) * g.cfg.rate / 1e6;
	if (b->tokens > g.cfg.burst)
		b->tokens = g.cfg.burst;
	b->last_us = now;
	ok = b->tokens >= 1.0;
	if (ok)
		b->tokens -= 1.0;
	pthread_mutex_unlock(&g.lock);
	return ok;
}

/* ---- the store ---- */

static size_t push_key(char *key, size_t cap, const char *ini, const char *push_id)
{
	size_t il = strlen(ini), pl = strlen(push_id);
	if (il + 1 + pl > cap)
		return 0;
	memcpy(key, ini, il);
	key[il] = '\0';
	memcpy(key + il + 1, push_id, pl);
	return il + 1 + pl;
}

/* Persist a push (with its content while it is not final). Lock held. */
static int push_save(const struct push *p)
{
	char key[KB_PAP_INITIATOR_MAX + KB_PAP_PUSH_ID_MAX + 2];
	size_t kl = push_key(key, sizeof(key), p->r.initiator, p->r.push_id);
	bool keep = p->r.state == KB_PAP_STATE_PENDING;
	size_t n = sizeof(p->r) + (keep ? p->r.len : 0);
	uint8_t *v = malloc(n);
	int rc;

	if (v == NULL || kl == 0) {
		free(v);
		return -1;
	}
	memcpy(v, &p->r, sizeof(p->r));
	if (!keep)
		((struct kb_rec_push *)(void *)v)->len = 0;
	else if (p->r.len != 0)
		memcpy(v + sizeof(p->r), p->content, p->r.len);
	rc = g.c->st->ops->put(g.c->st, KB_ST_PUSH, key, kl, v, n);
	free(v);
	return rc == 0 ? 0 : -1;
}

static int load_cb(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
	const struct kb_rec_push *r = v;
	struct push *p = NULL;
	(void)arg;
	(void)k;
	(void)kl;
	if (vl < sizeof(*r) || r->version != KB_REC_VERSION || vl != sizeof(*r) + r->len)
		return 0;
	for (size_t i = 0; i < PUSHES_MAX && p == NULL; i++)
		if (!g.p[i].used)
			p = &g.p[i];
	if (p == NULL)
		return 0;
	memset(p, 0, sizeof(*p));
	memcpy(&p->r, r, sizeof(*r));
	if (r->len != 0) {
		p->content = malloc(r->len);
		if (p->content == NULL)
			return 0;
		memcpy(p->content, (const uint8_t *)v + sizeof(*r), r->len);
	}
	p->used = true;
	if (r->num >= g.next_num)
		g.next_num = r->num + 1;
	return 0;
}

/* Oldest final push, to make room. Lock held. */
static struct push *push_slot(void)
{
	struct push *old = NULL;
	for (size_t i = 0; i < PUSHES_MAX; i++) {
		struct push *p = &g.p[i];
		if (!p->used)
			return p;
		if (p->r.state != KB_PAP_STATE_PENDING && !p->r.notify_pending &&
		    (old == NULL || p->r.event_time < old->r.event_time))
			old = p;
	}
	if (old != NULL) {
		char key[KB_PAP_INITIATOR_MAX + KB_PAP_PUSH_ID_MAX + 2];
		size_t kl = push_key(key, sizeof(key), old->r.initiator, old->r.push_id);
		g.c->st->ops->del(g.c->st, KB_ST_PUSH, key, kl);
		free(old->content);
		memset(old, 0, sizeof(*old));
	}
	return old;
}

static struct push *push_find(const char *ini, const char *push_id)
{
	for (size_t i = 0; i < PUSHES_MAX; i++)
		if (g.p[i].used && strcmp(g.p[i].r.initiator, ini) == 0 &&
		    strcmp(g.p[i].r.push_id, push_id) == 0)
			return &g.p[i];
	return NULL;
}

static struct push *push_by_num(uint32_t num)
{
	for (size_t i = 0; i < PUSHES_MAX; i++)
		if (g.p[i].used && g.p[i].r.num == num)
			return &g.p[i];
	return NULL;
}

/* A final state: the content goes, the notification is due. Lock held. */
static void push_final(struct push *p, enum kb_pap_state s)
{
	p->r.state = (uint8_t)s;
	p->r.event_time = kb_ctl_now();
	p->r.notify_pending = p->r.notify_to[0] != '\0';
	if (push_save(p) != 0)
		fprintf(stderr, "pap: store update of push %" PRIu32 " failed\n", p->r.num);
	free(p->content);
	p->content = NULL;
	p->posted = false;
}

/* ---- replies ---- */

static enum MHD_Result pap_reply(struct MHD_Connection *con, unsigned http, enum kb_pap_out kind,
				 const struct kb_pap_result *r)
{
	char *xml = NULL;
	size_t len = 0;
	enum MHD_Result ret;
	if (kb_pap_build(kind, r, &xml, &len) != 0)
		return kb_http_error(con, MHD_HTTP_INTERNAL_SERVER_ERROR, "response");
	ret = kb_http_reply(con, http, PAP_MT, xml, len, NULL);
	free(xml);
	return ret;
}

static enum MHD_Result reply_code(struct MHD_Connection *con, unsigned http,
				  const struct kb_pap_control *ctl, int code, const char *desc,
				  const char *bad)
{
	struct kb_pap_result r = {
		.push_id = ctl->push_id,
		.code = code,
		.desc = desc,
		.sender_address = g.c->fqdn,
		.reply_time = kb_ctl_now(),
		.bad_fragment = bad,
	};
	enum kb_pap_out kind = ctl->kind == KB_PAP_STATUSQUERY ? KB_PAP_OUT_STATUSQUERY_RESPONSE
			       : ctl->kind == KB_PAP_CANCEL    ? KB_PAP_OUT_CANCEL_RESPONSE
							       : KB_PAP_OUT_PUSH_RESPONSE;
	if (ctl->push_id[0] == '\0') {
		/* nothing to echo: a badmessage-response */
		r.code = code;
		r.bad_fragment = bad != NULL ? bad : "";
		kind = KB_PAP_OUT_BADMESSAGE_RESPONSE;
	}
	return pap_reply(con, http, kind, &r);
}

/* ---- messages ---- */

static enum MHD_Result do_push(struct MHD_Connection *con, const char *ini,
			       const struct kb_pap_request *rq)
{
	const struct kb_pap_control *ctl = &rq->ctl;
	struct kb_rec_service svc;
	struct push *p;
	int64_t now = kb_ctl_now();
	char addr[sizeof(((struct kb_rec_push *)0)->address)];

	/* one service per push: the first address names it, any others must
	 * name the same one */
	for (unsigned i = 0; i < ctl->n_addr; i++) {
		if (strcasecmp(ctl->addr[i].host, g.c->fqdn) != 0 ||
		    strcmp(ctl->addr[i].service_id, ctl->addr[0].service_id) != 0)
			return reply_code(con, MHD_HTTP_OK, ctl, KB_PAP_ADDRESS_ERROR,
					  "address is not a service of this BM-SC", NULL);
	}
	int rc = kb_ctl_service_get(g.c, ctl->addr[0].service_id, &svc);
	if (rc == KB_STORE_NOTFOUND)
		return reply_code(con, MHD_HTTP_OK, ctl, KB_PAP_ADDRESS_ERROR, "unknown service",
				  NULL);
	if (rc != 0)
		return reply_code(con, MHD_HTTP_OK, ctl, KB_PAP_INTERNAL_ERROR, NULL, NULL);
	if (ctl->has_deliver_before && ctl->deliver_before <= now)
		return reply_code(con, MHD_HTTP_OK, ctl, KB_PAP_BAD_REQUEST,
				  "deliver-before-timestamp is in the past", NULL);
	if (rq->content_len > g.cfg.max_content || rq->content_len > UINT32_MAX)
		return reply_code(con, MHD_HTTP_OK, ctl, KB_PAP_BAD_REQUEST,
				  "content entity too large", NULL);
	snprintf(addr, sizeof(addr), "WAPPUSH=%s/TYPE=USER@%s", ctl->addr[0].service_id,
		 ctl->addr[0].host);

	pthread_mutex_lock(&g.lock);
	if (push_find(ini, ctl->push_id) != NULL) {
		pthread_mutex_unlock(&g.lock);
		return reply_code(con, MHD_HTTP_OK, ctl, KB_PAP_DUPLICATE_PUSH_ID, NULL, NULL);
	}
	p = push_slot();
	if (p == NULL) {
		pthread_mutex_unlock(&g.lock);
		return reply_code(con, MHD_HTTP_OK, ctl, KB_PAP_SERVICE_FAILURE,
				  "too many pushes pending", NULL);
	}
	memset(p, 0, sizeof(*p));
	p->r.version = KB_REC_VERSION;
	p->r.state = KB_PAP_STATE_PENDING;
	p->r.priority = (uint8_t)ctl->priority;
	p->r.num = g.next_num++;
	p->r.len = (uint32_t)rq->content_len;
	p->r.received = now;
	p->r.deliver_after = ctl->has_deliver_after ? ctl->deliver_after : 0;
	p->r.deliver_before =
		ctl->has_deliver_before ? ctl->deliver_before : now + g.cfg.default_lifetime;
	snprintf(p->r.initiator, sizeof(p->r.initiator), "%s", ini);
	snprintf(p->r.push_id, sizeof(p->r.push_id), "%s", ctl->push_id);
	snprintf(p->r.service, sizeof(p->r.service), "%s", svc.id);
	snprintf(p->r.address, sizeof(p->r.address), "%s", addr);
	snprintf(p->r.notify_to, sizeof(p->r.notify_to), "%s", ctl->notify_to);
	p->content = malloc(rq->content_len != 0 ? rq->content_len : 1);
	if (p->content == NULL) {
		pthread_mutex_unlock(&g.lock);
		return reply_code(con, MHD_HTTP_OK, ctl, KB_PAP_INTERNAL_ERROR, NULL, NULL);
	}
	if (rq->content_len != 0)
		memcpy(p->content, rq->content, rq->content_len);
	/* durable before it is accepted */
	if (push_save(p) != 0) {
		free(p->content);
		memset(p, 0, sizeof(*p));
		pthread_mutex_unlock(&g.lock);
		return reply_code(con, MHD_HTTP_OK, ctl, KB_PAP_INTERNAL_ERROR, NULL, NULL);
	}
	p->used = true;
	pthread_mutex_unlock(&g.lock);
	fprintf(stderr, "pap: push %" PRIu32 " from %s for %s accepted (%" PRIu32 " bytes)\n",
		p->r.num, ini, svc.id, p->r.len);
	struct kb_pap_result r = {
		.push_id = ctl->push_id,
		.code = KB_PAP_ACCEPTED,
		.sender_address = g.c->fqdn,
		.reply_time = now,
		.address = addr,
	};
	enum MHD_Result ret = pap_reply(con, MHD_HTTP_ACCEPTED, KB_PAP_OUT_PUSH_RESPONSE, &r);
	kb_pap_api_tick(now); /* deliver at once when it is due */
	return ret;
}

static enum MHD_Result do_query(struct MHD_Connection *con, const char *ini,
				const struct kb_pap_control *ctl)
{
	struct kb_pap_result r = {
		.push_id = ctl->push_id,
		.code = KB_PAP_OK,
		.sender_address = g.c->fqdn,
	};
	char address[sizeof(((struct kb_rec_push *)0)->address)];
	struct push *p;

	pthread_mutex_lock(&g.lock);
	p = push_find(ini, ctl->push_id);
	if (p == NULL) {
		pthread_mutex_unlock(&g.lock);
		return reply_code(con, MHD_HTTP_OK, ctl, KB_PAP_PUSH_ID_NOT_FOUND, NULL, NULL);
	}
	if (ctl->kind == KB_PAP_CANCEL) {
		bool can = p->r.state == KB_PAP_STATE_PENDING &&
			   (!p->posted || (g.cfg.cancel_push != NULL &&
					   g.cfg.cancel_push(g.cfg.ctx, p->r.num) == 0));
		if (can)
			push_final(p, KB_PAP_STATE_CANCELLED);
		else
			r.code = KB_PAP_SERVICE_FAILURE;
		r.desc = can ? NULL : "push already delivered, final or in flight";
	}
	r.state = (enum kb_pap_state)p->r.state;
	r.received_time = p->r.received;
	r.event_time = p->r.event_time;
	snprintf(address, sizeof(address), "%s", p->r.address);
	r.address = address;
	pthread_mutex_unlock(&g.lock);
	return pap_reply(con, MHD_HTTP_OK,
			 ctl->kind == KB_PAP_CANCEL ? KB_PAP_OUT_CANCEL_RESPONSE
						    : KB_PAP_OUT_STATUSQUERY_RESPONSE,
			 &r);
}

static enum MHD_Result challenge(struct MHD_Connection *con, bool stale)
{
	char nonce[KB_DIGEST_NONCE_LEN + 1];
	char ch[KB_DIGEST_ALG_COUNT][KB_DIGEST_CHALLENGE_MAX];
	const char *hdrs[2 * KB_DIGEST_ALG_COUNT + 1];
	size_t n = kb_digest_server_n_algs(g.digest), h = 0;
	if (kb_digest_server_nonce(g.digest, nonce) != 0)
		return kb_http_error(con, MHD_HTTP_INTERNAL_SERVER_ERROR, "no nonce");
	for (size_t i = 0; i < n && i < KB_DIGEST_ALG_COUNT; i++) {
		if (kb_digest_server_challenge(g.digest, i, nonce, stale, ch[i], sizeof(ch[i])) !=
		    0)
			continue;
		hdrs[h++] = MHD_HTTP_HEADER_WWW_AUTHENTICATE;
		hdrs[h++] = ch[i];
	}
	hdrs[h] = NULL;
	static const char msg[] = "error: Push Initiator authentication required (HTTP Digest)\n";
	return kb_http_reply(con, MHD_HTTP_UNAUTHORIZED, "text/plain; charset=utf-8", msg,
			     sizeof(msg) - 1, hdrs);
}

enum { CERT_NONE, CERT_OK, CERT_FORBIDDEN, CERT_REFUSE };

/* PI authentication by TLS client certificate ([pap] client_ca): a verified
 * certificate whose subject CN, or else a SAN dNSName, is a configured
 * initiator id. CERT_NONE: no certificate, HTTP Digest decides (unless
 * one is required: CERT_REFUSE); CERT_FORBIDDEN: a certificate that does
 * not verify or names no initiator (2001). */
static int cert_initiator(struct MHD_Connection *con, int *ini)
{
	char names[KB_PAP_TLS_NAMES_MAX][KB_PAP_TLS_NAME_MAX];
	size_t n = 0;

	*ini = -1;
	if (g.cfg.client_ca == NULL)
		return CERT_NONE;
	switch (kb_pap_tls_peer(con, names, &n)) {
	case KB_PAP_TLS_NO_CERT:
		return g.cfg.require_client_cert ? CERT_REFUSE : CERT_NONE;
	case KB_PAP_TLS_BAD_CERT:
		fprintf(stderr, "pap: 2001: client certificate does not verify\n");
		return CERT_FORBIDDEN;
	case KB_PAP_TLS_VERIFIED:
		break;
	}
	for (size_t i = 0; i < n && *ini < 0; i++)
		*ini = ini_find(names[i]);
	if (*ini < 0) {
		fprintf(stderr, "pap: 2001: certificate of '%.64s' names no initiator\n",
			n > 0 ? names[0] : "");
		return CERT_FORBIDDEN;
	}
	return CERT_OK;
}

static enum MHD_Result finish(struct MHD_Connection *con, const char *url, const char *method,
			      struct pap_req *r)
{
	struct kb_digest_request dr = {
		.method = method,
		.uri = url,
		.body = (const uint8_t *)r->body,
		.body_len = r->len,
	};
	struct kb_digest_verdict v;
	struct kb_pap_request rq;
	struct kb_pap_error perr = {0};
	struct kb_pap_limits lim = {.max_body = g.cfg.max_body, .max_content = g.cfg.max_content};
	enum kb_digest_result res;
	int ini = -1;

	if (r->too_large)
		return kb_http_error(con, MHD_HTTP_CONTENT_TOO_LARGE,
				     "request body exceeds the size limit");
	int cert = cert_initiator(con, &ini);
	if (cert == CERT_REFUSE)
		return kb_http_error(con, MHD_HTTP_FORBIDDEN, "a client certificate is required");
	if (cert == CERT_NONE) {
		dr.authorization = MHD_lookup_connection_value(con, MHD_HEADER_KIND,
							       MHD_HTTP_HEADER_AUTHORIZATION);
		dr.authorization_len = dr.authorization != NULL ? strlen(dr.authorization) : 0;
		res = kb_digest_server_verify(g.digest, &dr, &v);
		if (res != KB_DIGEST_OK || (ini = ini_find(v.username)) < 0) {
			if (res != KB_DIGEST_MISSING)
				fprintf(stderr, "pap: 401 %s for '%.64s'\n",
					kb_digest_result_name(res), v.username);
			return challenge(con, res == KB_DIGEST_STALE);
		}
	}
	const char *ct =
		MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	memset(&rq, 0, sizeof(rq));
	int prc = kb_pap_parse_request(ct != NULL ? ct : "", (const uint8_t *)r->body, r->len, &lim,
				       &rq, &perr);
	if (cert == CERT_FORBIDDEN || !g.ini[ini].allowed) {
		if (ini >= 0)
			fprintf(stderr, "pap: initiator '%s' is not on the allowlist\n",
				g.ini_id[ini]);
		return reply_code(con, MHD_HTTP_OK, &rq.ctl, KB_PAP_FORBIDDEN,
				  "initiator not allowed", NULL);
	}
	if (!rate_ok(ini)) {
		const char *hdrs[] = {"Retry-After", "1", NULL};
		struct kb_pap_result res2 = {
			.push_id = rq.ctl.push_id[0] != '\0' ? rq.ctl.push_id : "-",
			.code = KB_PAP_SERVICE_FAILURE,
			.desc = "rate limit exceeded",
			.sender_address = g.c->fqdn,
			.reply_time = kb_ctl_now(),
		};
		char *xml = NULL;
		size_t len = 0;
		if (kb_pap_build(KB_PAP_OUT_PUSH_RESPONSE, &res2, &xml, &len) != 0)
			return kb_http_error(con, MHD_HTTP_TOO_MANY_REQUESTS, "rate limit");
		enum MHD_Result ret =
			kb_http_reply(con, MHD_HTTP_TOO_MANY_REQUESTS, PAP_MT, xml, len, hdrs);
		free(xml);
		return ret;
	}
	if (prc != 0)
		return reply_code(con, MHD_HTTP_OK, &rq.ctl, perr.code, perr.desc,
				  perr.code == KB_PAP_BAD_REQUEST ? perr.desc : NULL);
	if (rq.ctl.kind == KB_PAP_PUSH)
		return do_push(con, g.ini_id[ini], &rq);
	return do_query(con, g.ini_id[ini], &rq.ctl);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *con, const char *url,
			       const char *method, const char *version, const char *upload_data,
			       size_t *upload_data_size, void **con_cls)
{
	struct pap_req *r = *con_cls;
	(void)cls;
	(void)version;
	if (r == NULL) {
		if (strcmp(url, PAP_PATH) != 0)
			return kb_http_error(con, MHD_HTTP_NOT_FOUND, "no such resource");
		if (strcmp(method, MHD_HTTP_METHOD_POST) != 0) {
			const char *hdrs[] = {MHD_HTTP_HEADER_ALLOW, "POST", NULL};
			return kb_http_reply(con, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
					     "error: POST only\n", 17, hdrs);
		}
		r = calloc(1, sizeof(*r));
		if (r == NULL)
			return MHD_NO;
		*con_cls = r;
		const char *cl = MHD_lookup_connection_value(con, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl != NULL && strtoull(cl, NULL, 10) > g.cfg.max_body) {
			r->too_large = true;
			return kb_http_error(con, MHD_HTTP_CONTENT_TOO_LARGE,
					     "request body exceeds the size limit");
		}
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		return kb_http_body_append(&r->body, &r->len, &r->cap, &r->too_large, upload_data,
					   n, g.cfg.max_body)
			       ? MHD_YES
			       : MHD_NO;
	}
	return finish(con, url, method, r);
}

static void done_cb(void *cls, struct MHD_Connection *con, void **con_cls,
		    enum MHD_RequestTerminationCode toe)
{
	struct pap_req *r = *con_cls;
	(void)cls;
	(void)con;
	(void)toe;
	if (r == NULL)
		return;
	free(r->body);
	free(r);
	*con_cls = NULL;
}

/* ---- delivery, expiry, notifications ---- */

static size_t discard(char *p, size_t s, size_t n, void *u)
{
	(void)p;
	(void)u;
	return s * n;
}

/* POST a resultnotification-message; outside the lock. 0 or -1. */
static int notify(const struct kb_rec_push *r)
{
	struct kb_pap_result res = {
		.push_id = r->push_id,
		.code = r->state == KB_PAP_STATE_DELIVERED ? KB_PAP_OK : KB_PAP_SERVICE_FAILURE,
		.sender_address = g.c->fqdn,
		.received_time = r->received,
		.event_time = r->event_time,
		.state = (enum kb_pap_state)r->state,
		.address = r->address,
	};
	char *xml = NULL;
	size_t len = 0;
	long http = 0;
	int rc = -1;
	CURL *cu;
	struct curl_slist *h = NULL;

	if (r->state == KB_PAP_STATE_CANCELLED)
		res.code = KB_PAP_OK;
	if (kb_pap_build(KB_PAP_OUT_RESULTNOTIFICATION, &res, &xml, &len) != 0)
		return -1;
	cu = curl_easy_init();
	if (cu == NULL)
		goto out;
	h = curl_slist_append(h, "Content-Type: " PAP_MT);
	curl_easy_setopt(cu, CURLOPT_URL, r->notify_to);
	curl_easy_setopt(cu, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(cu, CURLOPT_POSTFIELDS, xml);
	curl_easy_setopt(cu, CURLOPT_POSTFIELDSIZE, (long)len);
	curl_easy_setopt(cu, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(cu, CURLOPT_TIMEOUT, 5L);
	curl_easy_setopt(cu, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, discard);
	if (curl_easy_perform(cu) == CURLE_OK &&
	    curl_easy_getinfo(cu, CURLINFO_RESPONSE_CODE, &http) == CURLE_OK && http >= 200 &&
	    http < 300)
		rc = 0;
	curl_slist_free_all(h);
	curl_easy_cleanup(cu);
out:
	free(xml);
	return rc;
}

/* ---- the MSK of PTM content across a rollover ----
 * UEs keep two MSKs (TS 33.246): MTK messages stay under the old MSK until
 * enough UEs hold the new one, then move (docs/pap.md). */

static struct ptm_switch *switch_find(const char *service)
{
	for (size_t i = 0; i < SWITCHES_MAX; i++)
		if (g.sw[i].used && strcmp(g.sw[i].service, service) == 0)
			return &g.sw[i];
	return NULL;
}

/* The key number PTM of svc uses: the rollover's new one once the switch
 * was decided, else the current one. Lock held. */
static uint16_t ptm_kn(const struct kb_rec_service *svc)
{
	const struct ptm_switch *w = switch_find(svc->id);
	if (w != NULL && svc->next_kn != 0 &&
	    w->msk_id == ((uint32_t)svc->key_group << 16 | svc->next_kn))
		return svc->next_kn;
	return svc->current_kn;
}

/* Hand the decided MSK to the dataplane. Lock held. */
static void switch_post(struct ptm_switch *w)
{
	struct kb_rec_service svc;
	uint8_t msk[KB_MSK_LEN];
	uint16_t kn = (uint16_t)(w->msk_id & 0xffff);

	if (kb_ctl_service_get(g.c, w->service, &svc) != 0 || (w->msk_id >> 16) != svc.key_group ||
	    (kn != svc.next_kn && kn != svc.current_kn)) {
		w->posted = true; /* superseded by a later rollover: nothing to do */
		return;
	}
	if (kb_ctl_msk_get(g.c, &svc, kn, msk) != 0)
		return; /* retried at the next tick */
	w->posted = g.cfg.use_msk(g.cfg.ctx, svc.key_domain, svc.key_group, w->msk_id, msk) == 0;
	kb_memzero(msk, sizeof(msk));
	if (w->posted)
		fprintf(stderr, "pap: PTM of %s moves to MSK %08" PRIx32 "\n", w->service,
			w->msk_id);
}

void kb_pap_api_rollover_progress(const char *service, uint32_t msk_id, uint64_t delivered,
				  uint64_t failed, uint64_t targets)
{
	if (!g.configured || g.c == NULL || g.cfg.use_msk == NULL)
		return;
	if (delivered + failed < targets && (double)delivered < g.cfg.switch_at * (double)targets)
		return;
	pthread_mutex_lock(&g.lock);
	struct ptm_switch *w = switch_find(service);
	if (w == NULL || w->msk_id != msk_id) {
		if (w == NULL) {
			w = &g.sw[g.sw_next];
			g.sw_next = (g.sw_next + 1) % SWITCHES_MAX;
		}
		memset(w, 0, sizeof(*w));
		w->used = true;
		snprintf(w->service, sizeof(w->service), "%s", service);
		w->msk_id = msk_id;
		switch_post(w);
	}
	pthread_mutex_unlock(&g.lock);
}

void kb_pap_api_tick(int64_t now)
{
	struct kb_rec_push due[8];
	int n_due = 0;

	if (g.c == NULL)
		return;
	pthread_mutex_lock(&g.lock);
	for (size_t i = 0; i < SWITCHES_MAX; i++)
		if (g.sw[i].used && !g.sw[i].posted)
			switch_post(&g.sw[i]);
	for (size_t i = 0; i < PUSHES_MAX; i++) {
		struct push *p = &g.p[i];
		if (!p->used)
			continue;
		/* a push already being sent is let finish: its content is in use */
		if (p->r.state == KB_PAP_STATE_PENDING && p->r.deliver_before <= now &&
		    (!p->posted ||
		     (g.cfg.cancel_push != NULL && g.cfg.cancel_push(g.cfg.ctx, p->r.num) == 0)))
			push_final(p, KB_PAP_STATE_EXPIRED);
		if (p->r.state == KB_PAP_STATE_PENDING && !p->posted && p->r.deliver_after <= now) {
			struct kb_rec_service svc;
			struct kb_pap_push_job job = {
				.push_num = p->r.num,
				.obj = p->content,
				.len = p->r.len,
				.priority = p->r.priority,
			};
			uint16_t kn = 0;
			int src = kb_ctl_service_get(g.c, p->r.service, &svc);
			if (src == 0)
				kn = ptm_kn(&svc);
			if (src != 0 || kb_ctl_msk_get(g.c, &svc, kn, job.msk) != 0) {
				push_final(p, KB_PAP_STATE_UNDELIVERABLE);
			} else {
				snprintf(job.service, sizeof(job.service), "%s", svc.id);
				memcpy(job.key_domain, svc.key_domain, 3);
				job.key_group = svc.key_group;
				job.msk_id = (uint32_t)svc.key_group << 16 | kn;
				p->posted = g.cfg.post_push(g.cfg.ctx, &job) == 0;
			}
			kb_memzero(job.msk, sizeof(job.msk));
		}
		if (p->r.notify_pending && n_due < 8) {
			due[n_due++] = p->r;
			p->r.notify_pending = 0;
		}
	}
	pthread_mutex_unlock(&g.lock);
	for (int i = 0; i < n_due; i++) {
		if (notify(&due[i]) != 0)
			fprintf(stderr, "pap: notification of push %" PRIu32 " to %s failed\n",
				due[i].num, due[i].notify_to);
		/* the final record no longer needs a notification */
		pthread_mutex_lock(&g.lock);
		struct push *p = push_by_num(due[i].num);
		if (p != NULL && push_save(p) != 0)
			fprintf(stderr, "pap: store update failed\n");
		pthread_mutex_unlock(&g.lock);
	}
}

static void on_final(uint32_t num, enum kb_pap_state s)
{
	pthread_mutex_lock(&g.lock);
	struct push *p = push_by_num(num);
	if (p != NULL && p->r.state == KB_PAP_STATE_PENDING)
		push_final(p, s);
	pthread_mutex_unlock(&g.lock);
}

void kb_pap_api_on_delivered(uint32_t push_num)
{
	on_final(push_num, KB_PAP_STATE_DELIVERED);
}

void kb_pap_api_on_failed(uint32_t push_num)
{
	on_final(push_num, KB_PAP_STATE_UNDELIVERABLE);
}

static void *pap_thread(void *arg)
{
	(void)arg;
	while (!atomic_load(&g.stop)) {
		kb_pap_api_tick(kb_ctl_now());
		usleep(100 * 1000);
	}
	return NULL;
}

/* ---- MTK marks ---- */

static size_t mark_key(char *key, size_t cap, const char *svc, uint32_t msk_id)
{
	int n = snprintf(key, cap, "mtk_mark/%s/%08" PRIx32, svc, msk_id);
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

static int mark_load(void *ctx, uint32_t msk_id, struct kb_mtk_mark *m)
{
	char key[KB_SERVICE_ID_MAX + 32];
	size_t kl = mark_key(key, sizeof(key), ctx, msk_id), vl = 0;
	int rc;
	memset(m, 0, sizeof(*m));
	if (g.c == NULL || kl == 0)
		return -1;
	rc = g.c->st->ops->get(g.c->st, KB_ST_META, key, kl, m, sizeof(*m), &vl);
	if (rc == KB_STORE_NOTFOUND)
		return 0;
	return rc == 0 && vl == sizeof(*m) ? 0 : -1;
}

static int mark_save(void *ctx, uint32_t msk_id, const struct kb_mtk_mark *m)
{
	char key[KB_SERVICE_ID_MAX + 32];
	size_t kl = mark_key(key, sizeof(key), ctx, msk_id);
	if (g.c == NULL || kl == 0)
		return -1;
	return g.c->st->ops->put(g.c->st, KB_ST_META, key, kl, m, sizeof(*m)) == 0 ? 0 : -1;
}

void kb_pap_api_mtk_persist(const char *service, struct kb_mtk_persist *p)
{
	p->load = mark_load;
	p->save = mark_save;
	p->ctx = (void *)(uintptr_t)service;
}

/* ---- start / stop ---- */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;
	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && n < (1 << 20) &&
	    fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf != NULL && fread(buf, 1, (size_t)n, f) == (size_t)n) {
			buf[n] = '\0';
		} else {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	return buf;
}

int kb_pap_api_start(struct kb_ctl *c, char *err, size_t errlen)
{
	if (!g.configured || g.cfg.port == 0)
		return 0;
	g.c = c;
	atomic_store(&g.stop, false);
	kb_pap_init();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(g.realm, sizeof(g.realm), "pap@%s", c->fqdn);
	struct kb_digest_server_config dc = {
		.realm = g.realm,
		.algs = {KB_DIGEST_SHA256, KB_DIGEST_MD5},
		.n_algs = 2,
		.qops = {KB_DIGEST_QOP_AUTH_INT, KB_DIGEST_QOP_AUTH},
		.n_qops = 2,
		.nonce_lifetime = c->cfg.nonce_lifetime,
		.lookup = digest_lookup,
	};
	g.digest = kb_digest_server_new(&dc, err, errlen);
	if (g.digest == NULL)
		goto fail;
	pthread_mutex_lock(&g.lock);
	int rc = c->st->ops->iterate(c->st, KB_ST_PUSH, NULL, 0, load_cb, NULL);
	if (g.next_num == 0)
		g.next_num = 1;
	pthread_mutex_unlock(&g.lock);
	if (rc < 0) {
		snprintf(err, errlen, "pap: loading pushes from the store failed");
		goto fail;
	}
	if (g.cfg.tls_cert != NULL && g.cfg.tls_key != NULL) {
		g.cert_pem = slurp(g.cfg.tls_cert);
		g.key_pem = slurp(g.cfg.tls_key);
		if (g.cert_pem == NULL || g.key_pem == NULL) {
			snprintf(err, errlen, "pap: cannot read the TLS certificate or key");
			goto fail;
		}
	}
	if (g.cfg.client_ca != NULL) {
		g.ca_pem = slurp(g.cfg.client_ca);
		if (g.ca_pem == NULL) {
			snprintf(err, errlen, "pap: cannot read client_ca %s", g.cfg.client_ca);
			goto fail;
		}
		g.d = kb_pap_tls_start(g.cfg.addr, g.cfg.port, c->cfg.http_threads, g.cert_pem,
				       g.key_pem, g.ca_pem, handler, NULL, done_cb, err, errlen);
	} else {
		g.d = kb_http_start(g.cfg.addr, g.cfg.port, c->cfg.http_threads, g.cert_pem,
				    g.key_pem, handler, NULL, done_cb, err, errlen);
	}
	if (g.d == NULL)
		goto fail;
	if (pthread_create(&g.thr, NULL, pap_thread, NULL) != 0) {
		snprintf(err, errlen, "pap thread");
		goto fail;
	}
	g.thr_running = true;
	return 0;
fail:
	kb_pap_api_stop();
	return -1;
}

void kb_pap_api_stop(void)
{
	atomic_store(&g.stop, true);
	if (g.thr_running)
		pthread_join(g.thr, NULL);
	g.thr_running = false;
	if (g.d != NULL)
		MHD_stop_daemon(g.d);
	g.d = NULL;
	if (g.digest != NULL)
		kb_digest_server_free(g.digest);
	g.digest = NULL;
	pthread_mutex_lock(&g.lock);
	for (size_t i = 0; i < PUSHES_MAX; i++) {
		free(g.p[i].content);
		memset(&g.p[i], 0, sizeof(g.p[i]));
	}
	g.next_num = 0;
	memset(g.sw, 0, sizeof(g.sw));
	g.sw_next = 0;
	pthread_mutex_unlock(&g.lock);
	if (g.key_pem != NULL) {
		kb_memzero(g.key_pem, strlen(g.key_pem));
		free(g.key_pem);
	}
	free(g.cert_pem);
	free(g.ca_pem);
	g.key_pem = g.cert_pem = g.ca_pem = NULL;
	g.c = NULL;
}
