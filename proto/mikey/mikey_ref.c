/* The OpenSSL reference sealer and opener: AES-128-CTR (AES-CM) and
 * HMAC-SHA-1 through EVP. No global state: every call works on a
 * struct kb_ref_ctx, either the caller's or a short-lived one. */
#include "mikey/mikey_ref.h"

#include "util/secret.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct kb_ref_ctx {
	EVP_CIPHER *aes_ctr;
	EVP_CIPHER_CTX *cipher;
	EVP_MAC *hmac;
	EVP_MAC_CTX *mac;
};

struct kb_ref_ctx *kb_ref_ctx_new(void)
{
	struct kb_ref_ctx *c = calloc(1, sizeof(*c));
	char digest[] = "SHA1";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
		OSSL_PARAM_construct_end(),
	};

	if (c == NULL)
		return NULL;
	c->aes_ctr = EVP_CIPHER_fetch(NULL, "AES-128-CTR", NULL);
	c->cipher = EVP_CIPHER_CTX_new();
	c->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (c->aes_ctr == NULL || c->cipher == NULL || c->hmac == NULL)
		goto fail;
	c->mac = EVP_MAC_CTX_new(c->hmac);
	if (c->mac == NULL || EVP_MAC_CTX_set_params(c->mac, params) != 1)
		goto fail;
	return c;
fail:
	kb_ref_ctx_free(c);
	return NULL;
}

void kb_ref_ctx_free(struct kb_ref_ctx *c)
{
	if (c == NULL)
		return;
	EVP_MAC_CTX_free(c->mac); /* both free calls cleanse the key state */
	EVP_MAC_free(c->hmac);
	EVP_CIPHER_CTX_free(c->cipher);
	EVP_CIPHER_free(c->aes_ctr);
	free(c);
}

/* AES-128-CTR: out = in XOR keystream(key, iv); in == out is fine. */
static int ctr(struct kb_ref_ctx *c, const uint8_t key[KB_MIKEY_ENCR_KEY_LEN], const uint8_t iv[16],
	       const uint8_t *in, uint8_t *out, size_t len)
{
	int n = 0, fin = 0;

	if (len == 0)
		return 0;
	if (len > 0x7fffffff || EVP_EncryptInit_ex2(c->cipher, c->aes_ctr, key, iv, NULL) != 1 ||
	    EVP_EncryptUpdate(c->cipher, out, &n, in, (int)len) != 1 ||
	    EVP_EncryptFinal_ex(c->cipher, out + n, &fin) != 1 || (size_t)(n + fin) != len)
		return -1;
	return 0;
}

/* HMAC-SHA-1 over up to two regions (message bytes, then an optional suffix). */
static int hmac(struct kb_ref_ctx *c, const uint8_t *key, size_t key_len, const uint8_t *a,
		size_t a_len, const uint8_t *b, size_t b_len, uint8_t out[KB_MIKEY_MAC_LEN])
{
	size_t n = 0;

	if (EVP_MAC_init(c->mac, key, key_len, NULL) != 1 ||
	    EVP_MAC_update(c->mac, a, a_len) != 1 ||
	    (b_len != 0 && EVP_MAC_update(c->mac, b, b_len) != 1) ||
	    EVP_MAC_final(c->mac, out, &n, KB_MIKEY_MAC_LEN) != 1 || n != KB_MIKEY_MAC_LEN)
		return -1;
	return 0;
}

int kb_ref_seal_ctx(struct kb_ref_ctx *c, uint8_t *msg, const struct kb_mikey_layout *lay,
		    uint32_t csb_id, uint32_t counter, const struct kb_mikey_tkeys *tk)
{
	uint8_t iv[16];
	int rc;

	if (c == NULL || msg == NULL || lay == NULL || tk == NULL ||
	    lay->mac_off + KB_MIKEY_MAC_LEN > lay->len ||
	    lay->encr_off + lay->encr_len > lay->mac_off)
		return -1;
	kb_mikey_iv(tk->salt, csb_id, counter, iv);
	rc = ctr(c, tk->encr, iv, msg + lay->encr_off, msg + lay->encr_off, lay->encr_len);
	if (rc == 0)
		rc = hmac(c, tk->auth, sizeof(tk->auth), msg, lay->mac_off, NULL, 0,
			  msg + lay->mac_off);
	kb_memzero(iv, sizeof(iv));
	return rc;
}

int kb_ref_seal(uint8_t *msg, const struct kb_mikey_layout *lay, uint32_t csb_id, uint32_t counter,
		const struct kb_mikey_tkeys *tk)
{
	struct kb_ref_ctx *c = kb_ref_ctx_new();
	int rc = c != NULL ? kb_ref_seal_ctx(c, msg, lay, csb_id, counter, tk) : -1;
	kb_ref_ctx_free(c);
	return rc;
}

int kb_ref_seal_msk_ctx(struct kb_ref_ctx *c, uint8_t *buf, size_t cap,
			const struct kb_msk_msg_params *p, const struct kb_mikey_tkeys *tk,
			size_t *len)
{
	struct kb_mikey_layout lay;

	if (kb_msk_msg_write(buf, cap, p, &lay) != 0)
		return -1;
	if (kb_ref_seal_ctx(c, buf, &lay, p->csb_id, p->counter, tk) != 0) {
		kb_memzero(buf, lay.len); /* may still hold the MSK in clear */
		return -1;
	}
	*len = lay.len;
	return 0;
}

int kb_ref_seal_msk(uint8_t *buf, size_t cap, const struct kb_msk_msg_params *p,
		    const struct kb_mikey_tkeys *tk, size_t *len)
{
	struct kb_ref_ctx *c = kb_ref_ctx_new();
	int rc = c != NULL ? kb_ref_seal_msk_ctx(c, buf, cap, p, tk, len) : -1;
	kb_ref_ctx_free(c);
	return rc;
}

int kb_ref_seal_mtk(uint8_t *buf, size_t cap, const struct kb_mtk_msg_params *p,
		    const struct kb_mikey_tkeys *tk, size_t *len)
{
	struct kb_mikey_layout lay;
	struct kb_ref_ctx *c;
	int rc = -1;

	if (kb_mtk_msg_write(buf, cap, p, &lay) != 0)
		return -1;
	c = kb_ref_ctx_new();
	if (c != NULL)
		rc = kb_ref_seal_ctx(c, buf, &lay, p->csb_id, p->counter, tk);
	kb_ref_ctx_free(c);
	if (rc != 0) {
		kb_memzero(buf, lay.len);
		return -1;
	}
	*len = lay.len;
	return 0;
}

/* The ack's V MAC: HMAC(auth, ack[0, mac_off) ‖ idi ‖ idr ‖ counter). */
static int ack_mac(struct kb_ref_ctx *c, const uint8_t *ack, size_t mac_off, uint32_t counter,
		   const uint8_t *idi, uint16_t idi_len, const uint8_t *idr, uint16_t idr_len,
		   const struct kb_mikey_tkeys *tk, uint8_t out[KB_MIKEY_MAC_LEN])
{
	uint8_t suffix[2 * KB_MIKEY_ID_MAX + 4];
	long n = kb_ack_mac_suffix(suffix, sizeof(suffix), idi, idi_len, idr, idr_len, counter);

	if (n < 0)
		return -1;
	return hmac(c, tk->auth, sizeof(tk->auth), ack, mac_off, suffix, (size_t)n, out);
}

int kb_ref_build_ack_ctx(struct kb_ref_ctx *c, uint8_t *buf, size_t cap, uint32_t csb_id,
			 uint32_t counter, const uint8_t *idi, uint16_t idi_len, const uint8_t *idr,
			 uint16_t idr_len, const struct kb_mikey_tkeys *tk, size_t *len)
{
	struct kb_mikey_layout lay;

	if (c == NULL || tk == NULL || kb_ack_write(buf, cap, csb_id, counter, &lay) != 0)
		return -1;
	if (ack_mac(c, buf, lay.mac_off, counter, idi, idi_len, idr, idr_len, tk,
		    buf + lay.mac_off) != 0)
		return -1;
	*len = lay.len;
	return 0;
}

int kb_ref_build_ack(uint8_t *buf, size_t cap, uint32_t csb_id, uint32_t counter,
		     const uint8_t *idi, uint16_t idi_len, const uint8_t *idr, uint16_t idr_len,
		     const struct kb_mikey_tkeys *tk, size_t *len)
{
	struct kb_ref_ctx *c = kb_ref_ctx_new();
	int rc = kb_ref_build_ack_ctx(c, buf, cap, csb_id, counter, idi, idi_len, idr, idr_len, tk,
				      len);
	kb_ref_ctx_free(c);
	return rc;
}

int kb_ref_verify_ack_ctx(struct kb_ref_ctx *c, const uint8_t *buf, const struct kb_mikey_msg *m,
			  const uint8_t *idi, uint16_t idi_len, const uint8_t *idr,
			  uint16_t idr_len, const struct kb_mikey_tkeys *tk)
{
	uint8_t mac[KB_MIKEY_MAC_LEN];
	int rc = -1;

	/* the profile's ack: a COUNTER and an HMAC-SHA-1 V, nothing weaker */
	if (c == NULL || buf == NULL || m == NULL || tk == NULL ||
	    m->data_type != KB_MIKEY_DT_PSK_RESP || !m->has_v || m->v_alg != 1 || !m->has_t ||
	    m->t_type != 2)
		return -1;
	if (ack_mac(c, buf, m->v_mac_off, (uint32_t)m->t_value, idi, idi_len, idr, idr_len, tk,
		    mac) == 0 &&
	    kb_ct_equal(mac, m->v_mac, KB_MIKEY_MAC_LEN))
		rc = 0;
	kb_memzero(mac, sizeof(mac));
	return rc;
}

int kb_ref_verify_ack(const uint8_t *buf, const struct kb_mikey_msg *m, const uint8_t *idi,
		      uint16_t idi_len, const uint8_t *idr, uint16_t idr_len,
		      const struct kb_mikey_tkeys *tk)
{
	struct kb_ref_ctx *c = kb_ref_ctx_new();
	int rc = kb_ref_verify_ack_ctx(c, buf, m, idi, idi_len, idr, idr_len, tk);
	kb_ref_ctx_free(c);
	return rc;
}

/* What a sealed message must be before we spend any crypto on it. */
static int check_sealed(const struct kb_mikey_msg *m, struct kb_mikey_error *err)
{
	if (m->data_type != KB_MIKEY_DT_PSK_INIT || !m->has_kemac)
		return kb_mikey_error_set(err, 1, "HDR: data type %u carries no KEMAC to open",
					  m->data_type);
	if (m->mac_alg != 1)
		return kb_mikey_error_set(err, m->mac_off - 1,
					  "KEMAC: MAC alg %u refused (only HMAC-SHA-1-160)",
					  m->mac_alg);
	if (m->encr_alg == 2)
		return kb_mikey_error_set(err, m->encr_off - 3,
					  "KEMAC: encr alg AES-KW-128 not supported");
	if (m->encr_alg == 0 && m->encr_len != 0)
		return kb_mikey_error_set(err, m->encr_off - 3,
					  "KEMAC: NULL encryption of key data refused");
	if (m->encr_len > KB_MIKEY_MSG_MAX)
		return kb_mikey_error_set(err, m->encr_off - 2,
					  "KEMAC: encr data of %u bytes exceeds %d", m->encr_len,
					  KB_MIKEY_MSG_MAX);
	return 0;
}

/* MAC first (constant time), then decrypt and parse the key data. */
static int open_decoded(struct kb_ref_ctx *c, const uint8_t *buf, const struct kb_mikey_tkeys *tk,
			struct kb_mikey_opened *out, struct kb_mikey_error *err)
{
	const struct kb_mikey_msg *m = &out->msg;
	uint8_t mac[KB_MIKEY_MAC_LEN], iv[16];
	int rc = -1;

	if (hmac(c, tk->auth, sizeof(tk->auth), buf, m->mac_off, NULL, 0, mac) != 0) {
		kb_mikey_error_set(err, m->mac_off, "KEMAC: HMAC computation failed");
		goto out;
	}
	if (!kb_ct_equal(mac, m->mac, KB_MIKEY_MAC_LEN)) {
		kb_mikey_error_set(
			err, m->mac_off,
			"KEMAC: MAC verification failed (wrong key, or the message was altered)");
		goto out;
	}
	if (m->encr_len != 0) {
		kb_mikey_iv(tk->salt, m->csb_id, m->t_value, iv);
		if (ctr(c, tk->encr, iv, m->encr, out->plain, m->encr_len) != 0) {
			kb_mikey_error_set(err, m->encr_off, "KEMAC: decryption failed");
			goto out;
		}
		out->plain_len = m->encr_len;
		if (kb_mikey_decode_keydata(out->plain, out->plain_len, out->keydata,
					    KB_MIKEY_MAX_KEYDATA, &out->n_keydata, err) != 0) {
			/* offsets inside the key data are relative to encr data */
			if (err != NULL)
				err->offset += m->encr_off;
			goto out;
		}
	}
	rc = 0;
out:
	kb_memzero(mac, sizeof(mac));
	kb_memzero(iv, sizeof(iv));
	if (rc != 0) {
		kb_memzero(out->plain, sizeof(out->plain));
		out->plain_len = 0;
		out->n_keydata = 0;
	}
	return rc;
}

int kb_ref_open_tk(struct kb_ref_ctx *c, const uint8_t *buf, size_t len,
		   const struct kb_mikey_tkeys *tk, struct kb_mikey_opened *out,
		   struct kb_mikey_error *err)
{
	if (c == NULL || buf == NULL || tk == NULL || out == NULL)
		return kb_mikey_error_set(err, 0, "open: bad arguments");
	memset(out, 0, sizeof(*out));
	if (kb_mikey_decode(buf, len, &out->msg, err) != 0 || check_sealed(&out->msg, err) != 0)
		return -1;
	return open_decoded(c, buf, tk, out, err);
}

int kb_ref_open_ctx(struct kb_ref_ctx *c, const uint8_t *buf, size_t len, const uint8_t *psk,
		    size_t psk_len, const uint8_t *rand, size_t rand_len,
		    struct kb_mikey_opened *out, struct kb_mikey_error *err)
{
	struct kb_mikey_tkeys tk;
	const struct kb_mikey_msg *m = &out->msg;
	int rc;

	if (c == NULL || buf == NULL || psk == NULL || psk_len == 0 || out == NULL)
		return kb_mikey_error_set(err, 0, "open: bad arguments");
	memset(out, 0, sizeof(*out));
	if (kb_mikey_decode(buf, len, &out->msg, err) != 0 || check_sealed(m, err) != 0)
		return -1;
	/* an update message of an existing CSB has no RAND: the caller has it */
	if (m->has_rand) {
		rand = m->rand;
		rand_len = m->rand_len;
	} else if (rand == NULL || rand_len == 0) {
		return kb_mikey_error_set(
			err, 0, "RAND: message has no RAND payload and no CSB RAND was given");
	}
	if (kb_mikey_derive_tkeys(psk, psk_len, m->csb_id, rand, rand_len, &tk) != 0)
		return kb_mikey_error_set(err, 0, "PRF: transport key derivation failed");
	rc = open_decoded(c, buf, &tk, out, err);
	kb_memzero(&tk, sizeof(tk));
	return rc;
}

int kb_ref_open(const uint8_t *buf, size_t len, const uint8_t *psk, size_t psk_len,
		const uint8_t *rand, size_t rand_len, struct kb_mikey_opened *out,
		struct kb_mikey_error *err)
{
	struct kb_ref_ctx *c = kb_ref_ctx_new();
	int rc;

	if (c == NULL)
		return kb_mikey_error_set(err, 0, "open: out of memory");
	rc = kb_ref_open_ctx(c, buf, len, psk, psk_len, rand, rand_len, out, err);
	kb_ref_ctx_free(c);
	return rc;
}
