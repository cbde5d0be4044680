/* Opening MIKEY messages under a fixed MUK. Arbitrary input almost never has
 * a valid MAC, so each input is also opened a second time with its MAC
 * recomputed: that drives the decryption and key data parsing too.
 * Invariants: whatever opens re-decodes identically, and re-sealing the
 * recovered plaintext gives back the exact input bytes. */
#include "mikey/mikey_codec.h"
#include "mikey/mikey_prf.h"
#include "mikey/mikey_ref.h"
#include "util/secret.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The MUK of tests/vectors/msk-message-1.json, so real messages open. */
static const uint8_t muk[32] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
				16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31};
static const uint8_t csb_rand[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
				     0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};

static struct kb_ref_ctx *ctx;

static void check_opened(const uint8_t *msg, size_t size, const struct kb_mikey_opened *o)
{
	struct kb_mikey_msg again;
	struct kb_mikey_error err;
	struct kb_mikey_tkeys tk;
	const struct kb_mikey_msg *m = &o->msg;

	if (kb_mikey_decode(msg, size, &again, &err) != 0 || memcmp(&again, m, sizeof(again)) != 0)
		__builtin_trap();
	if (!m->has_kemac || m->mac_alg != 1 || o->plain_len != m->encr_len)
		__builtin_trap();
	for (unsigned i = 0; i < o->n_keydata; i++) {
		const struct kb_mikey_keydata *k = &o->keydata[i];
		if (k->key < o->plain || k->key + k->key_len > o->plain + o->plain_len)
			__builtin_trap();
	}
	/* re-seal the plaintext: the same bytes come out */
	const uint8_t *rand = m->has_rand ? m->rand : csb_rand;
	size_t rand_len = m->has_rand ? m->rand_len : sizeof(csb_rand);
	if (kb_mikey_derive_tkeys(muk, sizeof(muk), m->csb_id, rand, rand_len, &tk) != 0)
		__builtin_trap();
	uint8_t *copy = malloc(size);
	if (copy == NULL)
		return;
	memcpy(copy, msg, size);
	memcpy(copy + m->encr_off, o->plain, o->plain_len);
	memset(copy + m->mac_off, 0, KB_MIKEY_MAC_LEN);
	/* kb_ref_seal's IV takes a 32-bit counter: only compare for COUNTERs */
	if (m->t_type == 2) {
		struct kb_mikey_layout lay = {.len = size,
					      .t_off = 0,
					      .encr_off = m->encr_off,
					      .encr_len = m->encr_len,
					      .mac_off = m->mac_off};
		if (kb_ref_seal_ctx(ctx, copy, &lay, m->csb_id, (uint32_t)m->t_value, &tk) != 0 ||
		    memcmp(copy, msg, size) != 0)
			__builtin_trap();
	}
	kb_memzero(copy, size);
	free(copy);
	kb_memzero(&tk, sizeof(tk));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct kb_mikey_opened o;
	struct kb_mikey_error err;
	struct kb_mikey_msg m;
	struct kb_mikey_tkeys tk;

	if (ctx == NULL) {
		ctx = kb_ref_ctx_new();
		if (ctx == NULL)
			__builtin_trap();
	}
	if (kb_ref_open_ctx(ctx, data, size, muk, sizeof(muk), csb_rand, sizeof(csb_rand), &o,
			    &err) == 0)
		check_opened(data, size, &o);
	else if (o.n_keydata != 0 || o.plain_len != 0)
		__builtin_trap(); /* a failed open leaves no key material */

	/* the same message with a correct MAC */
	if (kb_mikey_decode(data, size, &m, &err) != 0 || !m.has_kemac || m.mac_alg != 1)
		return 0;
	uint8_t *fixed = malloc(size);
	if (fixed == NULL)
		return 0;
	memcpy(fixed, data, size);
	const uint8_t *rand = m.has_rand ? m.rand : csb_rand;
	size_t rand_len = m.has_rand ? m.rand_len : sizeof(csb_rand);
	if (kb_mikey_derive_tkeys(muk, sizeof(muk), m.csb_id, rand, rand_len, &tk) == 0) {
		/* MAC only: an empty encr region leaves the bytes as they are */
		struct kb_mikey_layout lay = {
			.len = size, .encr_off = m.encr_off, .encr_len = 0, .mac_off = m.mac_off};
		if (kb_ref_seal_ctx(ctx, fixed, &lay, m.csb_id, 0, &tk) != 0)
			__builtin_trap();
		int rc = kb_ref_open_tk(ctx, fixed, size, &tk, &o, &err);
		/* with the right MAC, only the key data or the policy can refuse */
		if (rc == 0)
			check_opened(fixed, size, &o);
		else if (strstr(err.msg, "MAC verification") != NULL)
			__builtin_trap();
	}
	kb_memzero(&o, sizeof(o));
	kb_memzero(&tk, sizeof(tk));
	free(fixed);
	return 0;
}
