/* The UE model's IPsec-MB burst path (see ue_burst.h). */
#include "ue_burst.h"
#include "big_array.h"

#include <intel-ipsec-mb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mikey/mikey_codec.h"
#include "imb_mgr.h"
#include "sa.h"
#include "util/secret.h"

#define CACHE_LINE 64
#define SHA1_LEN 20

/* One SA's keys as IPsec-MB takes them: 256 bytes, four cache lines. */
struct kb_ue_xkeys {
	uint8_t aes[16 * 11] __attribute__((aligned(16))); /* AES-128 encryption round keys */
	uint8_t ipad[32] __attribute__((aligned(16))); /* SHA-1 state after auth key ^ ipad */
	uint8_t opad[32] __attribute__((aligned(16))); /* ... ^ opad */
	uint8_t salt[KB_MIKEY_SALT_LEN];
} __attribute__((aligned(CACHE_LINE)));

/* What stage 1 found out about one message. */
struct slot {
	struct kb_mikey_msg m;
	bool decoded; /* m holds a message of the profile */
	uint32_t csb_row; /* the csb_id index's answer in csb_epoch (prefetch pass) */
	uint32_t row;
	enum kb_ue_verdict early; /* MALFORMED/UNKNOWN found before the MAC, else ACCEPTED */
	bool sa_known, derived, mac_ok;
	const struct kb_ue_xkeys *k;
	uint8_t xor_mask[SHA1_LEN];
	size_t ack_mac_off, ack_len;
};

struct kb_ue_burst {
	IMB_JOB hjobs[KB_UE_BURST_MAX] __attribute__((aligned(CACHE_LINE)));
	IMB_JOB cjobs[KB_UE_BURST_MAX] __attribute__((aligned(CACHE_LINE)));
	IMB_JOB ajobs[KB_UE_BURST_MAX] __attribute__((aligned(CACHE_LINE))); /* ack V MACs */
	struct kb_ue_xkeys fresh[KB_UE_BURST_MAX]; /* keys derived in this burst */
	uint8_t mac[KB_UE_BURST_MAX][SHA1_LEN];
	uint8_t iv[KB_UE_BURST_MAX][16] __attribute__((aligned(16)));
	uint8_t plain[KB_UE_BURST_MAX][KB_MIKEY_MSG_MAX];
	uint8_t ack_in[KB_UE_BURST_MAX][KB_UESIM_ACK_IN_MAX];
	struct slot slot[KB_UE_BURST_MAX];
	/* conflict check: which rows and csb_ids the current stage holds */
	uint32_t seen_key[4 * KB_UE_BURST_MAX];
	uint32_t seen_gen[4 * KB_UE_BURST_MAX];
	uint32_t gen;
	uint64_t csb_epoch; /* the index state the slots' csb_row were looked up in */
	struct kb_uesim *sim;
	struct kb_ue_xkeys *xk; /* per row */
	IMB_MGR *mgr;
};

struct kb_ue_burst *kb_ue_burst_new(struct kb_uesim *sim)
{
	size_t size = (sizeof(struct kb_ue_burst) + CACHE_LINE - 1) & ~(size_t)(CACHE_LINE - 1);
	struct kb_ue_burst *b = aligned_alloc(CACHE_LINE, size);
	if (b == NULL)
		return NULL;
	memset(b, 0, sizeof(*b));
	b->sim = sim;
	/* backed only where touched: a 10M-UE run maps only the pages of UEs
	 * that got a message */
	b->xk = kb_big_array_new(sim->n_ue, sizeof(*b->xk));
	b->mgr = kb_imb_mgr_new("kb_ue_burst_new");
	if (b->xk == NULL || b->mgr == NULL)
		goto fail;
	for (unsigned i = 0; i < KB_UE_BURST_MAX; i++) {
		IMB_JOB *c = &b->cjobs[i];
		for (unsigned k = 0; k < 2; k++) {
			IMB_JOB *h = k == 0 ? &b->hjobs[i] : &b->ajobs[i];
			h->cipher_mode = IMB_CIPHER_NULL;
			h->hash_alg = IMB_AUTH_HMAC_SHA_1;
			h->chain_order = IMB_ORDER_HASH_CIPHER;
			h->auth_tag_output_len_in_bytes = SHA1_LEN;
		}
		c->cipher_mode = IMB_CIPHER_CNTR;
		c->cipher_direction = IMB_DIR_DECRYPT;
		c->hash_alg = IMB_AUTH_NULL;
		c->chain_order = IMB_ORDER_HASH_CIPHER;
		c->key_len_in_bytes = IMB_KEY_128_BYTES;
		c->iv_len_in_bytes = 16;
	}
	/* every row's keys are stale for this path until it derives them */
	for (uint32_t r = 0; r < sim->n_ue; r++)
		sim->ue[r].flags &= (uint8_t)~KB_UE_BURST_KEYS;
	return b;
fail:
	kb_ue_burst_free(b);
	return NULL;
}

void kb_ue_burst_free(struct kb_ue_burst *b)
{
	if (b == NULL)
		return;
	if (b->xk != NULL) {
		kb_big_array_free(b->xk, b->sim->n_ue, sizeof(*b->xk));
	}
	if (b->mgr != NULL)
		free_mb_mgr(b->mgr);
	kb_memzero(b, sizeof(*b));
	free(b);
}

const char *kb_ue_burst_arch(const struct kb_ue_burst *b)
{
	return kb_imb_arch_name(b->mgr);
}

/* First contact with an SA: the transport keys from the MUK (RFC 3830 PRF),
 * expanded for IPsec-MB. kb_sa_record_build (dataplane/sa.c) does exactly
 * this for the server; the UE keeps only the sealer fields. */
static int derive(const struct kb_ue *ue, uint32_t csb_id, const uint8_t *rand,
		  struct kb_ue_xkeys *out)
{
	struct kb_sa_record rec;
	int rc = kb_sa_record_build(&rec, ue->muk, KB_MUK_LEN, csb_id, rand, NULL, 0, NULL, 1);
	if (rc == 0) {
		memcpy(out->aes, rec.aes_enc_keys, sizeof(out->aes));
		memcpy(out->ipad, rec.hmac_ipad, sizeof(out->ipad));
		memcpy(out->opad, rec.hmac_opad, sizeof(out->opad));
		memcpy(out->salt, rec.salt, sizeof(out->salt));
	}
	kb_memzero(&rec, sizeof(rec));
	return rc;
}

/* true if key (a row or a csb_id, kind 0 or 1) is new to the stage; adds it */
static bool seen_add(struct kb_ue_burst *b, uint32_t key, unsigned kind)
{
	const unsigned mask = 4 * KB_UE_BURST_MAX - 1;
	uint32_t k = key * 2654435761u ^ kind;
	for (unsigned i = (k >> 20) & mask;; i = (i + 1) & mask) {
		if (b->seen_gen[i] != b->gen) {
			b->seen_gen[i] = b->gen;
			b->seen_key[i] = key << 1 ^ kind;
			/* a key ^ kind collision only cuts a stage early: harmless */
			return true;
		}
		if (b->seen_key[i] == (key << 1 ^ kind))
			return false;
	}
}

static void stage_reset(struct kb_ue_burst *b)
{
	if (++b->gen == 0) {
		memset(b->seen_gen, 0, sizeof(b->seen_gen));
		b->gen = 1;
	}
}

/* Stage 1 for message i. false: it conflicts with the stage (same UE or
 * csb_id as an earlier message): the stage must run first. */
static bool classify(struct kb_ue_burst *b, unsigned i)
{
	struct slot *s = &b->slot[i];
	s->row = KB_UE_ROW_NONE;
	s->derived = s->sa_known = s->mac_ok = false;
	s->k = NULL;
	s->early = KB_UE_ACCEPTED;
	if (!s->decoded) {
		s->early = KB_UE_MALFORMED;
		return true;
	}
	/* the bulk lookup's answer holds until a commit changes the index */
	uint32_t row = b->csb_epoch == b->sim->csb_epoch
			       ? kb_uesim_find_at(b->sim, &s->m, s->csb_row, &s->sa_known)
			       : kb_uesim_find(b->sim, &s->m, &s->sa_known);
	bool fresh_csb = seen_add(b, s->m.csb_id, 1);
	bool fresh_row = row == KB_UE_ROW_NONE || seen_add(b, row, 0);
	if (!fresh_csb || !fresh_row)
		return false;
	if (row == KB_UE_ROW_NONE) {
		s->early = KB_UE_UNKNOWN;
		return true;
	}
	s->row = row;
	struct kb_ue *ue = &b->sim->ue[row];
	if (s->sa_known && (ue->flags & KB_UE_BURST_KEYS)) {
		s->k = &b->xk[row];
		/* its four lines, wanted by the hash burst after the last classify */
		for (unsigned l = 0; l < sizeof(*s->k); l += CACHE_LINE)
			__builtin_prefetch((const uint8_t *)s->k + l);
		return true;
	}
	if (!s->sa_known && (!s->m.has_rand || s->m.rand_len != KB_MIKEY_RAND_LEN)) {
		s->early = KB_UE_UNKNOWN; /* an update for an SA we never saw */
		return true;
	}
	if (derive(ue, s->m.csb_id, s->sa_known ? ue->rand : s->m.rand, &b->fresh[i]) != 0) {
		s->early = KB_UE_MALFORMED;
		return true;
	}
	s->derived = true;
	s->k = &b->fresh[i];
	return true;
}

/* Stage 2: the KEMAC MACs in one hash burst, then the key data of the
 * messages that passed in one cipher burst. */
static void verify_decrypt(struct kb_ue_burst *b, const uint8_t *const *msg, unsigned lo,
			   unsigned hi)
{
	unsigned nh = 0, nc = 0;
	unsigned hidx[KB_UE_BURST_MAX], cidx[KB_UE_BURST_MAX];
	for (unsigned i = lo; i < hi; i++) {
		const struct slot *s = &b->slot[i];
		if (s->early != KB_UE_ACCEPTED)
			continue;
		IMB_JOB *h = &b->hjobs[nh];
		h->src = msg[i];
		h->hash_start_src_offset_in_bytes = 0;
		h->msg_len_to_hash_in_bytes = s->m.mac_off;
		h->auth_tag_output = b->mac[i];
		h->u.HMAC._hashed_auth_key_xor_ipad = s->k->ipad;
		h->u.HMAC._hashed_auth_key_xor_opad = s->k->opad;
		hidx[nh++] = i;
	}
	if (nh > 0) {
		uint32_t done = IMB_SUBMIT_HASH_BURST(b->mgr, b->hjobs, nh, IMB_AUTH_HMAC_SHA_1);
		for (unsigned j = 0; j < nh; j++) {
			unsigned i = hidx[j];
			struct slot *s = &b->slot[i];
			/* a job the library refused is a bad MAC: never accepted */
			s->mac_ok = done == nh && b->hjobs[j].status == IMB_STATUS_COMPLETED &&
				    kb_ct_equal(b->mac[i], msg[i] + s->m.mac_off, SHA1_LEN);
			if (!s->mac_ok || s->m.encr_len == 0)
				continue;
			IMB_JOB *c = &b->cjobs[nc];
			kb_mikey_iv(s->k->salt, s->m.csb_id, s->m.t_value, b->iv[i]);
			c->src = s->m.encr;
			c->dst = b->plain[i];
			c->cipher_start_src_offset_in_bytes = 0;
			c->msg_len_to_cipher_in_bytes = s->m.encr_len;
			c->iv = b->iv[i];
			c->enc_keys = s->k->aes;
			c->dec_keys = s->k->aes; /* CTR decrypts with the encryption schedule */
			cidx[nc++] = i;
		}
	}
	if (nc > 0) {
		uint32_t done = IMB_SUBMIT_CIPHER_BURST(b->mgr, b->cjobs, nc, IMB_CIPHER_CNTR,
							IMB_DIR_DECRYPT, IMB_KEY_128_BYTES);
		for (unsigned j = 0; j < nc; j++)
			if (done != nc || b->cjobs[j].status != IMB_STATUS_COMPLETED)
				memset(b->plain[cidx[j]], 0, b->slot[cidx[j]].m.encr_len);
	}
}

/* Stage 3 for message i, in order: the knobs and the UE rules. Returns true
 * if an ack MAC is to be computed into ack_in[i]. */
static bool decide(struct kb_ue_burst *b, unsigned i, enum kb_ue_verdict *v, struct kb_ue_reply *r)
{
	struct kb_uesim *sim = b->sim;
	struct slot *s = &b->slot[i];
	uint8_t msk[KB_MSK_LEN];
	bool ack = false;

	memset(r, 0, sizeof(*r));
	r->row = s->row;
	sim->st.rx++;
	if (kb_uesim_drop_msg(sim)) {
		r->row = KB_UE_ROW_NONE; /* the UE never saw it */
		*v = kb_uesim_count(sim, KB_UE_DROPPED);
		return false;
	}
	if (s->early != KB_UE_ACCEPTED) {
		*v = kb_uesim_count(sim, s->early);
		return false;
	}
	if (s->derived)
		sim->st.key_derivations++;
	struct kb_ue *ue = &sim->ue[s->row];
	const struct kb_mikey_msg *m = &s->m;
	if (!s->mac_ok) {
		*v = KB_UE_BAD_MAC;
	} else if (m->t_value > UINT32_MAX || (uint32_t)m->t_value <= ue->last_counter) {
		*v = KB_UE_REPLAY;
	} else if (m->encr_len > 0 ? !kb_uesim_keydata_ok(m, b->plain[i], msk)
				   : (m->msk_id & 0xffffu) != 0) {
		*v = KB_UE_BAD_KEYDATA; /* no key data is only valid for a pull */
	} else {
		/* accepted: the counter moves, the SA becomes the one we know */
		if (s->derived)
			b->xk[s->row] = b->fresh[i];
		kb_uesim_commit(sim, s->row, m, s->sa_known, KB_UE_BURST_KEYS);
		if (m->encr_len == 0) {
			*v = KB_UE_PULL;
		} else {
			kb_uesim_store(sim, s->row, m->domain, m->msk_id, msk);
			*v = KB_UE_ACCEPTED;
			if (m->v) {
				long n = kb_uesim_ack_input(m, ue->csb_id, (uint32_t)m->t_value,
							    b->ack_in[i], sizeof(b->ack_in[i]),
							    &s->ack_mac_off);
				if (n < 0)
					sim->st.acks_wanted++; /* as the reference counts it */
				else if (kb_uesim_ack_decide(sim, m, r, s->xor_mask))
					ack = true;
				s->ack_len = ack ? (size_t)n : 0;
			}
		}
	}
	kb_memzero(msk, sizeof(msk));
	kb_uesim_count(sim, *v);
	return ack;
}

/* Stages 2-5 over messages [lo, hi), whose stage 1 is done. */
static void run_stage(struct kb_ue_burst *b, const uint8_t *const *msg, unsigned lo, unsigned hi,
		      enum kb_ue_verdict *v, struct kb_ue_reply *r)
{
	unsigned aidx[KB_UE_BURST_MAX], na = 0;
	verify_decrypt(b, msg, lo, hi);
	for (unsigned i = lo; i < hi; i++)
		if (decide(b, i, &v[i], &r[i]))
			aidx[na++] = i;
	if (na > 0) {
		for (unsigned j = 0; j < na; j++) {
			unsigned i = aidx[j];
			const struct kb_ue_xkeys *k = &b->xk[b->slot[i].row];
			IMB_JOB *h = &b->ajobs[j];
			h->src = b->ack_in[i];
			h->hash_start_src_offset_in_bytes = 0;
			h->msg_len_to_hash_in_bytes = b->slot[i].ack_len;
			h->auth_tag_output = b->mac[i];
			h->u.HMAC._hashed_auth_key_xor_ipad = k->ipad;
			h->u.HMAC._hashed_auth_key_xor_opad = k->opad;
		}
		uint32_t done = IMB_SUBMIT_HASH_BURST(b->mgr, b->ajobs, na, IMB_AUTH_HMAC_SHA_1);
		for (unsigned j = 0; j < na; j++) {
			unsigned i = aidx[j];
			struct kb_ue_reply *rep = &r[i];
			size_t off = b->slot[i].ack_mac_off;
			if (done != na || b->ajobs[j].status != IMB_STATUS_COMPLETED) {
				rep->copies =
					0; /* cannot happen with valid jobs; never send junk */
				continue;
			}
			memcpy(rep->ack, b->ack_in[i], off);
			memcpy(rep->ack + off, b->mac[i], SHA1_LEN);
			if (rep->forged)
				for (unsigned k = 0; k < SHA1_LEN; k++)
					rep->ack[off + k] ^= b->slot[i].xor_mask[k];
		}
	}
	for (unsigned i = lo; i < hi; i++) {
		if (b->slot[i].derived)
			kb_memzero(&b->fresh[i], sizeof(b->fresh[i]));
		if (b->slot[i].m.encr_len > 0)
			kb_memzero(b->plain[i], b->slot[i].m.encr_len);
	}
}

/* Decode the whole burst, look its csb_ids up in one bulk lookup (the
 * index's buckets are fetched for all messages at once) and prefetch the
 * UE records they lead to: at 1M+ UEs every one of them is a cache miss. */
static void prepare(struct kb_ue_burst *b, const uint8_t *const *msg, const uint16_t *len,
		    unsigned n)
{
	struct kb_uesim *sim = b->sim;
	uint32_t ids[KB_UE_BURST_MAX], rows[KB_UE_BURST_MAX];
	unsigned at[KB_UE_BURST_MAX], k = 0;
	for (unsigned i = 0; i < n; i++) {
		struct slot *s = &b->slot[i];
		struct kb_mikey_error err;
		s->csb_row = KB_UE_ROW_NONE;
		s->decoded =
			kb_mikey_decode(msg[i], len[i], &s->m, &err) == 0 && kb_uesim_msg_ok(&s->m);
		if (s->decoded) {
			ids[k] = s->m.csb_id;
			at[k++] = i;
		}
	}
	b->csb_epoch = sim->csb_epoch;
	if (k == 0)
		return;
	kb_ue_index_find_csb_bulk(&sim->idx, ids, k, rows);
	for (unsigned j = 0; j < k; j++) {
		b->slot[at[j]].csb_row = rows[j];
		if (rows[j] < sim->n_ue) {
			const uint8_t *u = (const uint8_t *)&sim->ue[rows[j]];
			__builtin_prefetch(u);
			__builtin_prefetch(u + sizeof(struct kb_ue) - 1);
		}
	}
}

void kb_ue_burst_handle(struct kb_ue_burst *b, const uint8_t *const *msg, const uint16_t *len,
			unsigned n, enum kb_ue_verdict *v, struct kb_ue_reply *r)
{
	unsigned lo = 0;
	if (n > KB_UE_BURST_MAX)
		n = KB_UE_BURST_MAX;
	prepare(b, msg, len, n);
	stage_reset(b);
	for (unsigned i = 0; i < n;) {
		if (classify(b, i)) {
			i++;
			continue;
		}
		/* message i meets an earlier one of this stage: finish the
		 * stage, then look at message i again with the new state */
		run_stage(b, msg, lo, i, v, r);
		lo = i;
		stage_reset(b);
	}
	if (lo < n)
		run_stage(b, msg, lo, n, v, r);
}
