/* keyburst admin: the control plane's admin API client (libcurl).
 *   keyburst admin [--url U] [--token T] <sub-command> ...
 * The token comes from --token or $KEYBURST_ADMIN_TOKEN. Rollovers can be
 * watched with a live progress bar. */
#include "cli.h"

#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct resp {
	char *p;
	size_t len;
};

static size_t on_data(char *ptr, size_t size, size_t n, void *arg)
{
	struct resp *r = arg;
	size_t add = size * n;
	char *np = realloc(r->p, r->len + add + 1);
	if (np == NULL)
		return 0;
	memcpy(np + r->len, ptr, add);
	r->p = np;
	r->len += add;
	r->p[r->len] = '\0';
	return add;
}

struct client {
	const char *url;
	const char *token;
};

/* method GET or POST; body (JSON) or upload file (streamed); returns HTTP
 * status (0 on transport failure) and the body in *out (malloc'd). */
static long request(const struct client *cl, const char *method, const char *path, const char *json,
		    FILE *upload, const char *ctype, char **out)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hdrs = NULL;
	struct resp r = {0};
	char buf[1024];
	long code = 0;
	if (h == NULL)
		return 0;
	snprintf(buf, sizeof(buf), "%s%s", cl->url, path);
	curl_easy_setopt(h, CURLOPT_URL, buf);
	snprintf(buf, sizeof(buf), "Authorization: Bearer %s", cl->token);
	hdrs = curl_slist_append(hdrs, buf);
	if (strcmp(method, "POST") == 0) {
		snprintf(buf, sizeof(buf), "Content-Type: %s", ctype);
		hdrs = curl_slist_append(hdrs, buf);
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		if (upload != NULL) {
			curl_easy_setopt(h, CURLOPT_READDATA, upload);
			hdrs = curl_slist_append(hdrs, "Transfer-Encoding: chunked");
		} else {
			curl_easy_setopt(h, CURLOPT_POSTFIELDS, json != NULL ? json : "");
		}
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
	CURLcode rc = curl_easy_perform(h);
	if (rc != CURLE_OK)
		fprintf(stderr, "keyburst admin: %s\n", curl_easy_strerror(rc));
	else
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	*out = r.p != NULL ? r.p : strdup("");
	return code;
}

/* Takes the body by reference: it is read only after request() set it. */
static int show(long code, char **bodyp)
{
	char *body = *bodyp;
	*bodyp = NULL;
	if (code == 0) {
		free(body);
		return 1;
	}
	fputs(body, code >= 200 && code < 300 ? stdout : stderr);
	if (body[0] != '\0' && body[strlen(body) - 1] != '\n')
		fputc('\n', code >= 200 && code < 300 ? stdout : stderr);
	free(body);
	return code >= 200 && code < 300 ? 0 : 1;
}

static char *escape(const char *s)
{
	CURL *h = curl_easy_init();
	char *e = h != NULL ? curl_easy_escape(h, s, 0) : NULL;
	char *res = e != NULL ? strdup(e) : NULL;
	curl_free(e);
	if (h != NULL)
		curl_easy_cleanup(h);
	return res;
}

/* Poll the rollover's progress until it completes (or timeout seconds). */
static int watch(const struct client *cl, const char *esc_id, unsigned timeout)
{
	char path[512];
	bool tty = isatty(STDERR_FILENO);
	snprintf(path, sizeof(path), "/v1/services/%s/rollover", esc_id);
	for (unsigned tick = 0; tick < timeout * 5; tick++) {
		char *body;
		long code = request(cl, "GET", path, NULL, NULL, NULL, &body);
		json_t *j = code == 200 ? json_loads(body, 0, NULL) : NULL;
		free(body);
		if (j == NULL) {
			fprintf(stderr, "\nkeyburst admin: status request failed (%ld)\n", code);
			return 1;
		}
		json_t *ro = json_object_get(j, "rollover");
		json_int_t t = json_integer_value(json_object_get(ro, "targets"));
		json_int_t d = json_integer_value(json_object_get(ro, "delivered"));
		json_int_t f = json_integer_value(json_object_get(ro, "failed"));
		bool running = json_is_true(json_object_get(ro, "in_progress"));
		int width = 40, fill = t > 0 ? (int)((d + f) * width / t) : width;
		if (fill > width)
			fill = width;
		fprintf(stderr, "%s[%.*s%*s] %3d%%  %lld/%lld delivered, %lld failed%s",
			tty ? "\r" : "", fill, "########################################",
			width - fill, "", t > 0 ? (int)((d + f) * 100 / t) : 100, (long long)d,
			(long long)t, (long long)f, tty ? "" : "\n");
		json_decref(j);
		if (!running || ro == NULL) {
			fputc('\n', stderr);
			return f == 0 ? 0 : 1;
		}
		usleep(200 * 1000);
	}
	fprintf(stderr, "\nkeyburst admin: still running after %u s\n", timeout);
	return 1;
}

static int usage(FILE *out)
{
	fprintf(out,
		"usage: keyburst admin [--url URL] [--token T] <sub-command>\n"
		"  services                       list services\n"
		"  service-create JSON            create a service ({\"id\",\"key_domain\",...})\n"
		"  service ID                     one service with rollover progress\n"
		"  rollover ID [--at UNIX] [--watch] [--timeout S]\n"
		"                                 roll the MSK now (or at a time); --watch\n"
		"                                 draws a live progress bar until it completes\n"
		"  solicit ID [--impi IMPI]       BM-SC solicited pull (all registered UEs)\n"
		"  import-roster FILE [--service ID] [--lifetime S]\n"
		"                                 stream a roster CSV (impi,b_tid,muk,ip,port)\n"
		"  import-bootstraps FILE         stream bootstrap records (one JSON per line)\n"
		"  bootstraps JSON                store bootstrap record(s)\n"
		"  ue IMPI | sa CSB_ID | stats    status\n"
		"  --url defaults to http://127.0.0.1:8081; the token to $KEYBURST_ADMIN_TOKEN\n");
	return out == stdout ? 0 : 2;
}

int kb_cmd_admin(int argc, char **argv)
{
	static const struct option opts[] = {
		{"url", required_argument, NULL, 'u'},
		{"token", required_argument, NULL, 't'},
		{"at", required_argument, NULL, 'a'},
		{"watch", no_argument, NULL, 'w'},
		{"timeout", required_argument, NULL, 'T'},
		{"impi", required_argument, NULL, 'i'},
		{"service", required_argument, NULL, 's'},
		{"lifetime", required_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct client cl = {.url = "http://127.0.0.1:8081",
			    .token = getenv("KEYBURST_ADMIN_TOKEN")};
	const char *at = NULL, *impi = NULL, *service = NULL, *lifetime = NULL;
	bool do_watch = false;
	unsigned timeout = 300;
	char path[1024], *body = NULL;
	int o, ret = 2;
	optind = 1;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'u':
			cl.url = optarg;
			break;
		case 't':
			cl.token = optarg;
			break;
		case 'a':
			at = optarg;
			break;
		case 'w':
			do_watch = true;
			break;
		case 'T':
			timeout = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'i':
			impi = optarg;
			break;
		case 's':
			service = optarg;
			break;
		case 'l':
			lifetime = optarg;
			break;
		case 'h':
			return usage(stdout);
		default:
			return usage(stderr);
		}
	}
	if (optind >= argc)
		return usage(stderr);
	if (cl.token == NULL) {
		fprintf(stderr, "keyburst admin: no token (--token or $KEYBURST_ADMIN_TOKEN)\n");
		return 2;
	}
	const char *sub = argv[optind], *arg = optind + 1 < argc ? argv[optind + 1] : NULL;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	char *esc = arg != NULL ? escape(arg) : NULL;
	if (strcmp(sub, "services") == 0) {
		ret = show(request(&cl, "GET", "/v1/services", NULL, NULL, NULL, &body), &body);
	} else if (strcmp(sub, "stats") == 0) {
		ret = show(request(&cl, "GET", "/v1/stats", NULL, NULL, NULL, &body), &body);
	} else if (arg == NULL) {
		ret = usage(stderr);
	} else if (strcmp(sub, "service-create") == 0) {
		ret = show(
			request(&cl, "POST", "/v1/services", arg, NULL, "application/json", &body),
			&body);
	} else if (strcmp(sub, "bootstraps") == 0) {
		ret = show(request(&cl, "POST", "/v1/bootstraps", arg, NULL, "application/json",
				   &body),
			   &body);
	} else if (strcmp(sub, "service") == 0) {
		snprintf(path, sizeof(path), "/v1/services/%s", esc);
		ret = show(request(&cl, "GET", path, NULL, NULL, NULL, &body), &body);
	} else if (strcmp(sub, "rollover") == 0) {
		char json[64];
		snprintf(path, sizeof(path), "/v1/services/%s/rollover", esc);
		if (at != NULL)
			snprintf(json, sizeof(json), "{\"at\":%lld}", strtoll(at, NULL, 10));
		else
			snprintf(json, sizeof(json), "{}");
		long code = request(&cl, "POST", path, json, NULL, "application/json", &body);
		ret = show(code, &body);
		if (ret == 0 && do_watch && at == NULL)
			ret = watch(&cl, esc, timeout);
	} else if (strcmp(sub, "solicit") == 0) {
		json_t *j = impi != NULL ? json_pack("{s:s}", "impi", impi) : json_object();
		char *js = json_dumps(j, JSON_COMPACT);
		json_decref(j);
		snprintf(path, sizeof(path), "/v1/services/%s/solicit", esc);
		ret = show(request(&cl, "POST", path, js, NULL, "application/json", &body), &body);
		free(js);
	} else if (strcmp(sub, "import-roster") == 0 || strcmp(sub, "import-bootstraps") == 0) {
		bool roster = strcmp(sub, "import-roster") == 0;
		FILE *f = strcmp(arg, "-") == 0 ? stdin : fopen(arg, "rb");
		if (f == NULL) {
			perror(arg);
			ret = 1;
		} else {
			char *es = service != NULL ? escape(service) : NULL;
			int n = snprintf(path, sizeof(path), "%s",
					 roster ? "/v1/import/roster" : "/v1/import/bootstraps");
			if (roster)
				snprintf(path + n, sizeof(path) - (size_t)n, "?lifetime=%s%s%s",
					 lifetime != NULL ? lifetime : "86400",
					 es != NULL ? "&service=" : "", es != NULL ? es : "");
			ret = show(request(&cl, "POST", path, NULL, f,
					   roster ? "text/csv" : "application/x-ndjson", &body),
				   &body);
			free(es);
			if (f != stdin)
				fclose(f);
		}
	} else if (strcmp(sub, "ue") == 0) {
		snprintf(path, sizeof(path), "/v1/ues/%s", esc);
		ret = show(request(&cl, "GET", path, NULL, NULL, NULL, &body), &body);
	} else if (strcmp(sub, "sa") == 0) {
		snprintf(path, sizeof(path), "/v1/sas/%s", esc);
		ret = show(request(&cl, "GET", path, NULL, NULL, NULL, &body), &body);
	} else {
		fprintf(stderr, "keyburst admin: unknown sub-command '%s'\n", sub);
		ret = usage(stderr);
	}
	free(esc);
	curl_global_cleanup();
	return ret;
}
