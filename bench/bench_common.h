/* Shared fixtures of the benchmark suite: the configuration from the
 * command line, a UE population (SA records for the IPsec-MB paths, raw
 * transport keys for the OpenSSL paths) and a lazily started EAL. */
#ifndef KB_BENCH_COMMON_H
#define KB_BENCH_COMMON_H

#include <stdbool.h>
#include <stdint.h>

#include "mikey/mikey_prf.h"
#include "mikey/mikey_profile.h"
#include "sa.h"

/* The message every seal benchmark builds: the profile's MSK message with a
 * B-TID of this length as idr (base64(RAND) "@" a BSF FQDN). */
#define KB_BENCH_IDR_LEN 60
#define KB_BENCH_IDI "bmsc.example.org"
#define KB_BENCH_MSK_ID 0x00010002u

struct kb_bench_cfg {
	bool small; /* --kb-small: tiny sizes only (the integration test) */
	bool no_eal; /* --kb-no-eal: skip everything that needs DPDK */
	const char *eal_args; /* --kb-eal="...": EAL arguments */
	uint32_t cold_ues; /* the "cold" population (1M) */
	uint32_t hot_ues; /* the "hot" population (1K) */
	uint32_t keytable_max; /* largest key table (10M) */
};
extern struct kb_bench_cfg kb_bench_cfg;

/* What the OpenSSL (and cryptodev) paths need per UE: the raw transport keys
 * and the message fields. The IPsec-MB paths read the SA record instead. */
struct kb_bench_ue {
	struct kb_mikey_tkeys tk;
	uint32_t csb_id;
	uint8_t rand[KB_MIKEY_RAND_LEN];
	uint8_t idr_len;
	uint8_t idr[KB_BENCH_IDR_LEN];
} __attribute__((aligned(64)));

struct kb_bench_pop {
	uint32_t n;
	struct kb_sa_record *rec; /* n records, one contiguous array */
	struct kb_bench_ue *ue; /* n */
	uint32_t *ctr; /* the next counter of each UE */
	uint32_t *order; /* a random permutation of 0..n-1: the visiting order */
	double build_s; /* seconds it took to build */
};

/* The population of n UEs (built once, kept for the whole run). NULL on
 * failure. Not thread-safe: benchmarks run one at a time. */
struct kb_bench_pop *kb_bench_pop_get(uint32_t n);

/* The same MSK for every UE (one rollover), and the message parameters of
 * UE i with counter c. */
extern const uint8_t kb_bench_msk[KB_MSK_LEN];
void kb_bench_msk_params(const struct kb_bench_ue *ue, uint32_t counter,
			 struct kb_msk_msg_params *p);
void kb_bench_msk_params_rec(const struct kb_sa_record *rec, uint32_t counter,
			     struct kb_msk_msg_params *p);

/* Start the EAL once (with kb_bench_cfg.eal_args). 0, or -1 (then every
 * DPDK benchmark reports an error instead of a number). */
int kb_bench_eal(void);

/* Monotonic seconds. */
double kb_bench_now(void);

/* Registration of each area (bench_<area>.c). */
void kb_bench_register_seal(void);
void kb_bench_register_prf(void);
void kb_bench_register_decode(void);
void kb_bench_register_ack(void);
void kb_bench_register_keytable(void);
void kb_bench_register_digest(void);
void kb_bench_register_cryptodev(void);
void kb_bench_register_primitives(void);
void kb_bench_register_srtp(void);

#endif
