/* The Digest computations of RFC 7616 §3.4.1-3.4.4: HA1, HA2, response,
 * userhash. H() is always rendered as lower-case hex, also where it is the
 * input of another H() (the -sess HA1, auth-int's H(body)). */
#include "digest/digest.h"

#include "digest_internal.h"
#include "util/hex.h"
#include "util/secret.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The hash functions behind the algorithms: fetched once (an implicit
 * fetch through EVP_sha256() & co. costs a locked lookup per EVP init). */
enum hash { H_MD5, H_SHA256, H_SHA512_256, H_COUNT };

static const struct {
	const char *fetch_name;
	const EVP_MD *(*legacy)(void); /* if the fetch fails */
	size_t size;
} hashes[H_COUNT] = {
	[H_MD5] = {"MD5", EVP_md5, 16},
	[H_SHA256] = {"SHA2-256", EVP_sha256, 32},
	[H_SHA512_256] = {"SHA2-512/256", EVP_sha512_256, 32},
};

/* One row per algorithm: the table replaces six near-identical functions. */
static const struct {
	const char *name;
	enum hash h;
	bool sess;
} algs[KB_DIGEST_ALG_COUNT] = {
	[KB_DIGEST_MD5] = {"MD5", H_MD5, false},
	[KB_DIGEST_MD5_SESS] = {"MD5-sess", H_MD5, true},
	[KB_DIGEST_SHA256] = {"SHA-256", H_SHA256, false},
	[KB_DIGEST_SHA256_SESS] = {"SHA-256-sess", H_SHA256, true},
	[KB_DIGEST_SHA512_256] = {"SHA-512-256", H_SHA512_256, false},
	[KB_DIGEST_SHA512_256_SESS] = {"SHA-512-256-sess", H_SHA512_256, true},
};

static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;
static const EVP_MD *fetched_md[H_COUNT];
static EVP_MAC *fetched_hmac;
static pthread_key_t tls_key;
static bool tls_key_ok;

static void tls_free(void *p)
{
	struct kb_digest_tls *t = p;
	EVP_MD_CTX_free(t->md);
	EVP_MAC_CTX_free(t->mac); /* cleanses the keyed HMAC state */
	free(t);
}

/* Kept for the life of the process: never freed, so no thread can see one
 * disappear. */
static void fetch_all(void)
{
	for (int i = 0; i < H_COUNT; i++) {
		const EVP_MD *md = EVP_MD_fetch(NULL, hashes[i].fetch_name, NULL);
		fetched_md[i] = md != NULL ? md : hashes[i].legacy();
	}
	fetched_hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	tls_key_ok = pthread_key_create(&tls_key, tls_free) == 0;
}

const EVP_MD *kb_digest_md(enum kb_digest_alg alg)
{
	if ((unsigned)alg >= KB_DIGEST_ALG_COUNT)
		return NULL;
	pthread_once(&fetch_once, fetch_all);
	return fetched_md[algs[alg].h];
}

EVP_MAC *kb_digest_hmac(void)
{
	pthread_once(&fetch_once, fetch_all);
	return fetched_hmac;
}

static _Thread_local struct kb_digest_tls *tls;

struct kb_digest_tls *kb_digest_tls(void)
{
	if (tls != NULL)
		return tls;
	pthread_once(&fetch_once, fetch_all);
	if (!tls_key_ok)
		return NULL;
	struct kb_digest_tls *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->md = EVP_MD_CTX_new();
	if (t->md == NULL || pthread_setspecific(tls_key, t) != 0) {
		EVP_MD_CTX_free(t->md);
		free(t);
		return NULL;
	}
	tls = t;
	return t;
}

static bool alg_ok(enum kb_digest_alg alg)
{
	return (unsigned)alg < KB_DIGEST_ALG_COUNT;
}

const char *kb_digest_alg_name(enum kb_digest_alg alg)
{
	return alg_ok(alg) ? algs[alg].name : NULL;
}

int kb_digest_alg_parse(const char *name, enum kb_digest_alg *alg)
{
	for (int i = 0; i < KB_DIGEST_ALG_COUNT; i++) {
		if (strcasecmp(name, algs[i].name) == 0) {
			*alg = (enum kb_digest_alg)i;
			return 0;
		}
	}
	return -1;
}

size_t kb_digest_hex_len(enum kb_digest_alg alg)
{
	return alg_ok(alg) ? 2 * hashes[algs[alg].h].size : 0;
}

const char *kb_digest_qop_name(enum kb_digest_qop qop)
{
	switch (qop) {
	case KB_DIGEST_QOP_AUTH:
		return "auth";
	case KB_DIGEST_QOP_AUTH_INT:
		return "auth-int";
	default:
		return "";
	}
}

int kb_digest_qop_parse(const char *name, enum kb_digest_qop *qop)
{
	if (strcasecmp(name, "auth") == 0)
		*qop = KB_DIGEST_QOP_AUTH;
	else if (strcasecmp(name, "auth-int") == 0)
		*qop = KB_DIGEST_QOP_AUTH_INT;
	else
		return -1;
	return 0;
}

/* A part of an H() input: n bytes at p. Parts are joined with ':'. */
struct part {
	const void *p;
	size_t n;
};

#define STR(s) ((struct part){(s), strlen(s)})

/* out_hex = hex(H(parts[0] ":" parts[1] ":" ...)). */
static int hash_join(enum kb_digest_alg alg, const struct part *parts, size_t n, char *out_hex)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int rc = -1;
	struct kb_digest_tls *t = kb_digest_tls();
	EVP_MD_CTX *ctx = t != NULL ? t->md : NULL;
	/* the thread's context: re-initialised for the same algorithm, it
	 * keeps its provider state instead of allocating a new one */
	if (ctx == NULL || EVP_DigestInit_ex2(ctx, kb_digest_md(alg), NULL) != 1)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && EVP_DigestUpdate(ctx, ":", 1) != 1)
			goto out;
		if (parts[i].n > 0 && EVP_DigestUpdate(ctx, parts[i].p, parts[i].n) != 1)
			goto out;
	}
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1)
		goto out;
	kb_hex_encode(md, mdlen, out_hex);
	rc = 0;
out:
	kb_memzero(md, sizeof(md));
	return rc;
}

int kb_digest_ha1(enum kb_digest_alg alg, const char *user, const char *realm, const char *password,
		  char *ha1_hex)
{
	if (!alg_ok(alg))
		return -1;
	struct part p[] = {STR(user), STR(realm), STR(password)};
	return hash_join(alg, p, 3, ha1_hex);
}

int kb_digest_userhash(enum kb_digest_alg alg, const char *user, const char *realm, char *out_hex)
{
	if (!alg_ok(alg))
		return -1;
	struct part p[] = {STR(user), STR(realm)};
	return hash_join(alg, p, 2, out_hex);
}

int kb_digest_response(const struct kb_digest_calc *c, const char *ha1_hex, char *out_hex)
{
	char ha1s[KB_DIGEST_HEX_MAX], ha2[KB_DIGEST_HEX_MAX], hbody[KB_DIGEST_HEX_MAX];
	int rc = -1;
	if (!alg_ok(c->alg) || strlen(ha1_hex) != kb_digest_hex_len(c->alg))
		return -1;
	if (c->qop != KB_DIGEST_QOP_NONE && (c->nc == NULL || c->cnonce == NULL))
		return -1;

	const char *ha1 = ha1_hex;
	if (algs[c->alg].sess) {
		/* -sess without qop has no cnonce: RFC 7616 requires qop then */
		if (c->qop == KB_DIGEST_QOP_NONE)
			return -1;
		struct part p[] = {STR(ha1_hex), STR(c->nonce), STR(c->cnonce)};
		if (hash_join(c->alg, p, 3, ha1s) != 0)
			goto out;
		ha1 = ha1s;
	}

	if (c->qop == KB_DIGEST_QOP_AUTH_INT) {
		struct part pb = {c->body, c->body != NULL ? c->body_len : 0};
		if (hash_join(c->alg, &pb, 1, hbody) != 0)
			goto out;
		struct part p[] = {STR(c->method), STR(c->uri), STR(hbody)};
		if (hash_join(c->alg, p, 3, ha2) != 0)
			goto out;
	} else {
		struct part p[] = {STR(c->method), STR(c->uri)};
		if (hash_join(c->alg, p, 2, ha2) != 0)
			goto out;
	}

	if (c->qop == KB_DIGEST_QOP_NONE) {
		struct part p[] = {STR(ha1), STR(c->nonce), STR(ha2)};
		rc = hash_join(c->alg, p, 3, out_hex);
	} else {
		struct part p[] = {STR(ha1),
				   STR(c->nonce),
				   STR(c->nc),
				   STR(c->cnonce),
				   STR(kb_digest_qop_name(c->qop)),
				   STR(ha2)};
		rc = hash_join(c->alg, p, 6, out_hex);
	}
out:
	kb_memzero(ha1s, sizeof(ha1s)); /* a session key in its own right */
	return rc;
}
