/* The Digest server: challenges, nonces and request verification.
 *
 * A nonce is base64 of 36 bytes:
 *   slot(4) ‖ generation(4) ‖ issued(8, seconds) ‖ instance(4) ‖ MAC(16)
 *   MAC = HMAC-SHA-256(server key, "kb-digest-nonce" ‖ the 20 bytes before)
 * so a forged nonce is refused without any state. The slot indexes a fixed
 * array holding the highest nc seen; the generation makes a recycled slot
 * (the oldest nonce is evicted when all are in use) turn old nonces stale,
 * and the random instance id does the same for nonces of an earlier
 * process that shared the configured key. */
#include "digest/digest.h"

#include "digest_internal.h"
#include "util/be.h"
#include "util/secret.h"

#include <ctype.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NONCE_RAW 36
#define NONCE_SIGNED 20 /* bytes covered by the MAC */
#define NONCE_MAC 16
#define KEY_LEN 32
#define CLOCK_SKEW 60 /* seconds a nonce may appear to come from the future */
#define MAC_LABEL "kb-digest-nonce"

struct slot {
	uint32_t gen;
	uint32_t nc_max; /* highest nc accepted; 0 before the first */
};

struct kb_digest_server {
	char realm[KB_DIGEST_VALUE_MAX];
	uint8_t key[KEY_LEN];
	size_t key_len;
	uint8_t instance[4];
	enum kb_digest_alg algs[KB_DIGEST_ALG_COUNT];
	size_t n_algs;
	enum kb_digest_qop qops[2];
	size_t n_qops;
	uint32_t lifetime;
	uint32_t nslots;
	bool userhash;
	kb_digest_lookup_fn lookup;
	void *lookup_ctx;
	kb_digest_clock_fn clock;
	void *clock_ctx;
	uint64_t id; /* names this server's key in the per-thread MAC contexts */

	pthread_mutex_t lock; /* guards cursor and slots */
	uint32_t cursor;
	struct slot *slots;
};

static const char *const result_names[KB_DIGEST_RESULT_COUNT] = {
	[KB_DIGEST_OK] = "ok",
	[KB_DIGEST_MISSING] = "missing",
	[KB_DIGEST_MALFORMED] = "malformed",
	[KB_DIGEST_WRONG_REALM] = "wrong_realm",
	[KB_DIGEST_WRONG_URI] = "wrong_uri",
	[KB_DIGEST_BAD_ALGORITHM] = "bad_algorithm",
	[KB_DIGEST_BAD_QOP] = "bad_qop",
	[KB_DIGEST_BAD_NONCE] = "bad_nonce",
	[KB_DIGEST_UNKNOWN_USER] = "unknown_user",
	[KB_DIGEST_BAD_RESPONSE] = "bad_response",
	[KB_DIGEST_STALE] = "stale",
	[KB_DIGEST_REPLAY] = "replay",
};

const char *kb_digest_result_name(enum kb_digest_result r)
{
	return (unsigned)r < KB_DIGEST_RESULT_COUNT ? result_names[r] : "unknown";
}

static uint64_t realtime(void *ctx)
{
	(void)ctx;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec;
}

static void *config_fail(char *err, size_t errlen, const char *msg)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", msg);
	return NULL;
}

static bool printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

struct kb_digest_server *kb_digest_server_new(const struct kb_digest_server_config *cfg, char *err,
					      size_t errlen)
{
	if (cfg->realm == NULL || cfg->realm[0] == '\0' ||
	    strlen(cfg->realm) >= KB_DIGEST_VALUE_MAX || !printable(cfg->realm))
		return config_fail(err, errlen, "realm: empty, too long or not printable");
	if (cfg->lookup == NULL)
		return config_fail(err, errlen, "no credential lookup");
	if (cfg->secret != NULL && (cfg->secret_len < 16 || cfg->secret_len > KEY_LEN))
		return config_fail(err, errlen, "nonce secret must be 16 to 32 bytes");
	if (cfg->n_algs > KB_DIGEST_ALG_COUNT || cfg->n_qops > 2)
		return config_fail(err, errlen, "too many algorithms or qop values");
	for (size_t i = 0; i < cfg->n_algs; i++)
		if (kb_digest_alg_name(cfg->algs[i]) == NULL)
			return config_fail(err, errlen, "unknown algorithm");
	for (size_t i = 0; i < cfg->n_qops; i++)
		if (cfg->qops[i] != KB_DIGEST_QOP_AUTH && cfg->qops[i] != KB_DIGEST_QOP_AUTH_INT)
			return config_fail(err, errlen, "qop must be auth or auth-int");
	if (cfg->nonce_slots > (1u << 24))
		return config_fail(err, errlen, "nonce_slots above 16777216");

	struct kb_digest_server *srv = calloc(1, sizeof(*srv));
	if (srv == NULL)
		return config_fail(err, errlen, "out of memory");
	snprintf(srv->realm, sizeof(srv->realm), "%s", cfg->realm);
	if (cfg->n_algs > 0) {
		memcpy(srv->algs, cfg->algs, cfg->n_algs * sizeof(cfg->algs[0]));
		srv->n_algs = cfg->n_algs;
	} else {
		srv->algs[0] = KB_DIGEST_SHA256;
		srv->algs[1] = KB_DIGEST_MD5;
		srv->n_algs = 2;
	}
	if (cfg->n_qops > 0) {
		memcpy(srv->qops, cfg->qops, cfg->n_qops * sizeof(cfg->qops[0]));
		srv->n_qops = cfg->n_qops;
	} else {
		srv->qops[0] = KB_DIGEST_QOP_AUTH_INT;
		srv->qops[1] = KB_DIGEST_QOP_AUTH;
		srv->n_qops = 2;
	}
	srv->lifetime = cfg->nonce_lifetime != 0 ? cfg->nonce_lifetime : 300;
	srv->nslots = cfg->nonce_slots != 0 ? cfg->nonce_slots : 65536;
	srv->userhash = cfg->userhash;
	srv->lookup = cfg->lookup;
	srv->lookup_ctx = cfg->lookup_ctx;
	srv->clock = cfg->clock != NULL ? cfg->clock : realtime;
	srv->clock_ctx = cfg->clock_ctx;

	if (cfg->secret != NULL) {
		memcpy(srv->key, cfg->secret, cfg->secret_len);
		srv->key_len = cfg->secret_len;
	} else {
		srv->key_len = KEY_LEN;
		if (RAND_bytes(srv->key, KEY_LEN) != 1)
			goto fail;
	}
	if (RAND_bytes(srv->instance, sizeof(srv->instance)) != 1)
		goto fail;
	srv->slots = calloc(srv->nslots, sizeof(srv->slots[0]));
	if (srv->slots == NULL)
		goto fail;
	if (pthread_mutex_init(&srv->lock, NULL) != 0)
		goto fail_slots;
	static atomic_uint_fast64_t next_id;
	srv->id = atomic_fetch_add(&next_id, 1) + 1;
	return srv;

fail_slots:
	free(srv->slots);
fail:
	kb_memzero(srv->key, sizeof(srv->key));
	free(srv);
	return config_fail(err, errlen, "out of memory or no randomness");
}

void kb_digest_server_free(struct kb_digest_server *srv)
{
	if (srv == NULL)
		return;
	pthread_mutex_destroy(&srv->lock);
	free(srv->slots);
	kb_memzero(srv->key, sizeof(srv->key));
	free(srv);
}

/* The thread's HMAC context keyed for srv: keyed once per thread (and
 * again only if the thread serves another server), then re-initialised
 * with the key it holds. */
static EVP_MAC_CTX *nonce_mac_ctx(const struct kb_digest_server *srv)
{
	struct kb_digest_tls *t = kb_digest_tls();
	EVP_MAC *hmac = kb_digest_hmac();
	if (t == NULL || hmac == NULL)
		return NULL;
	if (t->mac != NULL && t->mac_owner == srv->id)
		return EVP_MAC_init(t->mac, NULL, 0, NULL) == 1 ? t->mac : NULL;
	EVP_MAC_CTX_free(t->mac);
	t->mac_owner = 0;
	t->mac = EVP_MAC_CTX_new(hmac);
	if (t->mac == NULL)
		return NULL;
	char digest[] = "SHA2-256";
	OSSL_PARAM p[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
		OSSL_PARAM_construct_end(),
	};
	if (EVP_MAC_init(t->mac, srv->key, srv->key_len, p) != 1)
		return NULL;
	t->mac_owner = srv->id;
	return t->mac;
}

static int nonce_mac(const struct kb_digest_server *srv, const uint8_t *raw, uint8_t *mac)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	size_t mdlen = 0;
	EVP_MAC_CTX *ctx = nonce_mac_ctx(srv);
	if (ctx == NULL ||
	    EVP_MAC_update(ctx, (const uint8_t *)MAC_LABEL, sizeof(MAC_LABEL) - 1) != 1 ||
	    EVP_MAC_update(ctx, raw, NONCE_SIGNED) != 1 ||
	    EVP_MAC_final(ctx, md, &mdlen, sizeof(md)) != 1 || mdlen < NONCE_MAC)
		return -1;
	memcpy(mac, md, NONCE_MAC);
	return 0;
}

int kb_digest_server_nonce(struct kb_digest_server *srv, char nonce[KB_DIGEST_NONCE_LEN + 1])
{
	uint8_t raw[NONCE_RAW];
	uint32_t idx, gen;

	pthread_mutex_lock(&srv->lock);
	idx = srv->cursor;
	srv->cursor = (srv->cursor + 1) % srv->nslots;
	gen = ++srv->slots[idx].gen; /* evicts whatever nonce held the slot */
	srv->slots[idx].nc_max = 0;
	pthread_mutex_unlock(&srv->lock);

	uint64_t now = srv->clock(srv->clock_ctx);
	kb_put32(raw, idx);
	kb_put32(raw + 4, gen);
	kb_put32(raw + 8, (uint32_t)(now >> 32));
	kb_put32(raw + 12, (uint32_t)now);
	memcpy(raw + 16, srv->instance, 4);
	if (nonce_mac(srv, raw, raw + NONCE_SIGNED) != 0)
		return -1;
	EVP_EncodeBlock((unsigned char *)nonce, raw, NONCE_RAW);
	return 0;
}

size_t kb_digest_server_n_algs(const struct kb_digest_server *srv)
{
	return srv->n_algs;
}

int kb_digest_server_challenge(const struct kb_digest_server *srv, size_t index, const char *nonce,
			       bool stale, char *out, size_t cap)
{
	char qop[32] = "";
	if (index >= srv->n_algs || cap == 0)
		return -1;
	for (size_t i = 0; i < srv->n_qops; i++) {
		if (i > 0)
			strcat(qop, ",");
		strcat(qop, kb_digest_qop_name(srv->qops[i]));
	}
	snprintf(out, cap, "Digest ");
	if (kb_digest_append_quoted(out, cap, "realm", srv->realm) != 0 ||
	    kb_digest_append_quoted(out, cap, "qop", qop) != 0 ||
	    kb_digest_append_token(out, cap, "algorithm", kb_digest_alg_name(srv->algs[index])) !=
		    0 ||
	    kb_digest_append_quoted(out, cap, "nonce", nonce) != 0)
		return -1;
	if (stale && kb_digest_append_token(out, cap, "stale", "true") != 0)
		return -1;
	if (srv->userhash && kb_digest_append_token(out, cap, "userhash", "true") != 0)
		return -1;
	return 0;
}

/* Decodes and authenticates a nonce. Returns 0 if it is ours. */
static int nonce_open(const struct kb_digest_server *srv, const char *nonce, uint8_t *raw)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint8_t mac[NONCE_MAC];
	if (strlen(nonce) != KB_DIGEST_NONCE_LEN || strspn(nonce, b64) != KB_DIGEST_NONCE_LEN)
		return -1;
	if (EVP_DecodeBlock(raw, (const unsigned char *)nonce, KB_DIGEST_NONCE_LEN) != NONCE_RAW)
		return -1;
	if (nonce_mac(srv, raw, mac) != 0)
		return -1;
	return kb_ct_equal(mac, raw + NONCE_SIGNED, NONCE_MAC) ? 0 : -1;
}

static bool offered_alg(const struct kb_digest_server *srv, enum kb_digest_alg alg)
{
	for (size_t i = 0; i < srv->n_algs; i++)
		if (srv->algs[i] == alg)
			return true;
	return false;
}

static bool offered_qop(const struct kb_digest_server *srv, enum kb_digest_qop qop)
{
	for (size_t i = 0; i < srv->n_qops; i++)
		if (srv->qops[i] == qop)
			return true;
	return false;
}

static bool is_hex(const char *s, size_t n)
{
	if (strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return false;
	}
	return true;
}

static enum kb_digest_result verdict(struct kb_digest_verdict *v, enum kb_digest_result r,
				     const char *detail)
{
	v->result = r;
	if (detail != NULL)
		snprintf(v->detail, sizeof(v->detail), "%s", detail);
	return r;
}

/* snprintf(dst, cap, "%s", src) without the format parsing (hot path) */
static void copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static const enum kb_digest_field required[] = {KB_DF_USERNAME, KB_DF_REALM, KB_DF_NONCE, KB_DF_URI,
						KB_DF_RESPONSE};

/* Checks everything but the response; fills v->priv's public parts. */
static enum kb_digest_result check_params(const struct kb_digest_server *srv,
					  const struct kb_digest_request *req,
					  const struct kb_digest_fields *f,
					  struct kb_digest_verdict *v)
{
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (kb_digest_get(f, required[i]) == NULL)
			return verdict(v, KB_DIGEST_MALFORMED, "a required parameter is missing");
	copy_str(v->username, sizeof(v->username), kb_digest_get(f, KB_DF_USERNAME));
	if (strcmp(kb_digest_get(f, KB_DF_REALM), srv->realm) != 0)
		return verdict(v, KB_DIGEST_WRONG_REALM, NULL);

	const char *alg = kb_digest_get(f, KB_DF_ALGORITHM);
	v->priv.alg = KB_DIGEST_MD5; /* RFC 7616 §3.3: the default */
	if (alg != NULL && kb_digest_alg_parse(alg, &v->priv.alg) != 0)
		return verdict(v, KB_DIGEST_BAD_ALGORITHM, "unknown algorithm");
	if (!offered_alg(srv, v->priv.alg))
		return verdict(v, KB_DIGEST_BAD_ALGORITHM, "algorithm not offered");

	/* without qop there is no nc, hence no replay protection: refuse */
	const char *qop = kb_digest_get(f, KB_DF_QOP);
	if (qop == NULL || kb_digest_qop_parse(qop, &v->priv.qop) != 0 ||
	    !offered_qop(srv, v->priv.qop))
		return verdict(v, KB_DIGEST_BAD_QOP, NULL);
	const char *nc = kb_digest_get(f, KB_DF_NC), *cnonce = kb_digest_get(f, KB_DF_CNONCE);
	if (nc == NULL || !is_hex(nc, 8) || cnonce == NULL || cnonce[0] == '\0')
		return verdict(v, KB_DIGEST_MALFORMED, "nc or cnonce missing or malformed");
	if (!is_hex(kb_digest_get(f, KB_DF_RESPONSE), kb_digest_hex_len(v->priv.alg)))
		return verdict(v, KB_DIGEST_MALFORMED, "response is not a hex digest");

	if (req->uri == NULL || strcmp(kb_digest_get(f, KB_DF_URI), req->uri) != 0)
		return verdict(v, KB_DIGEST_WRONG_URI, NULL);

	memcpy(v->priv.nc, nc, 9);
	copy_str(v->priv.cnonce, sizeof(v->priv.cnonce), cnonce);
	copy_str(v->priv.nonce, sizeof(v->priv.nonce), kb_digest_get(f, KB_DF_NONCE));
	copy_str(v->priv.uri, sizeof(v->priv.uri), kb_digest_get(f, KB_DF_URI));
	return KB_DIGEST_OK;
}

/* Looks the user up and leaves the plain HA1 in v->priv.ha1. */
static enum kb_digest_result load_ha1(const struct kb_digest_server *srv,
				      const struct kb_digest_fields *f, struct kb_digest_verdict *v)
{
	/* on the stack (under 1 KB), zeroed for the callback, wiped at the end */
	struct kb_digest_secret sec, *s = &sec;
	enum kb_digest_result r = KB_DIGEST_OK;
	const char *uh = kb_digest_get(f, KB_DF_USERHASH);
	bool userhash = uh != NULL && strcasecmp(uh, "true") == 0;
	memset(s, 0, sizeof(*s));
	if (srv->lookup(srv->lookup_ctx, v->username, userhash, v->priv.alg, srv->realm, s) != 0) {
		r = verdict(v, KB_DIGEST_UNKNOWN_USER, NULL);
		goto out;
	}
	s->username[sizeof(s->username) - 1] = '\0';
	if (userhash) {
		if (s->username[0] == '\0') {
			r = verdict(v, KB_DIGEST_UNKNOWN_USER, "userhash not resolved");
			goto out;
		}
		snprintf(v->username, sizeof(v->username), "%s", s->username);
	}
	s->ha1[sizeof(s->ha1) - 1] = '\0';
	s->password[sizeof(s->password) - 1] = '\0';
	if (s->ha1[0] != '\0') {
		if (!is_hex(s->ha1, kb_digest_hex_len(v->priv.alg))) {
			r = verdict(v, KB_DIGEST_UNKNOWN_USER,
				    "lookup gave an HA1 of the wrong size");
			goto out;
		}
		/* H() inputs are lower-case hex, as the client computes them */
		for (size_t i = 0; i < sizeof(s->ha1); i++)
			v->priv.ha1[i] = (char)tolower((unsigned char)s->ha1[i]);
	} else if (kb_digest_ha1(v->priv.alg, v->username, srv->realm, s->password, v->priv.ha1) !=
		   0) {
		r = verdict(v, KB_DIGEST_UNKNOWN_USER, "HA1 computation failed");
	}
out:
	kb_memzero(s, sizeof(*s));
	return r;
}

int kb_digest_server_auth_info(const struct kb_digest_verdict *v, const uint8_t *body,
			       size_t body_len, char *out, size_t cap)
{
	char rspauth[KB_DIGEST_HEX_MAX];
	struct kb_digest_calc c = {
		.alg = v->priv.alg,
		.qop = v->priv.qop,
		.nonce = v->priv.nonce,
		.nc = v->priv.nc,
		.cnonce = v->priv.cnonce,
		.method = "", /* RFC 7616 §3.5: A2 without the method */
		.uri = v->priv.uri,
		.body = body,
		.body_len = body_len,
	};
	if (v->result != KB_DIGEST_OK || cap == 0 ||
	    kb_digest_response(&c, v->priv.ha1, rspauth) != 0)
		return -1;
	out[0] = '\0';
	if (kb_digest_append_token(out, cap, "qop", kb_digest_qop_name(v->priv.qop)) != 0 ||
	    kb_digest_append_quoted(out, cap, "rspauth", rspauth) != 0 ||
	    kb_digest_append_quoted(out, cap, "cnonce", v->priv.cnonce) != 0 ||
	    kb_digest_append_token(out, cap, "nc", v->priv.nc) != 0)
		return -1;
	return 0;
}

void kb_digest_verdict_wipe(struct kb_digest_verdict *v)
{
	kb_memzero(v->priv.ha1, sizeof(v->priv.ha1));
}

enum kb_digest_result kb_digest_server_verify(struct kb_digest_server *srv,
					      const struct kb_digest_request *req,
					      struct kb_digest_verdict *v)
{
	char expect[KB_DIGEST_HEX_MAX];
	uint8_t raw[NONCE_RAW];
	enum kb_digest_result r;
	/* 8 KB on the stack, never zeroed: the parser sets `present` and
	 * kb_digest_get reads only the values it marks */
	struct kb_digest_fields fields, *f = &fields;

	memset(v, 0, sizeof(*v));
	if (req->authorization == NULL)
		return verdict(v, KB_DIGEST_MISSING, NULL);
	if (kb_digest_parse(req->authorization, req->authorization_len, f, v->detail,
			    sizeof(v->detail)) != 0) {
		r = verdict(v, KB_DIGEST_MALFORMED, NULL);
		goto out;
	}
	r = check_params(srv, req, f, v);
	if (r != KB_DIGEST_OK)
		goto out;
	/* refuse forged nonces before the (possibly costly) user lookup */
	if (nonce_open(srv, v->priv.nonce, raw) != 0) {
		r = verdict(v, KB_DIGEST_BAD_NONCE, NULL);
		goto out;
	}
	r = load_ha1(srv, f, v);
	if (r != KB_DIGEST_OK)
		goto out;

	struct kb_digest_calc c = {
		.alg = v->priv.alg,
		.qop = v->priv.qop,
		.nonce = v->priv.nonce,
		.nc = v->priv.nc,
		.cnonce = v->priv.cnonce,
		.method = req->method != NULL ? req->method : "",
		.uri = v->priv.uri,
		.body = req->body,
		.body_len = req->body_len,
	};
	/* compare case-insensitively by lower-casing the hex we were sent */
	char *got = f->value[KB_DF_RESPONSE];
	for (char *p = got; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'F')
			*p = (char)(*p - 'A' + 'a');
	if (kb_digest_response(&c, v->priv.ha1, expect) != 0 ||
	    !kb_ct_equal(expect, got, kb_digest_hex_len(c.alg))) {
		r = verdict(v, KB_DIGEST_BAD_RESPONSE, NULL);
		goto out;
	}

	/* The client knows the password; now is the nonce still good? */
	uint32_t idx = kb_be32(raw), gen = kb_be32(raw + 4);
	uint64_t issued = (uint64_t)kb_be32(raw + 8) << 32 | kb_be32(raw + 12);
	uint64_t now = srv->clock(srv->clock_ctx);
	if (memcmp(raw + 16, srv->instance, 4) != 0 || idx >= srv->nslots ||
	    now > issued + srv->lifetime || issued > now + CLOCK_SKEW) {
		r = verdict(v, KB_DIGEST_STALE, "nonce expired");
		goto out;
	}
	uint32_t nc = (uint32_t)strtoul(v->priv.nc, NULL, 16);
	pthread_mutex_lock(&srv->lock);
	if (srv->slots[idx].gen != gen) {
		r = verdict(v, KB_DIGEST_STALE, "nonce evicted");
	} else if (nc <= srv->slots[idx].nc_max) {
		r = verdict(v, KB_DIGEST_REPLAY, NULL);
	} else {
		srv->slots[idx].nc_max = nc;
		r = verdict(v, KB_DIGEST_OK, NULL);
	}
	pthread_mutex_unlock(&srv->lock);
	if (r == KB_DIGEST_OK &&
	    kb_digest_server_auth_info(v, NULL, 0, v->auth_info, sizeof(v->auth_info)) != 0)
		v->auth_info[0] = '\0';
out:
	if (r != KB_DIGEST_OK)
		kb_digest_verdict_wipe(v);
	kb_memzero(expect, sizeof(expect));
	return r;
}
