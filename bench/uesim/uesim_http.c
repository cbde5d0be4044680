/* keyburst-uesim --mode http: every roster UE registers for a service
 * (mbmsUserServiceRegistration) and then requests MSKs (mskRequest) over
 * HTTP with real Digest, username B-TID, password base64(MRK). It is the
 * control plane's load generator (formerly keyburst-httpload).
 *
 * Engine: libcurl's multi interface on epoll (curl_multi_socket_action),
 * --concurrency easy handles split over --threads loops, each with its own
 * multi handle, so the client's cost per request does not grow with the
 * concurrency and libcurl (~50 us a request, more than the server) is not
 * the measurement's only bottleneck. An easy handle plays one UE at a time
 * on a keep-alive connection: curl answers the UE's first 401 and then
 * reuses the nonce with nc + 1, as a UE does. Moving to the next UE resets
 * the handle (its Digest state), not the connection.
 *
 * Every answer is checked: HTTP 200 after the Digest round and, in the XML
 * parsed with libxml2, one item for what was asked with statusCode="200".
 * The UEs of a service get byte-identical answers, so each thread keeps the
 * last good answer per procedure and parses only bodies that differ.
 *
 * Pacing: --rate R requests/s overall, R/T per thread from a token bucket
 * on the loop's clock (10 ms of burst); a request whose handle is ready
 * waits in a FIFO for its token. Latencies go into a fixed log-linear
 * histogram (64 sub-buckets per power of two: < 1.6% error). */
#include "uesim_http.h"

#include "uesim.h"
#include "uesim_json.h"

#include "gba/gba.h"
#include "util/roster.h"
#include "util/secret.h"

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <math.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* TS 33.246 / TS 26.346 resources, media types and namespaces */
#define PATH_REGISTER "/mbms/v1/register"
#define PATH_MSK "/mbms/v1/msk"
#define MT_REGISTER "application/mbms-register+xml"
#define MT_MSK "application/mbms-msk+xml"
#define NS_REGISTER "urn:3GPP:metadata:2005:MBMS:userServiceRegistration"
#define NS_REGISTER_RESPONSE "urn:3GPP:metadata:2005:MBMS:userServiceRegistrationResponse"
#define NS_MSK "urn:3GPP:metadata:2005:MBMS:mskRequest"
#define NS_MSK_RESPONSE "urn:3GPP:metadata:2005:MBMS:mskResponse"

#define MAX_ANSWER 16384 /* larger answers count as bad */
#define GOOD_MAX 2048 /* the remembered good answer per procedure */
#define PW_LEN 44 /* base64 of 32 bytes */
#define NO_UE UINT32_MAX
#define FOREVER UINT32_MAX

/* latency histogram in microseconds: values < 128 exact, then 64
 * sub-buckets per power of two up to 2^36 us */
#define HIST_N 2048
#define HIST_MAX_US ((1ull << 36) - 1)

enum kind { K_REG, K_MSK };

enum {
	UE_BAD = 0x01, /* given a wrong password (--bad-password) */
	UE_REGISTERED = 0x02,
	UE_FAILED = 0x04, /* an answer was not what it should be: no more requests */
	UE_BUSY = 0x08, /* a connection plays it now */
};

struct http_opts {
	const char *roster, *url, *service, *cacert, *json_out, *failures;
	uint8_t key_domain[3];
	uint32_t msk_id;
	uint32_t msk_per_ue; /* 0 = until the run ends */
	unsigned conc, threads;
	double rate, duration, warmup, bad_password, progress_s;
	uint64_t requests, seed;
	bool no_register; /* the UEs are registered already (a roster import) */
};

struct http_ue {
	size_t btid_off; /* in run.arena */
	uint8_t muk[KB_MUK_LEN];
	uint8_t flags;
};

struct stats {
	uint64_t reg_ok, reg_failed, msk_ok, msk_failed, n401;
	uint64_t transport, c3xx, c4xx, c401, c5xx, bad_answer, other;
	uint64_t ues_failed, bad_ue_failed, bad_ue_accepted;
};

struct run {
	struct http_opts o;
	struct http_ue *ues;
	char *arena;
	uint32_t n_ue, n_bad;
	char *url_reg, *url_msk;
	char *body[2];
	size_t body_len[2];
	struct curl_slist *hdrs[2];
	char msk_hex[9], domain_hex[7];
	double t0, t_measure, t_end; /* t_end 0: no deadline */
	bool cycle; /* --duration or --requests: visit the UEs again and again */
	_Atomic uint64_t started;
	pthread_mutex_t fail_lock;
	FILE *failures;
};

struct worker;

struct conn {
	CURL *h;
	struct worker *w;
	uint32_t ue, msk_left;
	bool fresh; /* a new UE: the handle must be reset and set up again */
	enum kind kind;
	int set_kind; /* the kind the handle's URL and body are set for, -1 none */
	char *buf;
	size_t len;
	bool overflow;
	unsigned n401;
	double t_start;
};

struct worker {
	pthread_t tid;
	struct run *r;
	unsigned idx, n_conns;
	struct conn *conns;
	uint32_t n_ues; /* rows idx, idx + T, idx + 2T, ... */
	uint64_t next_pos;
	/* token bucket */
	double rate, tokens, cap, t_fill;
	struct conn **ready;
	unsigned r_head, r_len;
	/* results */
	struct stats st;
	uint64_t m_ok, m_failed, m_msk_ok; /* completions inside the measured window */
	uint64_t hist[HIST_N];
	uint64_t lat_sum_us, lat_max_us;
	bool measuring;
	double cpu0, cpu, t_last;
	_Atomic uint64_t prog_ok, prog_failed;
	_Atomic bool done;
	char good[2][GOOD_MAX];
	size_t good_len[2];
	int rc;
};

static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_THREAD, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static unsigned hist_idx(uint64_t us)
{
	if (us > HIST_MAX_US)
		us = HIST_MAX_US;
	if (us < 128)
		return (unsigned)us;
	unsigned shift = (unsigned)(63 - __builtin_clzll(us)) - 6;
	return shift * 64 + (unsigned)(us >> shift);
}

/* the middle of the bucket */
static double hist_value(unsigned idx)
{
	if (idx < 128)
		return idx;
	unsigned shift = idx / 64 - 1;
	uint64_t m = idx % 64 + 64;
	return ((double)(m << shift) + (double)((m + 1) << shift)) / 2;
}

static double hist_pct(const uint64_t *h, uint64_t total, double p)
{
	uint64_t want = (uint64_t)ceil(p * (double)total), acc = 0;
	if (want == 0)
		want = 1;
	for (unsigned i = 0; i < HIST_N; i++) {
		acc += h[i];
		if (acc >= want)
			return hist_value(i);
	}
	return 0;
}

int kb_uesim_http_password(const uint8_t muk[32], bool wrong, char out[45])
{
	uint8_t ks[KB_GBA_KEY_LEN], muk_out[KB_GBA_KEY_LEN], mrk[KB_GBA_KEY_LEN];
	int rc = -1;
	memcpy(ks, muk, sizeof(ks)); /* GBA_ME: the roster's MUK is Ks_NAF */
	if (kb_gba_mbms_keys(KB_GBA_ME, ks, NULL, NULL, muk_out, mrk) != 0)
		goto out;
	if (wrong)
		mrk[0] ^= 0x01;
	if (EVP_EncodeBlock((unsigned char *)out, mrk, sizeof(mrk)) == PW_LEN)
		rc = 0;
out:
	kb_memzero(ks, sizeof(ks));
	kb_memzero(muk_out, sizeof(muk_out));
	kb_memzero(mrk, sizeof(mrk));
	return rc;
}

/* ---- request bodies and answers: libxml2 both ways ---- */

static char *build_doc(const char *root, const char *ns, const char *const *names,
		       const char *const *vals, size_t n, size_t *len)
{
	xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
	xmlChar *mem = NULL;
	char *out = NULL;
	int sz = 0;
	if (doc == NULL)
		return NULL;
	xmlNodePtr r = xmlNewDocNode(doc, NULL, BAD_CAST root, NULL);
	if (r == NULL)
		goto done;
	xmlSetNs(r, xmlNewNs(r, BAD_CAST ns, NULL));
	xmlDocSetRootElement(doc, r);
	for (size_t i = 0; i < n; i++)
		if (xmlNewTextChild(r, r->ns, BAD_CAST names[i], BAD_CAST vals[i]) == NULL)
			goto done;
	xmlDocDumpMemoryEnc(doc, &mem, &sz, "UTF-8");
	if (mem != NULL && sz > 0) {
		out = malloc((size_t)sz + 1);
		if (out != NULL) {
			memcpy(out, mem, (size_t)sz + 1);
			*len = (size_t)sz;
		}
	}
	xmlFree(mem);
done:
	xmlFreeDoc(doc);
	return out;
}

static bool is_elem(xmlNodePtr n, const char *name, const char *ns)
{
	return n != NULL && n->type == XML_ELEMENT_NODE && xmlStrcmp(n->name, BAD_CAST name) == 0 &&
	       n->ns != NULL && xmlStrcmp(n->ns->href, BAD_CAST ns) == 0;
}

/* One item for what was asked, with statusCode 200 (and, for an MSK
 * answer, our key domain). */
static bool answer_ok_xml(const struct run *r, enum kind k, const char *buf, size_t len)
{
	const char *ns = k == K_REG ? NS_REGISTER_RESPONSE : NS_MSK_RESPONSE;
	const char *item = k == K_REG ? "serviceStatus" : "mskStatus";
	const char *id_attr = k == K_REG ? "serviceId" : "mskId";
	const char *want = k == K_REG ? r->o.service : r->msk_hex;
	unsigned items = 0, good = 0;
	bool domain_ok = k == K_REG;
	if (len > (size_t)INT32_MAX)
		return false;
	xmlDocPtr d = xmlReadMemory(buf, (int)len, NULL, NULL,
				    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (d == NULL)
		return false;
	xmlNodePtr root = xmlDocGetRootElement(d);
	if (!is_elem(root, k == K_REG ? "mbmsUserServiceRegistrationResponse" : "mskResponse", ns))
		goto done;
	for (xmlNodePtr c = root->children; c != NULL; c = c->next) {
		if (k == K_MSK && is_elem(c, "keyDomainId", ns)) {
			xmlChar *t = xmlNodeGetContent(c);
			domain_ok = t != NULL && strcasecmp((const char *)t, r->domain_hex) == 0;
			xmlFree(t);
			continue;
		}
		if (!is_elem(c, item, ns))
			continue;
		items++;
		xmlChar *id = xmlGetProp(c, BAD_CAST id_attr);
		xmlChar *st = xmlGetProp(c, BAD_CAST "statusCode");
		if (id != NULL && st != NULL &&
		    (k == K_REG ? strcmp((const char *)id, want)
				: strcasecmp((const char *)id, want)) == 0 &&
		    strcmp((const char *)st, "200") == 0)
			good++;
		xmlFree(id);
		xmlFree(st);
	}
done:
	xmlFreeDoc(d);
	return domain_ok && items == 1 && good == 1;
}

static bool answer_ok(struct worker *w, const struct conn *c)
{
	enum kind k = c->kind;
	if (c->overflow || c->len == 0)
		return false;
	if (w->good_len[k] == c->len && memcmp(w->good[k], c->buf, c->len) == 0)
		return true;
	if (!answer_ok_xml(w->r, k, c->buf, c->len))
		return false;
	if (c->len <= GOOD_MAX) {
		memcpy(w->good[k], c->buf, c->len);
		w->good_len[k] = c->len;
	}
	return true;
}

/* ---- curl_multi_socket_action glue: sockets in one epoll set, one timer ---- */

struct loop {
	CURLM *m;
	int ep;
	long timeout_ms;
};

static int on_socket(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct loop *l = userp;
	struct epoll_event ev = {.data.fd = fd};
	(void)e;
	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(l->ep, EPOLL_CTL_DEL, fd, NULL);
		return 0;
	}
	ev.events = ((what & CURL_POLL_IN) != 0 ? EPOLLIN : 0u) |
		    ((what & CURL_POLL_OUT) != 0 ? EPOLLOUT : 0u);
	if (socketp == NULL) {
		if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) != 0 && errno == EEXIST)
			epoll_ctl(l->ep, EPOLL_CTL_MOD, fd, &ev);
		curl_multi_assign(l->m, fd, l);
	} else {
		epoll_ctl(l->ep, EPOLL_CTL_MOD, fd, &ev);
	}
	return 0;
}

static int on_timer(CURLM *m, long timeout_ms, void *userp)
{
	struct loop *l = userp;
	(void)m;
	l->timeout_ms = timeout_ms;
	return 0;
}

static size_t on_body(char *p, size_t sz, size_t n, void *arg)
{
	struct conn *c = arg;
	size_t len = sz * n;
	if (c->len + len > MAX_ANSWER) {
		c->overflow = true;
		return len;
	}
	memcpy(c->buf + c->len, p, len);
	c->len += len;
	return len;
}

static size_t on_header(char *p, size_t sz, size_t n, void *arg)
{
	struct conn *c = arg;
	size_t len = sz * n;
	if (len > 12 && memcmp(p, "HTTP/", 5) == 0) {
		const char *sp = memchr(p, ' ', len);
		if (sp != NULL && (size_t)(sp - p) + 4 <= len && memcmp(sp + 1, "401", 3) == 0)
			c->n401++;
	}
	/* a body that precedes the final answer (the 401's) is not the answer */
	c->len = 0;
	c->overflow = false;
	return len;
}

/* ---- the UEs a connection plays ---- */

static const char *ue_btid(const struct run *r, uint32_t row)
{
	return r->arena + r->ues[row].btid_off;
}

static bool stopping(const struct run *r, double now)
{
	return kb_uesim_stop || (r->t_end > 0 && now >= r->t_end);
}

static void release_ue(struct worker *w, struct conn *c)
{
	if (c->ue != NO_UE)
		w->r->ues[c->ue].flags &= (uint8_t)~UE_BUSY;
	c->ue = NO_UE;
}

static bool pick_ue(struct worker *w, struct conn *c)
{
	struct run *r = w->r;
	for (uint32_t tries = 0; tries < w->n_ues; tries++) {
		if (!r->cycle && w->next_pos >= w->n_ues)
			return false;
		uint32_t row = w->idx + (uint32_t)(w->next_pos % w->n_ues) * r->o.threads;
		w->next_pos++;
		struct http_ue *u = &r->ues[row];
		if ((u->flags & (UE_BUSY | UE_FAILED)) != 0)
			continue;
		u->flags |= UE_BUSY;
		c->ue = row;
		c->fresh = true;
		c->msk_left = r->o.msk_per_ue == 0 ? FOREVER : r->o.msk_per_ue;
		return true;
	}
	return false;
}

/* Decide the connection's next request; false when it is done. */
static bool conn_next(struct worker *w, struct conn *c, double now)
{
	struct run *r = w->r;
	if (stopping(r, now)) {
		release_ue(w, c);
		return false;
	}
	if (c->ue != NO_UE) {
		uint8_t f = r->ues[c->ue].flags;
		if ((f & UE_FAILED) == 0 && (f & UE_REGISTERED) != 0 && c->msk_left > 0) {
			if (r->o.requests != 0 && atomic_fetch_add(&r->started, 1) >= r->o.requests)
				goto done;
			if (c->msk_left != FOREVER)
				c->msk_left--;
			c->kind = K_MSK;
			return true;
		}
		release_ue(w, c);
	}
	if (r->o.requests != 0 && atomic_fetch_add(&r->started, 1) >= r->o.requests)
		goto done;
	if (!pick_ue(w, c))
		return false;
	if ((r->ues[c->ue].flags & UE_REGISTERED) != 0) {
		c->kind = K_MSK;
		if (c->msk_left != FOREVER)
			c->msk_left--;
	} else {
		c->kind = K_REG;
	}
	return true;
done:
	release_ue(w, c);
	return false;
}

static int conn_setup(struct run *r, struct conn *c)
{
	struct http_ue *u = &r->ues[c->ue];
	char pw[PW_LEN + 1];
	if (kb_uesim_http_password(u->muk, (u->flags & UE_BAD) != 0, pw) != 0)
		return -1;
	curl_easy_reset(c->h); /* drops the last UE's Digest state, not the connection */
	curl_easy_setopt(c->h, CURLOPT_PRIVATE, c);
	curl_easy_setopt(c->h, CURLOPT_HTTPAUTH, (long)CURLAUTH_DIGEST);
	curl_easy_setopt(c->h, CURLOPT_USERNAME, ue_btid(r, c->ue));
	curl_easy_setopt(c->h, CURLOPT_PASSWORD, pw);
	kb_memzero(pw, sizeof(pw));
	curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c->h, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(c->h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c->h, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(c->h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(c->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->h, CURLOPT_TIMEOUT, 30L);
	if (r->o.cacert != NULL)
		curl_easy_setopt(c->h, CURLOPT_CAINFO, r->o.cacert);
	c->fresh = false;
	c->set_kind = -1;
	return 0;
}

static int conn_start(struct worker *w, struct loop *lp, struct conn *c, double now)
{
	struct run *r = w->r;
	if (c->fresh && conn_setup(r, c) != 0)
		return -1;
	if (c->set_kind != (int)c->kind) {
		/* CURLOPT_URL copies and parses: only when the procedure changes */
		curl_easy_setopt(c->h, CURLOPT_URL, c->kind == K_REG ? r->url_reg : r->url_msk);
		curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, r->body[c->kind]);
		curl_easy_setopt(c->h, CURLOPT_POSTFIELDSIZE, (long)r->body_len[c->kind]);
		curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, r->hdrs[c->kind]);
		c->set_kind = (int)c->kind;
	}
	c->len = 0;
	c->overflow = false;
	c->n401 = 0;
	c->t_start = now;
	return curl_multi_add_handle(lp->m, c->h) == CURLM_OK ? 0 : -1;
}

static void log_failure(struct run *r, const struct conn *c, long code, CURLcode res)
{
	if (r->failures == NULL)
		return;
	pthread_mutex_lock(&r->fail_lock);
	fprintf(r->failures, "%s %s %s\n", ue_btid(r, c->ue), c->kind == K_REG ? "register" : "msk",
		res != CURLE_OK ? curl_easy_strerror(res)
		: code != 200   ? (code == 401 ? "401" : "http-error")
				: "bad-answer");
	pthread_mutex_unlock(&r->fail_lock);
}

static void on_done(struct worker *w, struct conn *c, CURLcode res, double now)
{
	struct run *r = w->r;
	struct stats *st = &w->st;
	struct http_ue *u = &r->ues[c->ue];
	long code = 0;
	curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &code);
	st->n401 += c->n401;
	bool ok = res == CURLE_OK && code == 200 && answer_ok(w, c);
	if (!ok) {
		if (res != CURLE_OK)
			st->transport++;
		else if (code >= 300 && code < 400)
			st->c3xx++;
		else if (code >= 400 && code < 500)
			st->c4xx++;
		else if (code >= 500 && code < 600)
			st->c5xx++;
		else if (code == 200)
			st->bad_answer++;
		else
			st->other++;
		if (res == CURLE_OK && code == 401)
			st->c401++;
	}
	if (c->kind == K_REG) {
		if (ok) {
			st->reg_ok++;
			u->flags |= UE_REGISTERED;
		} else {
			st->reg_failed++;
		}
	} else if (ok) {
		st->msk_ok++;
	} else {
		st->msk_failed++;
	}
	if (ok && (u->flags & UE_BAD) != 0)
		st->bad_ue_accepted++; /* a wrong password let in: the server's bug */
	if (!ok && (u->flags & UE_FAILED) == 0) {
		u->flags |= UE_FAILED;
		st->ues_failed++;
		if ((u->flags & UE_BAD) != 0)
			st->bad_ue_failed++;
		log_failure(r, c, code, res);
	}
	atomic_store_explicit(ok ? &w->prog_ok : &w->prog_failed,
			      (ok ? st->reg_ok + st->msk_ok : st->reg_failed + st->msk_failed),
			      memory_order_relaxed);
	if (now >= r->t_measure && (r->t_end == 0 || now <= r->t_end)) {
		if (!w->measuring) {
			/* the thread's CPU from its first measured completion */
			w->measuring = true;
			w->cpu0 = cpu_s();
		}
		uint64_t us = (uint64_t)((now - c->t_start) * 1e6);
		w->hist[hist_idx(us)]++;
		w->lat_sum_us += us;
		if (us > w->lat_max_us)
			w->lat_max_us = us;
		if (ok) {
			w->m_ok++;
			w->m_msk_ok += c->kind == K_MSK;
		} else {
			w->m_failed++;
		}
		w->t_last = now;
	}
}

static void refill(struct worker *w, double now)
{
	if (w->rate <= 0)
		return;
	w->tokens += (now - w->t_fill) * w->rate;
	if (w->tokens > w->cap)
		w->tokens = w->cap;
	w->t_fill = now;
}

static void queue_push(struct worker *w, struct conn *c)
{
	w->ready[(w->r_head + w->r_len) % w->n_conns] = c;
	w->r_len++;
}

/* Start the queued requests the bucket allows; -1 on a curl failure. */
static int dispatch(struct worker *w, struct loop *lp, unsigned *active)
{
	double now = kb_uesim_now();
	refill(w, now);
	bool stop = stopping(w->r, now);
	while (w->r_len > 0) {
		if (!stop && w->rate > 0 && w->tokens < 1.0)
			break;
		struct conn *c = w->ready[w->r_head];
		w->r_head = (w->r_head + 1) % w->n_conns;
		w->r_len--;
		if (stop) {
			release_ue(w, c);
			(*active)--;
			continue;
		}
		if (w->rate > 0)
			w->tokens -= 1.0;
		if (conn_start(w, lp, c, now) != 0)
			return -1;
	}
	return 0;
}

static int wait_ms(struct worker *w, const struct loop *lp)
{
	long t = lp->timeout_ms < 0 ? 100 : lp->timeout_ms;
	if (w->r_len > 0 && w->rate > 0) {
		double need = (1.0 - w->tokens) / w->rate * 1e3;
		long tk = need <= 0 ? 0 : (long)ceil(need);
		if (tk < t)
			t = tk;
	}
	if (w->r->t_end > 0) {
		double left = (w->r->t_end - kb_uesim_now()) * 1e3;
		if (left < t)
			t = left <= 0 ? 0 : (long)ceil(left);
	}
	return t > 100 ? 100 : (int)t;
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	struct loop lp = {
		.m = curl_multi_init(), .ep = epoll_create1(EPOLL_CLOEXEC), .timeout_ms = -1};
	unsigned active = 0;
	w->rc = 2;
	if (lp.m == NULL || lp.ep < 0)
		goto out;
	curl_multi_setopt(lp.m, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(lp.m, CURLMOPT_SOCKETDATA, &lp);
	curl_multi_setopt(lp.m, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(lp.m, CURLMOPT_TIMERDATA, &lp);
	curl_multi_setopt(lp.m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)w->n_conns);
	curl_multi_setopt(lp.m, CURLMOPT_MAXCONNECTS, (long)w->n_conns);
	w->t_fill = kb_uesim_now();
	w->tokens = w->rate > 0 ? 1.0 : 0;
	for (unsigned i = 0; i < w->n_conns; i++) {
		struct conn *c = &w->conns[i];
		c->w = w;
		c->ue = NO_UE;
		c->h = curl_easy_init();
		c->buf = malloc(MAX_ANSWER);
		if (c->h == NULL || c->buf == NULL)
			goto out;
		if (conn_next(w, c, w->t_fill)) {
			queue_push(w, c);
			active++;
		}
	}
	w->rc = 0;
	while (active > 0) {
		int running = 0, left = 0;
		struct epoll_event evs[64];
		if (dispatch(w, &lp, &active) != 0) {
			w->rc = 2;
			break;
		}
		int n = epoll_wait(lp.ep, evs, 64, wait_ms(w, &lp));
		for (int i = 0; i < n; i++) {
			int f = ((evs[i].events & EPOLLIN) != 0 ? CURL_CSELECT_IN : 0) |
				((evs[i].events & EPOLLOUT) != 0 ? CURL_CSELECT_OUT : 0) |
				((evs[i].events & (EPOLLERR | EPOLLHUP)) != 0 ? CURL_CSELECT_ERR
									      : 0);
			curl_multi_socket_action(lp.m, evs[i].data.fd, f, &running);
		}
		if (n <= 0 || lp.timeout_ms == 0)
			curl_multi_socket_action(lp.m, CURL_SOCKET_TIMEOUT, 0, &running);
		CURLMsg *msg;
		while ((msg = curl_multi_info_read(lp.m, &left)) != NULL) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			struct conn *c = NULL;
			CURLcode res = msg->data.result;
			double now = kb_uesim_now();
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&c);
			curl_multi_remove_handle(lp.m, msg->easy_handle);
			on_done(w, c, res, now);
			if (conn_next(w, c, now))
				queue_push(w, c);
			else
				active--;
		}
	}
	if (w->measuring)
		w->cpu = cpu_s() - w->cpu0;
out:
	for (unsigned i = 0; i < w->n_conns; i++) {
		if (w->conns[i].h != NULL)
			curl_easy_cleanup(w->conns[i].h);
		free(w->conns[i].buf);
	}
	if (lp.m != NULL)
		curl_multi_cleanup(lp.m);
	if (lp.ep >= 0)
		close(lp.ep);
	atomic_store(&w->done, true);
	return NULL;
}

/* ---- the roster ---- */

static int load_roster(struct run *r, char *err, size_t errlen)
{
	FILE *f = fopen(r->o.roster, "r");
	char *line = NULL, perr[128];
	size_t cap = 0, n_cap = 1024, a_len = 0, a_cap = 1 << 16;
	ssize_t l;
	struct kb_roster_row row;
	int rc = -1;
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", r->o.roster, strerror(errno));
		return -1;
	}
	r->ues = malloc(n_cap * sizeof(*r->ues));
	r->arena = malloc(a_cap);
	if (r->ues == NULL || r->arena == NULL)
		goto oom;
	while ((l = getline(&line, &cap, f)) > 0) {
		size_t len = strcspn(line, "\r\n");
		if (len == 0 || kb_roster_is_header(line, len))
			continue;
		if (kb_roster_parse_line(line, len, &row, perr, sizeof(perr)) != 0) {
			snprintf(err, errlen, "%s: row %u: %s", r->o.roster, r->n_ue + 1, perr);
			goto out;
		}
		size_t bl = strlen(row.b_tid) + 1;
		if (r->n_ue == n_cap) {
			struct http_ue *nu = realloc(r->ues, 2 * n_cap * sizeof(*nu));
			if (nu == NULL)
				goto oom;
			r->ues = nu;
			n_cap *= 2;
		}
		while (a_len + bl > a_cap) {
			char *na = realloc(r->arena, 2 * a_cap);
			if (na == NULL)
				goto oom;
			r->arena = na;
			a_cap *= 2;
		}
		memcpy(r->arena + a_len, row.b_tid, bl);
		struct http_ue *u = &r->ues[r->n_ue++];
		u->btid_off = a_len;
		memcpy(u->muk, row.muk, sizeof(u->muk));
		u->flags = 0;
		a_len += bl;
	}
	if (r->n_ue == 0) {
		snprintf(err, errlen, "%s: no UEs", r->o.roster);
		goto out;
	}
	rc = 0;
	goto out;
oom:
	snprintf(err, errlen, "out of memory");
out:
	kb_memzero(&row, sizeof(row));
	if (line != NULL)
		kb_memzero(line, cap);
	free(line);
	fclose(f);
	return rc;
}

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Exactly round(F * N) UEs get a wrong password, chosen by selection
 * sampling from the seed. */
static void pick_bad(struct run *r)
{
	uint64_t want = (uint64_t)llround(r->o.bad_password * r->n_ue), s = r->o.seed;
	for (uint32_t i = 0; i < r->n_ue && r->n_bad < want; i++) {
		double u = (double)(splitmix64(&s) >> 11) / 9007199254740992.0;
		if (u * (double)(r->n_ue - i) < (double)(want - r->n_bad)) {
			r->ues[i].flags |= UE_BAD;
			r->n_bad++;
		}
	}
}

/* ---- options ---- */

void kb_uesim_http_usage(FILE *out)
{
	fprintf(out,
		"http mode (--mode http, no EAL, no DPDK needed): each UE registers for\n"
		"--service, then requests the MSK --msk-id over HTTP Digest (username B-TID,\n"
		"password base64(MRK) of the roster's Ks_NAF); every answer must be 200 with\n"
		"statusCode=\"200\" for the item.\n"
		"  --url URL            the UE listener, e.g. http://127.0.0.1:8080   "
		"[required]\n"
		"  --service ID         the user service to register for             "
		"[required]\n"
		"  --key-domain HEX     key domain of the MSK requests (6 hex digits) [62f210]\n"
		"  --msk-id HEX         MSK ID asked for (key group||key number)   [00010000]\n"
		"  --no-register        the UEs are registered already (roster import): MSK\n"
		"                       requests only\n"
		"  --msk-per-ue N       MSK requests per UE visit; 0 = keep asking until the\n"
		"                       run ends                                       [1]\n"
		"  --concurrency N      connections at once, one UE each              [32]\n"
		"  --threads T          client threads sharing them                    [1]\n"
		"  --rate R             requests/s overall (token bucket), 0 = at once  [0]\n"
		"  --requests N         stop after N requests (registrations included)\n"
		"  --duration S         measured seconds after --warmup; with neither, one\n"
		"                       pass: every UE registers and asks --msk-per-ue times\n"
		"  --warmup S           seconds not measured (rates, latencies)        [0]\n"
		"  --cacert PEM         CA for an https URL\n"
		"  --bad-password F     fraction of UEs given a wrong password (seeded) [0]\n"
		"  --failures FILE      one line per failed UE: B-TID procedure reason\n"
		"  --seed N, --json FILE, --progress S   as above\n");
}

bool kb_uesim_http_wanted(int argc, char **argv)
{
	int first = 1;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			first = i + 1;
			break;
		}
	for (int i = first; i < argc; i++) {
		if (strcmp(argv[i], "--mode=http") == 0)
			return true;
		if (strcmp(argv[i], "--mode") == 0 && i + 1 < argc &&
		    strcmp(argv[i + 1], "http") == 0)
			return true;
	}
	return false;
}

static int bad_opt(const char *name, const char *what)
{
	fprintf(stderr, "keyburst-uesim: %s must be %s\n", name, what);
	return -1;
}

static int num(const char *name, const char *s, double lo, double hi, double *v)
{
	char *end;
	errno = 0;
	*v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || end == s || !isfinite(*v) || *v < lo || *v > hi) {
		char what[64];
		snprintf(what, sizeof(what), "a number %g..%g", lo, hi);
		return bad_opt(name, what);
	}
	return 0;
}

static int hexn(const char *name, const char *s, size_t digits, uint32_t *v)
{
	char *end;
	errno = 0;
	unsigned long x = strtoul(s, &end, 16);
	if (errno != 0 || *end != '\0' || strlen(s) != digits || *s == '-' || *s == '+') {
		char what[32];
		snprintf(what, sizeof(what), "%zu hex digits", digits);
		return bad_opt(name, what);
	}
	*v = (uint32_t)x;
	return 0;
}

static int parse(int argc, char **argv, struct http_opts *o)
{
	enum {
		O_MODE = 300,
		O_ROSTER,
		O_URL,
		O_SERVICE,
		O_DOMAIN,
		O_MSK_ID,
		O_PER_UE,
		O_CONC,
		O_THREADS,
		O_RATE,
		O_REQUESTS,
		O_DURATION,
		O_WARMUP,
		O_CACERT,
		O_BAD,
		O_FAILURES,
		O_SEED,
		O_JSON,
		O_PROGRESS,
		O_NO_REG,
		O_HELP,
	};
	static const struct option opts[] = {
		{"mode", required_argument, NULL, O_MODE},
		{"roster", required_argument, NULL, O_ROSTER},
		{"url", required_argument, NULL, O_URL},
		{"service", required_argument, NULL, O_SERVICE},
		{"key-domain", required_argument, NULL, O_DOMAIN},
		{"msk-id", required_argument, NULL, O_MSK_ID},
		{"msk-per-ue", required_argument, NULL, O_PER_UE},
		{"concurrency", required_argument, NULL, O_CONC},
		{"threads", required_argument, NULL, O_THREADS},
		{"rate", required_argument, NULL, O_RATE},
		{"requests", required_argument, NULL, O_REQUESTS},
		{"duration", required_argument, NULL, O_DURATION},
		{"warmup", required_argument, NULL, O_WARMUP},
		{"cacert", required_argument, NULL, O_CACERT},
		{"bad-password", required_argument, NULL, O_BAD},
		{"failures", required_argument, NULL, O_FAILURES},
		{"seed", required_argument, NULL, O_SEED},
		{"json", required_argument, NULL, O_JSON},
		{"progress", required_argument, NULL, O_PROGRESS},
		{"no-register", no_argument, NULL, O_NO_REG},
		{"help", no_argument, NULL, O_HELP},
		{NULL, 0, NULL, 0},
	};
	double v;
	uint32_t x;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case O_MODE:
			if (strcmp(optarg, "http") != 0)
				return bad_opt("--mode", "http here");
			break;
		case O_ROSTER:
			o->roster = optarg;
			break;
		case O_URL:
			o->url = optarg;
			break;
		case O_SERVICE:
			o->service = optarg;
			break;
		case O_DOMAIN:
			if (hexn("--key-domain", optarg, 6, &x) != 0)
				return -1;
			o->key_domain[0] = (uint8_t)(x >> 16);
			o->key_domain[1] = (uint8_t)(x >> 8);
			o->key_domain[2] = (uint8_t)x;
			break;
		case O_MSK_ID:
			if (hexn("--msk-id", optarg, 8, &o->msk_id) != 0)
				return -1;
			break;
		case O_PER_UE:
			if (num("--msk-per-ue", optarg, 0, 1e9, &v) != 0)
				return -1;
			o->msk_per_ue = (uint32_t)v;
			break;
		case O_CONC:
			if (num("--concurrency", optarg, 1, 100000, &v) != 0)
				return -1;
			o->conc = (unsigned)v;
			break;
		case O_THREADS:
			if (num("--threads", optarg, 1, 256, &v) != 0)
				return -1;
			o->threads = (unsigned)v;
			break;
		case O_RATE:
			if (num("--rate", optarg, 0, 1e9, &o->rate) != 0)
				return -1;
			break;
		case O_REQUESTS:
			if (num("--requests", optarg, 0, 1e15, &v) != 0)
				return -1;
			o->requests = (uint64_t)v;
			break;
		case O_DURATION:
			if (num("--duration", optarg, 0, 1e7, &o->duration) != 0)
				return -1;
			break;
		case O_WARMUP:
			if (num("--warmup", optarg, 0, 1e7, &o->warmup) != 0)
				return -1;
			break;
		case O_CACERT:
			o->cacert = optarg;
			break;
		case O_BAD:
			if (num("--bad-password", optarg, 0, 1, &o->bad_password) != 0)
				return -1;
			break;
		case O_FAILURES:
			o->failures = optarg;
			break;
		case O_SEED: {
			char *end;
			errno = 0;
			o->seed = strtoull(optarg, &end, 0);
			if (errno != 0 || *end != '\0' || end == optarg || *optarg == '-')
				return bad_opt("--seed", "an integer");
			break;
		}
		case O_JSON:
			o->json_out = optarg;
			break;
		case O_PROGRESS:
			if (num("--progress", optarg, 0, 1e7, &o->progress_s) != 0)
				return -1;
			break;
		case O_NO_REG:
			o->no_register = true;
			break;
		case O_HELP:
			kb_uesim_http_usage(stdout);
			exit(0);
		default:
			fprintf(stderr, "keyburst-uesim: see --mode http --help (an option of "
					"another mode?)\n");
			return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "keyburst-uesim: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (o->roster == NULL || o->url == NULL || (o->service == NULL && !o->no_register)) {
		fprintf(stderr, "keyburst-uesim: http mode needs --roster, --url and --service "
				"(or --no-register)\n");
		return -1;
	}
	if (o->threads > o->conc)
		return bad_opt("--threads", "at most --concurrency");
	return 0;
}

/* ---- the run ---- */

static char *join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	while (la > 0 && a[la - 1] == '/')
		la--;
	char *s = malloc(la + lb + 1);
	if (s != NULL) {
		memcpy(s, a, la);
		memcpy(s + la, b, lb + 1);
	}
	return s;
}

static int prepare(struct run *r)
{
	const char *reg_n[] = {"serviceId"}, *reg_v[] = {r->o.service != NULL ? r->o.service : ""};
	const char *msk_n[] = {"keyDomainId", "mskId"}, *msk_v[] = {r->domain_hex, r->msk_hex};
	snprintf(r->msk_hex, sizeof(r->msk_hex), "%08x", r->o.msk_id);
	snprintf(r->domain_hex, sizeof(r->domain_hex), "%02x%02x%02x", r->o.key_domain[0],
		 r->o.key_domain[1], r->o.key_domain[2]);
	r->url_reg = join(r->o.url, PATH_REGISTER);
	r->url_msk = join(r->o.url, PATH_MSK);
	r->body[K_REG] = build_doc("mbmsUserServiceRegistration", NS_REGISTER, reg_n, reg_v, 1,
				   &r->body_len[K_REG]);
	r->body[K_MSK] = build_doc("mskRequest", NS_MSK, msk_n, msk_v, 2, &r->body_len[K_MSK]);
	/* no "Expect: 100-continue": one round trip per request */
	r->hdrs[K_REG] = curl_slist_append(NULL, "Content-Type: " MT_REGISTER);
	r->hdrs[K_REG] = curl_slist_append(r->hdrs[K_REG], "Expect:");
	r->hdrs[K_MSK] = curl_slist_append(NULL, "Content-Type: " MT_MSK);
	r->hdrs[K_MSK] = curl_slist_append(r->hdrs[K_MSK], "Expect:");
	return r->url_reg != NULL && r->url_msk != NULL && r->body[0] != NULL &&
			       r->body[1] != NULL && r->hdrs[0] != NULL && r->hdrs[1] != NULL
		       ? 0
		       : -1;
}

static void add_stats(struct stats *a, const struct stats *b)
{
	const uint64_t *s = (const uint64_t *)b;
	uint64_t *d = (uint64_t *)a;
	for (size_t i = 0; i < sizeof(*a) / sizeof(uint64_t); i++)
		d[i] += s[i];
}

static void put(json_t *o, const char *k, uint64_t v)
{
	json_object_set_new(o, k, json_integer((json_int_t)v));
}

static int report(struct run *r, struct worker *ws, double load_s, double t_stop)
{
	struct stats st = {0};
	uint64_t *hist = calloc(HIST_N, sizeof(*hist)), m_ok = 0, m_failed = 0, m_msk = 0;
	uint64_t lat_sum = 0, lat_max = 0, registered = 0;
	double cpu = 0, t_last = r->t_measure;
	if (hist == NULL)
		return 2;
	for (unsigned t = 0; t < r->o.threads; t++) {
		struct worker *w = &ws[t];
		add_stats(&st, &w->st);
		for (unsigned i = 0; i < HIST_N; i++)
			hist[i] += w->hist[i];
		m_ok += w->m_ok;
		m_failed += w->m_failed;
		m_msk += w->m_msk_ok;
		lat_sum += w->lat_sum_us;
		if (w->lat_max_us > lat_max)
			lat_max = w->lat_max_us;
		cpu += w->cpu;
		if (w->t_last > t_last)
			t_last = w->t_last;
	}
	for (uint32_t i = 0; i < r->n_ue; i++)
		registered += (r->ues[i].flags & UE_REGISTERED) != 0;
	/* the window: up to the deadline if it ran that long, else the last answer */
	double win = (r->t_end > 0 && t_stop >= r->t_end ? r->t_end : t_last) - r->t_measure;
	uint64_t m_n = m_ok + m_failed;
	uint64_t unexpected = st.ues_failed - st.bad_ue_failed + st.bad_ue_accepted;
	json_t *o = json_object(), *e = json_object(), *lat = json_object();
	json_t *reg = json_object(), *msk = json_object();
	json_object_set_new(o, "mode", json_string("http"));
	json_object_set_new(o, "url", json_string(r->o.url));
	json_object_set_new(o, "service",
			    r->o.service != NULL ? json_string(r->o.service) : json_null());
	json_object_set_new(o, "msk_id", json_string(r->msk_hex));
	put(o, "ues", r->n_ue);
	json_object_set_new(o, "roster_load_seconds", json_real(load_s));
	put(o, "bad_password_ues", r->n_bad);
	put(o, "concurrency", r->o.conc);
	put(o, "threads", r->o.threads);
	json_object_set_new(o, "rate_target", r->o.rate > 0 ? json_real(r->o.rate) : json_null());
	put(o, "registered", registered);
	put(o, "ues_failed", st.ues_failed);
	put(o, "bad_password_refused", st.bad_ue_failed);
	put(o, "bad_password_accepted", st.bad_ue_accepted);
	put(o, "unexpected_failures", unexpected);
	put(reg, "ok", st.reg_ok);
	put(reg, "failed", st.reg_failed);
	json_object_set_new(o, "registrations", reg);
	put(msk, "ok", st.msk_ok);
	put(msk, "failed", st.msk_failed);
	json_object_set_new(o, "msk_requests", msk);
	put(o, "requests", st.reg_ok + st.reg_failed + st.msk_ok + st.msk_failed);
	put(o, "unauthorized_roundtrips", st.n401);
	put(e, "transport", st.transport);
	put(e, "3xx", st.c3xx);
	put(e, "4xx", st.c4xx);
	put(e, "401", st.c401);
	put(e, "5xx", st.c5xx);
	put(e, "other", st.other);
	put(e, "bad_answer", st.bad_answer);
	json_object_set_new(o, "http_errors", e);
	json_object_set_new(o, "seconds", json_real(t_stop - r->t0));
	json_object_set_new(o, "measured_seconds", json_real(win > 0 ? win : 0));
	put(o, "measured_requests", m_n);
	json_object_set_new(o, "req_per_s", json_real(win > 0 ? (double)m_ok / win : 0));
	json_object_set_new(o, "msk_per_s", json_real(win > 0 ? (double)m_msk / win : 0));
	json_object_set_new(lat, "p50", json_real(m_n ? hist_pct(hist, m_n, 0.50) : 0));
	json_object_set_new(lat, "p90", json_real(m_n ? hist_pct(hist, m_n, 0.90) : 0));
	json_object_set_new(lat, "p99", json_real(m_n ? hist_pct(hist, m_n, 0.99) : 0));
	json_object_set_new(lat, "max", json_real((double)lat_max));
	json_object_set_new(lat, "mean", json_real(m_n ? (double)lat_sum / (double)m_n : 0));
	json_object_set_new(o, "latency_us", lat);
	json_object_set_new(o, "client_cpu_us_per_request",
			    json_real(m_n ? cpu * 1e6 / (double)m_n : 0));
	free(hist);
	int wrc = kb_uesim_json_write(o, r->o.json_out);
	json_decref(o);
	if (wrc != 0)
		return 2;
	return unexpected == 0 && st.reg_ok + st.msk_ok > 0 ? 0 : 1;
}

static void on_signal(int sig)
{
	(void)sig;
	kb_uesim_stop = 1;
}

static void progress(const struct run *r, struct worker *ws, double now, uint64_t *last_ok,
		     double *last_t)
{
	uint64_t ok = 0, failed = 0;
	for (unsigned t = 0; t < r->o.threads; t++) {
		ok += atomic_load_explicit(&ws[t].prog_ok, memory_order_relaxed);
		failed += atomic_load_explicit(&ws[t].prog_failed, memory_order_relaxed);
	}
	fprintf(stderr, "uesim http: %.1fs ok %llu (%.0f/s) failed %llu\n", now - r->t0,
		(unsigned long long)ok,
		now > *last_t ? (double)(ok - *last_ok) / (now - *last_t) : 0,
		(unsigned long long)failed);
	*last_ok = ok;
	*last_t = now;
}

int kb_uesim_http_main(int argc, char **argv)
{
	struct run r = {
		.o = {.key_domain = {0x62, 0xf2, 0x10},
		      .msk_id = 0x00010000,
		      .msk_per_ue = 1,
		      .conc = 32,
		      .threads = 1,
		      .seed = 1},
	};
	struct worker *ws = NULL;
	struct conn *conns = NULL, **ready = NULL;
	char err[256];
	int rc = 2;
	/* EAL args, if any, end at "--": http mode has no use for them */
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			argv[i] = argv[0];
			argc -= i;
			argv += i;
			break;
		}
	if (parse(argc, argv, &r.o) != 0)
		return 2;
	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	pthread_mutex_init(&r.fail_lock, NULL);
	double t_load = kb_uesim_now();
	if (load_roster(&r, err, sizeof(err)) != 0) {
		fprintf(stderr, "keyburst-uesim: %s\n", err);
		goto out;
	}
	double load_s = kb_uesim_now() - t_load;
	pick_bad(&r);
	for (uint32_t i = 0; r.o.no_register && i < r.n_ue; i++)
		r.ues[i].flags |= UE_REGISTERED;
	/* one UE per connection at a time */
	if (r.o.conc > r.n_ue)
		r.o.conc = r.n_ue;
	if (r.o.threads > r.o.conc)
		r.o.threads = r.o.conc;
	r.cycle = r.o.duration > 0 || r.o.requests > 0;
	if (r.o.failures != NULL && (r.failures = fopen(r.o.failures, "w")) == NULL) {
		perror(r.o.failures);
		goto out;
	}
	xmlInitParser();
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 || prepare(&r) != 0) {
		fprintf(stderr, "keyburst-uesim: setup failed\n");
		goto out;
	}
	ws = calloc(r.o.threads, sizeof(*ws));
	conns = calloc(r.o.conc, sizeof(*conns));
	ready = calloc(r.o.conc, sizeof(*ready));
	if (ws == NULL || conns == NULL || ready == NULL)
		goto out;
	r.t0 = kb_uesim_now();
	r.t_measure = r.t0 + r.o.warmup;
	r.t_end = r.o.duration > 0 ? r.t_measure + r.o.duration : 0;
	unsigned started = 0;
	for (unsigned t = 0, first = 0; t < r.o.threads; t++) {
		struct worker *w = &ws[t];
		w->r = &r;
		w->idx = t;
		w->n_conns = r.o.conc / r.o.threads + (t < r.o.conc % r.o.threads ? 1 : 0);
		w->conns = conns + first;
		w->ready = ready + first;
		w->n_ues = (r.n_ue - t + r.o.threads - 1) / r.o.threads;
		w->rate = r.o.rate / r.o.threads;
		w->cap = w->rate / 100 > 1 ? w->rate / 100 : 1; /* 10 ms of burst */
		first += w->n_conns;
		if (pthread_create(&w->tid, NULL, worker_run, w) != 0)
			break;
		started++;
	}
	double next_prog = r.o.progress_s > 0 ? r.t0 + r.o.progress_s : 0, last_t = r.t0;
	uint64_t last_ok = 0;
	for (;;) {
		bool all = true;
		for (unsigned t = 0; t < started; t++)
			all = all && atomic_load(&ws[t].done);
		if (all)
			break;
		usleep(20000);
		double now = kb_uesim_now();
		if (next_prog > 0 && now >= next_prog) {
			progress(&r, ws, now, &last_ok, &last_t);
			next_prog += r.o.progress_s;
		}
	}
	double t_stop = kb_uesim_now();
	int wrc = started == r.o.threads ? 0 : 2;
	for (unsigned t = 0; t < started; t++) {
		pthread_join(ws[t].tid, NULL);
		wrc |= ws[t].rc;
	}
	rc = wrc != 0 ? 2 : report(&r, ws, load_s, t_stop);
out:
	free(conns);
	free(ready);
	if (r.failures != NULL)
		fclose(r.failures);
	free(ws);
	if (r.ues != NULL)
		kb_memzero(r.ues, r.n_ue * sizeof(*r.ues));
	free(r.ues);
	free(r.arena);
	free(r.url_reg);
	free(r.url_msk);
	free(r.body[0]);
	free(r.body[1]);
	curl_slist_free_all(r.hdrs[0]);
	curl_slist_free_all(r.hdrs[1]);
	curl_global_cleanup();
	pthread_mutex_destroy(&r.fail_lock);
	return rc;
}
