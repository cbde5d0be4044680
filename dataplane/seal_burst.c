/* The IPsec-MB burst sealer (ARCHITECTURE.md decision 4): configure all
 * jobs, submit one synchronous cipher burst and one synchronous hash burst,
 * check them. The per-message job API path is kept for the benchmark. */
#include "seal_burst.h"

#include "imb_mgr.h"

#include <intel-ipsec-mb.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/be.h"
#include "util/secret.h"

#define CACHE_LINE 64
#define SHA1_LEN 20
#define IV_LEN 16
/* ack bytes before the MAC ‖ idi ‖ idr ‖ counter */
#define ACK_SCRATCH (KB_ACK_LEN + KB_MIKEY_ID_MAX + KB_SA_ID_MAX + 4)
#define ACK_SCRATCH_ALIGNED ((ACK_SCRATCH + CACHE_LINE - 1) & ~(size_t)(CACHE_LINE - 1))

struct kb_sealer {
	IMB_JOB cjobs[KB_SEAL_BURST_MAX] __attribute__((aligned(CACHE_LINE)));
	IMB_JOB hjobs[KB_SEAL_BURST_MAX] __attribute__((aligned(CACHE_LINE)));
	uint8_t iv[KB_SEAL_BURST_MAX][IV_LEN] __attribute__((aligned(CACHE_LINE)));
	uint8_t tag[KB_SEAL_BURST_MAX][SHA1_LEN] __attribute__((aligned(CACHE_LINE)));
	uint8_t ack_in[KB_SEAL_BURST_MAX][ACK_SCRATCH_ALIGNED] __attribute__((aligned(CACHE_LINE)));
	IMB_MGR *mgr;
	size_t ack_t_off, ack_mac_off; /* from the profile's ack writer */
};

/* Constant fields, set once: a burst only fills what changes per message
 * (keys, buffers, lengths). Each cipher slot owns its IV buffer. */
static void prefill(struct kb_sealer *s)
{
	for (unsigned i = 0; i < KB_SEAL_BURST_MAX; i++) {
		IMB_JOB *c = &s->cjobs[i], *h = &s->hjobs[i];

		c->cipher_mode = IMB_CIPHER_CNTR;
		c->cipher_direction = IMB_DIR_ENCRYPT;
		c->key_len_in_bytes = IMB_KEY_128_BYTES;
		c->hash_alg = IMB_AUTH_NULL;
		c->chain_order = IMB_ORDER_CIPHER_HASH;
		c->iv = s->iv[i];
		c->iv_len_in_bytes = IV_LEN;
		c->cipher_start_src_offset_in_bytes = 0;

		h->cipher_mode = IMB_CIPHER_NULL;
		h->hash_alg = IMB_AUTH_HMAC_SHA_1;
		h->chain_order = IMB_ORDER_HASH_CIPHER;
		h->hash_start_src_offset_in_bytes = 0;
		h->auth_tag_output_len_in_bytes = SHA1_LEN;
	}
}

struct kb_sealer *kb_sealer_new(void)
{
	struct kb_sealer *s;
	uint8_t ack[KB_ACK_LEN];
	struct kb_mikey_layout lay;
	size_t size = (sizeof(*s) + CACHE_LINE - 1) & ~(size_t)(CACHE_LINE - 1);

	s = aligned_alloc(CACHE_LINE, size);
	if (s == NULL) {
		fprintf(stderr, "kb_sealer_new: out of memory\n");
		return NULL;
	}
	memset(s, 0, sizeof(*s));
	if (kb_ack_write(ack, sizeof(ack), 1, 1, &lay) != 0 ||
	    lay.mac_off + SHA1_LEN != KB_ACK_LEN || lay.t_off + 4 > lay.mac_off) {
		fprintf(stderr, "kb_sealer_new: unexpected ack layout\n");
		goto fail;
	}
	s->ack_t_off = lay.t_off;
	s->ack_mac_off = lay.mac_off;

	s->mgr = kb_imb_mgr_new("kb_sealer_new");
	if (s->mgr == NULL)
		goto fail;
	prefill(s);
	return s;
fail:
	if (s->mgr != NULL)
		free_mb_mgr(s->mgr);
	free(s);
	return NULL;
}

void kb_sealer_free(struct kb_sealer *s)
{
	if (s == NULL)
		return;
	free_mb_mgr(s->mgr);
	/* the scratch areas held MAC inputs and IVs: wipe them */
	kb_memzero(s, sizeof(*s));
	free(s);
}

const char *kb_sealer_arch(const struct kb_sealer *s)
{
	return kb_imb_arch_name(s->mgr);
}

/* The sealer's lines of a record (0-3, see sa.h): start every miss of the
 * burst at once instead of one at a time inside the library. */
static inline void prefetch_seal_lines(const struct kb_sa_record *sa)
{
	const char *p = (const char *)sa;

	for (size_t off = 0; off < KB_SA_SEAL_BYTES; off += CACHE_LINE)
		__builtin_prefetch(p + off, 0, 3);
}

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "seal_iv assumes a little-endian host (IPsec-MB is x86 only)"
#endif

/* kb_mikey_iv(salt, csb_id, counter) in two 64-bit halves: IV = (salt ‖
 * 0x0000) XOR (0x0000 ‖ csb_id ‖ t64 ‖ 0x0000), big-endian, t64 = counter
 * (32-bit counters: its high half is 0). The 16-byte salt load ends in
 * key_group, masked off (sa.c asserts the layout). */
static inline void seal_iv(const struct kb_sa_record *sa, uint32_t counter, uint8_t iv[IV_LEN])
{
	const uint8_t *salt = (const uint8_t *)sa + offsetof(struct kb_sa_record, salt);
	uint64_t lo, hi;

	memcpy(&lo, salt, 8);
	memcpy(&hi, salt + 8, 8);
	lo ^= (uint64_t)__builtin_bswap32(sa->csb_id) << 16;
	hi = (hi & 0x0000ffffffffffffull) ^ (uint64_t)__builtin_bswap32(counter) << 16;
	memcpy(iv, &lo, 8);
	memcpy(iv + 8, &hi, 8);
}

/* What the _NOCHECK bursts would otherwise check per job: the records are
 * valid by construction (kb_sa_record_build), so only the message and its
 * layout can be wrong. A bad request is a caller bug: the burst is refused. */
static inline bool req_ok(const struct kb_seal_req *r)
{
	const struct kb_mikey_layout *l = r->lay;

	return (r->msg != NULL) & (r->sa != NULL) & (l->mac_off != 0) &
	       (l->len <= KB_MIKEY_MSG_MAX) & (l->mac_off + SHA1_LEN <= l->len) &
	       ((l->encr_len == 0) | (l->encr_off + l->encr_len <= l->mac_off));
}

/* A failed burst is a bug in how we fill jobs, never a data condition. */
static void report_burst(struct kb_sealer *s, const char *what, uint32_t got, unsigned want)
{
	int err = imb_get_errno(s->mgr);

	fprintf(stderr, "kb_seal_burst: %s burst completed %u of %u: %s\n", what, got, want,
		err != 0 ? imb_get_strerror(err) : "no error code");
}

unsigned kb_seal_burst(struct kb_sealer *s, const struct kb_seal_req *req, unsigned n)
{
	unsigned nc = 0;
	bool ok = true;
	uint32_t done;

	if (n == 0)
		return 0;
	if (n > KB_SEAL_BURST_MAX)
		n = KB_SEAL_BURST_MAX;
	for (unsigned i = 0; i < n; i++)
		prefetch_seal_lines(req[i].sa);

	/* one pass: the CTR job over the key data (a solicited pull has none)
	 * and the HMAC job over everything before the MAC field */
	for (unsigned i = 0; i < n; i++) {
		const struct kb_seal_req *r = &req[i];
		const struct kb_sa_record *sa = r->sa;
		const struct kb_mikey_layout *l = r->lay;
		IMB_JOB *h = &s->hjobs[i];

		ok &= req_ok(r);
		if (!ok)
			break;
		if (l->encr_len != 0) {
			IMB_JOB *c = &s->cjobs[nc];

			seal_iv(sa, r->counter, s->iv[nc]);
			c->enc_keys = sa->aes_enc_keys;
			c->src = r->msg + l->encr_off;
			c->dst = r->msg + l->encr_off;
			c->msg_len_to_cipher_in_bytes = l->encr_len;
			nc++;
		}
		h->src = r->msg;
		h->msg_len_to_hash_in_bytes = l->mac_off;
		h->auth_tag_output = r->msg + l->mac_off;
		h->u.HMAC._hashed_auth_key_xor_ipad = sa->hmac_ipad;
		h->u.HMAC._hashed_auth_key_xor_opad = sa->hmac_opad;
	}
	if (!ok) {
		fprintf(stderr, "kb_seal_burst: invalid request in burst\n");
		return 0;
	}
	/* encrypt first: the MAC covers the ciphertext */
	if (nc != 0) {
		done = IMB_SUBMIT_CIPHER_BURST_NOCHECK(s->mgr, s->cjobs, nc, IMB_CIPHER_CNTR,
						       IMB_DIR_ENCRYPT, IMB_KEY_128_BYTES);
		if (done != nc) {
			report_burst(s, "cipher", done, nc);
			return 0;
		}
	}
	/* the burst returns the number of jobs it completed (each one's status
	 * is set as it completes): n means all of them */
	done = IMB_SUBMIT_HASH_BURST_NOCHECK(s->mgr, s->hjobs, n, IMB_AUTH_HMAC_SHA_1);
	if (done != n) {
		report_burst(s, "hash", done, n);
		return 0;
	}
	return n;
}

/* Retire one job of the job-API path; 1 if it completed cleanly. */
static unsigned retire(IMB_JOB *job)
{
	return job->status == IMB_STATUS_COMPLETED ? 1 : 0;
}

unsigned kb_seal_jobapi(struct kb_sealer *s, const struct kb_seal_req *req, unsigned n)
{
	unsigned ok = 0;
	IMB_JOB *job;

	if (n > KB_SEAL_BURST_MAX)
		n = KB_SEAL_BURST_MAX;
	for (unsigned i = 0; i < n; i++) {
		const struct kb_seal_req *r = &req[i];

		job = IMB_GET_NEXT_JOB(s->mgr);
		/* one chained job: encrypt the key data, then MAC the message */
		job->chain_order = IMB_ORDER_CIPHER_HASH;
		job->cipher_direction = IMB_DIR_ENCRYPT;
		if (r->lay->encr_len != 0) {
			/* the IV must live until the job completes: one per slot */
			seal_iv(r->sa, r->counter, s->iv[i]);
			job->cipher_mode = IMB_CIPHER_CNTR;
			job->enc_keys = r->sa->aes_enc_keys;
			job->dec_keys = NULL;
			job->key_len_in_bytes = IMB_KEY_128_BYTES;
			job->iv = s->iv[i];
			job->iv_len_in_bytes = IV_LEN;
		} else {
			job->cipher_mode = IMB_CIPHER_NULL;
			job->key_len_in_bytes = 0;
			job->iv = NULL;
			job->iv_len_in_bytes = 0;
		}
		job->src = r->msg;
		job->dst = r->msg + r->lay->encr_off;
		job->cipher_start_src_offset_in_bytes = r->lay->encr_off;
		job->msg_len_to_cipher_in_bytes = r->lay->encr_len;
		job->hash_alg = IMB_AUTH_HMAC_SHA_1;
		job->hash_start_src_offset_in_bytes = 0;
		job->msg_len_to_hash_in_bytes = r->lay->mac_off;
		job->auth_tag_output = r->msg + r->lay->mac_off;
		job->auth_tag_output_len_in_bytes = SHA1_LEN;
		job->u.HMAC._hashed_auth_key_xor_ipad = r->sa->hmac_ipad;
		job->u.HMAC._hashed_auth_key_xor_opad = r->sa->hmac_opad;
		job->user_data = (void *)r;

		job = IMB_SUBMIT_JOB(s->mgr);
		while (job != NULL) {
			ok += retire(job);
			job = IMB_GET_COMPLETED_JOB(s->mgr);
		}
		if (imb_get_errno(s->mgr) != 0) {
			fprintf(stderr, "kb_seal_jobapi: %s\n",
				imb_get_strerror(imb_get_errno(s->mgr)));
		}
	}
	while ((job = IMB_FLUSH_JOB(s->mgr)) != NULL)
		ok += retire(job);
	return ok;
}

void kb_verify_ack_burst(struct kb_sealer *s, const struct kb_ack_req *req, unsigned n,
			 const uint8_t *idi, uint16_t idi_len, uint8_t *ok)
{
	uint8_t shape_ok[KB_SEAL_BURST_MAX];
	const size_t mac_off = s->ack_mac_off;
	uint32_t done;

	if (n > KB_SEAL_BURST_MAX)
		n = KB_SEAL_BURST_MAX;
	for (unsigned i = 0; i < n; i++) {
		const struct kb_ack_req *r = &req[i];
		uint8_t *in = s->ack_in[i];
		uint32_t counter = kb_be32(r->ack + s->ack_t_off);
		long sfx;
		IMB_JOB *h = &s->hjobs[i];

		memcpy(in, r->ack, mac_off);
		sfx = kb_ack_mac_suffix(in + mac_off, ACK_SCRATCH - mac_off, idi, idi_len,
					r->sa->idr, r->sa->idr_len, counter);
		/* an ack names its SA by CSB ID: one for another SA never matches */
		shape_ok[i] = sfx > 0 && kb_be32(r->ack + 4) == r->sa->csb_id;
		if (sfx < 0)
			sfx = 0;
		h->src = in;
		h->msg_len_to_hash_in_bytes = mac_off + (size_t)sfx;
		h->auth_tag_output = s->tag[i];
		h->u.HMAC._hashed_auth_key_xor_ipad = r->sa->hmac_ipad;
		h->u.HMAC._hashed_auth_key_xor_opad = r->sa->hmac_opad;
	}
	if (n == 0)
		return;
	/* every job hashes at least the ack's own bytes from our scratch into
	 * our tag buffer: nothing for the library to check */
	done = IMB_SUBMIT_HASH_BURST_NOCHECK(s->mgr, s->hjobs, n, IMB_AUTH_HMAC_SHA_1);
	if (done != n) {
		report_burst(s, "ack hash", done, n);
		memset(ok, 0, n);
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		bool mac_ok = kb_ct_equal(s->tag[i], req[i].ack + mac_off, SHA1_LEN);
		bool done_ok = s->hjobs[i].status == IMB_STATUS_COMPLETED_AUTH ||
			       s->hjobs[i].status == IMB_STATUS_COMPLETED;

		ok[i] = (uint8_t)(mac_ok & done_ok & (shape_ok[i] != 0));
	}
}
