/* A small HTTP server for the curl interop test: libmicrohttpd does the
 * HTTP, our proto/digest code (not MHD's digest auth) protects POST /msk.
 * 401 carries one WWW-Authenticate per configured algorithm; 200 carries
 * Authentication-Info whose rspauth covers the response body.
 *
 *   digest_server --port P --user U --password PW [--algorithms A,B]
 *                 [--qop auth-int,auth] [--lifetime S]
 * Prints "ready" on stdout once listening; exits 3 if it cannot bind.
 * One line per verdict goes to stderr (never the password). */
#include "digest/digest.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define BODY_MAX (1u << 20)
#define REALM "3GPP-bootstrapping@bmsc.test"

static const char *cfg_user, *cfg_password;

struct upload {
	uint8_t *buf;
	size_t len;
	bool too_big;
};

static int lookup(void *ctx, const char *username, bool userhash, enum kb_digest_alg alg,
		  const char *realm, struct kb_digest_secret *s)
{
	(void)ctx;
	char h[KB_DIGEST_HEX_MAX];
	const char *want = cfg_user;
	if (userhash) {
		if (kb_digest_userhash(alg, cfg_user, realm, h) != 0)
			return -1;
		want = h;
	}
	if (strcmp(username, want) != 0)
		return -1;
	snprintf(s->username, sizeof(s->username), "%s", cfg_user);
	snprintf(s->password, sizeof(s->password), "%s", cfg_password);
	return 0;
}

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned int status, const char *text,
				 const char *(*hdrs)[2], size_t n_hdrs)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	for (size_t i = 0; i < n_hdrs; i++)
		MHD_add_response_header(r, hdrs[i][0], hdrs[i][1]);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain");
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result challenge(struct kb_digest_server *srv, struct MHD_Connection *c, bool stale)
{
	char nonce[KB_DIGEST_NONCE_LEN + 1];
	char ch[KB_DIGEST_ALG_COUNT][KB_DIGEST_CHALLENGE_MAX];
	const char *hdrs[KB_DIGEST_ALG_COUNT][2];
	size_t n = kb_digest_server_n_algs(srv);
	if (kb_digest_server_nonce(srv, nonce) != 0)
		return MHD_NO;
	for (size_t i = 0; i < n; i++) {
		if (kb_digest_server_challenge(srv, i, nonce, stale, ch[i], sizeof(ch[i])) != 0)
			return MHD_NO;
		hdrs[i][0] = MHD_HTTP_HEADER_WWW_AUTHENTICATE;
		hdrs[i][1] = ch[i];
	}
	return send_text(c, MHD_HTTP_UNAUTHORIZED, "authentication required\n", hdrs, n);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	struct kb_digest_server *srv = cls;
	struct upload *up = *con_cls;
	(void)version;

	if (up == NULL) {
		up = calloc(1, sizeof(*up));
		if (up == NULL)
			return MHD_NO;
		*con_cls = up;
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (up->too_big || up->len + n > BODY_MAX) {
			up->too_big = true;
			return MHD_YES;
		}
		uint8_t *nb = realloc(up->buf, up->len + n);
		if (nb == NULL)
			return MHD_NO;
		memcpy(nb + up->len, upload_data, n);
		up->buf = nb;
		up->len += n;
		return MHD_YES;
	}

	if (strcmp(url, "/msk") != 0)
		return send_text(c, MHD_HTTP_NOT_FOUND, "not found\n", NULL, 0);
	if (strcmp(method, "POST") != 0)
		return send_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "POST only\n", NULL, 0);
	if (up->too_big)
		return send_text(c, MHD_HTTP_CONTENT_TOO_LARGE, "too large\n", NULL, 0);

	const char *auth =
		MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	struct kb_digest_request req = {
		.authorization = auth,
		.authorization_len = auth != NULL ? strlen(auth) : 0,
		.method = method,
		.uri = url,
		.body = up->buf,
		.body_len = up->len,
	};
	struct kb_digest_verdict *v = malloc(sizeof(*v));
	if (v == NULL)
		return MHD_NO;
	enum kb_digest_result r = kb_digest_server_verify(srv, &req, v);
	fprintf(stderr, "digest_server: %s user=%s%s%s\n", kb_digest_result_name(r), v->username,
		v->detail[0] != '\0' ? " detail=" : "", v->detail);

	enum MHD_Result ret;
	if (r == KB_DIGEST_OK) {
		char body[KB_DIGEST_VALUE_MAX + 16], info[KB_DIGEST_INFO_MAX];
		snprintf(body, sizeof(body), "ok %s\n", v->username);
		if (kb_digest_server_auth_info(v, (const uint8_t *)body, strlen(body), info,
					       sizeof(info)) != 0) {
			ret = MHD_NO;
		} else {
			const char *hdrs[1][2] = {{"Authentication-Info", info}};
			ret = send_text(c, MHD_HTTP_OK, body, hdrs, 1);
		}
	} else {
		ret = challenge(srv, c, r == KB_DIGEST_STALE);
	}
	kb_digest_verdict_wipe(v);
	free(v);
	return ret;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	struct upload *up = *con_cls;
	if (up != NULL) {
		free(up->buf);
		free(up);
		*con_cls = NULL;
	}
}

/* "A,B,C" → algorithms or qop values. */
static int parse_list(const char *s, bool algs, struct kb_digest_server_config *cfg)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", s);
	size_t n = 0;
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t != NULL;
	     t = strtok_r(NULL, ",", &save)) {
		if (algs) {
			if (n >= KB_DIGEST_ALG_COUNT || kb_digest_alg_parse(t, &cfg->algs[n]) != 0)
				return -1;
		} else if (n >= 2 || kb_digest_qop_parse(t, &cfg->qops[n]) != 0) {
			return -1;
		}
		n++;
	}
	if (algs)
		cfg->n_algs = n;
	else
		cfg->n_qops = n;
	return n > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"port", required_argument, NULL, 'p'},
		{"user", required_argument, NULL, 'u'},
		{"password", required_argument, NULL, 'w'},
		{"algorithms", required_argument, NULL, 'a'},
		{"qop", required_argument, NULL, 'q'},
		{"lifetime", required_argument, NULL, 'l'},
		{NULL, 0, NULL, 0},
	};
	struct kb_digest_server_config cfg = {.realm = REALM, .lookup = lookup};
	long port = -1;
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			port = strtol(optarg, NULL, 10);
			break;
		case 'u':
			cfg_user = optarg;
			break;
		case 'w':
			cfg_password = optarg;
			break;
		case 'a':
			if (parse_list(optarg, true, &cfg) != 0)
				goto usage;
			break;
		case 'q':
			if (parse_list(optarg, false, &cfg) != 0)
				goto usage;
			break;
		case 'l':
			cfg.nonce_lifetime = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		default:
			goto usage;
		}
	}
	if (port <= 0 || port > 65535 || cfg_user == NULL || cfg_password == NULL)
		goto usage;

	char err[128];
	struct kb_digest_server *srv = kb_digest_server_new(&cfg, err, sizeof(err));
	if (srv == NULL) {
		fprintf(stderr, "digest_server: %s\n", err);
		return 2;
	}

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* MHD's threads inherit the mask */

	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* a thread pool: verification runs on several threads at once */
	struct MHD_Daemon *d =
		MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG,
				 (uint16_t)port, NULL, NULL, handle, srv, MHD_OPTION_SOCK_ADDR,
				 (struct sockaddr *)&sa, MHD_OPTION_THREAD_POOL_SIZE, 2u,
				 MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "digest_server: cannot listen on 127.0.0.1:%ld\n", port);
		kb_digest_server_free(srv);
		return 3;
	}
	printf("ready\n");
	fflush(stdout);

	int sig;
	sigwait(&set, &sig);
	MHD_stop_daemon(d);
	kb_digest_server_free(srv);
	return 0;

usage:
	fprintf(stderr, "usage: digest_server --port P --user U --password PW "
			"[--algorithms A,B] [--qop auth-int,auth] [--lifetime S]\n");
	return 2;
}
