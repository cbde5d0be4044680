#include "ue_state.h"
#include "big_array.h"

#include "mikey/mikey_codec.h"
#include "util/be.h"
#include "util/secret.h"

#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One HMAC and one AES-CTR context for the whole simulator: re-keyed per
 * message instead of fetched per message (OpenSSL 3 fetches are slow). */
struct kb_ue_crypto {
	EVP_MAC *mac;
	EVP_MAC_CTX *mctx;
	EVP_CIPHER *aes;
	EVP_CIPHER_CTX *cctx;
};

static void crypto_free(struct kb_ue_crypto *c)
{
	if (c == NULL)
		return;
	EVP_MAC_CTX_free(c->mctx);
	EVP_MAC_free(c->mac);
	EVP_CIPHER_CTX_free(c->cctx);
	EVP_CIPHER_free(c->aes);
	free(c);
}

static struct kb_ue_crypto *crypto_new(void)
{
	struct kb_ue_crypto *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	c->mctx = c->mac != NULL ? EVP_MAC_CTX_new(c->mac) : NULL;
	c->aes = EVP_CIPHER_fetch(NULL, "AES-128-CTR", NULL);
	c->cctx = EVP_CIPHER_CTX_new();
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA1", 0),
		OSSL_PARAM_construct_end(),
	};
	if (c->mctx == NULL || c->aes == NULL || c->cctx == NULL ||
	    EVP_MAC_CTX_set_params(c->mctx, params) != 1) {
		crypto_free(c);
		return NULL;
	}
	return c;
}

/* HMAC-SHA-1(key, a ‖ b) into out (20 bytes). */
static int hmac_sha1(struct kb_ue_crypto *c, const uint8_t *key, const uint8_t *a, size_t a_len,
		     const uint8_t *b, size_t b_len, uint8_t out[KB_MIKEY_MAC_LEN])
{
	size_t out_len = 0;
	/* the digest was set once in crypto_new: only the key changes */
	if (EVP_MAC_init(c->mctx, key, KB_MIKEY_AUTH_KEY_LEN, NULL) != 1 ||
	    EVP_MAC_update(c->mctx, a, a_len) != 1 ||
	    (b_len > 0 && EVP_MAC_update(c->mctx, b, b_len) != 1) ||
	    EVP_MAC_final(c->mctx, out, &out_len, KB_MIKEY_MAC_LEN) != 1 ||
	    out_len != KB_MIKEY_MAC_LEN)
		return -1;
	return 0;
}

static int aes_ctr(struct kb_ue_crypto *c, const uint8_t *key, const uint8_t iv[16],
		   const uint8_t *in, size_t len, uint8_t *out)
{
	int n = 0;
	if (EVP_EncryptInit_ex2(c->cctx, c->aes, key, iv, NULL) != 1 ||
	    EVP_EncryptUpdate(c->cctx, out, &n, in, (int)len) != 1 || (size_t)n != len)
		return -1;
	return 0;
}

const char *kb_ue_verdict_name(enum kb_ue_verdict v)
{
	static const char *const names[] = {
		[KB_UE_ACCEPTED] = "accepted",  [KB_UE_PULL] = "pull",
		[KB_UE_DROPPED] = "dropped",    [KB_UE_MALFORMED] = "malformed",
		[KB_UE_UNKNOWN] = "unknown_ue", [KB_UE_BAD_MAC] = "bad_mac",
		[KB_UE_REPLAY] = "replay",      [KB_UE_BAD_KEYDATA] = "bad_keydata",
	};
	return (unsigned)v < sizeof(names) / sizeof(names[0]) ? names[v] : "?";
}

int kb_uesim_init(struct kb_uesim *s, uint32_t n_ue, struct kb_ue_index idx,
		  const struct kb_uesim_knobs *knobs)
{
	memset(s, 0, sizeof(*s));
	s->idx = idx;
	s->n_ue = n_ue;
	if (knobs != NULL)
		s->knobs = *knobs;
	s->rng[0] = (unsigned short)s->knobs.seed;
	s->rng[1] = (unsigned short)(s->knobs.seed >> 16);
	s->rng[2] = (unsigned short)(s->knobs.seed >> 32);
	s->ue = kb_big_array_new(n_ue, sizeof(*s->ue));
	s->crypto = crypto_new();
	if (s->ue == NULL || s->crypto == NULL) {
		kb_uesim_free(s);
		return -1;
	}
	return 0;
}

void kb_uesim_free(struct kb_uesim *s)
{
	if (s->ue != NULL) {
		kb_big_array_free(s->ue, s->n_ue, sizeof(*s->ue));
	}
	kb_memzero(s->census, sizeof(s->census));
	if (s->tk != NULL) {
		kb_big_array_free(s->tk, s->n_ue, sizeof(*s->tk));
	}
	crypto_free(s->crypto);
	if (s->idx.ops != NULL)
		s->idx.ops->free(s->idx.ctx);
	memset(s, 0, sizeof(*s));
}

int kb_uesim_add_ue(struct kb_uesim *s, uint32_t row, const struct kb_roster_row *r)
{
	if (row >= s->n_ue)
		return -1;
	uint8_t key[KB_UE_BTID_KEY_LEN];
	kb_ue_btid_key((const uint8_t *)r->b_tid, strlen(r->b_tid), key);
	if (s->idx.ops->add_btid(s->idx.ctx, key, row) != 0)
		return -1;
	memcpy(s->ue[row].muk, r->muk, KB_MUK_LEN);
	s->ue[row].btid_tag = kb_ue_btid_tag((const uint8_t *)r->b_tid, strlen(r->b_tid));
	return 0;
}

int kb_uesim_load_roster(struct kb_uesim *s, const char *path, kb_ue_index_factory make_index,
			 const struct kb_uesim_knobs *knobs, char *err, size_t errlen)
{
	struct kb_roster_row row;
	struct kb_ue_index idx = {0};
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	uint32_t rows = 0, lineno = 0;
	int rc = -1;
	bool inited = false;

	FILE *f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	/* first pass: size the arrays and the tables once */
	while ((n = getline(&line, &cap, f)) > 0) {
		size_t len = (size_t)n;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		if (len > 0 && !kb_roster_is_header(line, len))
			rows++;
	}
	if (make_index(&idx, rows) != 0) {
		snprintf(err, errlen, "cannot create the UE index for %u rows", rows);
		goto out;
	}
	if (kb_uesim_init(s, rows, idx, knobs) != 0) {
		idx.ops->free(idx.ctx);
		snprintf(err, errlen, "out of memory for %u UEs", rows);
		goto out;
	}
	inited = true;
	rewind(f);
	uint32_t r = 0;
	while ((n = getline(&line, &cap, f)) > 0) {
		size_t len = (size_t)n;
		char perr[128];
		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		if (len == 0 || kb_roster_is_header(line, len))
			continue;
		if (r >= rows) {
			snprintf(err, errlen, "%s changed while reading", path);
			goto out;
		}
		if (kb_roster_parse_line(line, len, &row, perr, sizeof(perr)) != 0) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, perr);
			goto out;
		}
		if (kb_uesim_add_ue(s, r, &row) != 0) {
			snprintf(err, errlen, "%s:%u: duplicate B-TID", path, lineno);
			goto out;
		}
		r++;
	}
	rc = r == rows ? 0 : -1;
	if (rc != 0)
		snprintf(err, errlen, "%s changed while reading", path);
out:
	kb_memzero(&row, sizeof(row));
	if (line != NULL) {
		kb_memzero(line, cap);
		free(line);
	}
	fclose(f);
	if (rc != 0 && inited)
		kb_uesim_free(s);
	return rc;
}

static bool chance(struct kb_uesim *s, double p)
{
	return p > 0 && erand48(s->rng) < p;
}

static struct kb_uesim_census *census_get(struct kb_uesim *s, const uint8_t domain[3],
					  uint32_t msk_id, const uint8_t *msk)
{
	for (unsigned i = 0; i < s->n_census; i++)
		if (s->census[i].msk_id == msk_id && memcmp(s->census[i].domain, domain, 3) == 0)
			return &s->census[i];
	if (msk == NULL || s->n_census == KB_UESIM_MAX_MSK_IDS)
		return NULL;
	struct kb_uesim_census *c = &s->census[s->n_census++];
	memcpy(c->domain, domain, 3);
	c->msk_id = msk_id;
	c->holders = 0;
	memcpy(c->msk, msk, KB_MSK_LEN);
	return c;
}

const struct kb_uesim_census *kb_uesim_census_find(const struct kb_uesim *s, uint32_t msk_id)
{
	for (unsigned i = 0; i < s->n_census; i++)
		if (s->census[i].msk_id == msk_id)
			return &s->census[i];
	return NULL;
}

const struct kb_uesim_census *kb_uesim_newest(const struct kb_uesim *s)
{
	return s->n_census > 0 ? &s->census[s->n_census - 1] : NULL;
}

static void slot_evict(struct kb_uesim *s, struct kb_ue *ue, unsigned i)
{
	struct kb_uesim_census *c = census_get(s, ue->slot[i].domain, ue->slot[i].msk_id, NULL);
	if (c != NULL && c->holders > 0)
		c->holders--;
	memmove(&ue->slot[i], &ue->slot[i + 1], (KB_UE_MSK_SLOTS - 1 - i) * sizeof(ue->slot[0]));
	kb_memzero(&ue->slot[KB_UE_MSK_SLOTS - 1], sizeof(ue->slot[0]));
}

/* Store an MSK as a UE does: the same ID again replaces its key in place; a
 * third MSK of a (domain, key group) evicts the oldest of that group; a full
 * UE evicts its oldest MSK. Slots stay oldest first. */
void kb_uesim_store(struct kb_uesim *s, uint32_t row, const uint8_t domain[3], uint32_t msk_id,
		    const uint8_t msk[KB_MSK_LEN])
{
	struct kb_ue *ue = &s->ue[row];
	struct kb_uesim_census *c = census_get(s, domain, msk_id, msk);
	if (c != NULL && !kb_ct_equal(c->msk, msk, KB_MSK_LEN))
		s->st.msk_mismatch++;

	unsigned used = 0, same_group = 0, oldest_in_group = KB_UE_MSK_SLOTS;
	for (unsigned i = 0; i < KB_UE_MSK_SLOTS; i++) {
		struct kb_ue_msk *m = &ue->slot[i];
		if (!m->used)
			continue;
		used++;
		if (memcmp(m->domain, domain, 3) != 0 || m->msk_id >> 16 != msk_id >> 16)
			continue;
		if (m->msk_id == msk_id) {
			memcpy(m->msk, msk, KB_MSK_LEN);
			return;
		}
		if (same_group++ == 0)
			oldest_in_group = i;
	}
	if (same_group >= 2)
		slot_evict(s, ue, oldest_in_group);
	else if (used == KB_UE_MSK_SLOTS)
		slot_evict(s, ue, 0);
	for (unsigned i = 0; i < KB_UE_MSK_SLOTS; i++) {
		struct kb_ue_msk *m = &ue->slot[i];
		if (m->used)
			continue;
		m->used = 1;
		m->msk_id = msk_id;
		memcpy(m->domain, domain, 3);
		memcpy(m->msk, msk, KB_MSK_LEN);
		if (c != NULL)
			c->holders++;
		return;
	}
}

bool kb_uesim_msg_ok(const struct kb_mikey_msg *m)
{
	return m->data_type == KB_MIKEY_DT_PSK_INIT && m->has_t && m->t_type == 2 && m->has_kemac &&
	       m->has_msk_id && m->has_domain && m->mac_alg == 1 &&
	       (m->encr_alg == 1 || m->encr_len == 0) && m->encr_len <= KB_MIKEY_MSG_MAX;
}

static bool sa_matches(const struct kb_ue *ue, const struct kb_mikey_msg *m)
{
	return (ue->flags & KB_UE_KEYS) && ue->csb_id == m->csb_id &&
	       (!m->has_rand || (m->rand_len == KB_MIKEY_RAND_LEN &&
				 memcmp(ue->rand, m->rand, KB_MIKEY_RAND_LEN) == 0));
}

uint32_t kb_uesim_find(struct kb_uesim *s, const struct kb_mikey_msg *m, bool *sa_known)
{
	return kb_uesim_find_at(s, m, s->idx.ops->find_csb(s->idx.ctx, m->csb_id), sa_known);
}

uint32_t kb_uesim_find_at(struct kb_uesim *s, const struct kb_mikey_msg *m, uint32_t csb_row,
			  bool *sa_known)
{
	uint32_t row = csb_row;
	*sa_known = false;
	if (row < s->n_ue && sa_matches(&s->ue[row], m) &&
	    (m->n_ids < 2 ||
	     kb_ue_btid_tag(m->ids[1].data, m->ids[1].len) == s->ue[row].btid_tag)) {
		*sa_known = true;
		return row;
	}
	if (m->n_ids >= 2) {
		uint8_t key[KB_UE_BTID_KEY_LEN];
		kb_ue_btid_key(m->ids[1].data, m->ids[1].len, key);
		row = s->idx.ops->find_btid(s->idx.ctx, key);
	}
	if (row >= s->n_ue)
		return KB_UE_ROW_NONE;
	*sa_known = sa_matches(&s->ue[row], m);
	return row;
}

bool kb_uesim_keydata_ok(const struct kb_mikey_msg *m, const uint8_t *plain,
			 uint8_t msk[KB_MSK_LEN])
{
	struct kb_mikey_keydata kd[KB_MIKEY_MAX_KEYDATA];
	struct kb_mikey_error err;
	unsigned n_kd = 0;
	if (kb_mikey_decode_keydata(plain, m->encr_len, kd, KB_MIKEY_MAX_KEYDATA, &n_kd, &err) !=
		    0 ||
	    n_kd != 1 || kd[0].type != 0 || kd[0].kv != 1 || kd[0].key_len != KB_MSK_LEN ||
	    kd[0].spi_len != 4 || kb_be32(kd[0].spi) != m->msk_id) {
		kb_memzero(kd, sizeof(kd));
		return false;
	}
	memcpy(msk, kd[0].key, KB_MSK_LEN);
	kb_memzero(kd, sizeof(kd));
	return true;
}

void kb_uesim_commit(struct kb_uesim *s, uint32_t row, const struct kb_mikey_msg *m, bool sa_known,
		     uint8_t keys_flag)
{
	struct kb_ue *ue = &s->ue[row];
	ue->last_counter = (uint32_t)m->t_value;
	if (!sa_known) {
		if (ue->flags & KB_UE_KEYS && s->idx.ops->find_csb(s->idx.ctx, ue->csb_id) == row)
			s->idx.ops->del_csb(s->idx.ctx, ue->csb_id);
		memcpy(ue->rand, m->rand, KB_MIKEY_RAND_LEN);
		ue->csb_id = m->csb_id;
		ue->flags = KB_UE_KEYS; /* the other path's cached keys are stale now */
		s->idx.ops->set_csb(s->idx.ctx, m->csb_id, row);
		s->csb_epoch++;
	}
	ue->flags |= keys_flag;
}

long kb_uesim_ack_input(const struct kb_mikey_msg *m, uint32_t csb_id, uint32_t counter,
			uint8_t *buf, size_t cap, size_t *mac_off)
{
	struct kb_mikey_layout lay;
	const struct kb_mikey_id *idi = &m->ids[0], *idr = &m->ids[1];
	if (m->n_ids < 2 || cap < KB_UESIM_ACK_IN_MAX ||
	    kb_ack_write(buf, cap, csb_id, counter, &lay) != 0 || lay.len != KB_ACK_LEN)
		return -1;
	long n = kb_ack_mac_suffix(buf + lay.mac_off, cap - lay.mac_off, idi->data, idi->len,
				   idr->data, idr->len, counter);
	if (n < 0)
		return -1;
	*mac_off = lay.mac_off;
	return (long)lay.mac_off + n;
}

enum kb_ue_verdict kb_uesim_count(struct kb_uesim *s, enum kb_ue_verdict v)
{
	switch (v) {
	case KB_UE_ACCEPTED:
		s->st.accepted++;
		break;
	case KB_UE_PULL:
		s->st.pulls++;
		break;
	case KB_UE_DROPPED:
		s->st.dropped_msg++;
		break;
	case KB_UE_MALFORMED:
		s->st.malformed++;
		break;
	case KB_UE_UNKNOWN:
		s->st.unknown_ue++;
		break;
	case KB_UE_BAD_MAC:
		s->st.bad_mac++;
		break;
	case KB_UE_REPLAY:
		s->st.replays++;
		break;
	case KB_UE_BAD_KEYDATA:
		s->st.bad_keydata++;
		break;
	}
	return v;
}

bool kb_uesim_drop_msg(struct kb_uesim *s)
{
	return chance(s, s->knobs.drop_msg);
}

bool kb_uesim_ack_decide(struct kb_uesim *s, const struct kb_mikey_msg *m, struct kb_ue_reply *r,
			 uint8_t xor_mask[KB_MIKEY_MAC_LEN])
{
	s->st.acks_wanted++;
	if (m->n_ids < 2)
		return false; /* no IDs to bind the V MAC to: the UE cannot answer */
	if (chance(s, s->knobs.drop_ack)) {
		s->st.acks_dropped++;
		return false;
	}
	r->copies = 1;
	if (chance(s, s->knobs.forge_ack)) {
		/* a forged ack: right header and counter, MAC from nowhere */
		for (unsigned i = 0; i < KB_MIKEY_MAC_LEN; i++)
			xor_mask[i] = (uint8_t)(1 + nrand48(s->rng) % 255);
		r->forged = true;
		s->st.acks_forged++;
		return true;
	}
	if (chance(s, s->knobs.dup_ack)) {
		r->copies = 2;
		s->st.acks_dup++;
	}
	s->st.acks_sent += r->copies;
	return true;
}

/* The reference path's ack: OpenSSL HMAC over the V MAC input. */
static void reply_ack(struct kb_uesim *s, uint32_t row, const struct kb_mikey_msg *m,
		      const struct kb_mikey_tkeys *tk, struct kb_ue_reply *r)
{
	uint8_t in[KB_UESIM_ACK_IN_MAX], xor_mask[KB_MIKEY_MAC_LEN];
	size_t mac_off = 0;
	uint32_t counter = (uint32_t)m->t_value;
	long n = kb_uesim_ack_input(m, s->ue[row].csb_id, counter, in, sizeof(in), &mac_off);
	if (n < 0) {
		s->st.acks_wanted++; /* cannot answer: as kb_uesim_ack_decide counts it */
		return;
	}
	if (!kb_uesim_ack_decide(s, m, r, xor_mask))
		return;
	memcpy(r->ack, in, mac_off);
	if (hmac_sha1(s->crypto, tk->auth, in, (size_t)n, NULL, 0, r->ack + mac_off) != 0) {
		r->copies = 0;
		return;
	}
	if (r->forged)
		for (unsigned i = 0; i < KB_MIKEY_MAC_LEN; i++)
			r->ack[mac_off + i] ^= xor_mask[i];
}

enum kb_ue_verdict kb_uesim_handle(struct kb_uesim *s, const uint8_t *msg, size_t len,
				   struct kb_ue_reply *r)
{
	struct kb_mikey_msg m;
	struct kb_mikey_error err;
	struct kb_mikey_tkeys fresh, *tk;
	uint8_t mac[KB_MIKEY_MAC_LEN];
	uint8_t plain[KB_MIKEY_MSG_MAX];
	uint8_t msk[KB_MSK_LEN];
	enum kb_ue_verdict v;
	bool sa_known;

	memset(r, 0, sizeof(*r));
	r->row = KB_UE_ROW_NONE;
	s->st.rx++;
	if (kb_uesim_drop_msg(s))
		return kb_uesim_count(s, KB_UE_DROPPED);
	if (kb_mikey_decode(msg, len, &m, &err) != 0 || !kb_uesim_msg_ok(&m))
		return kb_uesim_count(s, KB_UE_MALFORMED);
	if (s->tk == NULL) {
		s->tk = kb_big_array_new(s->n_ue, sizeof(*s->tk));
		if (s->tk == NULL)
			return kb_uesim_count(s, KB_UE_UNKNOWN);
	}

	uint32_t row = kb_uesim_find(s, &m, &sa_known);
	if (row == KB_UE_ROW_NONE)
		return kb_uesim_count(s, KB_UE_UNKNOWN);
	r->row = row;
	struct kb_ue *ue = &s->ue[row];

	/* keys: the cached ones if this path has them for the SA, else derive
	 * from the MUK; the cache is only updated once the MAC proves the message */
	bool cached = sa_known && (ue->flags & KB_UE_REF_KEYS);
	if (cached) {
		tk = &s->tk[row];
	} else {
		/* an SA the UE knows but whose keys this path has not cached
		 * derives from the stored RAND; a new SA needs RAND */
		const uint8_t *rand = sa_known ? ue->rand : m.rand;
		if (!sa_known && (!m.has_rand || m.rand_len != KB_MIKEY_RAND_LEN))
			return kb_uesim_count(s,
					      KB_UE_UNKNOWN); /* an update for an SA we never saw */
		if (kb_mikey_derive_tkeys(ue->muk, KB_MUK_LEN, m.csb_id, rand, KB_MIKEY_RAND_LEN,
					  &fresh) != 0)
			return kb_uesim_count(s, KB_UE_MALFORMED);
		s->st.key_derivations++;
		tk = &fresh;
	}

	if (hmac_sha1(s->crypto, tk->auth, msg, m.mac_off, NULL, 0, mac) != 0 ||
	    !kb_ct_equal(mac, msg + m.mac_off, KB_MIKEY_MAC_LEN)) {
		v = KB_UE_BAD_MAC;
		goto out;
	}
	if (m.t_value > UINT32_MAX || (uint32_t)m.t_value <= ue->last_counter) {
		v = KB_UE_REPLAY;
		goto out;
	}

	if (m.encr_len > 0) {
		uint8_t iv[16];
		kb_mikey_iv(tk->salt, m.csb_id, m.t_value, iv);
		if (aes_ctr(s->crypto, tk->encr, iv, m.encr, m.encr_len, plain) != 0 ||
		    !kb_uesim_keydata_ok(&m, plain, msk)) {
			v = KB_UE_BAD_KEYDATA;
			goto out;
		}
	} else if ((m.msk_id & 0xffffu) != 0) {
		v = KB_UE_BAD_KEYDATA; /* no key data is only valid for a pull */
		goto out;
	}

	/* accepted: the counter moves, and the SA becomes the one we know */
	if (!cached)
		s->tk[row] = fresh;
	kb_uesim_commit(s, row, &m, sa_known, KB_UE_REF_KEYS);
	if (m.encr_len == 0) {
		v = KB_UE_PULL;
		goto out;
	}
	kb_uesim_store(s, row, m.domain, m.msk_id, msk);
	if (m.v)
		reply_ack(s, row, &m, &s->tk[row], r);
	v = KB_UE_ACCEPTED;
out:
	kb_memzero(&fresh, sizeof(fresh));
	kb_memzero(plain, sizeof(plain));
	kb_memzero(msk, sizeof(msk));
	return kb_uesim_count(s, v);
}
