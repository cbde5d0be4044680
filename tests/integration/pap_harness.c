/* pap_harness: the control plane with the PAP endpoint, and a stand-in
 * dataplane thread that runs the real PTM code (dataplane/ptm.c: MTK
 * scheduler, kb_seal_burst, kb_srtp_protect_burst) for every service that
 * gets a push, writing its frames to a pcap file instead of a DPDK port.
 * This is what the daemon's lcore will do once keyburstd embeds the control
 * plane (see the report of issue 7).
 *
 * pap_harness --store DIR --admin-port P --pap-port P --pcap FILE
 *             [--msk-log FILE] [--rate-bps N] [--rotate-ms N] [--repeat-ms N]
 *             [--lead-ms N]
 * Initiators: pi-ok/pi-ok-secret (allowed), pi-blocked/pi-blocked-secret
 * (known, not on the allowlist). FQDN bmsc.example.org. --msk-log records
 * every MSK the dataplane is handed ("MSKID HEX" lines): this is a test
 * harness, the receivers need them. Prints "ready"; SIGTERM stops it. */
#include "control.h"
#include "pap_api.h"
#include "ptm.h"
#include "util/hex.h"
#include "util/secret.h"

#include <getopt.h>
#include <inttypes.h>
#include <openssl/rand.h>
#include <pcap/pcap.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SVC_MAX 8
#define JOBS_MAX 64

struct svc {
	bool used;
	char name[KB_SERVICE_ID_MAX];
	uint16_t key_group;
	uint32_t msk_id;
	struct kb_ptm *ptm;
};

static struct {
	pthread_mutex_t lock;
	struct svc s[SVC_MAX];
	struct kb_pap_push_job jobs[JOBS_MAX];
	unsigned n_jobs;
	struct kb_ctl_job roll[JOBS_MAX];
	unsigned n_roll;
	struct kb_sealer *sealer;
	struct kb_srtp_burster *burster;
	pcap_dumper_t *dump;
	FILE *msk_log;
	uint64_t rate_bps;
	struct kb_mtk_sched_cfg sched;
} h = {.lock = PTHREAD_MUTEX_INITIALIZER};

static volatile sig_atomic_t stop_flag;
static void on_sig(int s)
{
	(void)s;
	stop_flag = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void log_msk(uint32_t msk_id, const uint8_t *msk)
{
	char hex[33];
	if (h.msk_log == NULL)
		return;
	kb_hex_encode(msk, 16, hex);
	fprintf(h.msk_log, "%08" PRIx32 " %s\n", msk_id, hex);
	fflush(h.msk_log);
	kb_memzero(hex, sizeof(hex));
}

/* ---- hooks (control threads): queue for the dataplane thread ---- */

static int fake_build(struct kb_sa_record *rec, const uint8_t *muk, size_t muk_len, uint32_t csb_id,
		      const uint8_t rand[KB_MIKEY_RAND_LEN], const char *idr, uint16_t key_group,
		      const struct kb_ue_addr *addr, unsigned n_shards)
{
	(void)muk;
	(void)muk_len;
	(void)rand;
	(void)idr;
	(void)n_shards;
	memset(rec, 0, sizeof(*rec));
	rec->csb_id = csb_id;
	rec->key_group = key_group;
	rec->addr = *addr;
	return 0;
}

static int fake_publish(void *ctx, const struct kb_sa_record *rec)
{
	(void)ctx;
	(void)rec;
	return 0;
}

static int fake_delete(void *ctx, uint32_t csb)
{
	(void)ctx;
	(void)csb;
	return 0;
}

/* MSK rollovers reach the PTM services of the key group as a new MSK. */
static int post_job(void *ctx, const struct kb_ctl_job *job)
{
	int rc = -1;
	(void)ctx;
	if (job->type != KB_CTL_JOB_ROLLOVER)
		return 0; /* UE deliveries: not this harness's business */
	pthread_mutex_lock(&h.lock);
	if (h.n_roll < JOBS_MAX) {
		h.roll[h.n_roll++] = *job;
		rc = 0;
	}
	pthread_mutex_unlock(&h.lock);
	return rc;
}

static int post_push(void *ctx, const struct kb_pap_push_job *job)
{
	int rc = -1;
	(void)ctx;
	pthread_mutex_lock(&h.lock);
	if (h.n_jobs < JOBS_MAX) {
		h.jobs[h.n_jobs++] = *job;
		rc = 0;
	}
	pthread_mutex_unlock(&h.lock);
	return rc;
}

static int cancel_push(void *ctx, uint32_t num)
{
	int rc = -1;
	(void)ctx;
	pthread_mutex_lock(&h.lock);
	for (unsigned i = 0; i < h.n_jobs; i++) {
		if (h.jobs[i].push_num != num)
			continue;
		kb_memzero(h.jobs[i].msk, 16);
		h.jobs[i] = h.jobs[--h.n_jobs];
		rc = 0;
		goto out;
	}
	for (int i = 0; i < SVC_MAX; i++)
		if (h.s[i].used && kb_ptm_cancel(h.s[i].ptm, num) == 0) {
			rc = 0;
			break;
		}
out:
	pthread_mutex_unlock(&h.lock);
	return rc;
}

/* ---- the dataplane thread ---- */

static struct svc *svc_get(const struct kb_pap_push_job *j)
{
	struct svc *free_s = NULL;
	for (int i = 0; i < SVC_MAX; i++) {
		if (h.s[i].used && strcmp(h.s[i].name, j->service) == 0)
			return &h.s[i];
		if (!h.s[i].used && free_s == NULL)
			free_s = &h.s[i];
	}
	if (free_s == NULL)
		return NULL;
	struct svc *s = free_s;
	struct kb_ptm_cfg c = {
		.src_mac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01},
		.src_ip = {10, 0, 0, 1},
		.group_ip = {239, 192, (uint8_t)(j->key_group >> 8), (uint8_t)j->key_group},
		.src_port = 4359,
		.mtk_port = 4359,
		.data_port = 5004,
		.rate_bps = h.rate_bps,
		.sched = h.sched,
	};
	memcpy(c.domain, j->key_domain, 3);
	if (RAND_bytes(c.rand, sizeof(c.rand)) != 1 ||
	    RAND_bytes((uint8_t *)&c.mtk_csb_id, 4) != 1 || RAND_bytes((uint8_t *)&c.ssrc, 4) != 1)
		return NULL;
	c.mtk_csb_id |= 1;
	snprintf(s->name, sizeof(s->name), "%s", j->service);
	kb_pap_api_mtk_persist(s->name, &c.persist);
	s->ptm = kb_ptm_new(&c, h.sealer, h.burster);
	if (s->ptm == NULL)
		return NULL;
	s->key_group = j->key_group;
	s->used = true;
	return s;
}

static void take_jobs(void)
{
	struct kb_pap_push_job jobs[JOBS_MAX];
	struct kb_ctl_job roll[JOBS_MAX];
	unsigned n, nr;

	pthread_mutex_lock(&h.lock);
	n = h.n_jobs;
	nr = h.n_roll;
	memcpy(jobs, h.jobs, n * sizeof(jobs[0]));
	memcpy(roll, h.roll, nr * sizeof(roll[0]));
	kb_memzero(h.jobs, n * sizeof(jobs[0]));
	kb_memzero(h.roll, nr * sizeof(roll[0]));
	h.n_jobs = h.n_roll = 0;
	for (unsigned i = 0; i < n; i++) {
		struct svc *s = svc_get(&jobs[i]);
		struct kb_ptm_object o = {
			.push_id = jobs[i].push_num, .obj = jobs[i].obj, .len = jobs[i].len};
		if (s == NULL ||
		    (s->msk_id == 0 && kb_ptm_set_msk(s->ptm, jobs[i].msk_id, jobs[i].msk) != 0) ||
		    kb_ptm_push(s->ptm, &o) != 0) {
			fprintf(stderr, "harness: push %" PRIu32 " refused\n", jobs[i].push_num);
			pthread_mutex_unlock(&h.lock);
			kb_pap_api_on_failed(jobs[i].push_num);
			pthread_mutex_lock(&h.lock);
			continue;
		}
		if (s->msk_id == 0) {
			s->msk_id = jobs[i].msk_id;
			log_msk(jobs[i].msk_id, jobs[i].msk);
		}
	}
	for (unsigned i = 0; i < nr; i++)
		for (int k = 0; k < SVC_MAX; k++)
			if (h.s[k].used && h.s[k].key_group == roll[i].key_group &&
			    h.s[k].msk_id != roll[i].msk_id) {
				if (kb_ptm_set_msk(h.s[k].ptm, roll[i].msk_id, roll[i].msk) == 0) {
					h.s[k].msk_id = roll[i].msk_id;
					log_msk(roll[i].msk_id, roll[i].msk);
					fprintf(stderr, "harness: %s now on MSK %08" PRIx32 "\n",
						h.s[k].name, roll[i].msk_id);
				}
			}
	pthread_mutex_unlock(&h.lock);
	kb_memzero(jobs, sizeof(jobs));
	kb_memzero(roll, sizeof(roll));
}

static void *dp_main(void *arg)
{
	static uint8_t frames[KB_PTM_BURST_MAX][KB_PTM_FRAME_MAX];
	uint8_t *bufs[KB_PTM_BURST_MAX];
	uint16_t lens[KB_PTM_BURST_MAX];
	uint32_t done[KB_PTM_BURST_MAX];
	(void)arg;
	for (int i = 0; i < KB_PTM_BURST_MAX; i++)
		bufs[i] = frames[i];
	h.sealer = kb_sealer_new();
	h.burster = kb_srtp_burster_new();
	if (h.sealer == NULL || h.burster == NULL) {
		fprintf(stderr, "harness: no IPsec-MB\n");
		stop_flag = 1;
		return NULL;
	}
	while (!stop_flag) {
		uint64_t wake = now_ns() + 2000000;
		take_jobs();
		for (int k = 0; k < SVC_MAX; k++) {
			unsigned n_done = 0;
			uint64_t next = 0, t = now_ns();
			pthread_mutex_lock(&h.lock);
			int n = h.s[k].used ? kb_ptm_step(h.s[k].ptm, t, bufs, lens,
							  KB_PTM_BURST_MAX, done, &n_done, &next)
					    : 0;
			pthread_mutex_unlock(&h.lock);
			if (n < 0)
				fprintf(stderr, "harness: ptm step failed\n");
			for (int i = 0; i < n; i++) {
				struct pcap_pkthdr ph = {.caplen = lens[i], .len = lens[i]};
				struct timespec ts;
				clock_gettime(CLOCK_REALTIME, &ts);
				ph.ts.tv_sec = ts.tv_sec;
				ph.ts.tv_usec = ts.tv_nsec / 1000;
				pcap_dump((u_char *)h.dump, &ph, frames[i]);
			}
			if (n > 0)
				pcap_dump_flush(h.dump);
			for (unsigned i = 0; i < n_done; i++)
				kb_pap_api_on_delivered(done[i]);
			if (h.s[k].used && next < wake)
				wake = next;
		}
		uint64_t t = now_ns();
		if (wake > t)
			usleep((useconds_t)((wake - t) / 1000 + 1));
	}
	pthread_mutex_lock(&h.lock);
	for (int k = 0; k < SVC_MAX; k++)
		if (h.s[k].used) {
			const struct kb_ptm_stats *st = kb_ptm_get_stats(h.s[k].ptm);
			printf("service %s mtk_msgs=%" PRIu64 " srtp_pkts=%" PRIu64
			       " objects=%" PRIu64 " sched_errors=%" PRIu64 "\n",
			       h.s[k].name, st->mtk_msgs, st->srtp_pkts, st->objects_done,
			       st->sched_errors);
			kb_ptm_free(h.s[k].ptm);
		}
	pthread_mutex_unlock(&h.lock);
	kb_srtp_burster_free(h.burster);
	kb_sealer_free(h.sealer);
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"store", required_argument, NULL, 's'},
		{"admin-port", required_argument, NULL, 'a'},
		{"pap-port", required_argument, NULL, 'p'},
		{"pcap", required_argument, NULL, 'c'},
		{"msk-log", required_argument, NULL, 'm'},
		{"rate-bps", required_argument, NULL, 'r'},
		{"rotate-ms", required_argument, NULL, 'R'},
		{"repeat-ms", required_argument, NULL, 'P'},
		{"lead-ms", required_argument, NULL, 'L'},
		{NULL, 0, NULL, 0},
	};
	static const struct kb_pap_initiator ini[] = {
		{.id = "pi-ok", .password = "pi-ok-secret", .allowed = true},
		{.id = "pi-blocked", .password = "pi-blocked-secret", .allowed = false},
	};
	const char *store = NULL, *pcap_path = NULL;
	uint16_t admin_port = 0, pap_port = 0;
	char err[256];
	pthread_t dp;
	int c;

	h.rate_bps = 20000000;
	h.sched = (struct kb_mtk_sched_cfg){.rotate_ms = 0, .repeat_ms = 500, .lead_ms = 20};
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			store = optarg;
			break;
		case 'a':
			admin_port = (uint16_t)atoi(optarg);
			break;
		case 'p':
			pap_port = (uint16_t)atoi(optarg);
			break;
		case 'c':
			pcap_path = optarg;
			break;
		case 'm':
			h.msk_log = fopen(optarg, "a");
			break;
		case 'r':
			h.rate_bps = strtoull(optarg, NULL, 0);
			break;
		case 'R':
			h.sched.rotate_ms = strtoull(optarg, NULL, 0);
			break;
		case 'P':
			h.sched.repeat_ms = strtoull(optarg, NULL, 0);
			break;
		case 'L':
			h.sched.lead_ms = strtoull(optarg, NULL, 0);
			break;
		default:
			return 2;
		}
	}
	if (store == NULL || pcap_path == NULL || admin_port == 0 || pap_port == 0) {
		fprintf(stderr, "usage: see the comment at the top of pap_harness.c\n");
		return 2;
	}
	pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
	h.dump = dead != NULL ? pcap_dump_open(dead, pcap_path) : NULL;
	if (h.dump == NULL) {
		fprintf(stderr, "cannot write %s\n", pcap_path);
		return 1;
	}
	struct kb_pap_api_cfg pc = {
		.port = pap_port,
		.initiators = ini,
		.n_initiators = 2,
		.rate = 5,
		.burst = 30,
		.default_lifetime = 600,
		.max_body = 8u << 20,
		.post_push = post_push,
		.cancel_push = cancel_push,
	};
	if (kb_pap_api_configure(&pc) != 0)
		return 1;
	struct kb_control_cfg cfg = {
		.fqdn = "bmsc.example.org",
		.ue_addr = "127.0.0.1",
		.ue_port = 0,
		.admin_port = admin_port,
		.admin_token = "pap-harness-admin-token",
		.store_path = store,
	};
	/* the UE listener is not used: put it next to the admin one */
	cfg.ue_port = (uint16_t)(admin_port + 1);
	struct kb_control_hooks hooks = {
		.sa_build = fake_build,
		.publish_sa = fake_publish,
		.delete_sa = fake_delete,
		.post_job = post_job,
	};
	signal(SIGTERM, on_sig);
	signal(SIGINT, on_sig);
	if (pthread_create(&dp, NULL, dp_main, NULL) != 0)
		return 1;
	if (kb_control_start(&cfg, &hooks, err, sizeof(err)) != 0) {
		fprintf(stderr, "control: %s\n", err);
		stop_flag = 1;
		pthread_join(dp, NULL);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	while (!stop_flag)
		usleep(50 * 1000);
	kb_control_stop();
	pthread_join(dp, NULL);
	pcap_dump_close(h.dump);
	pcap_close(dead);
	if (h.msk_log != NULL)
		fclose(h.msk_log);
	return 0;
}
