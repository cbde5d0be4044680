/* SRTP protect in bursts (srtp_burst.h), shaped like seal_burst.c:
 * configure all jobs, one cipher burst, one hash burst, check them.
 *
 * The auth tag covers RTP header ‖ ciphertext ‖ ROC, and the MKI follows the
 * ciphertext on the wire without being authenticated. So the 4 ROC bytes are
 * written where the MKI will go, the hash reads one contiguous region, and
 * the MKI then overwrites them. IPsec-MB 1.3 only produces HMAC-SHA1 tags of
 * 12 or 20 bytes: it writes 12 into a scratch slot and 10 are copied out. */
#include "srtp_burst.h"

#include "imb_mgr.h"

#include <intel-ipsec-mb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/be.h"
#include "mikey/mikey_prf.h"
#include "util/secret.h"

#define CACHE_LINE 64
#define SHA1_BLOCK 64
#define IV_LEN 16
#define IMB_TAG_LEN 12 /* the shortest HMAC-SHA1 tag 1.3 accepts */

struct kb_srtp_burster {
	IMB_JOB cjobs[KB_SRTP_BURST_MAX] __attribute__((aligned(CACHE_LINE)));
	IMB_JOB hjobs[KB_SRTP_BURST_MAX] __attribute__((aligned(CACHE_LINE)));
	uint8_t iv[KB_SRTP_BURST_MAX][IV_LEN] __attribute__((aligned(CACHE_LINE)));
	uint8_t tag[KB_SRTP_BURST_MAX][16] __attribute__((aligned(CACHE_LINE)));
	IMB_MGR *mgr;
};

/* Constant fields, set once: the bursts only fill pointers and lengths. */
static void prefill(struct kb_srtp_burster *b)
{
	for (unsigned i = 0; i < KB_SRTP_BURST_MAX; i++) {
		IMB_JOB *c = &b->cjobs[i], *h = &b->hjobs[i];

		c->cipher_mode = IMB_CIPHER_CNTR;
		c->cipher_direction = IMB_DIR_ENCRYPT;
		c->key_len_in_bytes = IMB_KEY_128_BYTES;
		c->hash_alg = IMB_AUTH_NULL;
		c->chain_order = IMB_ORDER_CIPHER_HASH;
		c->iv_len_in_bytes = IV_LEN;
		c->cipher_start_src_offset_in_bytes = 0;

		h->cipher_mode = IMB_CIPHER_NULL;
		h->hash_alg = IMB_AUTH_HMAC_SHA_1;
		h->chain_order = IMB_ORDER_HASH_CIPHER;
		h->hash_start_src_offset_in_bytes = 0;
		h->auth_tag_output_len_in_bytes = IMB_TAG_LEN;
		h->auth_tag_output = b->tag[i];
	}
}

struct kb_srtp_burster *kb_srtp_burster_new(void)
{
	struct kb_srtp_burster *b;
	size_t size = (sizeof(*b) + CACHE_LINE - 1) & ~(size_t)(CACHE_LINE - 1);

	b = aligned_alloc(CACHE_LINE, size);
	if (b == NULL) {
		fprintf(stderr, "kb_srtp_burster_new: out of memory\n");
		return NULL;
	}
	memset(b, 0, sizeof(*b));
	b->mgr = kb_imb_mgr_new("kb_srtp_burster_new");
	if (b->mgr == NULL)
		goto fail;
	prefill(b);
	return b;
fail:
	if (b->mgr != NULL)
		free_mb_mgr(b->mgr);
	free(b);
	return NULL;
}

void kb_srtp_burster_free(struct kb_srtp_burster *b)
{
	if (b == NULL)
		return;
	free_mb_mgr(b->mgr);
	/* IVs and tags are public, but wipe like the sealer does */
	kb_memzero(b, sizeof(*b));
	free(b);
}

const char *kb_srtp_burster_arch(const struct kb_srtp_burster *b)
{
	return kb_imb_arch_name(b->mgr);
}

int kb_srtp_tx_key_build(struct kb_srtp_burster *b, struct kb_srtp_tx_key *k,
			 const uint8_t mtk[KB_SRTP_MASTER_KEY_LEN],
			 const uint8_t msalt[KB_SRTP_MASTER_SALT_LEN], uint32_t msk_id,
			 uint16_t mtk_id)
{
	struct kb_srtp_keys sk;
	uint8_t dec_keys[16 * 11] __attribute__((aligned(16)));
	int rc = -1;

	memset(k, 0, sizeof(*k));
	if (kb_srtp_derive(mtk, msalt, &sk) != 0)
		goto out;
	IMB_AES_KEYEXP_128(b->mgr, sk.encr, k->aes_enc_keys, dec_keys);
	if (kb_hmac_sha1_pad_state(sk.auth, sizeof(sk.auth), 0x36, k->hmac_ipad) != 0 ||
	    kb_hmac_sha1_pad_state(sk.auth, sizeof(sk.auth), 0x5c, k->hmac_opad) != 0)
		goto out;
	memcpy(k->salt, sk.salt, sizeof(k->salt));
	kb_srtp_mki(msk_id, mtk_id, k->mki);
	rc = 0;
out:
	kb_memzero(&sk, sizeof(sk));
	kb_memzero(dec_keys, sizeof(dec_keys));
	if (rc != 0)
		kb_memzero(k, sizeof(*k));
	return rc;
}

/* A failed burst is a bug in how we fill jobs, never a data condition. */
static void report_burst(struct kb_srtp_burster *b, const char *what, uint32_t got, unsigned want)
{
	int err = imb_get_errno(b->mgr);

	fprintf(stderr, "kb_srtp_protect_burst: %s burst completed %u of %u: %s\n", what, got, want,
		err != 0 ? imb_get_strerror(err) : "no error code");
}

unsigned kb_srtp_protect_burst(struct kb_srtp_burster *b, const struct kb_srtp_req *req, unsigned n)
{
	unsigned nc = 0, ok;
	uint32_t done;

	if (n == 0)
		return 0;
	if (n > KB_SRTP_BURST_MAX)
		n = KB_SRTP_BURST_MAX;
	ok = n;

	/* 1. AES-128-CM over each payload, IV from salt, SSRC and index */
	for (unsigned i = 0; i < n; i++) {
		const struct kb_srtp_req *r = &req[i];
		uint64_t index = (uint64_t)r->roc << 16 | kb_be16(r->pkt + 2);
		IMB_JOB *c;

		if (r->len <= r->hdr_len)
			continue;
		c = &b->cjobs[nc];
		kb_srtp_iv(r->key->salt, kb_be32(r->pkt + 8), index, b->iv[nc]);
		c->enc_keys = r->key->aes_enc_keys;
		c->src = r->pkt + r->hdr_len;
		c->dst = r->pkt + r->hdr_len;
		c->msg_len_to_cipher_in_bytes = (uint64_t)(r->len - r->hdr_len);
		c->iv = b->iv[nc];
		nc++;
	}
	if (nc != 0) {
		done = IMB_SUBMIT_CIPHER_BURST(b->mgr, b->cjobs, nc, IMB_CIPHER_CNTR,
					       IMB_DIR_ENCRYPT, IMB_KEY_128_BYTES);
		if (done != nc) {
			report_burst(b, "cipher", done, nc);
			return 0;
		}
	}

	/* 2. HMAC-SHA1 over header ‖ ciphertext ‖ ROC (ROC parked in the MKI slot) */
	for (unsigned i = 0; i < n; i++) {
		const struct kb_srtp_req *r = &req[i];
		IMB_JOB *h = &b->hjobs[i];

		kb_put32(r->pkt + r->len, r->roc);
		h->src = r->pkt;
		h->msg_len_to_hash_in_bytes = (uint64_t)r->len + 4;
		h->u.HMAC._hashed_auth_key_xor_ipad = r->key->hmac_ipad;
		h->u.HMAC._hashed_auth_key_xor_opad = r->key->hmac_opad;
	}
	done = IMB_SUBMIT_HASH_BURST(b->mgr, b->hjobs, n, IMB_AUTH_HMAC_SHA_1);
	if (done != n) {
		report_burst(b, "hash", done, n);
		return 0;
	}

	/* 3. trailer: MKI (over the parked ROC), then the 80-bit tag */
	for (unsigned i = 0; i < n; i++) {
		const struct kb_srtp_req *r = &req[i];

		memcpy(r->pkt + r->len, r->key->mki, KB_SRTP_MKI_LEN);
		memcpy(r->pkt + r->len + KB_SRTP_MKI_LEN, b->tag[i], KB_SRTP_TAG_LEN);
	}
	for (unsigned i = 0; i < nc; i++)
		if (b->cjobs[i].status != IMB_STATUS_COMPLETED_CIPHER &&
		    b->cjobs[i].status != IMB_STATUS_COMPLETED)
			ok = 0;
	for (unsigned i = 0; i < n; i++)
		if (b->hjobs[i].status != IMB_STATUS_COMPLETED_AUTH &&
		    b->hjobs[i].status != IMB_STATUS_COMPLETED)
			ok = 0;
	if (ok == 0)
		fprintf(stderr, "kb_srtp_protect_burst: a job did not complete\n");
	return ok;
}
