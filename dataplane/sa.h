/* The SA record: everything the dataplane needs to seal a MIKEY message for
 * one UE without any derivation (ARCHITECTURE.md decision 2). Built once by
 * the control plane (kb_sa_record_build), published in the key table, then
 * read-only: per-UE mutable state (counters, delivery) lives in the owning
 * lcore's shard, never here. */
#ifndef KB_SA_H
#define KB_SA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mikey/mikey_prf.h"

#define KB_SA_ID_MAX 96 /* longest idr (B-TID) we carry inline */
#define KB_SA_SHA1_STATE 20 /* a SHA-1 chaining state: all IPsec-MB reads */
#define KB_SA_LINE 64

struct kb_ue_addr {
	uint8_t af; /* AF_INET or AF_INET6 */
	uint8_t ip[16]; /* network order */
	uint16_t port; /* host order */
};

/* Laid out for the hot path: 384 bytes, i.e. exactly 6 cache lines when the
 * record starts on a line (the key table's rte_malloc and the bench's arrays
 * do). Lines 0-3 (bytes 0-255) hold everything the sealer reads: the AES
 * schedule, the pads, salt and csb_id. Lines 3-5 hold what the message
 * writer and the packet builder read: csb_id, idr_len, addr, rand and the
 * idr (bytes 274-369: inside line 5 for any idr up to KB_SA_ID_MAX). Sealing
 * one message touches these 6 lines and nothing else. The 20-byte pads are
 * exactly what IPsec-MB 1.3 reads of them (16 + 4 bytes, every arch). */
struct kb_sa_record {
	uint8_t aes_enc_keys[16 * 11] __attribute__((aligned(16))); /* expanded AES-128 */
	uint8_t hmac_ipad[KB_SA_SHA1_STATE]; /* SHA-1 state after key^ipad */
	uint8_t hmac_opad[KB_SA_SHA1_STATE]; /* SHA-1 state after key^opad */
	uint8_t salt[KB_MIKEY_SALT_LEN];
	uint16_t key_group; /* the service key group this UE belongs to */
	uint32_t csb_id;
	uint8_t idr_len;
	uint8_t shard; /* owning lcore index: hash of csb_id */
	struct kb_ue_addr addr;
	uint8_t rand[KB_MIKEY_RAND_LEN];
	uint8_t idr[KB_SA_ID_MAX];
	uint8_t reserved[14]; /* zero: pads the record to whole cache lines */
};

/* Bytes [0, KB_SA_SEAL_BYTES) are all the sealer reads. */
#define KB_SA_SEAL_BYTES (offsetof(struct kb_sa_record, csb_id) + sizeof(uint32_t))

/* Prefetch every line sealing a message for this SA will touch (record and
 * writer fields): call it for burst k+1 while burst k is being written and
 * sealed, so a cold record costs one overlapped DRAM latency, not six. */
static inline void kb_sa_prefetch(const struct kb_sa_record *sa)
{
	uintptr_t a = (uintptr_t)sa & ~(uintptr_t)(KB_SA_LINE - 1);
	const uintptr_t end = (uintptr_t)sa + sizeof(*sa);

	for (; a < end; a += KB_SA_LINE)
		__builtin_prefetch((const void *)a, 0, 3);
}

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
