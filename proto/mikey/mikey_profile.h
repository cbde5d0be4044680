/* keyburst wire profile v1 (docs/wire-profile.md): the exact layout of the
 * MSK message, the solicited pull, the MTK message and the verification
 * message. Both the OpenSSL reference sealer and the dataplane's burst sealer
 * write messages through these functions, so their bytes cannot drift apart:
 * they only differ in how they encrypt and MAC the regions reported in
 * struct kb_mikey_layout. */
#ifndef KB_MIKEY_PROFILE_H
#define KB_MIKEY_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mikey/mikey_prf.h"

#define KB_MSK_LEN 16
#define KB_MTK_LEN 16
#define KB_MIKEY_MSG_MAX 512
#define KB_MIKEY_ID_MAX 255

/* Where the sealer must work on a written message. */
struct kb_mikey_layout {
	size_t len; /* whole message */
	size_t t_off; /* the 4-byte COUNTER value */
	size_t encr_off, encr_len; /* key data to encrypt (0 for a pull) */
	size_t mac_off; /* the MAC field; the MAC covers [0, mac_off) */
};

/* MSK message (and, with msk == NULL, the BM-SC solicited pull: V = 0, key
 * number forced to 0, no key data). */
struct kb_msk_msg_params {
	uint32_t csb_id;
	uint32_t counter;
	const uint8_t *rand; /* KB_MIKEY_RAND_LEN bytes, or NULL to omit RAND */
	const uint8_t *idi;
	uint16_t idi_len;
	const uint8_t *idr;
	uint16_t idr_len;
	uint8_t domain[3];
	uint32_t msk_id; /* key group (16) ‖ key number (16) */
	const uint8_t *msk; /* KB_MSK_LEN bytes; NULL = solicited pull */
	bool v; /* ack wanted (ignored for a pull: always 0) */
};

/* MTK message, sent to a service's multicast group. */
struct kb_mtk_msg_params {
	uint32_t csb_id;
	uint32_t counter;
	const uint8_t *rand; /* KB_MIKEY_RAND_LEN bytes */
	uint8_t domain[3];
	uint32_t msk_id;
	uint16_t mtk_id;
	const uint8_t *mtk; /* KB_MTK_LEN */
	const uint8_t *salt; /* KB_MIKEY_SALT_LEN */
};

/* Length of the MSK message for these parameters (no bytes written). */
size_t kb_msk_msg_len(const struct kb_msk_msg_params *p);

/* Write the message in plaintext: key data in clear at encr_off, MAC field
 * zeroed. Returns 0, or -1 if cap is too small or a field is out of range. */
int kb_msk_msg_write(uint8_t *buf, size_t cap, const struct kb_msk_msg_params *p,
		     struct kb_mikey_layout *lay);
int kb_mtk_msg_write(uint8_t *buf, size_t cap, const struct kb_mtk_msg_params *p,
		     struct kb_mikey_layout *lay);

/* Verification message (ack): HDR(data type 1), T(counter), V. Written with
 * the MAC field zeroed; the V MAC input is the ack before its MAC ‖ idi ‖ idr
 * ‖ the 4 counter bytes (PROFILE.md; one function: kb_ack_mac_input). */
/* HDR 10 + T(counter) 6 + V 2 + MAC 20 */
#define KB_ACK_LEN 38
int kb_ack_write(uint8_t *buf, size_t cap, uint32_t csb_id, uint32_t counter,
		 struct kb_mikey_layout *lay);

/* The bytes after the ack's own bytes that its V MAC also covers:
 * idi ‖ idr ‖ counter(4). Returns the length written, or -1. */
long kb_ack_mac_suffix(uint8_t *buf, size_t cap, const uint8_t *idi, uint16_t idi_len,
		       const uint8_t *idr, uint16_t idr_len, uint32_t counter);

#endif
