/* HTTP Digest verification on the server (kb_digest_server_verify): parse
 * the Authorization header, check the nonce's HMAC and nc, look the user up,
 * compute and compare the response. The headers are real client answers
 * (kb_digest_client_authorize) made before timing, in batches of BATCH with
 * nc 1..BATCH on a fresh nonce each batch (a second use of an nc is refused,
 * so each header is verified once); making a new batch is not timed. */
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "bench_common.h"
#include "digest/digest.h"

#define BATCH 512
#define HDR_MAX 1024
#define USER "AbCdEfGhIjKlMnOpQrStUv==@bsf01.mnc001.mcc001.3gppnetwork.org"
#define PASSWORD "c2VjcmV0IE1SSyBmb3IgdGhlIGJlbmNobWFyaw=="
#define URI "/keyburst/msk"

static char hdrs[BATCH][HDR_MAX];
static size_t hdr_len[BATCH];

static int lookup(void *ctx, const char *username, bool userhash, enum kb_digest_alg alg,
		  const char *realm, struct kb_digest_secret *secret)
{
	(void)ctx;
	(void)alg;
	(void)realm;
	if (userhash || strcmp(username, USER) != 0)
		return -1;
	snprintf(secret->password, sizeof(secret->password), "%s", PASSWORD);
	return 0;
}

/* A new nonce and BATCH answers to it. */
static int make_batch(struct kb_digest_server *srv)
{
	static struct kb_digest_fields ch;
	char nonce[KB_DIGEST_NONCE_LEN + 1], challenge[KB_DIGEST_CHALLENGE_MAX], err[128];
	static const uint8_t body[] = "<msk-request/>";

	if (kb_digest_server_nonce(srv, nonce) != 0 ||
	    kb_digest_server_challenge(srv, 0, nonce, false, challenge, sizeof(challenge)) != 0 ||
	    kb_digest_parse(challenge, strlen(challenge), &ch, err, sizeof(err)) != 0)
		return -1;
	for (unsigned i = 0; i < BATCH; i++) {
		struct kb_digest_client cl = {
			.username = USER,
			.password = PASSWORD,
			.method = "POST",
			.uri = URI,
			.body = body,
			.body_len = sizeof(body) - 1,
			.cnonce = "0a4f113b",
			.nc = i + 1,
			.qop = KB_DIGEST_QOP_AUTH,
		};

		if (kb_digest_client_authorize(&ch, &cl, hdrs[i], HDR_MAX, NULL, err,
					       sizeof(err)) != 0)
			return -1;
		hdr_len[i] = strlen(hdrs[i]);
	}
	return 0;
}

static void bm_digest(struct kb_bench_state *st)
{
	static struct kb_digest_verdict v;
	struct kb_digest_server_config cfg = {
		.realm = "3GPP-bootstrapping@" KB_BENCH_IDI,
		.algs = {(enum kb_digest_alg)kb_bench_state_range(st, 0)},
		.n_algs = 1,
		.lookup = lookup,
	};
	struct kb_digest_server *srv;
	char err[128];
	uint64_t bad = 0;
	unsigned i = 0;

	srv = kb_digest_server_new(&cfg, err, sizeof(err));
	if (srv == NULL || make_batch(srv) != 0) {
		kb_bench_state_skip_with_error(st, "digest server setup failed");
		kb_digest_server_free(srv);
		return;
	}
	while (kb_bench_keep_running(st)) {
		struct kb_digest_request req = {
			.authorization = hdrs[i],
			.authorization_len = hdr_len[i],
			.method = "POST",
			.uri = URI,
		};

		bad += kb_digest_server_verify(srv, &req, &v) != KB_DIGEST_OK;
		kb_digest_verdict_wipe(&v);
		if (++i == BATCH) {
			kb_bench_state_pause(st);
			bad += make_batch(srv) != 0;
			i = 0;
			kb_bench_state_resume(st);
		}
	}
	kb_digest_server_free(srv);
	if (bad != 0) {
		kb_bench_state_skip_with_error(st, "a genuine request was refused");
		return;
	}
	kb_bench_state_set_items_processed(st, kb_bench_state_iterations(st));
	kb_bench_state_set_label(st, kb_digest_alg_name(cfg.algs[0]));
}

void kb_bench_register_digest(void)
{
	static const char *const names[] = {"alg"};
	struct kb_bench *b = kb_bench_register("digest/verify", bm_digest);

	kb_bench_args(b, 1, (const int64_t[]){KB_DIGEST_MD5});
	kb_bench_args(b, 1, (const int64_t[]){KB_DIGEST_SHA256});
	kb_bench_arg_names(b, 1, names);
}
