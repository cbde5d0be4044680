/* The Digest client, for the UE simulator and the CLI: answer a challenge
 * with an Authorization value (RFC 7616 §3.4). */
#include "digest/digest.h"

#include "util/hex.h"
#include "util/secret.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int fail(char *err, size_t errlen, const char *msg)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", msg);
	return -1;
}

/* Does the challenge's comma-separated qop list hold `want`? */
static bool qop_offered(const char *list, enum kb_digest_qop want)
{
	const char *name = kb_digest_qop_name(want);
	size_t n = strlen(name);
	const char *p = list;
	while (*p != '\0') {
		p += strspn(p, " \t,");
		size_t len = strcspn(p, " \t,");
		if (len == n && strncasecmp(p, name, n) == 0)
			return true;
		p += len;
	}
	return false;
}

/* Returns 0 with the qop to use, or -1 if a list is offered but holds
 * nothing we know. No list means RFC 2069 (qop NONE). */
static int choose_qop(const char *list, enum kb_digest_qop pref, enum kb_digest_qop *qop)
{
	*qop = KB_DIGEST_QOP_NONE;
	if (list == NULL)
		return 0;
	if (pref != KB_DIGEST_QOP_NONE && qop_offered(list, pref))
		*qop = pref;
	else if (qop_offered(list, KB_DIGEST_QOP_AUTH))
		*qop = KB_DIGEST_QOP_AUTH;
	else if (qop_offered(list, KB_DIGEST_QOP_AUTH_INT))
		*qop = KB_DIGEST_QOP_AUTH_INT;
	else
		return -1;
	return 0;
}

int kb_digest_client_authorize(const struct kb_digest_fields *ch, const struct kb_digest_client *cl,
			       char *out, size_t cap, char *cnonce_out, char *err, size_t errlen)
{
	char ha1[KB_DIGEST_HEX_MAX], resp[KB_DIGEST_HEX_MAX], uhash[KB_DIGEST_HEX_MAX];
	char cnonce[KB_DIGEST_VALUE_MAX], nc[9];
	enum kb_digest_alg alg = KB_DIGEST_MD5;
	int rc = -1;

	const char *realm = kb_digest_get(ch, KB_DF_REALM), *nonce = kb_digest_get(ch, KB_DF_NONCE);
	if (realm == NULL || nonce == NULL)
		return fail(err, errlen, "challenge without realm or nonce");
	const char *a = kb_digest_get(ch, KB_DF_ALGORITHM);
	if (a != NULL && kb_digest_alg_parse(a, &alg) != 0)
		return fail(err, errlen, "challenge algorithm not supported");
	enum kb_digest_qop qop;
	if (choose_qop(kb_digest_get(ch, KB_DF_QOP), cl->qop, &qop) != 0)
		return fail(err, errlen, "challenge offers no qop we support");

	if (cl->cnonce != NULL) {
		if (strlen(cl->cnonce) >= sizeof(cnonce) || cl->cnonce[0] == '\0')
			return fail(err, errlen, "cnonce empty or too long");
		snprintf(cnonce, sizeof(cnonce), "%s", cl->cnonce);
	} else {
		uint8_t rnd[16];
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			return fail(err, errlen, "no randomness");
		kb_hex_encode(rnd, sizeof(rnd), cnonce);
	}
	snprintf(nc, sizeof(nc), "%08x", cl->nc != 0 ? cl->nc : 1);

	const char *uh = kb_digest_get(ch, KB_DF_USERHASH);
	bool userhash = uh != NULL && strcasecmp(uh, "true") == 0;
	if (kb_digest_ha1(alg, cl->username, realm, cl->password, ha1) != 0 ||
	    (userhash && kb_digest_userhash(alg, cl->username, realm, uhash) != 0)) {
		fail(err, errlen, "hash failed");
		goto out;
	}
	struct kb_digest_calc c = {
		.alg = alg,
		.qop = qop,
		.nonce = nonce,
		.nc = nc,
		.cnonce = cnonce,
		.method = cl->method,
		.uri = cl->uri,
		.body = cl->body,
		.body_len = cl->body_len,
	};
	if (kb_digest_response(&c, ha1, resp) != 0) {
		fail(err, errlen, "response computation failed (-sess needs qop)");
		goto out;
	}

	const char *opaque = kb_digest_get(ch, KB_DF_OPAQUE);
	snprintf(out, cap, "Digest ");
	if (kb_digest_append_quoted(out, cap, "username", userhash ? uhash : cl->username) != 0 ||
	    kb_digest_append_quoted(out, cap, "realm", realm) != 0 ||
	    kb_digest_append_quoted(out, cap, "nonce", nonce) != 0 ||
	    kb_digest_append_quoted(out, cap, "uri", cl->uri) != 0 ||
	    (a != NULL &&
	     kb_digest_append_token(out, cap, "algorithm", kb_digest_alg_name(alg)) != 0) ||
	    kb_digest_append_quoted(out, cap, "response", resp) != 0 ||
	    (opaque != NULL && kb_digest_append_quoted(out, cap, "opaque", opaque) != 0) ||
	    (userhash && kb_digest_append_token(out, cap, "userhash", "true") != 0)) {
		fail(err, errlen, "Authorization value does not fit");
		goto out;
	}
	if (qop != KB_DIGEST_QOP_NONE &&
	    (kb_digest_append_token(out, cap, "qop", kb_digest_qop_name(qop)) != 0 ||
	     kb_digest_append_token(out, cap, "nc", nc) != 0 ||
	     kb_digest_append_quoted(out, cap, "cnonce", cnonce) != 0)) {
		fail(err, errlen, "Authorization value does not fit");
		goto out;
	}
	if (cnonce_out != NULL)
		memcpy(cnonce_out, cnonce, strlen(cnonce) + 1);
	rc = 0;
out:
	kb_memzero(ha1, sizeof(ha1));
	return rc;
}
