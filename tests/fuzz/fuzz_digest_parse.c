/* Digest headers: any bytes must parse or fail cleanly; what parses must
 * survive a write/parse round trip; and the server must give a verdict
 * (never OK: the fuzzer cannot know a password-derived response and a
 * nonce MAC at once). */
#include "digest/digest.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t fixed_clock(void *ctx)
{
	(void)ctx;
	return 1700000000;
}

static int lookup(void *ctx, const char *username, bool userhash, enum kb_digest_alg alg,
		  const char *realm, struct kb_digest_secret *s)
{
	(void)ctx;
	(void)alg;
	(void)realm;
	if (strcmp(username, "alice") != 0 || userhash)
		return -1;
	strcpy(s->password, "wonderland");
	return 0;
}

static struct kb_digest_server *server(void)
{
	static struct kb_digest_server *srv;
	static const uint8_t key[32] = {42};
	if (srv == NULL) {
		struct kb_digest_server_config cfg = {
			.realm = "r",
			.secret = key,
			.secret_len = sizeof(key),
			.algs = {KB_DIGEST_MD5, KB_DIGEST_SHA256_SESS},
			.n_algs = 2,
			.nonce_slots = 16,
			.lookup = lookup,
			.clock = fixed_clock,
		};
		srv = kb_digest_server_new(&cfg, NULL, 0);
		if (srv == NULL)
			abort();
	}
	return srv;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct kb_digest_fields f, again;
	static struct kb_digest_verdict v;
	static char out[KB_DF_COUNT * (2 * KB_DIGEST_VALUE_MAX + 16) + 16];
	const char *s = (const char *)data;

	(void)kb_digest_parse_params(s, size, &f, NULL, 0);
	if (kb_digest_parse(s, size, &f, v.detail, sizeof(v.detail)) == 0) {
		strcpy(out, "Digest ");
		static const char *const names[KB_DF_COUNT] = {
			"username", "realm",   "nonce",   "uri",      "response", "algorithm",
			"cnonce",   "opaque",  "qop",     "nc",       "userhash", "stale",
			"domain",   "charset", "rspauth", "nextnonce"};
		for (int i = 0; i < KB_DF_COUNT; i++) {
			const char *val = kb_digest_get(&f, (enum kb_digest_field)i);
			if (val != NULL &&
			    kb_digest_append_quoted(out, sizeof(out), names[i], val) != 0)
				__builtin_trap();
		}
		if (kb_digest_parse(out, strlen(out), &again, NULL, 0) != 0 ||
		    again.present != f.present)
			__builtin_trap();
		for (int i = 0; i < KB_DF_COUNT; i++)
			if ((f.present & (1u << i)) != 0 && strcmp(f.value[i], again.value[i]) != 0)
				__builtin_trap();
	}

	struct kb_digest_request req = {
		.authorization = s,
		.authorization_len = size,
		.method = "POST",
		.uri = "/msk",
		.body = data,
		.body_len = size,
	};
	enum kb_digest_result r = kb_digest_server_verify(server(), &req, &v);
	if (r == KB_DIGEST_OK || r != v.result)
		__builtin_trap();
	kb_digest_verdict_wipe(&v);
	return 0;
}
