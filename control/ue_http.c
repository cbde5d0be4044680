/* The UE listener (TS 33.246 §6.3.2): user service registration and
 * deregistration, and the MSK request, each an HTTP POST authenticated with
 * Digest over GBA credentials (username B-TID, password base64(MRK)).
 * Order of checks: size (413), Digest (401), media type and body (400),
 * then the per-item work with a status code per item. */
#include "http_util.h"

#include "ctl_internal.h"
#include "sa_mgr.h"
#include "ue_xml.h"
#include "util/secret.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UE_PATH_REGISTER "/mbms/v1/register"
#define UE_PATH_DEREGISTER "/mbms/v1/deregister"
#define UE_PATH_MSK "/mbms/v1/msk"

struct ue_req {
	enum kb_ep ep;
	size_t len, cap;
	char *body;
	bool too_large;
};

/* What the Digest lookup found for the request being verified on this
 * thread: the verdict needs the password, the handler then needs the MUK. */
static _Thread_local struct {
	bool have;
	int reason; /* KB_AUTH_EXPIRED or -1 */
	struct kb_bootstrap b;
} tl;

/* The thread's lookup cache (keysource.h) first: a hit skips the store
 * read, the MRK derivation and the HA1 hash. Expiry is checked on every
 * request either way. */
static int digest_lookup(void *ctx, const char *username, bool userhash, enum kb_digest_alg alg,
			 const char *realm, struct kb_digest_secret *secret)
{
	struct kb_ctl *c = ctx;
	int64_t now = kb_ctl_now();
	kb_bootstrap_wipe(&tl.b);
	tl.have = false;
	tl.reason = -1;
	if (userhash)
		return -1; /* not offered */
	bool hit = kb_ks_cache_get(username, now, &tl.b, alg, secret->ha1);
	if (!hit && kb_ctl_lookup(c, username, &tl.b) != KB_KS_FOUND)
		return -1;
	if (!kb_bootstrap_usable(&tl.b, now, false)) {
		tl.reason = KB_AUTH_EXPIRED;
		kb_bootstrap_wipe(&tl.b);
		return -1;
	}
	if (!hit)
		kb_ks_cache_put(&tl.b, now);
	if (secret->ha1[0] == '\0') {
		/* password = base64(MRK): 44 characters; the server accepts the
		 * HA1 in its place, which is what the cache keeps */
		EVP_EncodeBlock((unsigned char *)secret->password, tl.b.mrk, sizeof(tl.b.mrk));
		if (kb_digest_ha1(alg, username, realm, secret->password, secret->ha1) == 0)
			kb_ks_cache_put_ha1(username, alg, secret->ha1);
		else
			secret->ha1[0] = '\0';
	}
	tl.have = true;
	return 0;
}

int kb_ctl_lookup(struct kb_ctl *c, const char *btid, struct kb_bootstrap *out)
{
	struct kb_keysource *srcs[2] = {c->records, c->bsfsim};
	int last = KB_KS_UNKNOWN;
	for (size_t i = 0; i < 2; i++) {
		if (srcs[i] == NULL)
			continue;
		int rc = srcs[i]->lookup(srcs[i], btid, out);
		if (rc == KB_KS_FOUND)
			return rc;
		if (rc == KB_KS_ERR)
			last = rc;
	}
	return last;
}

struct kb_digest_server *kb_ctl_digest_new(struct kb_ctl *c, char *err, size_t errlen);
struct kb_digest_server *kb_ctl_digest_new(struct kb_ctl *c, char *err, size_t errlen)
{
	struct kb_digest_server_config dc = {
		.realm = c->realm,
		.algs = {KB_DIGEST_SHA256, KB_DIGEST_MD5},
		.n_algs = 2,
		/* PROTOCOLS §2: offer auth-int then auth (curl answers auth) */
		.qops = {KB_DIGEST_QOP_AUTH_INT, KB_DIGEST_QOP_AUTH},
		.n_qops = 2,
		.nonce_lifetime = c->cfg.nonce_lifetime,
		.lookup = digest_lookup,
		.lookup_ctx = c,
	};
	/* cached HA1s depend on the realm, cached keys on the store */
	kb_ks_cache_invalidate();
	return kb_digest_server_new(&dc, err, errlen);
}

static enum MHD_Result challenge(struct kb_ctl *c, struct MHD_Connection *con, bool stale)
{
	char nonce[KB_DIGEST_NONCE_LEN + 1];
	char ch[KB_DIGEST_ALG_COUNT][KB_DIGEST_CHALLENGE_MAX];
	const char *hdrs[2 * KB_DIGEST_ALG_COUNT + 1];
	size_t n = kb_digest_server_n_algs(c->digest), h = 0;
	if (kb_digest_server_nonce(c->digest, nonce) != 0)
		return kb_http_error(con, MHD_HTTP_INTERNAL_SERVER_ERROR, "no nonce");
	for (size_t i = 0; i < n && i < KB_DIGEST_ALG_COUNT; i++) {
		if (kb_digest_server_challenge(c->digest, i, nonce, stale, ch[i], sizeof(ch[i])) !=
		    0)
			continue;
		hdrs[h++] = MHD_HTTP_HEADER_WWW_AUTHENTICATE;
		hdrs[h++] = ch[i];
	}
	hdrs[h] = NULL;
	static const char msg[] = "error: authentication required (HTTP Digest with GBA "
				  "credentials)\n";
	return kb_http_reply(con, MHD_HTTP_UNAUTHORIZED, "text/plain; charset=utf-8", msg,
			     sizeof(msg) - 1, hdrs);
}

static void client_addr(struct kb_ctl *c, struct MHD_Connection *con, struct kb_ue_addr *a)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	memset(a, 0, sizeof(*a));
	a->port = c->cfg.ue_udp_port;
	if (ci == NULL || ci->client_addr == NULL)
		return;
	if (ci->client_addr->sa_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)ci->client_addr;
		a->af = AF_INET;
		memcpy(a->ip, &s->sin_addr, 4);
	} else if (ci->client_addr->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)ci->client_addr;
		a->af = AF_INET6;
		memcpy(a->ip, &s->sin6_addr, 16);
	}
}

static size_t reg_key(char *key, size_t cap, const char *impi, const char *sid)
{
	size_t il = strlen(impi), sl = strlen(sid);
	if (il + 1 + sl > cap)
		return 0;
	memcpy(key, impi, il);
	key[il] = '\0';
	memcpy(key + il + 1, sid, sl);
	return il + 1 + sl;
}

/* 200 with the response document and Authentication-Info computed over it:
 * with qop=auth-int the rspauth covers the body (RFC 7616 §3.5). */
static enum MHD_Result reply_ok(struct MHD_Connection *con, const struct kb_digest_verdict *v,
				const char *ctype, const char *doc, size_t len)
{
	char info[KB_DIGEST_INFO_MAX];
	const char *ai = v->auth_info;
	/* qop=auth: rspauth does not cover the body, and verify already made
	 * the header; auth-int: computed over this body */
	if (v->priv.qop == KB_DIGEST_QOP_AUTH_INT) {
		if (kb_digest_server_auth_info(v, (const uint8_t *)doc, len, info, sizeof(info)) !=
		    0)
			info[0] = '\0';
		ai = info;
	}
	const char *hdrs[] = {"Authentication-Info", ai, NULL};
	return kb_http_reply(con, MHD_HTTP_OK, ctype, doc, len, ai[0] != '\0' ? hdrs : NULL);
}

/* The registration's records, one per service of the request. */
struct reg_items {
	struct kb_ctl_reg_put put[KB_XML_MAX_ITEMS];
	size_t idx[KB_XML_MAX_ITEMS]; /* which item of the request */
	char key[KB_XML_MAX_ITEMS][KB_IMPI_MAX + KB_SERVICE_ID_MAX];
	uint8_t val[KB_XML_MAX_ITEMS][KB_REC_ENC_MAX];
};

/* Registration: every registration record and the UE's SA in one durable
 * transaction (kb_ctl_register), so a 200 item is on disk, SA included.
 * Deregistration: a delete per service. */
static enum MHD_Result do_registration(struct kb_ctl *c, struct MHD_Connection *con,
				       struct ue_req *r, const struct kb_digest_verdict *v)
{
	struct kb_service_list l;
	int codes[KB_XML_MAX_ITEMS];
	char err[256], key[KB_IMPI_MAX + KB_SERVICE_ID_MAX];
	bool dereg = r->ep == KB_EP_DEREGISTER;
	uint16_t group = 0;
	struct reg_items *it = NULL;
	size_t n = 0;
	if (kb_xml_parse_registration(r->body, r->len, dereg, &l, err, sizeof(err)) != 0)
		return kb_http_error(con, MHD_HTTP_BAD_REQUEST, err);
	if (!dereg) {
		it = malloc(sizeof(*it));
		if (it == NULL)
			return kb_http_error(con, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	}
	for (size_t i = 0; i < l.n; i++) {
		struct kb_rec_service svc;
		size_t kl = reg_key(dereg ? key : it->key[n], sizeof(key), tl.b.impi, l.ids[i]);
		int rc = kb_ctl_service_get(c, l.ids[i], &svc);
		if (rc == KB_STORE_NOTFOUND) {
			codes[i] = KB_ST_NOT_FOUND;
			continue;
		}
		if (rc != 0 || kl == 0) {
			codes[i] = KB_ST_INTERNAL;
			continue;
		}
		if (dereg) {
			rc = c->st->ops->del(c->st, KB_ST_REG, key, kl);
			if (rc == 0)
				kb_ks_cache_invalidate(); /* no credentials outlive it */
			codes[i] = rc == 0                   ? KB_ST_OK
				   : rc == KB_STORE_NOTFOUND ? KB_ST_NOT_FOUND
							     : KB_ST_INTERNAL;
			continue;
		}
		struct kb_rec_reg reg = {.version = KB_REC_COMPACT, .registered = kb_ctl_now()};
		snprintf(reg.btid, sizeof(reg.btid), "%s", tl.b.btid);
		size_t vl = kb_rec_reg_encode(&reg, it->val[n], sizeof(it->val[n]));
		if (vl == 0) {
			codes[i] = KB_ST_INTERNAL;
			continue;
		}
		it->put[n] = (struct kb_ctl_reg_put){
			.key = it->key[n], .klen = kl, .val = it->val[n], .vlen = vl};
		it->idx[n++] = i;
		if (group == 0)
			group = svc.key_group;
	}
	if (n != 0) {
		/* the MUK is known now: the SA exists from here on, committed
		 * with the registrations */
		struct kb_ue_addr a;
		uint32_t csb;
		client_addr(c, con, &a);
		int rc = kb_ctl_register(c, &tl.b, &a, group, group != 0, it->put, n, &csb);
		if (rc != 0)
			fprintf(stderr, "control: storing a registration failed\n");
		for (size_t k = 0; k < n; k++)
			codes[it->idx[k]] = rc == 0 ? KB_ST_OK : KB_ST_INTERNAL;
	}
	free(it);
	size_t len = 0;
	char *doc = kb_xml_registration_response(&l, codes, &len);
	if (doc == NULL)
		return kb_http_error(con, MHD_HTTP_INTERNAL_SERVER_ERROR, "response");
	enum MHD_Result ret = reply_ok(con, v, KB_MT_REGISTER_RESPONSE, doc, len);
	free(doc);
	return ret;
}

static int msk_item(struct kb_ctl *c, uint32_t csb, const uint8_t domain[3], uint32_t msk_id)
{
	struct kb_rec_service svc;
	struct kb_ctl_job job = {.type = KB_CTL_JOB_DELIVER_MSK, .csb_id = csb};
	char key[KB_IMPI_MAX + KB_SERVICE_ID_MAX];
	uint16_t group = (uint16_t)(msk_id >> 16), kn = (uint16_t)msk_id;
	int rc = kb_ctl_service_by_group(c, domain, group, &svc);
	if (rc == KB_STORE_NOTFOUND)
		return KB_ST_NOT_FOUND;
	if (rc != 0)
		return KB_ST_INTERNAL;
	size_t kl = reg_key(key, sizeof(key), tl.b.impi, svc.id);
	rc = kl != 0 ? c->st->ops->get(c->st, KB_ST_REG, key, kl, NULL, 0, NULL) : KB_STORE_ERR;
	if (rc == KB_STORE_NOTFOUND)
		return KB_ST_FORBIDDEN;
	if (rc != 0)
		return KB_ST_INTERNAL;
	if (kn == 0) {
		/* "the current MSK": during a rollover that is the new one */
		kn = svc.next_kn != 0 ? svc.next_kn : svc.current_kn;
	} else if (kn != svc.current_kn && kn != svc.next_kn) {
		return KB_ST_NOT_FOUND; /* a UE holds at most two MSKs */
	}
	if (kb_ctl_msk_get(c, &svc, kn, job.msk) != 0)
		return KB_ST_NOT_FOUND;
	memcpy(job.key_domain, domain, 3);
	job.key_group = group;
	job.msk_id = (uint32_t)group << 16 | kn;
	job.ack_wanted = svc.ack_wanted != 0;
	job.retries = svc.retries;
	rc = c->hooks.post_job != NULL ? c->hooks.post_job(c->hooks.ctx, &job) : -1;
	kb_memzero(job.msk, sizeof(job.msk));
	atomic_fetch_add(rc == 0 ? &c->jobs_posted : &c->jobs_refused, 1);
	return rc == 0 ? KB_ST_OK : KB_ST_INTERNAL;
}

/* UEs of a service send byte-identical MSK requests and get identical
 * answers, so each HTTP thread keeps its last few: a body seen before is
 * not parsed again, and a response with the same per-item codes is not
 * written again. Only valid bodies are kept (parsing is deterministic). */
#define MSK_CACHE_SLOTS 4
#define MSK_CACHE_BODY 512
#define MSK_CACHE_DOC 1024

struct msk_cache_entry {
	size_t body_len, doc_len;
	char body[MSK_CACHE_BODY];
	struct kb_msk_request req;
	int codes[KB_XML_MAX_ITEMS];
	char doc[MSK_CACHE_DOC]; /* the response for codes if doc_len != 0 */
	uint64_t used;
};

static _Thread_local struct {
	struct msk_cache_entry e[MSK_CACHE_SLOTS];
	uint64_t clock;
} msk_cache;

static struct msk_cache_entry *msk_cache_find(const char *body, size_t len)
{
	for (int i = 0; i < MSK_CACHE_SLOTS; i++) {
		struct msk_cache_entry *e = &msk_cache.e[i];
		if (e->body_len == len && len != 0 && memcmp(e->body, body, len) == 0) {
			e->used = ++msk_cache.clock;
			return e;
		}
	}
	return NULL;
}

static struct msk_cache_entry *msk_cache_add(const char *body, size_t len,
					     const struct kb_msk_request *req)
{
	struct msk_cache_entry *e = &msk_cache.e[0];
	if (len == 0 || len > MSK_CACHE_BODY)
		return NULL;
	for (int i = 1; i < MSK_CACHE_SLOTS; i++)
		if (msk_cache.e[i].used < e->used)
			e = &msk_cache.e[i];
	e->doc_len = 0;
	memcpy(e->body, body, len);
	e->body_len = len;
	e->req = *req;
	e->used = ++msk_cache.clock;
	return e;
}

static enum MHD_Result do_msk(struct kb_ctl *c, struct MHD_Connection *con, struct ue_req *r,
			      const struct kb_digest_verdict *v)
{
	struct kb_msk_request req;
	int codes[KB_XML_MAX_ITEMS];
	char err[256];
	struct kb_ue_addr a;
	uint32_t csb = 0;
	struct msk_cache_entry *e = msk_cache_find(r->body, r->len);
	if (e != NULL) {
		req = e->req;
	} else {
		if (kb_xml_parse_msk_request(r->body, r->len, &req, err, sizeof(err)) != 0)
			return kb_http_error(con, MHD_HTTP_BAD_REQUEST, err);
		e = msk_cache_add(r->body, r->len, &req);
	}
	client_addr(c, con, &a);
	bool have_sa = kb_ctl_ensure_sa(c, &tl.b, &a, 0, &csb) == 0;
	for (size_t i = 0; i < req.n; i++)
		codes[i] =
			have_sa ? msk_item(c, csb, req.key_domain, req.msk_ids[i]) : KB_ST_INTERNAL;
	if (e != NULL && e->doc_len != 0 && memcmp(e->codes, codes, req.n * sizeof(int)) == 0)
		return reply_ok(con, v, KB_MT_MSK_RESPONSE, e->doc, e->doc_len);
	size_t len = 0;
	char *doc = kb_xml_msk_response(&req, codes, &len);
	if (doc == NULL)
		return kb_http_error(con, MHD_HTTP_INTERNAL_SERVER_ERROR, "response");
	enum MHD_Result ret = reply_ok(con, v, KB_MT_MSK_RESPONSE, doc, len);
	if (e != NULL && len <= sizeof(e->doc)) {
		memcpy(e->doc, doc, len);
		e->doc_len = len;
		memcpy(e->codes, codes, req.n * sizeof(int));
	}
	free(doc);
	return ret;
}

static enum MHD_Result finish(struct kb_ctl *c, struct MHD_Connection *con, const char *url,
			      const char *method, struct ue_req *r, unsigned *code)
{
	static const char *const ctypes[] = {KB_MT_REGISTER, KB_MT_DEREGISTER, KB_MT_MSK};
	struct kb_digest_request dr = {
		.method = method,
		.uri = url,
		.body = (const uint8_t *)r->body,
		.body_len = r->len,
	};
	struct kb_digest_verdict v;
	enum kb_digest_result res;
	enum MHD_Result ret;
	if (r->too_large) {
		*code = MHD_HTTP_CONTENT_TOO_LARGE;
		return kb_http_error(con, *code, "request body exceeds the size limit");
	}
	dr.authorization =
		MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	dr.authorization_len = dr.authorization != NULL ? strlen(dr.authorization) : 0;
	tl.have = false;
	tl.reason = -1;
	res = kb_digest_server_verify(c->digest, &dr, &v);
	if (res != KB_DIGEST_OK || !tl.have) {
		int reason = tl.reason == KB_AUTH_EXPIRED ? KB_AUTH_EXPIRED : (int)res;
		if (res == KB_DIGEST_OK)
			reason = KB_DIGEST_UNKNOWN_USER;
		if ((unsigned)reason < KB_AUTH_REASONS)
			atomic_fetch_add(&c->auth_fail[reason], 1);
		/* why, never a key: the B-TID is an identifier */
		if (res != KB_DIGEST_MISSING)
			fprintf(stderr, "control: 401 %s for '%.64s' on %s\n",
				reason == KB_AUTH_EXPIRED ? "expired" : kb_digest_result_name(res),
				v.username, url);
		kb_bootstrap_wipe(&tl.b);
		kb_digest_verdict_wipe(&v);
		*code = MHD_HTTP_UNAUTHORIZED;
		return challenge(c, con, res == KB_DIGEST_STALE);
	}
	if (!kb_http_ctype_is(con, ctypes[r->ep])) {
		char msg[128];
		snprintf(msg, sizeof(msg), "Content-Type must be %s", ctypes[r->ep]);
		*code = MHD_HTTP_BAD_REQUEST;
		ret = kb_http_error(con, *code, msg);
	} else {
		*code = MHD_HTTP_OK;
		ret = r->ep == KB_EP_MSK ? do_msk(c, con, r, &v) : do_registration(c, con, r, &v);
	}
	/* the verdict holds HA1, password-equivalent */
	kb_digest_verdict_wipe(&v);
	kb_bootstrap_wipe(&tl.b);
	tl.have = false;
	return ret;
}

static enum MHD_Result ue_handler(void *cls, struct MHD_Connection *con, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct kb_ctl *c = cls;
	struct ue_req *r = *con_cls;
	(void)version;
	if (r == NULL) {
		enum kb_ep ep = strcmp(url, UE_PATH_REGISTER) == 0     ? KB_EP_REGISTER
				: strcmp(url, UE_PATH_DEREGISTER) == 0 ? KB_EP_DEREGISTER
				: strcmp(url, UE_PATH_MSK) == 0        ? KB_EP_MSK
								       : KB_EP_OTHER;
		if (ep == KB_EP_OTHER) {
			kb_ctl_count_http(c, ep, MHD_HTTP_NOT_FOUND);
			return kb_http_error(con, MHD_HTTP_NOT_FOUND, "no such resource");
		}
		if (strcmp(method, MHD_HTTP_METHOD_POST) != 0) {
			const char *hdrs[] = {MHD_HTTP_HEADER_ALLOW, "POST", NULL};
			kb_ctl_count_http(c, ep, MHD_HTTP_METHOD_NOT_ALLOWED);
			return kb_http_reply(con, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
					     "error: POST only\n", 17, hdrs);
		}
		r = calloc(1, sizeof(*r));
		if (r == NULL)
			return MHD_NO;
		r->ep = ep;
		const char *cl = MHD_lookup_connection_value(con, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);
		*con_cls = r;
		if (cl != NULL && strtoull(cl, NULL, 10) > c->cfg.max_body) {
			/* answer before reading the body; MHD closes afterwards */
			r->too_large = true;
			kb_ctl_count_http(c, ep, MHD_HTTP_CONTENT_TOO_LARGE);
			return kb_http_error(con, MHD_HTTP_CONTENT_TOO_LARGE,
					     "request body exceeds the size limit");
		}
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		return kb_http_body_append(&r->body, &r->len, &r->cap, &r->too_large, upload_data,
					   n, c->cfg.max_body)
			       ? MHD_YES
			       : MHD_NO;
	}
	unsigned code = 0;
	enum MHD_Result ret = finish(c, con, url, method, r, &code);
	kb_ctl_count_http(c, r->ep, (int)code);
	return ret;
}

static void ue_done(void *cls, struct MHD_Connection *con, void **con_cls,
		    enum MHD_RequestTerminationCode toe)
{
	struct ue_req *r = *con_cls;
	(void)cls;
	(void)con;
	(void)toe;
	if (r == NULL)
		return;
	free(r->body);
	free(r);
	*con_cls = NULL;
}

/* A registration holds its pool thread until its group commit is durable
 * (two msyncs, 0.4-2 ms here): only registrations in flight can share a
 * commit, and with 2 threads each paid a commit of its own. So the UE
 * listener keeps at least this many threads whatever http_threads says.
 * Measured (scripts/bench-http, MSK requests, 64 connections): server CPU
 * per request 24-25 us with 16 threads, 21-25 us with 2, 31-34 us with 32
 * (colder per-thread caches). MHD_suspend_connection while the commit runs
 * would free the thread instead; not done: it needs MHD_ALLOW_SUSPEND_RESUME
 * in kb_http_start and a registration call that completes asynchronously. */
#define KB_UE_MIN_THREADS 16

struct MHD_Daemon *kb_ctl_ue_server_start(struct kb_ctl *c, char *err, size_t errlen)
{
	unsigned threads =
		c->cfg.http_threads > KB_UE_MIN_THREADS ? c->cfg.http_threads : KB_UE_MIN_THREADS;
	return kb_http_start(c->cfg.ue_addr, c->cfg.ue_port, threads, c->tls_cert_pem,
			     c->tls_key_pem, ue_handler, c, ue_done, err, errlen);
}
