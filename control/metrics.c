/* /metrics in the Prometheus text exposition format (version 0.0.4). */
#include "ctl_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const int kb_metric_codes[KB_CODE_SLOTS] = {200, 400, 401, 403, 404, 405, 413, 500, 503, 0};
static const char *const ep_names[KB_EP_COUNT] = {"register", "deregister", "msk", "other"};

void kb_ctl_count_http(struct kb_ctl *c, enum kb_ep ep, int code)
{
	int slot = KB_CODE_SLOTS - 1;
	for (int i = 0; i < KB_CODE_SLOTS - 1; i++)
		if (kb_metric_codes[i] == code)
			slot = i;
	if ((unsigned)ep < KB_EP_COUNT)
		atomic_fetch_add(&c->http[ep][slot], 1);
}

struct buf {
	char *p;
	size_t len, cap;
	bool oom;
};

__attribute__((format(printf, 2, 3))) static void out(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		size_t room = b->cap - b->len;
		va_start(ap, fmt);
		int n = vsnprintf(b->p + b->len, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap * 2 + (size_t)n;
		char *np = realloc(b->p, cap);
		if (np == NULL) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
}

/* Label values: escape backslash, quote and newline. */
static const char *label(const char *s, char *tmp, size_t cap)
{
	size_t o = 0;
	for (; *s != '\0' && o + 3 < cap; s++) {
		if (*s == '\\' || *s == '"') {
			tmp[o++] = '\\';
			tmp[o++] = *s;
		} else if (*s == '\n') {
			tmp[o++] = '\\';
			tmp[o++] = 'n';
		} else {
			tmp[o++] = *s;
		}
	}
	tmp[o] = '\0';
	return tmp;
}

static bool metric_name_ok(const char *s)
{
	if (s == NULL || *s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

char *kb_ctl_metrics_text(struct kb_ctl *c, size_t *len)
{
	struct buf b = {.cap = 8192};
	char tmp[2 * KB_SERVICE_ID_MAX + 8];
	b.p = malloc(b.cap);
	if (b.p == NULL)
		return NULL;
	b.p[0] = '\0';
	out(&b, "# HELP kb_http_requests_total UE HTTP requests by endpoint and status code.\n"
		"# TYPE kb_http_requests_total counter\n");
	for (int e = 0; e < KB_EP_COUNT; e++)
		for (int i = 0; i < KB_CODE_SLOTS; i++) {
			uint64_t v = atomic_load(&c->http[e][i]);
			if (kb_metric_codes[i] != 0)
				out(&b,
				    "kb_http_requests_total{endpoint=\"%s\",code=\"%d\"} %llu\n",
				    ep_names[e], kb_metric_codes[i], (unsigned long long)v);
			else
				out(&b,
				    "kb_http_requests_total{endpoint=\"%s\",code=\"other\"} %llu\n",
				    ep_names[e], (unsigned long long)v);
		}
	out(&b, "# HELP kb_auth_failures_total Refused Digest authentications by reason.\n"
		"# TYPE kb_auth_failures_total counter\n");
	for (int r = 0; r < KB_AUTH_REASONS; r++) {
		if (r == KB_DIGEST_OK)
			continue;
		out(&b, "kb_auth_failures_total{reason=\"%s\"} %llu\n",
		    r == KB_AUTH_EXPIRED ? "expired" : kb_digest_result_name(r),
		    (unsigned long long)atomic_load(&c->auth_fail[r]));
	}
	out(&b,
	    "# HELP kb_jobs_posted_total Jobs handed to the dataplane.\n"
	    "# TYPE kb_jobs_posted_total counter\nkb_jobs_posted_total %llu\n"
	    "# HELP kb_jobs_refused_total Jobs the dataplane ring refused.\n"
	    "# TYPE kb_jobs_refused_total counter\nkb_jobs_refused_total %llu\n"
	    "# HELP kb_sas_created_total SAs created from HTTP procedures.\n"
	    "# TYPE kb_sas_created_total counter\nkb_sas_created_total %llu\n",
	    (unsigned long long)atomic_load(&c->jobs_posted),
	    (unsigned long long)atomic_load(&c->jobs_refused),
	    (unsigned long long)atomic_load(&c->sas_created));
	out(&b,
	    "# HELP kb_store_entries Entries per store table.\n# TYPE kb_store_entries gauge\n");
	for (int t = 0; t < KB_ST_COUNT; t++)
		out(&b, "kb_store_entries{table=\"%s\"} %llu\n", kb_store_table_name(t),
		    (unsigned long long)c->st->ops->count(c->st, t));
	out(&b, "# HELP kb_rollover_targets UEs a rollover must reach.\n"
		"# TYPE kb_rollover_targets gauge\n"
		"# HELP kb_rollover_delivered UEs that acknowledged the rollover's MSK.\n"
		"# TYPE kb_rollover_delivered gauge\n"
		"# HELP kb_rollover_failed UEs the dataplane gave up on.\n"
		"# TYPE kb_rollover_failed gauge\n");
	pthread_mutex_lock(&c->roll_lock);
	for (int i = 0; i < KB_MAX_ROLLOVERS; i++) {
		struct kb_rollover_progress *p = &c->roll[i];
		if (!p->used)
			continue;
		label(p->service, tmp, sizeof(tmp));
		out(&b, "kb_rollover_targets{service=\"%s\",msk_id=\"%08x\"} %llu\n", tmp,
		    p->msk_id, (unsigned long long)p->targets);
		out(&b, "kb_rollover_delivered{service=\"%s\",msk_id=\"%08x\"} %llu\n", tmp,
		    p->msk_id, (unsigned long long)atomic_load(&p->delivered));
		out(&b, "kb_rollover_failed{service=\"%s\",msk_id=\"%08x\"} %llu\n", tmp, p->msk_id,
		    (unsigned long long)atomic_load(&p->failed));
	}
	pthread_mutex_unlock(&c->roll_lock);
	struct kb_ctl_stat st[64];
	size_t n = c->hooks.read_stats != NULL ? c->hooks.read_stats(c->hooks.ctx, st, 64) : 0;
	for (size_t i = 0; i < n && i < 64; i++) {
		if (!metric_name_ok(st[i].name))
			continue;
		out(&b, "# TYPE kb_dataplane_%s untyped\nkb_dataplane_%s %llu\n", st[i].name,
		    st[i].name, (unsigned long long)st[i].value);
	}
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}
