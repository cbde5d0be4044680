/* The reference single-message path, on OpenSSL. It is what the tests, the
 * UE simulator and the benchmark baseline use, and what the dataplane's
 * IPsec-MB burst sealer must match byte for byte. */
#ifndef KB_MIKEY_REF_H
#define KB_MIKEY_REF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mikey/mikey_codec.h"
#include "mikey/mikey_profile.h"

/* Seal in place: AES-128-CTR over [encr_off, +encr_len) with the IV from the
 * salt, csb_id and counter, then HMAC-SHA-1 over [0, mac_off) into mac_off. */
int kb_ref_seal(uint8_t *msg, const struct kb_mikey_layout *lay, uint32_t csb_id, uint32_t counter,
		const struct kb_mikey_tkeys *tk);

/* Write and seal in one call. *len receives the message length. */
int kb_ref_seal_msk(uint8_t *buf, size_t cap, const struct kb_msk_msg_params *p,
		    const struct kb_mikey_tkeys *tk, size_t *len);
int kb_ref_seal_mtk(uint8_t *buf, size_t cap, const struct kb_mtk_msg_params *p,
		    const struct kb_mikey_tkeys *tk, size_t *len);

/* Build a verification message for (csb_id, counter) of an SA. */
int kb_ref_build_ack(uint8_t *buf, size_t cap, uint32_t csb_id, uint32_t counter,
		     const uint8_t *idi, uint16_t idi_len, const uint8_t *idr, uint16_t idr_len,
		     const struct kb_mikey_tkeys *tk, size_t *len);

/* Verify a decoded verification message. Returns 0 if its V MAC is right
 * (constant-time compare), -1 otherwise. */
int kb_ref_verify_ack(const uint8_t *buf, const struct kb_mikey_msg *m, const uint8_t *idi,
		      uint16_t idi_len, const uint8_t *idr, uint16_t idr_len,
		      const struct kb_mikey_tkeys *tk);

/* What opening a sealed message gives. */
struct kb_mikey_opened {
	struct kb_mikey_msg msg;
	unsigned n_keydata;
	struct kb_mikey_keydata keydata[KB_MIKEY_MAX_KEYDATA];
	uint8_t plain[KB_MIKEY_MSG_MAX]; /* decrypted key data; keydata points here */
	size_t plain_len;
};

/* Decode, check the KEMAC MAC (constant time), and decrypt. The transport keys
 * are derived from psk with the message's own CSB ID and RAND; for a message
 * without RAND (an update in an existing CSB) pass rand/rand_len. Returns 0, or
 * -1 with err naming what failed (structure, MAC, algorithm). Wipe `out` with
 * kb_memzero after use: it holds key material. */
int kb_ref_open(const uint8_t *buf, size_t len, const uint8_t *psk, size_t psk_len,
		const uint8_t *rand, size_t rand_len, struct kb_mikey_opened *out,
		struct kb_mikey_error *err);

/* Reusable OpenSSL state (an AES-128-CTR cipher context and an HMAC-SHA-1
 * MAC context, fetched once). The calls above create and free one per call;
 * the *_ctx variants let a caller (the benchmark's "reused contexts" run, a
 * UE simulator thread) keep one per thread. A context holds no key between
 * calls that a caller can rely on, and is not thread-safe. */
struct kb_ref_ctx;

struct kb_ref_ctx *kb_ref_ctx_new(void);
void kb_ref_ctx_free(struct kb_ref_ctx *ctx);

int kb_ref_seal_ctx(struct kb_ref_ctx *ctx, uint8_t *msg, const struct kb_mikey_layout *lay,
		    uint32_t csb_id, uint32_t counter, const struct kb_mikey_tkeys *tk);
int kb_ref_seal_msk_ctx(struct kb_ref_ctx *ctx, uint8_t *buf, size_t cap,
			const struct kb_msk_msg_params *p, const struct kb_mikey_tkeys *tk,
			size_t *len);
int kb_ref_build_ack_ctx(struct kb_ref_ctx *ctx, uint8_t *buf, size_t cap, uint32_t csb_id,
			 uint32_t counter, const uint8_t *idi, uint16_t idi_len, const uint8_t *idr,
			 uint16_t idr_len, const struct kb_mikey_tkeys *tk, size_t *len);
int kb_ref_verify_ack_ctx(struct kb_ref_ctx *ctx, const uint8_t *buf, const struct kb_mikey_msg *m,
			  const uint8_t *idi, uint16_t idi_len, const uint8_t *idr,
			  uint16_t idr_len, const struct kb_mikey_tkeys *tk);
int kb_ref_open_ctx(struct kb_ref_ctx *ctx, const uint8_t *buf, size_t len, const uint8_t *psk,
		    size_t psk_len, const uint8_t *rand, size_t rand_len,
		    struct kb_mikey_opened *out, struct kb_mikey_error *err);

/* Open with transport keys already derived (the server side of an SA, or a
 * UE that cached them); the message's RAND, if any, is not used. */
int kb_ref_open_tk(struct kb_ref_ctx *ctx, const uint8_t *buf, size_t len,
		   const struct kb_mikey_tkeys *tk, struct kb_mikey_opened *out,
		   struct kb_mikey_error *err);

#endif
