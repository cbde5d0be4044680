/* The control plane as a library: keyburstd starts it in its own threads
 * (never on dataplane lcores) and hands it hooks into the dataplane, so the
 * control plane depends on no daemon internals and runs alone in
 * tests/integration/ctl_harness.c with hooks that record what was asked.
 *
 * One instance per process. */
#ifndef KB_CONTROL_H
#define KB_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/counter_grant.h"
#include "dataplane/sa.h"

struct kb_control_cfg {
	const char *fqdn; /* BM-SC (NAF) FQDN: realm, NAF_Id, idi. Required. */
	/* UE listener (HTTP, or HTTPS when tls_cert and tls_key are set) */
	const char *ue_addr; /* IPv4/IPv6 literal; NULL: 0.0.0.0 */
	uint16_t ue_port; /* 0: 8080 */
	const char *tls_cert, *tls_key; /* PEM file paths */
	/* admin listener (JSON, bearer token; also /metrics and /healthz) */
	const char *admin_addr; /* NULL: 127.0.0.1 */
	uint16_t admin_port; /* 0: 8081 */
	const char *admin_token; /* required */
	const char *store_path; /* LMDB directory, required */
	size_t store_map_size; /* 0: 8 GiB */
	size_t max_body; /* UE request bodies; 0: 16384 (larger: 413) */
	size_t max_import_line; /* admin import line; 0: 4096 */
	uint32_t nonce_lifetime; /* Digest nonce seconds; 0: 300 */
	unsigned http_threads; /* per listener; 0: 2 */
	uint16_t ue_udp_port; /* where UEs receive MSK messages; 0: 4359 */
	unsigned n_shards; /* dataplane lcores, for kb_sa_record_build; 0: 1 */
	const char *mrk_variant; /* GBA_ME MRK derivation; NULL: default */
	/* BSF simulator (MILENAGE subscribers) as a second key source */
	bool bsf_sim;
	const char *bsf_domain; /* NULL: "bsf." fqdn */
	uint32_t bsf_lifetime; /* seconds; 0: 3600 */
	/* workers deriving SA records for imports and the start-up rebuild;
	 * 0: one per online CPU */
	unsigned import_threads;
	/* require the admin token on /metrics and /healthz too (default: open,
	 * for scrapers and probes on a management address) */
	bool metrics_auth;
};

/* What the control plane asks of the dataplane. */
enum kb_ctl_job_type {
	KB_CTL_JOB_DELIVER_MSK, /* send MSK message(s) for msk_id to UE csb_id */
	KB_CTL_JOB_ROLLOVER, /* push msk_id to every UE of key_group */
	KB_CTL_JOB_SOLICIT, /* solicited pull: key number 0, MAC only, to csb_id */
};

struct kb_ctl_job {
	enum kb_ctl_job_type type;
	uint32_t csb_id; /* DELIVER, SOLICIT; 0 for ROLLOVER */
	uint8_t key_domain[3];
	uint16_t key_group;
	uint32_t msk_id; /* key group << 16 | key number (0 for SOLICIT) */
	uint8_t msk[16]; /* DELIVER, ROLLOVER: the MSK; the receiver wipes it */
	bool ack_wanted;
	uint8_t retries;
};

/* One dataplane counter for /metrics and /v1/stats. */
struct kb_ctl_stat {
	const char *name; /* Prometheus-safe, e.g. "mikey_sealed_total" */
	uint64_t value;
};

struct kb_control_hooks {
	void *ctx;
	/* kb_sa_record_build (dataplane/sa.h): the daemon passes that function. */
	int (*sa_build)(struct kb_sa_record *rec, const uint8_t *muk, size_t muk_len,
			uint32_t csb_id, const uint8_t rand[KB_MIKEY_RAND_LEN], const char *idr,
			uint16_t key_group, const struct kb_ue_addr *addr, unsigned n_shards);
	/* kb_keytable_publish / kb_keytable_delete on the daemon's table. Called
	 * from one control thread at a time (the writer lock is ours). */
	int (*publish_sa)(void *ctx, const struct kb_sa_record *rec);
	int (*delete_sa)(void *ctx, uint32_t csb_id);
	/* Post a job on the job ring; 0, or -1 if the ring is full. */
	int (*post_job)(void *ctx, const struct kb_ctl_job *job);
	/* Fill up to cap counters; returns how many (NULL hook: none). */
	size_t (*read_stats)(void *ctx, struct kb_ctl_stat *out, size_t cap);
};

/* Opens the store, rebuilds the key tables from it (publish_sa for every
 * stored SA), then starts the listeners. 0, or -1 with a message in err. */
int kb_control_start(const struct kb_control_cfg *cfg, const struct kb_control_hooks *hooks,
		     char *err, size_t errlen);
void kb_control_stop(void);

/* The store-backed counter grantor (valid between start and stop). */
struct kb_counter_grantor *kb_control_counter_grantor(void);

/* Dataplane events (from the event ring): a UE acknowledged, or the
 * dataplane gave up on it. Thread-safe. */
void kb_control_on_delivered(uint32_t csb_id, uint32_t msk_id);
void kb_control_on_failed(uint32_t csb_id, uint32_t msk_id);

/* Run due scheduled rollovers (the control plane's timer thread calls it
 * once a second; tests may call it directly). */
void kb_control_tick(int64_t now);

#endif
