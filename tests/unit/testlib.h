/* Helpers shared by the unit and integration tests (and bench/uesim's test):
 * a seeded xorshift64* generator, the JSON vector files of tests/vectors
 * (found through $KB_VECTORS) and the msk-message-1.json vector decoded.
 * The library has no CHECK of its own (check.h counts per executable): the
 * loaders return an error, say why on stderr, and the caller CHECKs it. */
#ifndef KB_TESTLIB_H
#define KB_TESTLIB_H

#include "mikey/mikey_prf.h"
#include "mikey/mikey_profile.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* xorshift64*: deterministic, so a failure reproduces. The default seed is
 * 0x6b657962757273 ("keyburs"); a test may pick its own before any draw. */
void kb_test_seed(uint64_t seed);
uint64_t kb_test_rnd(void);
/* the upper half of a draw (the better bits of xorshift64*) */
uint32_t kb_test_rnd32(void);
/* each byte from the upper half of one draw */
void kb_test_rnd_bytes(uint8_t *p, size_t n);

/* $KB_VECTORS/name (tests/vectors/name without it), parsed; NULL on error */
json_t *kb_test_vector_load(const char *name);
/* the hex string obj[key] decoded into out: its length, -1 if absent or bad */
long kb_test_hexfield(const json_t *obj, const char *key, uint8_t *out, size_t cap);

/* tests/vectors/msk-message-1.json, decoded */
struct kb_test_msk_vector {
	uint8_t muk[32];
	uint32_t csb_id, counter;
	uint8_t rand[16];
	char idi[64], idr[64];
	uint8_t domain[3];
	uint32_t msk_id;
	uint8_t msk[16];
	bool v;
	struct kb_mikey_tkeys tk;
	uint8_t msg[256];
	size_t msg_len;
	uint8_t ack[64];
	size_t ack_len;
};

/* 0 when every field is there with its exact length, the message is longer
 * than 100 bytes and the ack is KB_ACK_LEN; -1 otherwise */
int kb_test_msk_vector_load(struct kb_test_msk_vector *v);
/* the vector's input as message parameters (pointers into v) */
struct kb_msk_msg_params kb_test_msk_vector_params(const struct kb_test_msk_vector *v);

/* The V MAC of a MIKEY ack (PROFILE.md) recomputed with OpenSSL's HMAC()
 * directly: HMAC-SHA-1(auth, ack without MAC || IDi || IDr || counter). */
bool kb_test_ack_mac_ok(const uint8_t *ack, const uint8_t auth[20], const char *idi,
			const char *idr, uint32_t counter);

#endif
