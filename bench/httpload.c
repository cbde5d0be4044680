/* keyburst-httpload: authenticated requests per second against the control
 * plane's UE listener (issue 4 benchmark). libcurl's multi interface drives
 * --concurrency easy handles at once, each a keep-alive connection for one
 * user with CURLAUTH_DIGEST: curl answers the first 401 and then reuses
 * the nonce with an increasing nc, as a UE does, so the steady state is one
 * round trip per request. The loop is curl_multi_socket_action on epoll:
 * the client's cost per request must not grow with the concurrency. A
 * request counts as authenticated when the final answer is 200 and its body
 * holds a per-item statusCode="200".
 *
 * libcurl's per-request cost (request and Digest header formatting, URL
 * handling) is about twice the server's, so one client thread would be the
 * measurement's bottleneck: --threads runs several loops, each with its own
 * multi handle and its share of the connections.
 *
 *   keyburst-httpload --url URL --users FILE [--concurrency N] [--threads T]
 *                     [--requests N] [--duration S] [--warmup S] [--body FILE]
 *                     [--content-type T] [--cacert PEM] [--json]
 *   keyburst-httpload --make-users ROSTER.csv   (username:password lines)
 *
 * --make-users turns a roster (GBA_ME rows, MUK = Ks_NAF) into the users
 * file: B-TID and base64(MRK), MRK the profile's default variant of Ks_NAF,
 * which is what the roster import provisions. */
#include "gba/gba.h"
#include "util/roster.h"
#include "util/secret.h"

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_BODY                                                                       \
	"<mskRequest xmlns=\"urn:3GPP:metadata:2005:MBMS:mskRequest\"><keyDomainId>62f210" \
	"</keyDomainId><mskId>00010000</mskId></mskRequest>"
#define OK_MARK "statusCode=\"200\""

struct user {
	char *name, *password;
};

struct conn {
	CURL *h;
	const struct user *u;
	char tail[64]; /* the end of the body so far: OK_MARK may straddle writes */
	size_t tail_len;
	bool ok_item;
	unsigned n401; /* 401 status lines seen in this transfer */
};

struct stats {
	uint64_t done, ok, failed, unauth_roundtrips;
	uint64_t codes[6]; /* 1xx..5xx and 0 (transport error) */
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* curl_multi_socket_action glue: sockets in one epoll set, one timer */
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
	size_t len = sz * n, ml = strlen(OK_MARK);
	if (!c->ok_item) {
		/* the saved tail plus the head of this chunk, then the chunk */
		char buf[128];
		size_t head = len < ml ? len : ml - 1;
		memcpy(buf, c->tail, c->tail_len);
		memcpy(buf + c->tail_len, p, head);
		if (memmem(buf, c->tail_len + head, OK_MARK, ml) != NULL ||
		    memmem(p, len, OK_MARK, ml) != NULL)
			c->ok_item = true;
		size_t keep = len < ml - 1 ? len : ml - 1;
		memcpy(c->tail, p + len - keep, keep);
		c->tail_len = keep;
	}
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
	return len;
}

static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_THREAD, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *b = NULL;
	long n;
	if (f == NULL) {
		perror(path);
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		b = malloc((size_t)n + 1);
		if (b != NULL && fread(b, 1, (size_t)n, f) == (size_t)n) {
			b[n] = '\0';
			*len = (size_t)n;
		} else {
			free(b);
			b = NULL;
		}
	}
	fclose(f);
	return b;
}

/* username:password per line (split at the first ':'; B-TIDs and base64
 * passwords have none). */
static struct user *load_users(const char *path, size_t *n_out, char **text_out)
{
	size_t len = 0, n = 0, cap = 1024;
	char *text = slurp(path, &len), *save = NULL;
	struct user *u = malloc(cap * sizeof(*u));
	if (text == NULL || u == NULL)
		goto fail;
	for (char *line = strtok_r(text, "\r\n", &save); line != NULL;
	     line = strtok_r(NULL, "\r\n", &save)) {
		char *colon = strchr(line, ':');
		if (colon == NULL || colon == line)
			continue;
		*colon = '\0';
		if (n == cap) {
			struct user *nu = realloc(u, 2 * cap * sizeof(*u));
			if (nu == NULL)
				goto fail;
			u = nu;
			cap *= 2;
		}
		u[n].name = line;
		u[n].password = colon + 1;
		n++;
	}
	if (n == 0) {
		fprintf(stderr, "%s: no username:password lines\n", path);
		goto fail;
	}
	*n_out = n;
	*text_out = text; /* the strings point into it */
	return u;
fail:
	free(text);
	free(u);
	return NULL;
}

static int make_users(const char *roster)
{
	FILE *f = fopen(roster, "r");
	char line[2048], err[128], pw[64];
	struct kb_roster_row row;
	uint8_t muk[KB_GBA_KEY_LEN], mrk[KB_GBA_KEY_LEN];
	int rc = 0;
	if (f == NULL) {
		perror(roster);
		return 1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t l = strcspn(line, "\r\n");
		if (l == 0 || kb_roster_is_header(line, l))
			continue;
		if (kb_roster_parse_line(line, l, &row, err, sizeof(err)) != 0 ||
		    kb_gba_mbms_keys(KB_GBA_ME, row.muk, NULL, NULL, muk, mrk) != 0) {
			fprintf(stderr, "%s: %s\n", roster, err);
			rc = 1;
			break;
		}
		EVP_EncodeBlock((unsigned char *)pw, mrk, sizeof(mrk));
		printf("%s:%s\n", row.b_tid, pw);
	}
	kb_memzero(&row, sizeof(row));
	kb_memzero(muk, sizeof(muk));
	kb_memzero(mrk, sizeof(mrk));
	kb_memzero(pw, sizeof(pw));
	fclose(f);
	return rc;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: keyburst-httpload --url URL --users FILE [options]\n"
		"       keyburst-httpload --make-users ROSTER.csv > users.txt\n"
		"  --url URL            e.g. http://127.0.0.1:8080/mbms/v1/msk\n"
		"  --users FILE         username:password lines (B-TID:base64(MRK))\n"
		"  --concurrency N      easy handles (keep-alive connections) at once (64)\n"
		"  --threads T          client threads sharing them (1)\n"
		"  --requests N         stop after N requests (default: --duration only)\n"
		"  --duration S         measured seconds (10)\n"
		"  --warmup S           seconds before measuring: first 401s, SA creation (2)\n"
		"  --body FILE          request body (default: an MSK request, key domain\n"
		"                       62f210, MSK ID 00010000)\n"
		"  --content-type T     (application/mbms-msk+xml)\n"
		"  --cacert PEM         CA for an https URL\n"
		"  --json               one JSON object instead of text\n");
}

static void conn_setup(struct conn *c, const char *url, const char *body, size_t body_len,
		       struct curl_slist *hdrs, const char *cacert)
{
	curl_easy_setopt(c->h, CURLOPT_URL, url);
	curl_easy_setopt(c->h, CURLOPT_HTTPAUTH, (long)CURLAUTH_DIGEST);
	curl_easy_setopt(c->h, CURLOPT_USERNAME, c->u->name);
	curl_easy_setopt(c->h, CURLOPT_PASSWORD, c->u->password);
	curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c->h, CURLOPT_POSTFIELDSIZE, (long)body_len);
	curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c->h, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(c->h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c->h, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(c->h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(c->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->h, CURLOPT_TIMEOUT, 30L);
	if (cacert != NULL)
		curl_easy_setopt(c->h, CURLOPT_CAINFO, cacert);
	c->ok_item = false;
	c->tail_len = 0;
	c->n401 = 0;
}

/* One client thread: its own multi handle and epoll set over
 * conns[0..n). The measured window starts at the first completion after
 * the warm-up and lasts `duration`. */
struct worker {
	pthread_t tid;
	struct conn *conns;
	unsigned n;
	const char *url, *body, *cacert;
	size_t body_len;
	struct curl_slist *hdrs;
	double warmup, duration;
	uint64_t max_req;
	int rc;
	/* results over the measured window */
	struct stats st;
	double elapsed, cpu;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	struct conn *conns = w->conns;
	unsigned conc = w->n;
	double duration = w->duration, warmup = w->warmup;
	uint64_t max_req = w->max_req;
	w->rc = 1;
	CURLM *m = curl_multi_init();
	if (m == NULL)
		return NULL;
	struct loop lp = {.m = m, .ep = epoll_create1(EPOLL_CLOEXEC), .timeout_ms = -1};
	if (lp.ep < 0) {
		curl_multi_cleanup(m);
		return NULL;
	}
	curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(m, CURLMOPT_SOCKETDATA, &lp);
	curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(m, CURLMOPT_TIMERDATA, &lp);
	curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)conc);
	curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)conc);
	for (unsigned i = 0; i < conc; i++) {
		conns[i].h = curl_easy_init();
		if (conns[i].h == NULL)
			return NULL;
		curl_easy_setopt(conns[i].h, CURLOPT_PRIVATE, &conns[i]);
		conn_setup(&conns[i], w->url, w->body, w->body_len, w->hdrs, w->cacert);
		curl_multi_add_handle(m, conns[i].h);
	}
	struct stats st = {0}, at_start = {0};
	double t0 = now_s(), t_measure = t0 + warmup, t_end = t_measure + duration;
	bool measuring = warmup <= 0, stopping = false;
	double cpu0 = cpu_s();
	unsigned active = conc;
	while (active > 0) {
		int running = 0, left = 0;
		struct epoll_event evs[64];
		int n = epoll_wait(lp.ep, evs, 64, lp.timeout_ms < 0 ? 100 : (int)lp.timeout_ms);
		for (int i = 0; i < n; i++) {
			int f = ((evs[i].events & EPOLLIN) != 0 ? CURL_CSELECT_IN : 0) |
				((evs[i].events & EPOLLOUT) != 0 ? CURL_CSELECT_OUT : 0) |
				((evs[i].events & (EPOLLERR | EPOLLHUP)) != 0 ? CURL_CSELECT_ERR
									      : 0);
			curl_multi_socket_action(m, evs[i].data.fd, f, &running);
		}
		if (n <= 0 || lp.timeout_ms == 0)
			curl_multi_socket_action(m, CURL_SOCKET_TIMEOUT, 0, &running);
		CURLMsg *msg;
		while ((msg = curl_multi_info_read(m, &left)) != NULL) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			struct conn *c = NULL;
			long code = 0;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&c);
			curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
			st.done++;
			st.codes[code >= 100 && code < 600 ? code / 100 : 0]++;
			st.unauth_roundtrips += c->n401;
			if (msg->data.result == CURLE_OK && code == 200 && c->ok_item)
				st.ok++;
			else
				st.failed++;
			curl_multi_remove_handle(m, msg->easy_handle);
			double t = now_s();
			if (!measuring && t >= t_measure) {
				measuring = true;
				at_start = st;
				t_measure = t;
				cpu0 = cpu_s();
				t_end = t + duration;
			}
			if (t >= t_end || (max_req != 0 && st.done - at_start.done >= max_req))
				stopping = true;
			if (stopping) {
				active--;
				continue;
			}
			/* same handle, same user: curl keeps the connection and the
			 * Digest nonce (nc + 1) */
			c->ok_item = false;
			c->tail_len = 0;
			c->n401 = 0;
			curl_multi_add_handle(m, msg->easy_handle);
		}
	}
	w->elapsed = now_s() - t_measure;
	w->cpu = cpu_s() - cpu0;
	w->st.done = st.done - at_start.done;
	w->st.ok = st.ok - at_start.ok;
	w->st.failed = st.failed - at_start.failed;
	w->st.unauth_roundtrips = st.unauth_roundtrips - at_start.unauth_roundtrips;
	for (int i = 0; i < 6; i++)
		w->st.codes[i] = st.codes[i];
	for (unsigned i = 0; i < conc; i++)
		curl_easy_cleanup(conns[i].h);
	curl_multi_cleanup(m);
	close(lp.ep);
	w->rc = 0;
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"url", required_argument, NULL, 'u'},
		{"users", required_argument, NULL, 'U'},
		{"concurrency", required_argument, NULL, 'c'},
		{"threads", required_argument, NULL, 'T'},
		{"requests", required_argument, NULL, 'n'},
		{"duration", required_argument, NULL, 'd'},
		{"warmup", required_argument, NULL, 'w'},
		{"body", required_argument, NULL, 'b'},
		{"content-type", required_argument, NULL, 't'},
		{"cacert", required_argument, NULL, 'C'},
		{"json", no_argument, NULL, 'j'},
		{"make-users", required_argument, NULL, 'm'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *url = NULL, *users_path = NULL, *body_path = NULL, *cacert = NULL;
	const char *ctype = "application/mbms-msk+xml";
	unsigned conc = 64, threads = 1;
	uint64_t max_req = 0;
	double duration = 10, warmup = 2;
	bool json = false;
	int o;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'u':
			url = optarg;
			break;
		case 'U':
			users_path = optarg;
			break;
		case 'c':
			conc = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'T':
			threads = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'n':
			max_req = strtoull(optarg, NULL, 10);
			break;
		case 'd':
			duration = strtod(optarg, NULL);
			break;
		case 'w':
			warmup = strtod(optarg, NULL);
			break;
		case 'b':
			body_path = optarg;
			break;
		case 't':
			ctype = optarg;
			break;
		case 'C':
			cacert = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'm':
			return make_users(optarg);
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (url == NULL || users_path == NULL || conc == 0 || conc > 10000 || duration <= 0 ||
	    threads == 0 || threads > conc) {
		usage(stderr);
		return 2;
	}
	size_t n_users = 0, body_len = strlen(DEFAULT_BODY);
	char *users_text = NULL;
	struct user *users = load_users(users_path, &n_users, &users_text);
	char *body = body_path != NULL ? slurp(body_path, &body_len) : strdup(DEFAULT_BODY);
	if (users == NULL || body == NULL)
		return 1;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return 1;
	char cth[256];
	snprintf(cth, sizeof(cth), "Content-Type: %s", ctype);
	/* no "Expect: 100-continue": one round trip per request */
	struct curl_slist *hdrs = curl_slist_append(NULL, cth);
	hdrs = curl_slist_append(hdrs, "Expect:");
	struct conn *conns = calloc(conc, sizeof(*conns));
	struct worker *ws = calloc(threads, sizeof(*ws));
	if (conns == NULL || ws == NULL || hdrs == NULL)
		return 1;
	for (unsigned i = 0; i < conc; i++)
		conns[i].u = &users[i % n_users];
	for (unsigned t = 0, first = 0; t < threads; t++) {
		struct worker *w = &ws[t];
		unsigned n = conc / threads + (t < conc % threads ? 1 : 0);
		*w = (struct worker){.conns = conns + first,
				     .n = n,
				     .url = url,
				     .body = body,
				     .cacert = cacert,
				     .body_len = body_len,
				     .hdrs = hdrs,
				     .warmup = warmup,
				     .duration = duration,
				     .max_req =
					     max_req != 0 ? (max_req + threads - 1) / threads : 0};
		first += n;
		if (pthread_create(&w->tid, NULL, worker_run, w) != 0)
			return 1;
	}
	struct stats st = {0};
	double elapsed = 0, cpu = 0;
	int wrc = 0;
	for (unsigned t = 0; t < threads; t++) {
		struct worker *w = &ws[t];
		pthread_join(w->tid, NULL);
		wrc |= w->rc;
		st.done += w->st.done;
		st.ok += w->st.ok;
		st.failed += w->st.failed;
		st.unauth_roundtrips += w->st.unauth_roundtrips;
		for (int i = 0; i < 6; i++)
			st.codes[i] += w->st.codes[i];
		elapsed += w->elapsed / threads; /* the windows nearly coincide */
		cpu += w->cpu;
	}
	if (wrc != 0)
		return 1;
	uint64_t ok = st.ok, done = st.done, failed = st.failed, r401 = st.unauth_roundtrips;
	double rate = elapsed > 0 ? (double)ok / elapsed : 0;
	double cpu_us = done != 0 ? cpu * 1e6 / (double)done : 0;
	if (json)
		printf("{\"authenticated_rps\":%.0f,\"ok\":%llu,\"requests\":%llu,\"failed\":%llu,"
		       "\"unauthorized_roundtrips\":%llu,\"seconds\":%.3f,\"concurrency\":%u,"
		       "\"users\":%zu,\"threads\":%u,\"client_cpu_us_per_request\":%.1f}\n",
		       rate, (unsigned long long)ok, (unsigned long long)done,
		       (unsigned long long)failed, (unsigned long long)r401, elapsed, conc, n_users,
		       threads, cpu_us);
	else
		printf("authenticated requests/s: %.0f\n"
		       "  %llu ok of %llu requests in %.3f s, %llu failed, %llu 401 round trips\n"
		       "  client CPU %.1f us/request\n"
		       "  concurrency %u, users %zu; whole run: 2xx %llu 4xx %llu 5xx %llu "
		       "transport errors %llu\n",
		       rate, (unsigned long long)ok, (unsigned long long)done, elapsed,
		       (unsigned long long)failed, (unsigned long long)r401, cpu_us, conc, n_users,
		       (unsigned long long)st.codes[2], (unsigned long long)st.codes[4],
		       (unsigned long long)st.codes[5], (unsigned long long)st.codes[0]);
	curl_slist_free_all(hdrs);
	free(ws);
	free(conns);
	free(body);
	free(users);
	free(users_text);
	curl_global_cleanup();
	return ok > 0 && failed == 0 ? 0 : 1;
}
