/* The SA record: everything the dataplane needs to seal a MIKEY message for
 * one UE without any derivation (ARCHITECTURE.md decision 2). Built once by
 * the control plane (kb_sa_record_build), published in the key table, then
 * read-only: per-UE mutable state (counters, delivery) lives in the owning
 * lcore's shard, never here. */
#ifndef KB_SA_H
#define KB_SA_H

#include <stdbool.h>
#include <stdint.h>

#include "mikey/mikey_prf.h"

#define KB_SA_ID_MAX 96 /* longest idr (B-TID) we carry inline */

struct kb_ue_addr {
	uint8_t af; /* AF_INET or AF_INET6 */
	uint8_t ip[16]; /* network order */
	uint16_t port; /* host order */
};

struct kb_sa_record {
	/* sealer material, first so that it shares cache lines */
	uint8_t aes_enc_keys[16 * 11] __attribute__((aligned(16))); /* expanded AES-128 */
	uint8_t hmac_ipad[32] __attribute__((aligned(16))); /* SHA-1 state after key^ipad */
	uint8_t hmac_opad[32] __attribute__((aligned(16))); /* SHA-1 state after key^opad */
	uint8_t salt[KB_MIKEY_SALT_LEN];
	uint8_t rand[KB_MIKEY_RAND_LEN];
	uint32_t csb_id;
	uint16_t key_group; /* the service key group this UE belongs to */
	uint8_t idr_len;
	uint8_t shard; /* owning lcore index: hash of csb_id */
	struct kb_ue_addr addr;
	uint8_t idr[KB_SA_ID_MAX];
	/* the raw auth key, kept for the V MAC of acks is not needed: the pads are */
};

/* Build a record from a MUK (GBA_ME: Ks_NAF) off to the side: derives the
 * transport keys (cs_id 0xFF), expands the AES key, precomputes the HMAC
 * pads, then wipes the raw keys. Returns 0, or -1 (idr too long, n_shards
 * > 256, PRF or IPsec-MB failure; the record is then zeroed). */
int kb_sa_record_build(struct kb_sa_record *rec, const uint8_t *muk, size_t muk_len,
		       uint32_t csb_id, const uint8_t rand[KB_MIKEY_RAND_LEN], const char *idr,
		       uint16_t key_group, const struct kb_ue_addr *addr, unsigned n_shards);

/* kb_sa_record_build uses a per-thread IPsec-MB manager, allocated on first
 * use and freed at thread exit; a thread may free it earlier with this. */
void kb_sa_thread_release(void);

/* The shard (dataplane lcore index) that owns a csb_id. n_shards <= 256. */
unsigned kb_sa_shard(uint32_t csb_id, unsigned n_shards);

#endif
