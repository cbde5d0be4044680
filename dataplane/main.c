/* keyburstd: the MBMS key server's DPDK poll-mode daemon.
 *   keyburstd <EAL args> -- [--config FILE] [--roster FILE] [options]
 * The main lcore runs the control side (jobs, events, counter grants,
 * one-shot orchestration) and, with a [control] section, the control plane
 * (control/: HTTP, admin API, LMDB store) in threads on the same core; every
 * other lcore polls one queue and owns one shard of UEs. See
 * docs/keyburstd.md. */
#include "ack.h"
#include "config.h"
#include "counter_grant.h"
#include "ctl_bridge.h"
#include "events.h"
#include "keytable.h"
#include "lcore.h"
#include "log.h"
#include "pkt.h"
#include "port.h"
#include "rollover.h"
#include "roster_load.h"
#include "telemetry.h"
#include "mikey/mikey_prf.h"
#include "mikey/mikey_ref.h"
#include "util/roster.h"
#include "util/secret.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_memory.h>
#include <rte_timer.h>
#include <sys/mman.h>

static struct kb_dp g_dp;

static int thp_one(const struct rte_memseg_list *msl, void *arg)
{
	(void)arg;
	if (msl->base_va != NULL && msl->len > 0)
		(void)madvise(msl->base_va, msl->len, MADV_HUGEPAGE);
	return 0;
}

/* Without hugepages (--no-huge) the EAL heap is in 4 KiB pages: a rollover
 * over millions of SA records then pays a TLB miss (a page walk) on nearly
 * every record, bucket and key. Ask the kernel for transparent huge pages
 * on it. DPDK 22.11 backs --no-huge memory with a memfd, so this takes
 * effect only where /sys/kernel/mm/transparent_hugepage/shmem_enabled is
 * "advise" or "always"; elsewhere the small pages stay (deploy with
 * hugepages, docs/benchmarks-e2e.md). */
static void thp_advise(void)
{
	if (rte_eal_has_hugepages())
		return;
	(void)rte_memseg_list_walk(thp_one, NULL);
}

static void on_signal(int sig)
{
	(void)sig;
	__atomic_store_n(&g_dp.force_quit, 1, __ATOMIC_RELAXED);
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: keyburstd <EAL options> -- [options]\n"
		"\n"
		"  --config FILE            INI configuration (dataplane/keyburstd.conf.example)\n"
		"  --roster FILE            load UEs from a roster CSV (impi,b_tid,muk,ip,port)\n"
		"  --group G                key group the roster's UEs belong to (default: the\n"
		"                           first service)\n"
		"  --lcores N               dataplane lcores (default: every worker lcore)\n"
		"  --burst N                messages sealed per burst, 1..64\n"
		"  --pps N                  ceiling on messages per second over all lcores\n"
		"  --ack-timeout-ms N       first ack deadline\n"
		"  --retries N              retransmissions before a UE is marked failed\n"
		"  --backoff N              deadline multiplier per retransmission\n"
		"\n"
		"one-shot mode (run, print a JSON summary, exit):\n"
		"  --oneshot-rollover G     roll key group G over: draw an MSK, deliver it to "
		"every\n"
		"                           UE, wait for acks or their timeouts. Exit 0 only if\n"
		"                           every UE acked (or, with --no-ack, every message "
		"left)\n"
		"  --no-ack                 send with V = 0 and do not wait for acks\n"
		"  --pull CSB_ID[,CSB_ID..] send a BM-SC solicited pull to these SAs and exit\n"
		"  --max-time-s N           give up after N seconds (default 600)\n"
		"  --rounds N               N rollovers in a row over the same SAs (each draws\n"
		"                           a new MSK); the summary has each round's duration\n"
		"                           and rate, its top-level counts are the last round's\n"
		"  --sealer ipsec-mb|openssl  seal with the IPsec-MB bursts (default) or the\n"
		"                           OpenSSL reference path (reused contexts): the\n"
		"                           benchmark's baseline inside the same pipeline\n"
		"                           (--roster runs only)\n"
		"\n"
		"Without a one-shot option keyburstd runs until SIGINT/SIGTERM; counters are\n"
		"on DPDK telemetry: /keyburst/stats, /keyburst/lcores, /keyburst/rollover.\n"
		"\n"
		"With a [control] section in the config, keyburstd also runs the control plane\n"
		"(UE HTTP with GBA Digest, admin API, LMDB store): UEs and services come from\n"
		"the store and the admin API (keyburst admin ...), not from --roster.\n");
}

struct opts {
	const char *config, *roster, *pull;
	long group, oneshot_group;
	bool no_ack, sealer_openssl;
	unsigned max_time_s, rounds;
	long lcores, burst, ack_timeout_ms, retries, backoff;
	long long pps;
};

static int parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 0);
	if (errno != 0 || *s == '\0' || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{"config", required_argument, NULL, 'c'},
		{"roster", required_argument, NULL, 'r'},
		{"group", required_argument, NULL, 'g'},
		{"oneshot-rollover", required_argument, NULL, 'o'},
		{"no-ack", no_argument, NULL, 'n'},
		{"pull", required_argument, NULL, 'p'},
		{"max-time-s", required_argument, NULL, 'm'},
		{"rounds", required_argument, NULL, 'N'},
		{"sealer", required_argument, NULL, 'S'},
		{"lcores", required_argument, NULL, 'L'},
		{"burst", required_argument, NULL, 'b'},
		{"pps", required_argument, NULL, 'P'},
		{"ack-timeout-ms", required_argument, NULL, 'T'},
		{"retries", required_argument, NULL, 'R'},
		{"backoff", required_argument, NULL, 'B'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	long v;
	int c;
	memset(o, 0, sizeof(*o));
	o->group = o->oneshot_group = -1;
	o->lcores = o->burst = o->ack_timeout_ms = o->retries = o->backoff = -1;
	o->pps = -1;
	o->max_time_s = 600;
	o->rounds = 1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config = optarg;
			break;
		case 'r':
			o->roster = optarg;
			break;
		case 'g':
			if (parse_long(optarg, 0, 65535, &o->group) != 0)
				goto bad;
			break;
		case 'o':
			if (parse_long(optarg, 0, 65535, &o->oneshot_group) != 0)
				goto bad;
			break;
		case 'n':
			o->no_ack = true;
			break;
		case 'p':
			o->pull = optarg;
			break;
		case 'm':
			if (parse_long(optarg, 1, 86400, &v) != 0)
				goto bad;
			o->max_time_s = (unsigned)v;
			break;
		case 'N':
			if (parse_long(optarg, 1, 1000, &v) != 0)
				goto bad;
			o->rounds = (unsigned)v;
			break;
		case 'S':
			if (strcmp(optarg, "openssl") == 0)
				o->sealer_openssl = true;
			else if (strcmp(optarg, "ipsec-mb") == 0)
				o->sealer_openssl = false;
			else
				goto bad;
			break;
		case 'L':
			if (parse_long(optarg, 1, KB_MAX_DP_LCORES, &o->lcores) != 0)
				goto bad;
			break;
		case 'b':
			if (parse_long(optarg, 1, 64, &o->burst) != 0)
				goto bad;
			break;
		case 'P':
			if (parse_long(optarg, 0, 1000000000L, &v) != 0)
				goto bad;
			o->pps = v;
			break;
		case 'T':
			if (parse_long(optarg, 1, 3600000, &o->ack_timeout_ms) != 0)
				goto bad;
			break;
		case 'R':
			if (parse_long(optarg, 0, 64, &o->retries) != 0)
				goto bad;
			break;
		case 'B':
			if (parse_long(optarg, 1, 16, &o->backoff) != 0)
				goto bad;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "keyburstd: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	return 0;
bad:
	fprintf(stderr, "keyburstd: bad value '%s'\n", optarg);
	return -1;
}

static void apply_overrides(struct kb_config *c, const struct opts *o)
{
	if (o->lcores > 0)
		c->lcores = (unsigned)o->lcores;
	if (o->burst > 0)
		c->burst = (unsigned)o->burst;
	if (o->pps >= 0)
		c->pps = (uint64_t)o->pps;
	if (o->ack_timeout_ms > 0)
		c->ack_timeout_ms = (unsigned)o->ack_timeout_ms;
	if (o->retries >= 0)
		c->retries = (unsigned)o->retries;
	if (o->backoff > 0)
		c->backoff = (unsigned)o->backoff;
	/* with the control plane, services come from its store */
	if (c->n_services == 0 && !c->ctl.enabled) {
		struct kb_service_cfg *s = &c->svc[c->n_services++];
		snprintf(s->name, sizeof(s->name), "default");
		s->key_group = 1;
		s->udp_port = 4359;
		s->ack = true;
	}
}

static int setup_tx_buffers(struct kb_dp *dp)
{
	for (unsigned l = 0; l < dp->n_lcores; l++) {
		struct kb_lcore *lc = dp->lc[l];
		lc->txb = rte_zmalloc_socket("kb_txb", RTE_ETH_TX_BUFFER_SIZE(KB_SEAL_BURST_MAX), 0,
					     rte_eth_dev_socket_id(dp->port.port_id));
		if (lc->txb == NULL)
			return -1;
		rte_eth_tx_buffer_init(lc->txb, KB_SEAL_BURST_MAX);
		rte_eth_tx_buffer_set_err_callback(lc->txb, rte_eth_tx_buffer_count_callback,
						   &lc->st.tx_dropped);
	}
	return 0;
}

static int setup_rings(struct kb_dp *dp)
{
	dp->events = kb_event_ring_create("kb_events", dp->cfg.ring_size * 16, rte_socket_id());
	if (dp->events == NULL)
		return -1;
	for (unsigned i = 0; i < dp->n_lcores; i++)
		for (unsigned j = 0; j < dp->n_lcores; j++) {
			if (i == j)
				continue;
			char name[RTE_RING_NAMESIZE];
			snprintf(name, sizeof(name), "kb_ho_%u_%u", i, j);
			dp->ho[i][j] =
				rte_ring_create_elem(name, 8, dp->cfg.ring_size, rte_socket_id(),
						     RING_F_SP_ENQ | RING_F_SC_DEQ);
			if (dp->ho[i][j] == NULL)
				return -1;
		}
	return 0;
}

static json_t *summary(struct kb_dp *dp, int svc, bool no_ack)
{
	struct kb_rollover_progress p;
	json_t *j = json_object();
	struct kb_lcore_stats tot;
	memset(&tot, 0, sizeof(tot));
	json_t *lcs = json_array();
	for (unsigned l = 0; l < dp->n_lcores; l++) {
		const struct kb_lcore *lc = dp->lc[l];
#define X(name) tot.name += lc->st.name;
		KB_LCORE_STATS(X)
#undef X
		double busy = (double)lc->busy_tsc / (double)dp->tsc_hz;
		json_array_append_new(
			lcs, json_pack("{s:i, s:i, s:I, s:f, s:f}", "lcore", lc->lcore_id, "ues",
				       lc->sh.n_ue, "tx_msgs", (json_int_t)lc->st.tx_msgs, "busy_s",
				       busy, "msgs_per_busy_s",
				       busy > 0 ? (double)lc->st.tx_msgs / busy : 0.0));
	}
	if (svc >= 0) {
		char msk[16];
		kb_rollover_progress(dp, (unsigned)svc, &p);
		snprintf(msk, sizeof(msk), "%08x", p.msk_id);
		json_object_set_new(j, "key_group", json_integer(dp->svc->s[svc].cfg.key_group));
		json_object_set_new(j, "msk_id", json_string(msk));
		json_object_set_new(j, "ues", json_integer((json_int_t)p.ues));
		json_object_set_new(j, "sent", json_integer((json_int_t)p.sent));
		json_object_set_new(j, "acked", json_integer((json_int_t)p.acked));
		json_object_set_new(j, "pending", json_integer((json_int_t)p.pending));
		json_object_set_new(j, "retried", json_integer((json_int_t)p.retried));
		json_object_set_new(j, "failed", json_integer((json_int_t)p.failed));
		json_object_set_new(j, "duration_s", json_real(p.duration_s));
		json_object_set_new(j, "rate_msgs_per_s", json_real(p.rate_msgs_per_s));
		json_object_set_new(j, "complete", json_boolean(!p.active));
		json_object_set_new(j, "acks_requested", json_boolean(!no_ack));
	}
	json_object_set_new(j, "lcores", lcs);
	json_t *st = json_object();
#define X(name) json_object_set_new(st, #name, json_integer((json_int_t)tot.name));
	KB_LCORE_STATS(X)
#undef X
	json_object_set_new(j, "stats", st);
	return j;
}

/* One round of a one-shot run, read as soon as it is over (before the next
 * round resets the shards' counters). *ok becomes false if the round did
 * not reach every UE. */
static json_t *round_json(struct kb_dp *dp, int svc, unsigned round, bool no_ack, bool *ok)
{
	struct kb_rollover_progress p;
	char msk[16];
	kb_rollover_progress(dp, (unsigned)svc, &p);
	snprintf(msk, sizeof(msk), "%08x", p.msk_id);
	bool good = !p.active && (no_ack ? p.sent >= p.ues : p.acked == p.ues);
	if (!good)
		*ok = false;
	return json_pack("{s:i, s:s, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:b}", "round", round,
			 "msk_id", msk, "ues", (json_int_t)p.ues, "sent", (json_int_t)p.sent,
			 "acked", (json_int_t)p.acked, "retried", (json_int_t)p.retried, "failed",
			 (json_int_t)p.failed, "duration_s", p.duration_s, "rate_msgs_per_s",
			 p.rate_msgs_per_s, "complete", good);
}

/* One-shot runs start when the link is up (a memif peer may connect late):
 * messages sent on a down link would only be dropped. */
static void wait_link(struct kb_dp *dp, unsigned max_s)
{
	struct rte_eth_link link;
	for (unsigned i = 0; i < max_s * 100 && !dp->force_quit; i++) {
		memset(&link, 0, sizeof(link));
		if (rte_eth_link_get_nowait(dp->port.port_id, &link) == 0 &&
		    link.link_status == RTE_ETH_LINK_UP)
			return;
		usleep(10000);
	}
	KB_LOG(WARNING, "port %u: link still down after %u s, sending anyway", dp->port.port_id,
	       max_s);
}

static int run_pulls(struct kb_dp *dp, const char *list)
{
	char *dup = strdup(list), *save = NULL;
	int rc = 0;
	for (char *t = strtok_r(dup, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
		char *end;
		errno = 0;
		unsigned long v = strtoul(t, &end, 0);
		if (errno != 0 || *end != '\0' || v == 0 || v > UINT32_MAX ||
		    kb_pull_post(dp, (uint32_t)v) != 0) {
			fprintf(stderr, "keyburstd: --pull: no SA with csb_id '%s'\n", t);
			rc = -1;
		}
	}
	free(dup);
	return rc;
}

/* --sealer openssl: the OpenSSL reference path seals with the raw transport
 * keys, which SA records do not keep (only the expanded AES key and the
 * HMAC pad states). Derive them again from the roster (data row i is
 * csb_id kb_csb_from_index(i + 1), roster_load.h) with the RAND of the
 * published record, and check each against its record (AES round key 0 is
 * the encryption key; the salt). Set-up only, before the lcores run. */
static int load_ref_keys(struct kb_dp *dp, const char *path)
{
	struct kb_roster_row row;
	char *line = NULL, err[128];
	size_t cap = 0;
	ssize_t got;
	uint32_t i = 0;
	int rc = -1;
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	dp->ref_tk = rte_zmalloc("kb_ref_tk", sizeof(*dp->ref_tk) * (dp->n_dir + 1),
				 RTE_CACHE_LINE_SIZE);
	if (dp->ref_tk == NULL)
		goto out;
	while ((got = getline(&line, &cap, f)) > 0) {
		size_t len = (size_t)got;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		if (len == 0 || kb_roster_is_header(line, len))
			continue;
		if (i == dp->n_dir || kb_roster_parse_line(line, len, &row, err, sizeof(err)) != 0)
			goto out;
		uint32_t csb = kb_csb_from_index(i + 1);
		const struct kb_sa_record *rec = NULL;
		struct kb_mikey_tkeys *tk = &dp->ref_tk[i];
		kb_keytable_lookup_bulk(dp->kt, &csb, 1, &rec);
		int bad =
			rec == NULL || kb_mikey_derive_tkeys(row.muk, sizeof(row.muk), csb,
							     rec->rand, KB_MIKEY_RAND_LEN, tk) != 0;
		bad = bad || memcmp(tk->encr, rec->aes_enc_keys, sizeof(tk->encr)) != 0 ||
		      memcmp(tk->salt, rec->salt, sizeof(tk->salt)) != 0;
		kb_memzero(&row, sizeof(row));
		if (bad) {
			fprintf(stderr,
				"keyburstd: --sealer openssl: row %u does not match its SA\n",
				i + 1);
			goto out;
		}
		i++;
	}
	dp->n_ref_tk = i;
	rc = i == dp->n_dir ? 0 : -1;
out:
	if (line != NULL) {
		kb_memzero(line, cap); /* MUKs in hex */
		free(line);
	}
	fclose(f);
	return rc;
}

static void free_ref_keys(struct kb_dp *dp)
{
	if (dp->ref_tk == NULL)
		return;
	kb_memzero(dp->ref_tk, sizeof(*dp->ref_tk) * (dp->n_dir + 1));
	rte_free(dp->ref_tk);
	dp->ref_tk = NULL;
	dp->n_ref_tk = 0;
}

int main(int argc, char **argv)
{
	struct kb_dp *dp = &g_dp;
	struct kb_counter_grantor grantor;
	struct kb_services services;
	struct opts o;
	char err[256];
	int exit_code = 1;

	/* --help must work without hugepages or devices */
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			for (int k = i + 1; k < argc; k++)
				if (strcmp(argv[k], "--help") == 0 || strcmp(argv[k], "-h") == 0) {
					usage(stdout);
					return 0;
				}
			break;
		}

	int eal = rte_eal_init(argc, argv);
	if (eal < 0)
		rte_exit(EXIT_FAILURE, "EAL init failed\n");
	argc -= eal;
	argv += eal;
	thp_advise();
	if (parse_opts(argc, argv, &o) != 0) {
		usage(stderr);
		rte_eal_cleanup();
		return 2;
	}

	memset(dp, 0, sizeof(*dp));
	memset(&services, 0, sizeof(services));
	kb_config_defaults(&dp->cfg);
	if (o.config != NULL && kb_config_load(&dp->cfg, o.config, err, sizeof(err)) != 0)
		rte_exit(EXIT_FAILURE, "config: %s\n", err);
	apply_overrides(&dp->cfg, &o);
	if (kb_config_check(&dp->cfg, err, sizeof(err)) != 0)
		rte_exit(EXIT_FAILURE, "config: %s\n", err);
	const bool ctl = dp->cfg.ctl.enabled;
	if (ctl && (o.roster != NULL || o.oneshot_group >= 0 || o.pull != NULL ||
		    o.sealer_openssl || o.rounds > 1))
		rte_exit(EXIT_FAILURE,
			 "with [control], UEs come from the store: import rosters with 'keyburst "
			 "admin import-roster', start rollovers and pulls with 'keyburst admin' "
			 "(--roster, --oneshot-rollover and --pull are for runs without it)\n");
	dp->tsc_hz = rte_get_tsc_hz();
	dp->idi_len = (uint16_t)strlen(dp->cfg.idi);
	memcpy(dp->idi, dp->cfg.idi, dp->idi_len);

	services.n = dp->cfg.n_services;
	for (unsigned i = 0; i < services.n; i++)
		services.s[i].cfg = dp->cfg.svc[i];
	dp->svc = &services;
	long group = o.group >= 0 ? o.group : services.n > 0 ? dp->cfg.svc[0].key_group : 1;
	if (o.oneshot_group >= 0 && o.no_ack) {
		int si = kb_service_find(&services, (uint16_t)o.oneshot_group);
		if (si >= 0)
			services.s[si].cfg.ack = false;
	}

	unsigned workers = rte_lcore_count() - 1;
	dp->n_lcores = dp->cfg.lcores == 0 ? workers : dp->cfg.lcores;
	if (workers == 0 || dp->n_lcores > workers || dp->n_lcores > KB_MAX_DP_LCORES)
		rte_exit(EXIT_FAILURE,
			 "need 1..%u dataplane lcores besides the main lcore (EAL gave %u workers, "
			 "%u wanted)\n",
			 KB_MAX_DP_LCORES, workers, dp->n_lcores);

	long rows = o.roster != NULL ? kb_roster_count(o.roster) : 0;
	if (rows < 0)
		rte_exit(EXIT_FAILURE, "roster: cannot read %s\n", o.roster);
	uint32_t capacity = (uint32_t)(rows < 1024 ? 1024 : rows);
	if (ctl)
		capacity = dp->cfg.ctl.max_ues < 1024 ? 1024 : dp->cfg.ctl.max_ues;
	dp->cap_dir = capacity;
	dp->dir = rte_malloc("kb_dir", sizeof(uint32_t) * capacity, 0);
	dp->pool = rte_pktmbuf_pool_create("kb_mbuf", dp->cfg.mbufs, 256, 0,
					   RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	dp->kt = kb_keytable_create("kb_sa", capacity, dp->n_lcores, (int)rte_socket_id());
	if (dp->dir == NULL || dp->pool == NULL || dp->kt == NULL)
		rte_exit(EXIT_FAILURE, "cannot allocate tables for %u UEs: %s\n", capacity,
			 rte_strerror(rte_errno));
	dp->qsbr = kb_keytable_qsbr(dp->kt);

	/* shards are sized for an uneven hash split */
	uint32_t shard_cap =
		dp->n_lcores == 1 ? capacity
				  : capacity / dp->n_lcores + capacity / (2 * dp->n_lcores) + 1024;
	unsigned lcore_id, l = 0;
	RTE_LCORE_FOREACH_WORKER(lcore_id)
	{
		if (l == dp->n_lcores)
			break;
		dp->lc[l] = kb_lcore_new(dp, l, lcore_id, shard_cap);
		if (dp->lc[l] == NULL)
			rte_exit(EXIT_FAILURE, "cannot allocate lcore %u state\n", lcore_id);
		l++;
	}
	if (setup_rings(dp) != 0)
		rte_exit(EXIT_FAILURE, "cannot create rings: %s\n", rte_strerror(rte_errno));

	/* counters: without the control plane, an in-memory grantor (no
	 * persistence); with it, the store-backed one, taken at its start */
	uint32_t floor = 1;
	if (!ctl) {
		kb_counter_grantor_memory(&grantor);
		if (kb_counter_grant_init(dp, &grantor, &floor) != 0)
			rte_exit(EXIT_FAILURE, "counter grant failed\n");
	} else if (kb_ctl_bridge_init(dp, capacity, err, sizeof(err)) != 0) {
		rte_exit(EXIT_FAILURE, "control: %s\n", err);
	}

	if (o.roster != NULL) {
		uint64_t t0 = rte_rdtsc();
		long n = kb_roster_load(dp, o.roster, (uint16_t)group, floor);
		if (n < 0)
			rte_exit(EXIT_FAILURE, "roster: load failed\n");
		KB_LOG(INFO, "roster: %ld UEs into key group %ld in %.2f s", n, group,
		       (double)(rte_rdtsc() - t0) / (double)dp->tsc_hz);
	}
	if (o.sealer_openssl) {
		uint64_t t0 = rte_rdtsc();
		if (o.roster == NULL || load_ref_keys(dp, o.roster) != 0)
			rte_exit(EXIT_FAILURE, "--sealer openssl: needs --roster, and its keys\n");
		for (l = 0; l < dp->n_lcores; l++) {
			dp->lc[l]->ref_ctx = kb_ref_ctx_new();
			if (dp->lc[l]->ref_ctx == NULL)
				rte_exit(EXIT_FAILURE, "--sealer openssl: no OpenSSL context\n");
		}
		KB_LOG(INFO, "sealer: OpenSSL reference path (keys of %u UEs derived in %.2f s)",
		       dp->n_ref_tk, (double)(rte_rdtsc() - t0) / (double)dp->tsc_hz);
	}

	/* the port */
	if (kb_port_init(dp->cfg.port_id, (uint16_t)dp->n_lcores, dp->pool, &dp->port) != 0)
		rte_exit(EXIT_FAILURE, "port %u init failed\n", dp->cfg.port_id);
	dp->have_port = true;
	if (dp->cfg.has_next_hop_mac) {
		memcpy(dp->nh.mac, dp->cfg.next_hop_mac, 6);
		dp->nh.known = 1;
	}
	if (dp->cfg.has_next_hop_ip4) {
		memcpy(dp->nh.ip4, dp->cfg.next_hop_ip4, 4);
		dp->nh.has_ip4 = true;
	}
	if (!dp->nh.known && !dp->nh.has_ip4)
		rte_exit(EXIT_FAILURE, "config: [port] needs next_hop_mac or next_hop_ip\n");
	/* template 0 also serves ARP: it exists even before any service */
	for (unsigned i = 0; i < (services.n > 0 ? services.n : 1); i++)
		kb_pkt_tmpl_init(&dp->tmpl[i], dp->port.mac, dp->cfg.has_ip4 ? dp->cfg.ip4 : NULL,
				 dp->cfg.has_ip6 ? dp->cfg.ip6 : NULL,
				 services.n > 0            ? services.s[i].cfg.udp_port
				 : dp->cfg.ctl.ue_udp_port ? dp->cfg.ctl.ue_udp_port
							   : 4359,
				 &dp->nh, dp->port.ip_csum_offload, dp->port.udp_csum_offload,
				 dp->cfg.udp_csum_v4);
	if (setup_tx_buffers(dp) != 0)
		rte_exit(EXIT_FAILURE, "cannot allocate TX buffers\n");
	if (kb_telemetry_register(dp) != 0)
		KB_LOG(WARNING, "telemetry commands not registered");
	rte_timer_subsystem_init();

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);

	for (l = 0; l < dp->n_lcores; l++)
		rte_eal_remote_launch(kb_lcore_main, dp->lc[l], dp->lc[l]->lcore_id);

	/* the control plane starts with the lcores running: its key-table
	 * rebuild goes through their job rings like any later SA */
	if (ctl && kb_ctl_bridge_start(dp, err, sizeof(err)) != 0) {
		fprintf(stderr, "keyburstd: control plane: %s\n", err);
		__atomic_store_n(&dp->force_quit, 1, __ATOMIC_RELAXED);
		rte_eal_mp_wait_lcore();
		rte_exit(EXIT_FAILURE, "control plane failed to start\n");
	}
	if (ctl)
		fprintf(stderr, "keyburstd: control plane ready\n");
	fflush(stdout);

	int svc = -1;
	bool oneshot = o.oneshot_group >= 0 || o.pull != NULL;
	if (oneshot)
		wait_link(dp, 10);
	uint64_t t_start = rte_rdtsc();
	if (o.oneshot_group >= 0) {
		svc = kb_service_find(&services, (uint16_t)o.oneshot_group);
		int rc = svc < 0 ? -ENOENT : kb_rollover_start(dp, (uint16_t)o.oneshot_group);
		if (rc != 0) {
			fprintf(stderr, "keyburstd: rollover of key group %ld: %s\n",
				o.oneshot_group, strerror(-rc));
			__atomic_store_n(&dp->force_quit, 1, __ATOMIC_RELAXED);
		}
	}
	if (o.pull != NULL && run_pulls(dp, o.pull) != 0)
		__atomic_store_n(&dp->force_quit, 1, __ATOMIC_RELAXED);

	/* the control loop: it may sleep, it is not a dataplane lcore */
	bool timed_out = false, rounds_ok = true;
	unsigned round = 1, recorded = 0;
	json_t *rounds = json_array();
	while (!__atomic_load_n(&dp->force_quit, __ATOMIC_RELAXED)) {
		if (ctl) {
			kb_ctl_bridge_poll(dp);
		} else {
			kb_control_poll(dp, NULL, NULL);
			kb_keytable_reclaim(dp->kt);
		}
		if (oneshot) {
			bool done = true;
			if (svc >= 0 && services.s[svc].active) {
				done = false;
			} else if (svc >= 0 && recorded < round) {
				/* a round is over: its numbers, then the next round */
				json_array_append_new(
					rounds, round_json(dp, svc, round, o.no_ack, &rounds_ok));
				recorded = round;
				if (round < o.rounds) {
					int rc = kb_rollover_start(dp, (uint16_t)o.oneshot_group);
					if (rc != 0) {
						fprintf(stderr, "keyburstd: round %u: %s\n",
							round + 1, strerror(-rc));
						rounds_ok = false;
					} else {
						round++;
						done = false;
					}
				}
			}
			if (o.pull != NULL)
				for (l = 0; l < dp->n_lcores; l++)
					if (dp->lc[l]->sh.pull_head != dp->lc[l]->sh.pull_tail ||
					    rte_ring_count(dp->lc[l]->jobs) > 0)
						done = false;
			if (done)
				break;
			if (rte_rdtsc() - t_start > (uint64_t)o.max_time_s * dp->tsc_hz) {
				timed_out = true;
				KB_LOG(ERR, "one-shot: gave up after %u s", o.max_time_s);
				break;
			}
		}
		/* one-shot: a round's end is seen within 0.5 ms (its duration is
		 * taken when the last shard's event is read here) */
		usleep(oneshot ? 500 : 1000);
	}
	/* let the TX drain timers run once more, then stop the lcores */
	usleep(2000);
	__atomic_store_n(&dp->force_quit, 1, __ATOMIC_RELAXED);
	rte_eal_mp_wait_lcore();
	/* the lcores are stopped: their last queued events go through here,
	 * as many ring-fulls as they take */
	for (bool queued = true; queued;) {
		queued = false;
		for (l = 0; l < dp->n_lcores; l++)
			queued |= kb_lcore_events_flush(dp->lc[l]) > 0;
		if (ctl)
			kb_ctl_bridge_poll(dp); /* the last acks reach the store */
		else
			kb_control_poll(dp, NULL, NULL);
	}
	if (ctl)
		kb_ctl_bridge_stop(dp);

	json_t *sum = summary(dp, svc, o.no_ack);
	json_object_set_new(sum, "timed_out", json_boolean(timed_out));
	if (svc >= 0) {
		if (recorded < round) /* the unfinished round, as far as it got */
			json_array_append_new(rounds,
					      round_json(dp, svc, round, o.no_ack, &rounds_ok));
		json_object_set_new(sum, "rounds_requested", json_integer(o.rounds));
		json_object_set_new(sum, "rounds", rounds);
		json_object_set_new(sum, "sealer",
				    json_string(o.sealer_openssl ? "openssl" : "ipsec-mb"));
	} else {
		json_decref(rounds);
	}
	json_dumpf(sum, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
	fputc('\n', stdout);
	fflush(stdout);

	if (!oneshot) {
		exit_code = 0; /* SIGINT/SIGTERM: a clean stop */
	} else {
		struct kb_rollover_progress p = {0};
		if (svc >= 0)
			kb_rollover_progress(dp, (unsigned)svc, &p);
		uint64_t dropped = json_integer_value(
			json_object_get(json_object_get(sum, "stats"), "tx_dropped"));
		bool ok = !timed_out && (svc < 0 || !p.active);
		if (svc >= 0 && !o.no_ack)
			ok = ok && p.acked == p.ues;
		if (svc >= 0 && o.no_ack)
			ok = ok && p.sent == p.ues && dropped == 0;
		if (svc >= 0)
			ok = ok && rounds_ok && recorded == o.rounds;
		exit_code = ok ? 0 : 1;
	}
	json_decref(sum);

	for (l = 0; l < dp->n_lcores; l++)
		kb_lcore_free(dp->lc[l]);
	kb_port_stop(dp->port.port_id);
	for (unsigned i = 0; i < services.n; i++) {
		kb_memzero(services.s[i].msk_cur, KB_MSK_LEN);
		kb_memzero(services.s[i].msk_next, KB_MSK_LEN);
	}
	free_ref_keys(dp);
	kb_keytable_free(dp->kt);
	rte_free(dp->dir);
	rte_eal_cleanup();
	return exit_code;
}
