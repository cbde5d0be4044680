/* SRTP protect in IPsec-MB bursts (issue 7): AES_CM_128_HMAC_SHA1_80 with a
 * 6-byte MKI over 1..KB_SRTP_BURST_MAX RTP packets at once: one synchronous
 * AES-128-CTR cipher burst, then one HMAC-SHA1 hash burst with precomputed
 * pads. No DPDK: it works on plain pointers like seal_burst.h, so the daemon,
 * the bench and the tests share it. Byte-identical to kb_srtp_ref_protect
 * (proto/srtp/srtp.h) and to libsrtp2 (tests/integration). */
#ifndef KB_SRTP_BURST_H
#define KB_SRTP_BURST_H

#include <stdint.h>

#include "srtp/srtp.h"

#define KB_SRTP_BURST_MAX 64

/* Everything the burst needs for one MTK, derived once (at MTK activation,
 * off the fast path): session keys expanded for IPsec-MB, HMAC pads, the
 * session salt and the MKI. Read-only while packets use it. */
struct kb_srtp_tx_key {
	uint8_t aes_enc_keys[16 * 11] __attribute__((aligned(16))); /* expanded AES-128 */
	uint8_t hmac_ipad[32] __attribute__((aligned(16))); /* SHA-1 state after key^ipad */
	uint8_t hmac_opad[32] __attribute__((aligned(16))); /* SHA-1 state after key^opad */
	uint8_t salt[KB_SRTP_SALT_LEN];
	uint8_t mki[KB_SRTP_MKI_LEN];
};

/* One lcore's engine: owns its IMB_MGR and its job arrays. */
struct kb_srtp_burster;

struct kb_srtp_burster *kb_srtp_burster_new(void); /* NULL on failure (stderr says why) */
void kb_srtp_burster_free(struct kb_srtp_burster *b);
const char *kb_srtp_burster_arch(const struct kb_srtp_burster *b);

/* Derive the session keys from the MTK and master salt (RFC 3711 kdr 0),
 * expand them, and set MKI = msk_id ‖ mtk_id. Wipes every intermediate.
 * Returns 0 or -1. */
int kb_srtp_tx_key_build(struct kb_srtp_burster *b, struct kb_srtp_tx_key *k,
			 const uint8_t mtk[KB_SRTP_MASTER_KEY_LEN],
			 const uint8_t msalt[KB_SRTP_MASTER_SALT_LEN], uint32_t msk_id,
			 uint16_t mtk_id);

/* One packet: a plaintext RTP packet of `len` bytes whose header is
 * `hdr_len` bytes (kb_push_tx_next writes 12), with at least
 * KB_SRTP_TRAILER_LEN bytes of room after it. SSRC and SEQ are read from
 * the header. After the burst the packet is len + KB_SRTP_TRAILER_LEN long. */
struct kb_srtp_req {
	uint8_t *pkt;
	uint16_t len;
	uint16_t hdr_len;
	uint32_t roc;
	const struct kb_srtp_tx_key *key;
};

/* Protect n <= KB_SRTP_BURST_MAX packets in place. Returns n when all are
 * protected; anything else (the library refused a job: a bug, logged to
 * stderr) means none of the burst may be sent. */
unsigned kb_srtp_protect_burst(struct kb_srtp_burster *b, const struct kb_srtp_req *req,
			       unsigned n);

#endif
