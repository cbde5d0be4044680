/* The Digest computations of RFC 7616 §3.4.1-3.4.4: HA1, HA2, response,
 * userhash. H() is always rendered as lower-case hex, also where it is the
 * input of another H() (the -sess HA1, auth-int's H(body)). */
#include "digest/digest.h"

#include "util/hex.h"
#include "util/secret.h"

#include <openssl/evp.h>
#include <string.h>
#include <strings.h>

/* One row per algorithm: the table replaces six near-identical functions. */
static const struct {
	const char *name;
	const EVP_MD *(*md)(void);
	bool sess;
} algs[KB_DIGEST_ALG_COUNT] = {
	[KB_DIGEST_MD5] = {"MD5", EVP_md5, false},
	[KB_DIGEST_MD5_SESS] = {"MD5-sess", EVP_md5, true},
	[KB_DIGEST_SHA256] = {"SHA-256", EVP_sha256, false},
	[KB_DIGEST_SHA256_SESS] = {"SHA-256-sess", EVP_sha256, true},
	[KB_DIGEST_SHA512_256] = {"SHA-512-256", EVP_sha512_256, false},
	[KB_DIGEST_SHA512_256_SESS] = {"SHA-512-256-sess", EVP_sha512_256, true},
};

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
	return alg_ok(alg) ? 2 * (size_t)EVP_MD_get_size(algs[alg].md()) : 0;
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
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (ctx == NULL || EVP_DigestInit_ex(ctx, algs[alg].md(), NULL) != 1)
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
	EVP_MD_CTX_free(ctx);
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
