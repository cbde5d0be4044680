/* kb_control_start / kb_control_stop: configuration defaults, the store,
 * the key sources, the Digest server, the key-table rebuild, the two
 * listeners and the timer thread (scheduled rollovers). */
#include "ctl_internal.h"
#include "pap_api.h"

#include "util/secret.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct kb_ctl *kb_ctl_g;

struct kb_digest_server *kb_ctl_digest_new(struct kb_ctl *c, char *err, size_t errlen);
struct MHD_Daemon *kb_ctl_ue_server_start(struct kb_ctl *c, char *err, size_t errlen);

int64_t kb_ctl_now(void)
{
	return (int64_t)time(NULL);
}

static char *slurp(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || n > (1 << 20) ||
	    fseek(f, 0, SEEK_SET) != 0) {
		snprintf(err, errlen, "%s: unreadable or too large", path);
		goto out;
	}
	buf = malloc((size_t)n + 1);
	if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		snprintf(err, errlen, "%s: read failed", path);
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[n] = '\0';
out:
	fclose(f);
	return buf;
}

struct tick_ctx {
	int64_t now;
	char due[16][KB_SERVICE_ID_MAX];
	int n;
};

static int tick_cb(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
	struct tick_ctx *t = arg;
	struct kb_rec_service s;
	(void)k;
	(void)kl;
	if (vl != sizeof(s))
		return 0;
	memcpy(&s, v, sizeof(s)); /* LMDB values are not aligned */
	if (s.next_rollover != 0 && s.next_rollover <= t->now && t->n < 16)
		memcpy(t->due[t->n++], s.id, KB_SERVICE_ID_MAX);
	return 0;
}

void kb_control_tick(int64_t now)
{
	struct kb_ctl *c = kb_ctl_g;
	struct tick_ctx t = {.now = now};
	char err[160];
	if (c == NULL)
		return;
	c->st->ops->iterate(c->st, KB_ST_SERVICE, NULL, 0, tick_cb, &t);
	for (int i = 0; i < t.n; i++)
		if (kb_ctl_rollover_start(c, t.due[i], err, sizeof(err)) != 0)
			fprintf(stderr, "control: scheduled rollover of %s: %s\n", t.due[i], err);
}

static void *timer_main(void *arg)
{
	struct kb_ctl *c = arg;
	while (!atomic_load(&c->stopping)) {
		kb_control_tick(kb_ctl_now());
		for (int i = 0; i < 10 && !atomic_load(&c->stopping); i++)
			usleep(100 * 1000);
	}
	return NULL;
}

static void ctl_free(struct kb_ctl *c)
{
	if (c == NULL)
		return;
	atomic_store(&c->stopping, true);
	if (c->timer_running)
		pthread_join(c->timer, NULL);
	if (c->ue_d != NULL)
		MHD_stop_daemon(c->ue_d);
	if (c->admin_d != NULL)
		MHD_stop_daemon(c->admin_d);
	if (c->digest != NULL)
		kb_digest_server_free(c->digest);
	if (c->records != NULL)
		c->records->free(c->records);
	if (c->bsfsim != NULL)
		c->bsfsim->free(c->bsfsim);
	if (c->st != NULL)
		c->st->ops->close(c->st);
	if (c->tls_key_pem != NULL) {
		kb_memzero(c->tls_key_pem, strlen(c->tls_key_pem));
		free(c->tls_key_pem);
	}
	free(c->tls_cert_pem);
	pthread_mutex_destroy(&c->writer);
	pthread_mutex_destroy(&c->roll_lock);
	pthread_mutex_destroy(&c->csb_lock);
	kb_ctl_rollover_free(c);
	kb_memzero(c->admin_token, sizeof(c->admin_token));
	free(c);
}

int kb_control_start(const struct kb_control_cfg *cfg, const struct kb_control_hooks *hooks,
		     char *err, size_t errlen)
{
	struct kb_ctl *c;
	uint64_t n = 0;
	if (kb_ctl_g != NULL) {
		snprintf(err, errlen, "the control plane is already running");
		return -1;
	}
	if (cfg->fqdn == NULL || cfg->fqdn[0] == '\0' || strlen(cfg->fqdn) > KB_GBA_FQDN_MAX) {
		snprintf(err, errlen, "fqdn is required (at most 255 characters)");
		return -1;
	}
	if (cfg->admin_token == NULL || strlen(cfg->admin_token) < 16 ||
	    strlen(cfg->admin_token) >= 256) {
		snprintf(err, errlen, "admin_token is required (16..255 characters)");
		return -1;
	}
	if (cfg->store_path == NULL) {
		snprintf(err, errlen, "store_path is required");
		return -1;
	}
	if ((cfg->tls_cert == NULL) != (cfg->tls_key == NULL)) {
		snprintf(err, errlen, "tls_cert and tls_key go together");
		return -1;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	pthread_mutex_init(&c->writer, NULL);
	pthread_mutex_init(&c->roll_lock, NULL);
	pthread_mutex_init(&c->csb_lock, NULL);
	c->cfg = *cfg;
	snprintf(c->fqdn, sizeof(c->fqdn), "%s", cfg->fqdn);
	snprintf(c->realm, sizeof(c->realm), "3GPP-bootstrapping@%s", cfg->fqdn);
	snprintf(c->admin_token, sizeof(c->admin_token), "%s", cfg->admin_token);
	if (cfg->bsf_domain != NULL)
		snprintf(c->bsf_domain, sizeof(c->bsf_domain), "%s", cfg->bsf_domain);
	else
		snprintf(c->bsf_domain, sizeof(c->bsf_domain), "bsf.%s", cfg->fqdn);
	c->cfg.fqdn = c->fqdn;
	c->cfg.admin_token = c->admin_token;
	if (c->cfg.ue_addr == NULL)
		c->cfg.ue_addr = "0.0.0.0";
	if (c->cfg.ue_port == 0)
		c->cfg.ue_port = 8080;
	if (c->cfg.admin_addr == NULL)
		c->cfg.admin_addr = "127.0.0.1";
	if (c->cfg.admin_port == 0)
		c->cfg.admin_port = 8081;
	if (c->cfg.max_body == 0)
		c->cfg.max_body = 16384;
	if (c->cfg.max_import_line == 0)
		c->cfg.max_import_line = 4096;
	if (c->cfg.http_threads == 0)
		c->cfg.http_threads = 2;
	if (c->cfg.ue_udp_port == 0)
		c->cfg.ue_udp_port = 4359;
	if (c->cfg.n_shards == 0)
		c->cfg.n_shards = 1;
	c->hooks = *hooks;

	kb_gba_mrk_fn mrk = NULL;
	if (cfg->mrk_variant != NULL) {
		mrk = kb_gba_mrk_lookup(cfg->mrk_variant);
		if (mrk == NULL) {
			snprintf(err, errlen, "unknown MRK variant '%s'", cfg->mrk_variant);
			goto fail;
		}
	}
	struct kb_naf_ctx naf = {.fqdn = c->fqdn, .mrk_fn = mrk};
	if (cfg->tls_cert != NULL) {
		c->tls_cert_pem = slurp(cfg->tls_cert, err, errlen);
		if (c->tls_cert_pem == NULL)
			goto fail;
		c->tls_key_pem = slurp(cfg->tls_key, err, errlen);
		if (c->tls_key_pem == NULL)
			goto fail;
	}
	c->st = kb_store_lmdb_open(cfg->store_path, cfg->store_map_size, err, errlen);
	if (c->st == NULL)
		goto fail;
	kb_store_counter_grantor(c->st, &c->grantor);
	if (kb_ctl_csb_init(c) != 0) {
		snprintf(err, errlen, "reading the SA table failed");
		goto fail;
	}
	c->records = kb_keysource_records(c->st, &naf);
	if (c->records == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (cfg->bsf_sim) {
		c->bsfsim = kb_keysource_bsfsim(c->st, &naf, c->bsf_domain, cfg->bsf_lifetime);
		if (c->bsfsim == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	c->digest = kb_ctl_digest_new(c, err, errlen);
	if (c->digest == NULL)
		goto fail;
	kb_ctl_g = c;
	/* the key tables come back from the store before anyone is served */
	if (kb_ctl_rebuild_keytable(c, &n) != 0) {
		snprintf(err, errlen, "rebuilding the key table from the store failed");
		goto fail_g;
	}
	if (n != 0)
		fprintf(stderr, "control: %llu SAs restored from the store\n",
			(unsigned long long)n);
	kb_ctl_rollover_resume_all(c);
	c->ue_d = kb_ctl_ue_server_start(c, err, errlen);
	if (c->ue_d == NULL)
		goto fail_g;
	c->admin_d = kb_ctl_admin_server_start(c, err, errlen);
	if (c->admin_d == NULL)
		goto fail_g;
	if (pthread_create(&c->timer, NULL, timer_main, c) != 0) {
		snprintf(err, errlen, "timer thread");
		goto fail_g;
	}
	c->timer_running = true;
	if (kb_pap_api_start(c, err, errlen) != 0) /* PAP listener, if configured */
		goto fail_g;
	return 0;
fail_g:
	kb_ctl_g = NULL;
fail:
	ctl_free(c);
	return -1;
}

void kb_control_stop(void)
{
	struct kb_ctl *c = kb_ctl_g;
	if (c == NULL)
		return;
	kb_pap_api_stop();
	atomic_store(&c->stopping, true);
	if (c->timer_running)
		pthread_join(c->timer, NULL);
	c->timer_running = false;
	if (c->ue_d != NULL)
		MHD_stop_daemon(c->ue_d);
	if (c->admin_d != NULL)
		MHD_stop_daemon(c->admin_d);
	c->ue_d = c->admin_d = NULL;
	kb_ctl_g = NULL;
	ctl_free(c);
}

struct kb_counter_grantor *kb_control_counter_grantor(void)
{
	return kb_ctl_g != NULL ? &kb_ctl_g->grantor : NULL;
}
