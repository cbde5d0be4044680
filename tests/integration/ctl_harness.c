/* ctl_harness: the control plane alone, with fake dataplane hooks that
 * record every request in a log file, one line each:
 *   floor N                       counter floor read from the store at start
 *   publish csb=XXXXXXXX idr=B-TID group=G addr=IP:PORT
 *   delete csb=XXXXXXXX
 *   job deliver csb=XXXXXXXX msk_id=XXXXXXXX domain=XXXXXX ack=0|1 retries=N
 *   job rollover group=G msk_id=XXXXXXXX domain=XXXXXX
 *   job solicit csb=XXXXXXXX msk_id=XXXXXXXX
 *   granted N                     a counter limit the store persisted
 * Options select the listeners, the store, the BSF simulator, a grant loop
 * (for the kill -9 test) and auto-acks (every published SA of the rolled
 * key group "acknowledges" twice, so rollovers complete and duplicate
 * acks are seen). --real-sa builds SA
 * records with the dataplane's kb_sa_record_build (benchmarks: imports and
 * the start-up rebuild pay the real derivation); --quiet only counts
 * publishes and jobs (harness_published_total, harness_jobs_total in
 * /metrics) instead of logging each: a benchmark must not measure our log.
 * Prints "ready" when serving; SIGTERM/SIGINT stop it cleanly. */
#include "control.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_SAS 4096

static FILE *rec_file;
static pthread_mutex_t rec_lock = PTHREAD_MUTEX_INITIALIZER;
static volatile sig_atomic_t stop_flag;
static bool auto_ack, quiet;
static _Atomic uint64_t n_published;

static struct {
	uint32_t csb;
	uint16_t group;
} sas[MAX_SAS];
static size_t n_sas;
static _Atomic uint64_t n_jobs;

__attribute__((format(printf, 1, 2))) static void record(const char *fmt, ...)
{
	va_list ap;
	pthread_mutex_lock(&rec_lock);
	va_start(ap, fmt);
	vfprintf(rec_file, fmt, ap);
	va_end(ap);
	fputc('\n', rec_file);
	fflush(rec_file);
	pthread_mutex_unlock(&rec_lock);
}

/* No crypto here: the harness checks what the control plane asks for; the
 * real kb_sa_record_build is the dataplane's and has its own tests. */
static int fake_build(struct kb_sa_record *rec, const uint8_t *muk, size_t muk_len, uint32_t csb_id,
		      const uint8_t rand[KB_MIKEY_RAND_LEN], const char *idr, uint16_t key_group,
		      const struct kb_ue_addr *addr, unsigned n_shards)
{
	size_t il = strlen(idr);
	(void)n_shards;
	if (muk == NULL || muk_len != 32 || il > KB_SA_ID_MAX)
		return -1;
	memset(rec, 0, sizeof(*rec));
	rec->csb_id = csb_id;
	memcpy(rec->rand, rand, KB_MIKEY_RAND_LEN);
	memcpy(rec->idr, idr, il);
	rec->idr_len = (uint8_t)il;
	rec->key_group = key_group;
	rec->addr = *addr;
	return 0;
}

static int fake_publish(void *ctx, const struct kb_sa_record *rec)
{
	char ip[64] = "";
	(void)ctx;
	atomic_fetch_add(&n_published, 1);
	if (quiet)
		return 0;
	if (rec->addr.af == AF_INET || rec->addr.af == AF_INET6)
		inet_ntop(rec->addr.af, rec->addr.ip, ip, sizeof(ip));
	pthread_mutex_lock(&rec_lock);
	size_t i = MAX_SAS;
	/* the auto-ack table only needs small tests' SAs */
	if (n_sas < MAX_SAS)
		for (i = 0; i < n_sas && sas[i].csb != rec->csb_id; i++)
			;
	if (i < MAX_SAS) {
		sas[i].csb = rec->csb_id;
		sas[i].group = rec->key_group;
		if (i == n_sas)
			n_sas++;
	}
	pthread_mutex_unlock(&rec_lock);
	record("publish csb=%08x idr=%.*s group=%u addr=%s:%u", rec->csb_id, rec->idr_len,
	       (const char *)rec->idr, rec->key_group, ip, rec->addr.port);
	return 0;
}

static int fake_delete(void *ctx, uint32_t csb)
{
	(void)ctx;
	pthread_mutex_lock(&rec_lock);
	for (size_t i = 0; i < n_sas; i++)
		if (sas[i].csb == csb)
			sas[i] = sas[--n_sas];
	pthread_mutex_unlock(&rec_lock);
	record("delete csb=%08x", csb);
	return 0;
}

static void hex3(const uint8_t d[3], char out[7])
{
	snprintf(out, 7, "%02x%02x%02x", d[0], d[1], d[2]);
}

struct ack_batch {
	uint32_t msk_id;
	size_t n;
	uint32_t csb[MAX_SAS];
};

static void *ack_thread(void *arg)
{
	struct ack_batch *b = arg;
	usleep(50 * 1000);
	/* every ack twice, as after a retransmission, and one from a UE that
	 * is no target: the progress must count each target once */
	for (size_t i = 0; i < b->n; i++)
		kb_control_on_delivered(b->csb[i], b->msk_id);
	for (size_t i = 0; i < b->n; i++)
		kb_control_on_delivered(b->csb[i], b->msk_id);
	kb_control_on_delivered(0xfffffff0u, b->msk_id);
	free(b);
	return NULL;
}

static int fake_post(void *ctx, const struct kb_ctl_job *job)
{
	char dom[7];
	(void)ctx;
	hex3(job->key_domain, dom);
	atomic_fetch_add(&n_jobs, 1);
	if (quiet && job->type != KB_CTL_JOB_ROLLOVER)
		return 0;
	switch (job->type) {
	case KB_CTL_JOB_DELIVER_MSK:
		record("job deliver csb=%08x msk_id=%08x domain=%s ack=%d retries=%u", job->csb_id,
		       job->msk_id, dom, job->ack_wanted, job->retries);
		break;
	case KB_CTL_JOB_ROLLOVER: {
		record("job rollover group=%u msk_id=%08x domain=%s", job->key_group, job->msk_id,
		       dom);
		if (auto_ack) {
			/* acks come back on another thread, as from the event ring */
			struct ack_batch *b = calloc(1, sizeof(*b));
			pthread_t t;
			if (b == NULL)
				break;
			b->msk_id = job->msk_id;
			pthread_mutex_lock(&rec_lock);
			for (size_t i = 0; i < n_sas; i++)
				if (sas[i].group == job->key_group)
					b->csb[b->n++] = sas[i].csb;
			pthread_mutex_unlock(&rec_lock);
			if (pthread_create(&t, NULL, ack_thread, b) != 0)
				free(b);
			else
				pthread_detach(t);
		}
		break;
	}
	case KB_CTL_JOB_SOLICIT:
		record("job solicit csb=%08x msk_id=%08x", job->csb_id, job->msk_id);
		break;
	}
	return 0;
}

static size_t fake_stats(void *ctx, struct kb_ctl_stat *out, size_t cap)
{
	(void)ctx;
	if (cap < 2)
		return 0;
	out[0].name = "harness_jobs_total";
	out[0].value = atomic_load(&n_jobs);
	out[1].name = "harness_published_total";
	out[1].value = atomic_load(&n_published);
	return 2;
}

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void *grant_loop(void *arg)
{
	struct kb_counter_grantor *g = arg;
	uint64_t h = g->floor(g);
	while (!stop_flag) {
		uint64_t want = h + 1000;
		uint64_t got = g->grant(g, want);
		if (got < want) {
			record("grant-failed %" PRIu64, want);
			break;
		}
		/* only after grant returned, i.e. after it was persisted */
		record("granted %" PRIu64, got);
		h = got;
		usleep(2000);
	}
	return NULL;
}

static int usage(void)
{
	fprintf(stderr, "usage: ctl_harness --store DIR --record FILE --token T [--ue-port P]\n"
			"  [--admin-port P] [--fqdn F] [--max-body N] [--bsf-sim] [--grant-loop]\n"
			"  [--auto-ack] [--tls-cert PEM --tls-key PEM] [--nonce-lifetime S]\n"
			"  [--real-sa] [--quiet] [--http-threads N] [--metrics-auth]\n");
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"store", required_argument, NULL, 's'},
		{"record", required_argument, NULL, 'r'},
		{"token", required_argument, NULL, 't'},
		{"ue-port", required_argument, NULL, 'u'},
		{"admin-port", required_argument, NULL, 'a'},
		{"fqdn", required_argument, NULL, 'f'},
		{"max-body", required_argument, NULL, 'm'},
		{"bsf-sim", no_argument, NULL, 'b'},
		{"grant-loop", no_argument, NULL, 'g'},
		{"auto-ack", no_argument, NULL, 'k'},
		{"tls-cert", required_argument, NULL, 'C'},
		{"tls-key", required_argument, NULL, 'K'},
		{"nonce-lifetime", required_argument, NULL, 'n'},
		{"real-sa", no_argument, NULL, 'R'},
		{"quiet", no_argument, NULL, 'q'},
		{"http-threads", required_argument, NULL, 'T'},
		{"metrics-auth", no_argument, NULL, 'M'},
		{NULL, 0, NULL, 0},
	};
	struct kb_control_cfg cfg = {
		.fqdn = "bmsc.example.org",
		.ue_addr = "127.0.0.1",
		.admin_addr = "127.0.0.1",
		.http_threads = 2,
	};
	struct kb_control_hooks hooks = {
		.sa_build = fake_build,
		.publish_sa = fake_publish,
		.delete_sa = fake_delete,
		.post_job = fake_post,
		.read_stats = fake_stats,
	};
	const char *record_path = NULL;
	bool grants = false;
	char err[256];
	int o;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 's':
			cfg.store_path = optarg;
			break;
		case 'r':
			record_path = optarg;
			break;
		case 't':
			cfg.admin_token = optarg;
			break;
		case 'u':
			cfg.ue_port = (uint16_t)atoi(optarg);
			break;
		case 'a':
			cfg.admin_port = (uint16_t)atoi(optarg);
			break;
		case 'f':
			cfg.fqdn = optarg;
			break;
		case 'm':
			cfg.max_body = (size_t)strtoull(optarg, NULL, 10);
			break;
		case 'b':
			cfg.bsf_sim = true;
			break;
		case 'g':
			grants = true;
			break;
		case 'k':
			auto_ack = true;
			break;
		case 'C':
			cfg.tls_cert = optarg;
			break;
		case 'K':
			cfg.tls_key = optarg;
			break;
		case 'n':
			cfg.nonce_lifetime = (uint32_t)atoi(optarg);
			break;
		case 'R':
			hooks.sa_build = kb_sa_record_build;
			break;
		case 'q':
			quiet = true;
			break;
		case 'T':
			cfg.http_threads = (unsigned)atoi(optarg);
			break;
		case 'M':
			cfg.metrics_auth = true;
			break;
		default:
			return usage();
		}
	}
	if (record_path == NULL || cfg.store_path == NULL || cfg.admin_token == NULL)
		return usage();
	rec_file = fopen(record_path, "a");
	if (rec_file == NULL) {
		perror(record_path);
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	if (kb_control_start(&cfg, &hooks, err, sizeof(err)) != 0) {
		fprintf(stderr, "ctl_harness: %s\n", err);
		return 1;
	}
	struct kb_counter_grantor *g = kb_control_counter_grantor();
	record("floor %" PRIu64, g->floor(g));
	pthread_t gt;
	bool gt_running = grants && pthread_create(&gt, NULL, grant_loop, g) == 0;
	printf("ready\n");
	fflush(stdout);
	while (!stop_flag)
		pause();
	if (gt_running)
		pthread_join(gt, NULL);
	kb_control_stop();
	fclose(rec_file);
	return 0;
}
