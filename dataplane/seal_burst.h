/* The IPsec-MB burst sealer: AES-128-CTR then HMAC-SHA-1 (precomputed pads)
 * over 1..KB_SEAL_BURST_MAX messages at once with the synchronous burst API
 * (IMB_SUBMIT_CIPHER_BURST, IMB_SUBMIT_HASH_BURST; the 1.3 async burst API
 * loses jobs). No DPDK: it works on plain pointers, so the daemon, the bench
 * and the tests share it. Must be byte-identical to kb_ref_seal. */
#ifndef KB_SEAL_BURST_H
#define KB_SEAL_BURST_H

#include <stdint.h>

#include "mikey/mikey_profile.h"
#include "sa.h"

#define KB_SEAL_BURST_MAX 64

struct IMB_MGR;

/* One lcore's engine: owns its IMB_MGR and its job arrays. */
struct kb_sealer;

struct kb_sealer *kb_sealer_new(void); /* NULL on failure (logs why via stderr) */
void kb_sealer_free(struct kb_sealer *s);
const char *kb_sealer_arch(const struct kb_sealer *s); /* "avx512", "avx2", ... */

/* One message to seal: written in plaintext by kb_msk_msg_write (or the MTK
 * writer) at msg, with its layout; the record gives the keys. */
struct kb_seal_req {
	uint8_t *msg;
	const struct kb_mikey_layout *lay;
	const struct kb_sa_record *sa;
	uint32_t counter; /* the T value written in the message */
};

/* Seal n <= KB_SEAL_BURST_MAX messages in place. Returns n when every
 * message is sealed; anything else (the library rejected a job: a bug,
 * logged to stderr) means none of the burst may be sent. */
unsigned kb_seal_burst(struct kb_sealer *s, const struct kb_seal_req *req, unsigned n);

/* The same sealing through the per-message job API (IMB_GET_NEXT_JOB /
 * IMB_SUBMIT_JOB / IMB_FLUSH_JOB, one chained cipher-then-hash job each):
 * byte-identical output, kept so the benchmark can compare the two paths.
 * Returns the number of messages whose job completed. */
unsigned kb_seal_jobapi(struct kb_sealer *s, const struct kb_seal_req *req, unsigned n);

/* Acks: verify the V MAC of n <= KB_SEAL_BURST_MAX decoded verification
 * messages in one hash burst. ack points at the 38-byte message; idi is the
 * server's identity (same for all). ok[i] = 1 if the MAC matches (constant
 * time) and the ack's CSB ID is the record's, else 0. */
struct kb_ack_req {
	const uint8_t *ack;
	const struct kb_sa_record *sa;
};
void kb_verify_ack_burst(struct kb_sealer *s, const struct kb_ack_req *req, unsigned n,
			 const uint8_t *idi, uint16_t idi_len, uint8_t *ok);

#endif
