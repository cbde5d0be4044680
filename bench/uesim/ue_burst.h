/* The UE model's fast path: the same rules as kb_uesim_handle (ue_state.c,
 * the OpenSSL reference), with the crypto in IPsec-MB synchronous bursts.
 * For up to KB_UE_BURST_MAX received messages at once, a UE-side "open":
 *   1. decode, find the UE (csb_id, else B-TID), take its SA's expanded keys
 *      (derived once per SA, on first contact, then cached);
 *   2. one HMAC-SHA-1 hash burst over [0, mac_off) of every message, each
 *      MAC compared in constant time;
 *   3. one AES-CTR cipher burst decrypts the key data of the messages whose
 *      MAC is right;
 *   4. in message order: knobs, replay rule, key data, commit, MSK store,
 *      ack decision (shared with the reference: ue_state.h);
 *   5. one hash burst for the acks' V MACs.
 * Two messages of one burst for the same UE or csb_id are never in the same
 * stage: the burst is cut there, so the verdicts, the state and the knobs'
 * random draws are exactly those of kb_uesim_handle message by message
 * (tests/unit via bench/uesim/test_ue_burst.c checks it).
 *
 * Per UE this path keeps 256 bytes of expanded keys (AES-128 round keys,
 * the HMAC inner and outer SHA-1 states, the salt) next to struct kb_ue. */
#ifndef KB_UE_BURST_H
#define KB_UE_BURST_H

#include <stdint.h>

#include "ue_state.h"

#define KB_UE_BURST_MAX 64

struct kb_ue_burst;

/* An engine for sim's UEs (allocates their key array). NULL on failure. */
struct kb_ue_burst *kb_ue_burst_new(struct kb_uesim *sim);
void kb_ue_burst_free(struct kb_ue_burst *b);
const char *kb_ue_burst_arch(const struct kb_ue_burst *b);

/* Handle n <= KB_UE_BURST_MAX UDP payloads: v[i] and r[i] are what
 * kb_uesim_handle would return for msg[i], in order. */
void kb_ue_burst_handle(struct kb_ue_burst *b, const uint8_t *const *msg, const uint16_t *len,
			unsigned n, enum kb_ue_verdict *v, struct kb_ue_reply *r);

#endif
