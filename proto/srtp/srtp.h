/* SRTP (RFC 3711) for PTM push content, profile AES_CM_128_HMAC_SHA1_80 with
 * a 6-byte MKI = MSK ID (4) ‖ MTK ID (2) in every packet (PROFILE.md "PTM
 * push content"). Key derivation, the AES-CM IV, the RTP header and the
 * keyburst push framing, and the OpenSSL reference protect/unprotect that the
 * dataplane's IPsec-MB burst path must match byte for byte. Pure C, no DPDK.
 *
 * SRTP packet: RTP header ‖ encrypted payload ‖ MKI ‖ auth tag, where the tag
 * is the first 10 bytes of HMAC-SHA1(auth key, RTP header ‖ encrypted payload
 * ‖ ROC): the MKI is not authenticated (RFC 3711 §3.1, §4.2). */
#ifndef KB_SRTP_H
#define KB_SRTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KB_SRTP_MASTER_KEY_LEN 16
#define KB_SRTP_MASTER_SALT_LEN 14
#define KB_SRTP_ENCR_KEY_LEN 16
#define KB_SRTP_AUTH_KEY_LEN 20
#define KB_SRTP_SALT_LEN 14
#define KB_SRTP_TAG_LEN 10
#define KB_SRTP_MKI_LEN 6
#define KB_SRTP_TRAILER_LEN (KB_SRTP_MKI_LEN + KB_SRTP_TAG_LEN)
#define KB_RTP_HDR_LEN 12 /* what we write: no CSRC, no extension */
#define KB_PUSH_HDR_LEN 12 /* push id (4) ‖ object length (4) ‖ offset (4) */
#define KB_RTP_PT_DEFAULT 96

/* RFC 3711 §4.3.1 key derivation labels (SRTP) */
#define KB_SRTP_LABEL_ENCR 0x00
#define KB_SRTP_LABEL_AUTH 0x01
#define KB_SRTP_LABEL_SALT 0x02

/* The session keys of one SRTP crypto context (kdr 0: derived once). */
struct kb_srtp_keys {
	uint8_t encr[KB_SRTP_ENCR_KEY_LEN];
	uint8_t auth[KB_SRTP_AUTH_KEY_LEN];
	uint8_t salt[KB_SRTP_SALT_LEN];
};

/* ---- srtp_kdf.c ---- */

/* The AES-CM PRF of RFC 3711 §4.3.3 with key_derivation_rate 0: out_len bytes
 * of AES-128-CM keystream under the master key with IV
 * ((label << 48) XOR master salt) * 2^16. Returns 0 or -1. */
int kb_srtp_kdf(const uint8_t mkey[KB_SRTP_MASTER_KEY_LEN],
		const uint8_t msalt[KB_SRTP_MASTER_SALT_LEN], uint8_t label, uint8_t *out,
		size_t out_len);

/* The three SRTP session keys from the MTK (master key) and master salt.
 * Wipe *out with kb_memzero after use. Returns 0 or -1. */
int kb_srtp_derive(const uint8_t mkey[KB_SRTP_MASTER_KEY_LEN],
		   const uint8_t msalt[KB_SRTP_MASTER_SALT_LEN], struct kb_srtp_keys *out);

/* AES-CM IV of one packet (RFC 3711 §4.1.1):
 * (salt * 2^16) XOR (SSRC * 2^64) XOR (index * 2^16). index < 2^48. */
void kb_srtp_iv(const uint8_t salt[KB_SRTP_SALT_LEN], uint32_t ssrc, uint64_t index,
		uint8_t iv[16]);

/* Raw AES-128 counter-mode keystream from a 16-byte initial counter block
 * (the 128-bit counter increments; the known-answer tests use it). */
int kb_srtp_keystream(const uint8_t key[16], const uint8_t iv[16], uint8_t *out, size_t len);

/* ---- srtp_frame.c: RTP header, MKI, push framing ---- */

struct kb_rtp_hdr {
	uint8_t pt;
	bool marker;
	uint16_t seq;
	uint32_t ts;
	uint32_t ssrc;
	size_t len; /* header length: 12 + 4*CC [+ extension] */
};

/* Parse the fixed header, CSRCs and extension of an RTP (or SRTP) packet.
 * Returns 0, or -1 if it is shorter than its header or not version 2. */
int kb_rtp_parse(const uint8_t *pkt, size_t len, struct kb_rtp_hdr *h);

/* Write a 12-byte RTP header (V=2, no P/X/CC). */
void kb_rtp_write(uint8_t *buf, uint8_t pt, bool marker, uint16_t seq, uint32_t ts, uint32_t ssrc);

/* MKI = MSK ID (4) ‖ MTK ID (2). */
void kb_srtp_mki(uint32_t msk_id, uint16_t mtk_id, uint8_t mki[KB_SRTP_MKI_LEN]);

/* Per-service sender state: one SSRC, the next sequence number and its ROC.
 * index = ROC * 2^16 + SEQ never repeats under one MTK. */
struct kb_srtp_stream {
	uint32_t ssrc;
	uint16_t seq; /* next sequence number to send */
	uint32_t roc; /* rollover counter of `seq` */
	uint8_t pt; /* KB_RTP_PT_DEFAULT unless configured */
};

/* Take the next (seq, roc) and advance. Returns 0, or -1 once the 48-bit
 * index is exhausted (rekey: the MTK must change first). */
int kb_srtp_stream_take(struct kb_srtp_stream *s, uint16_t *seq, uint32_t *roc);

/* Split a push object into RTP packets in order. Each RTP payload is the
 * 12-byte push header then a chunk; the last packet of an object has the
 * RTP marker bit set; all packets of an object share the RTP timestamp. An
 * empty object is one packet with a header only. */
struct kb_push_tx {
	const uint8_t *obj;
	uint32_t len;
	uint32_t off;
	uint32_t push_id;
	uint32_t ts;
	size_t chunk; /* object bytes per packet */
	bool started;
};

/* pkt_max is the whole SRTP packet size budget (RTP header, push header,
 * chunk, MKI and tag). Returns 0, or -1 if pkt_max leaves no room. */
int kb_push_tx_init(struct kb_push_tx *tx, uint32_t push_id, uint32_t ts, const uint8_t *obj,
		    uint32_t len, size_t pkt_max);

/* What kb_push_tx_next wrote: the RTP packet length (before the SRTP
 * trailer) and the index it took. */
struct kb_push_pkt {
	size_t len;
	uint16_t seq;
	uint32_t roc;
	uint32_t offset; /* object offset of this chunk */
};

/* Write the next plaintext RTP packet into buf (cap must leave room for the
 * SRTP trailer: len + KB_SRTP_TRAILER_LEN). Returns 1 when a packet was
 * written, 0 when the object is done, -1 on error (cap, index exhausted). */
int kb_push_tx_next(struct kb_push_tx *tx, struct kb_srtp_stream *s, uint8_t *buf, size_t cap,
		    struct kb_push_pkt *out);

struct kb_push_hdr {
	uint32_t push_id;
	uint32_t obj_len;
	uint32_t offset;
};

/* Parse the push header at the start of an RTP payload; *data and *data_len get
 * the chunk. Returns 0, or -1 if short or the chunk overruns obj_len. */
int kb_push_hdr_parse(const uint8_t *payload, size_t len, struct kb_push_hdr *h,
		      const uint8_t **data, size_t *data_len);

/* Receiver-side reassembly of one object; chunks may arrive in any order
 * and more than once (identical bytes only). */
struct kb_push_rx {
	uint32_t push_id;
	uint32_t len;
	uint32_t got; /* distinct object bytes received */
	uint8_t *buf;
	uint8_t *have; /* one bit per object byte */
};

/* Returns 0, or -1 if len > max_len or out of memory. */
int kb_push_rx_init(struct kb_push_rx *rx, uint32_t push_id, uint32_t len, uint32_t max_len);
/* Add one decrypted RTP payload. Returns 1 when the object is complete, 0
 * when more is needed, -1 if the packet belongs to another object or
 * contradicts bytes already received. */
int kb_push_rx_add(struct kb_push_rx *rx, const uint8_t *payload, size_t len);
void kb_push_rx_free(struct kb_push_rx *rx);

/* Receiver index estimate (RFC 3711 Appendix A): the ROC to use for seq
 * given the highest seq s_l seen so far with ROC roc. */
uint32_t kb_srtp_guess_roc(uint16_t s_l, uint32_t roc, uint16_t seq);

/* ---- srtp_ref.c: the OpenSSL reference (one packet) ---- */

/* Protect in place: pkt[0, len) is an RTP packet; its payload (after the
 * parsed header) is encrypted, then MKI and tag are appended. cap must be
 * >= len + mki_len + KB_SRTP_TAG_LEN. *out_len gets the SRTP length.
 * Returns 0 or -1. */
int kb_srtp_ref_protect(const struct kb_srtp_keys *k, uint8_t *pkt, size_t len, size_t cap,
			uint32_t roc, const uint8_t *mki, size_t mki_len, size_t *out_len);

/* Unprotect in place: checks the MKI equals `mki` and the tag (constant
 * time) over header ‖ payload ‖ ROC, then decrypts. *out_len gets the RTP
 * length. Returns 0, or -1 (short, wrong MKI, bad tag). */
int kb_srtp_ref_unprotect(const struct kb_srtp_keys *k, uint8_t *pkt, size_t len, uint32_t roc,
			  const uint8_t *mki, size_t mki_len, size_t *out_len);

#endif
