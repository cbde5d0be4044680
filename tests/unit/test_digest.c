/* HTTP Digest: RFC 2617 / RFC 7616 known answers, a differential check
 * against OpenSSL called directly, the server's verdicts and the parser. */
#include "check.h"
#include "digest/digest.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* ---- independent reference: whole strings hashed with EVP_Digest ---- */

static void ref_h(const EVP_MD *md, const void *data, size_t n, char *hex)
{
	unsigned char out[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	EVP_Digest(data, n, out, &len, md, NULL);
	for (unsigned int i = 0; i < len; i++)
		sprintf(hex + 2 * i, "%02x", out[i]);
	hex[2 * len] = '\0';
}

static void ref_hs(const EVP_MD *md, const char *s, char *hex)
{
	ref_h(md, s, strlen(s), hex);
}

struct ref {
	const EVP_MD *md;
	bool sess;
	const char *qop; /* "auth" or "auth-int" */
	const char *user, *realm, *pass, *method, *uri, *nonce, *nc, *cnonce;
	const unsigned char *body;
	size_t body_len;
};

static void ref_response(const struct ref *r, char *out)
{
	char buf[2048], ha1[129], ha2[129], hb[129];
	snprintf(buf, sizeof(buf), "%s:%s:%s", r->user, r->realm, r->pass);
	ref_hs(r->md, buf, ha1);
	if (r->sess) {
		snprintf(buf, sizeof(buf), "%s:%s:%s", ha1, r->nonce, r->cnonce);
		ref_hs(r->md, buf, ha1);
	}
	if (strcmp(r->qop, "auth-int") == 0) {
		ref_h(r->md, r->body, r->body_len, hb);
		snprintf(buf, sizeof(buf), "%s:%s:%s", r->method, r->uri, hb);
	} else {
		snprintf(buf, sizeof(buf), "%s:%s", r->method, r->uri);
	}
	ref_hs(r->md, buf, ha2);
	snprintf(buf, sizeof(buf), "%s:%s:%s:%s:%s:%s", ha1, r->nonce, r->nc, r->cnonce, r->qop,
		 ha2);
	ref_hs(r->md, buf, out);
}

/* ---- known answers ---- */

static void test_rfc2617(void)
{
	/* RFC 2617 §3.5 */
	char ha1[KB_DIGEST_HEX_MAX], resp[KB_DIGEST_HEX_MAX];
	CHECK(kb_digest_ha1(KB_DIGEST_MD5, "Mufasa", "testrealm@host.com", "Circle Of Life", ha1) ==
	      0);
	struct kb_digest_calc c = {
		.alg = KB_DIGEST_MD5,
		.qop = KB_DIGEST_QOP_AUTH,
		.nonce = "dcd98b7102dd2f0e8b11d0f600bfb0c093",
		.nc = "00000001",
		.cnonce = "0a4f113b",
		.method = "GET",
		.uri = "/dir/index.html",
	};
	CHECK(kb_digest_response(&c, ha1, resp) == 0);
	CHECK(strcmp(resp, "6629fae49393a05397450978507c4ef1") == 0);

	/* the same from the RFC's header text */
	static const char hdr[] =
		"Digest username=\"Mufasa\",\r\n realm=\"testrealm@host.com\",\r\n"
		" nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"/dir/index.html\", "
		"qop=auth, nc=00000001, cnonce=\"0a4f113b\", "
		"response=\"6629fae49393a05397450978507c4ef1\", "
		"opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"";
	struct kb_digest_fields f;
	char err[128];
	/* obs-fold (CRLF SP) is not ours to undo: the HTTP library unfolds */
	CHECK(kb_digest_parse(hdr, strlen(hdr), &f, err, sizeof(err)) != 0);
	static const char unfolded[] =
		"Digest username=\"Mufasa\", realm=\"testrealm@host.com\", "
		"nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"/dir/index.html\", "
		"qop=auth, nc=00000001, cnonce=\"0a4f113b\", "
		"response=\"6629fae49393a05397450978507c4ef1\", "
		"opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"";
	CHECK(kb_digest_parse(unfolded, strlen(unfolded), &f, err, sizeof(err)) == 0);
	CHECK(strcmp(kb_digest_get(&f, KB_DF_CNONCE), "0a4f113b") == 0);
	CHECK(strcmp(kb_digest_get(&f, KB_DF_RESPONSE), resp) == 0);
	CHECK(strcmp(kb_digest_get(&f, KB_DF_OPAQUE), "5ccc069c403ebaf9f0171e9517f40e41") == 0);
	CHECK(kb_digest_get(&f, KB_DF_ALGORITHM) == NULL);
}

/* Pulls one parameter out of a header value we produced. */
static bool param(const char *hdr, enum kb_digest_field id, char *out)
{
	struct kb_digest_fields *f = malloc(sizeof(*f));
	bool ok = f != NULL && kb_digest_parse(hdr, strlen(hdr), f, NULL, 0) == 0 &&
		  kb_digest_get(f, id) != NULL;
	if (ok)
		strcpy(out, kb_digest_get(f, id));
	free(f);
	return ok;
}

static void test_rfc7616_391(void)
{
	/* RFC 7616 §3.9.1: the two challenges differ only in the algorithm */
	static const char *const ch[] = {
		"Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", algorithm=MD5, "
		"nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", "
		"opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"",
		"Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", "
		"algorithm=SHA-256, "
		"nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", "
		"opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"",
	};
	static const char *const want[] = {
		"8ca523f5e9506fed4657c9700eebdbec",
		"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
	};
	for (int i = 0; i < 2; i++) {
		struct kb_digest_fields f;
		char out[1024], err[128], v[KB_DIGEST_VALUE_MAX];
		CHECK(kb_digest_parse(ch[i], strlen(ch[i]), &f, err, sizeof(err)) == 0);
		struct kb_digest_client cl = {
			.username = "Mufasa",
			.password = "Circle of Life",
			.method = "GET",
			.uri = "/dir/index.html",
			.cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
			.nc = 1,
		};
		CHECK(kb_digest_client_authorize(&f, &cl, out, sizeof(out), NULL, err,
						 sizeof(err)) == 0);
		CHECK(param(out, KB_DF_RESPONSE, v) && strcmp(v, want[i]) == 0);
		CHECK(param(out, KB_DF_QOP, v) && strcmp(v, "auth") == 0);
		CHECK(param(out, KB_DF_NC, v) && strcmp(v, "00000001") == 0);
		CHECK(param(out, KB_DF_OPAQUE, v) &&
		      strcmp(v, "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS") == 0);
	}
}

static void test_rfc7616_392_userhash(void)
{
	/* RFC 7616 §3.9.2: SHA-512-256 with userhash ("Jäsøn Doe" in UTF-8).
	 * The RFC's printed values were made with SHA-512 truncated to 256 bits,
	 * not FIPS 180-4 SHA-512/256 (erratum 4897); we check the erratum's
	 * userhash, and that the RFC's numbers are truncated SHA-512 so the
	 * inputs here are the RFC's. */
	static const char user[] = "J\xc3\xa4s\xc3\xb8n Doe";
	char h[KB_DIGEST_HEX_MAX], ha1[KB_DIGEST_HEX_MAX], trunc[129];
	CHECK(kb_digest_userhash(KB_DIGEST_SHA512_256, user, "api@example.org", h) == 0);
	CHECK(strcmp(h, "793263caabb707a56211940d90411ea4a575adeccb7e360aeb624ed06ece9b0b") == 0);
	ref_hs(EVP_sha512(), "J\xc3\xa4s\xc3\xb8n Doe:api@example.org", trunc);
	CHECK(strncmp(trunc, "488869477bf257147b804c45308cd62ac4e25eb717b12b298c79e62dcea254ec",
		      64) == 0);

	struct ref r = {.md = EVP_sha512_256(),
			.qop = "auth",
			.user = user,
			.realm = "api@example.org",
			.pass = "Secret, or not?",
			.method = "GET",
			.uri = "/doe.json",
			.nonce = "5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK",
			.nc = "00000001",
			.cnonce = "NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v"};
	char want[129];
	ref_response(&r, want);
	CHECK(kb_digest_ha1(KB_DIGEST_SHA512_256, user, r.realm, r.pass, ha1) == 0);
	struct kb_digest_calc c = {
		.alg = KB_DIGEST_SHA512_256,
		.qop = KB_DIGEST_QOP_AUTH,
		.nonce = r.nonce,
		.nc = r.nc,
		.cnonce = r.cnonce,
		.method = r.method,
		.uri = r.uri,
	};
	CHECK(kb_digest_response(&c, ha1, h) == 0);
	CHECK(strcmp(h, want) == 0);
	CHECK(strcmp(h, "ae66e67d6b427bd3f120414a82e4acff38e8ecd9101d6c861229025f607a79dd") != 0);
}

/* auth-int and -sess against the whole-string reference, every algorithm. */
static void test_differential(void)
{
	static const struct {
		enum kb_digest_alg alg;
		const EVP_MD *(*md)(void);
		bool sess;
	} t[] = {
		{KB_DIGEST_MD5, EVP_md5, false},
		{KB_DIGEST_MD5_SESS, EVP_md5, true},
		{KB_DIGEST_SHA256, EVP_sha256, false},
		{KB_DIGEST_SHA256_SESS, EVP_sha256, true},
		{KB_DIGEST_SHA512_256, EVP_sha512_256, false},
		{KB_DIGEST_SHA512_256_SESS, EVP_sha512_256, true},
	};
	unsigned char body[300];
	for (size_t i = 0; i < sizeof(body); i++)
		body[i] = (unsigned char)(i * 37 + 11);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		for (int q = 0; q < 2; q++) {
			for (size_t blen = 0; blen <= sizeof(body); blen += 150) {
				struct ref r = {
					.md = t[i].md(),
					.sess = t[i].sess,
					.qop = q ? "auth-int" : "auth",
					.user = "1234@bsf.mnc001.mcc001.pub.3gppnetwork.org",
					.realm = "3GPP-bootstrapping@bmsc.example.org",
					.pass = "edCOMq6r1fP2gGHs93FbQk/FEwJt1S9GyZszcFJ0xCk=",
					.method = "POST",
					.uri = "/keymanagement/msk",
					.nonce = "abc/def+ghi",
					.nc = "0000002a",
					.cnonce = "c0ffee",
					.body = body,
					.body_len = blen,
				};
				char want[129], got[KB_DIGEST_HEX_MAX], ha1[KB_DIGEST_HEX_MAX];
				ref_response(&r, want);
				CHECK(kb_digest_ha1(t[i].alg, r.user, r.realm, r.pass, ha1) == 0);
				struct kb_digest_calc c = {
					.alg = t[i].alg,
					.qop = q ? KB_DIGEST_QOP_AUTH_INT : KB_DIGEST_QOP_AUTH,
					.nonce = r.nonce,
					.nc = r.nc,
					.cnonce = r.cnonce,
					.method = r.method,
					.uri = r.uri,
					.body = body,
					.body_len = blen,
				};
				CHECK(kb_digest_response(&c, ha1, got) == 0);
				CHECK(strlen(got) == kb_digest_hex_len(t[i].alg));
				if (strcmp(got, want) != 0)
					fprintf(stderr, "  %s qop %d body %zu: %s != %s\n",
						kb_digest_alg_name(t[i].alg), q, blen, got, want);
				CHECK(strcmp(got, want) == 0);
			}
		}
	}
	/* -sess without qop is refused (it needs a cnonce) */
	char ha1[KB_DIGEST_HEX_MAX], out[KB_DIGEST_HEX_MAX];
	CHECK(kb_digest_ha1(KB_DIGEST_MD5_SESS, "u", "r", "p", ha1) == 0);
	struct kb_digest_calc c = {
		.alg = KB_DIGEST_MD5_SESS, .nonce = "n", .method = "GET", .uri = "/"};
	CHECK(kb_digest_response(&c, ha1, out) != 0);

	enum kb_digest_alg a;
	CHECK(kb_digest_alg_parse("sha-256-SESS", &a) == 0 && a == KB_DIGEST_SHA256_SESS);
	CHECK(kb_digest_alg_parse("SHA-1", &a) != 0);
}

/* ---- server ---- */

static uint64_t fake_now = 1700000000;

static uint64_t fake_clock(void *ctx)
{
	(void)ctx;
	return fake_now;
}

static const char REALM[] = "3GPP-bootstrapping@bmsc.example.org";

static int lookup(void *ctx, const char *username, bool userhash, enum kb_digest_alg alg,
		  const char *realm, struct kb_digest_secret *s)
{
	(void)ctx;
	static const char *const users[][2] = {{"alice", "wonderland"},
					       {"btid@bsf.example.org", "bXJrLWJhc2U2NA=="}};
	for (size_t i = 0; i < 2; i++) {
		char h[KB_DIGEST_HEX_MAX];
		const char *name = users[i][0];
		if (userhash) {
			kb_digest_userhash(alg, name, realm, h);
			name = h;
		}
		if (strcmp(username, name) == 0) {
			strcpy(s->username, users[i][0]);
			strcpy(s->password, users[i][1]);
			return 0;
		}
	}
	if (strcmp(username, "ha1user") == 0) {
		/* a password file entry: the HA1, never the password */
		return kb_digest_ha1(alg, "ha1user", realm, "stored", s->ha1);
	}
	return -1;
}

static struct kb_digest_server *server(const enum kb_digest_alg *algs, size_t n_algs,
				       const enum kb_digest_qop *qops, size_t n_qops,
				       uint32_t slots, const uint8_t *key, bool userhash)
{
	struct kb_digest_server_config cfg = {
		.realm = REALM,
		.secret = key,
		.secret_len = key != NULL ? 32 : 0,
		.n_algs = n_algs,
		.n_qops = n_qops,
		.nonce_lifetime = 60,
		.nonce_slots = slots,
		.userhash = userhash,
		.lookup = lookup,
		.clock = fake_clock,
	};
	if (n_algs > 0)
		memcpy(cfg.algs, algs, n_algs * sizeof(*algs));
	if (n_qops > 0)
		memcpy(cfg.qops, qops, n_qops * sizeof(*qops));
	char err[128];
	struct kb_digest_server *s = kb_digest_server_new(&cfg, err, sizeof(err));
	if (s == NULL)
		fprintf(stderr, "server: %s\n", err);
	return s;
}

struct client_req {
	const char *user, *pass, *method, *uri;
	const char *body;
	uint32_t nc;
	enum kb_digest_qop qop;
	const char *cnonce;
};

/* Answer challenge `ch` as a client: the Authorization value in out. */
static int answer(const char *ch, const struct client_req *r, char *out, size_t cap)
{
	struct kb_digest_fields f;
	char err[128];
	if (kb_digest_parse(ch, strlen(ch), &f, err, sizeof(err)) != 0) {
		fprintf(stderr, "challenge: %s\n", err);
		return -1;
	}
	struct kb_digest_client cl = {
		.username = r->user,
		.password = r->pass,
		.method = r->method != NULL ? r->method : "POST",
		.uri = r->uri != NULL ? r->uri : "/msk",
		.body = (const uint8_t *)r->body,
		.body_len = r->body != NULL ? strlen(r->body) : 0,
		.cnonce = r->cnonce,
		.nc = r->nc,
		.qop = r->qop,
	};
	if (kb_digest_client_authorize(&f, &cl, out, cap, NULL, err, sizeof(err)) != 0) {
		fprintf(stderr, "authorize: %s\n", err);
		return -1;
	}
	return 0;
}

static enum kb_digest_result verify(struct kb_digest_server *s, const char *auth, const char *body,
				    struct kb_digest_verdict *v)
{
	struct kb_digest_request req = {
		.authorization = auth,
		.authorization_len = auth != NULL ? strlen(auth) : 0,
		.method = "POST",
		.uri = "/msk",
		.body = (const uint8_t *)body,
		.body_len = body != NULL ? strlen(body) : 0,
	};
	enum kb_digest_result r = kb_digest_server_verify(s, &req, v);
	if (v->result != r)
		return KB_DIGEST_RESULT_COUNT;
	return r;
}

/* One fresh challenge for algorithm number idx. */
static void challenge(struct kb_digest_server *s, size_t idx, char *ch, size_t cap)
{
	char nonce[KB_DIGEST_NONCE_LEN + 1];
	CHECK(kb_digest_server_nonce(s, nonce) == 0);
	CHECK(kb_digest_server_challenge(s, idx, nonce, false, ch, cap) == 0);
}

static void test_server_flows(void)
{
	struct kb_digest_server *s = server(NULL, 0, NULL, 0, 0, NULL, false);
	struct kb_digest_verdict *v = malloc(sizeof(*v));
	char ch[KB_DIGEST_CHALLENGE_MAX], auth[2048], ch2[KB_DIGEST_CHALLENGE_MAX];
	CHECK(s != NULL && v != NULL);
	if (s == NULL || v == NULL)
		goto out;
	fake_now = 1700000000;

	/* defaults: SHA-256 then MD5, qop "auth-int,auth" in that order */
	CHECK(kb_digest_server_n_algs(s) == 2);
	challenge(s, 0, ch, sizeof(ch));
	CHECK(strstr(ch, "algorithm=SHA-256") != NULL);
	CHECK(strstr(ch, "qop=\"auth-int,auth\"") != NULL);
	CHECK(strstr(ch, "realm=\"3GPP-bootstrapping@bmsc.example.org\"") != NULL);
	CHECK(strstr(ch, "stale") == NULL);

	CHECK(verify(s, NULL, NULL, v) == KB_DIGEST_MISSING);

	/* good response */
	struct client_req good = {
		.user = "alice", .pass = "wonderland", .nc = 1, .cnonce = "0a4f113b"};
	CHECK(answer(ch, &good, auth, sizeof(auth)) == 0);
	CHECK(verify(s, auth, NULL, v) == KB_DIGEST_OK);
	CHECK(strcmp(v->username, "alice") == 0);

	/* rspauth recomputed independently: A2 = ":" uri */
	char nonce[KB_DIGEST_VALUE_MAX], want[129];
	CHECK(param(auth, KB_DF_NONCE, nonce));
	struct ref r = {.md = EVP_sha256(),
			.qop = "auth",
			.user = "alice",
			.realm = REALM,
			.pass = "wonderland",
			.method = "",
			.uri = "/msk",
			.nonce = nonce,
			.nc = "00000001",
			.cnonce = "0a4f113b"};
	ref_response(&r, want);
	struct kb_digest_fields *ai = malloc(sizeof(*ai));
	CHECK(ai != NULL &&
	      kb_digest_parse_params(v->auth_info, strlen(v->auth_info), ai, NULL, 0) == 0);
	if (ai != NULL) {
		CHECK(kb_digest_get(ai, KB_DF_RSPAUTH) != NULL &&
		      strcmp(kb_digest_get(ai, KB_DF_RSPAUTH), want) == 0);
		CHECK(kb_digest_get(ai, KB_DF_QOP) != NULL &&
		      strcmp(kb_digest_get(ai, KB_DF_QOP), "auth") == 0);
		CHECK(kb_digest_get(ai, KB_DF_NC) != NULL &&
		      strcmp(kb_digest_get(ai, KB_DF_NC), "00000001") == 0);
		CHECK(kb_digest_get(ai, KB_DF_CNONCE) != NULL &&
		      strcmp(kb_digest_get(ai, KB_DF_CNONCE), "0a4f113b") == 0);
		free(ai);
	}
	kb_digest_verdict_wipe(v);

	/* the same header again: replayed nc */
	CHECK(verify(s, auth, NULL, v) == KB_DIGEST_REPLAY);
	/* nc going up on the same nonce is fine, going back is not */
	good.nc = 2;
	CHECK(answer(ch, &good, auth, sizeof(auth)) == 0);
	CHECK(verify(s, auth, NULL, v) == KB_DIGEST_OK);
	good.nc = 7;
	CHECK(answer(ch, &good, auth, sizeof(auth)) == 0);
	CHECK(verify(s, auth, NULL, v) == KB_DIGEST_OK);
	good.nc = 5;
	CHECK(answer(ch, &good, auth, sizeof(auth)) == 0);
	CHECK(verify(s, auth, NULL, v) == KB_DIGEST_REPLAY);

	/* wrong password, unknown user */
	struct client_req bad = {.user = "alice", .pass = "Wonderland", .nc = 8};
	CHECK(answer(ch, &bad, auth, sizeof(auth)) == 0);
	CHECK(verify(s, auth, NULL, v) == KB_DIGEST_BAD_RESPONSE);
	bad.user = "mallory";
	CHECK(answer(ch, &bad, auth, sizeof(auth)) == 0);
	CHECK(verify(s, auth, NULL, v) == KB_DIGEST_UNKNOWN_USER);
	/* a failed attempt did not burn nc 8 */
	good.nc = 8;
	CHECK(answer(ch, &good, auth, sizeof(auth)) == 0);
	CHECK(verify(s, auth, NULL, v) == KB_DIGEST_OK);

	/* MD5 (the second challenge), precomputed-HA1 user */
	challenge(s, 1, ch2, sizeof(ch2));
	CHECK(strstr(ch2, "algorithm=MD5") != NULL);
	struct client_req h = {.user = "ha1user", .pass = "stored", .nc = 1};
	CHECK(answer(ch2, &h, auth, sizeof(auth)) == 0);
	CHECK(verify(s, auth, NULL, v) == KB_DIGEST_OK);
	CHECK(strstr(auth, "algorithm=MD5") != NULL);

	/* auth-int: the body is covered */
	struct client_req ai_req = {.user = "btid@bsf.example.org",
				    .pass = "bXJrLWJhc2U2NA==",
				    .nc = 1,
				    .qop = KB_DIGEST_QOP_AUTH_INT,
				    .body = "<msk/>"};
	challenge(s, 0, ch, sizeof(ch));
	CHECK(answer(ch, &ai_req, auth, sizeof(auth)) == 0);
	CHECK(strstr(auth, "qop=auth-int") != NULL);
	CHECK(verify(s, auth, "<msk/>!", v) == KB_DIGEST_BAD_RESPONSE);
	CHECK(verify(s, auth, "<msk/>", v) == KB_DIGEST_OK);
	/* auth-int's rspauth covers the response body */
	char info[KB_DIGEST_INFO_MAX], info2[KB_DIGEST_INFO_MAX];
	CHECK(kb_digest_server_auth_info(v, (const uint8_t *)"ok", 2, info, sizeof(info)) == 0);
	CHECK(kb_digest_server_auth_info(v, (const uint8_t *)"ok!", 3, info2, sizeof(info2)) == 0);
	CHECK(strcmp(info, info2) != 0 && strcmp(info, v->auth_info) != 0);
	kb_digest_verdict_wipe(v);

	/* wrong uri, method */
	struct client_req u = {.user = "alice", .pass = "wonderland", .nc = 1, .uri = "/other"};
	challenge(s, 0, ch, sizeof(ch));
	CHECK(answer(ch, &u, auth, sizeof(auth)) == 0);
	CHECK(verify(s, auth, NULL, v) == KB_DIGEST_WRONG_URI);
	u.uri = NULL;
	u.method = "GET";
	CHECK(answer(ch, &u, auth, sizeof(auth)) == 0);
	CHECK(verify(s, auth, NULL, v) == KB_DIGEST_BAD_RESPONSE);

	/* expired nonce with the right password → stale; wrong password stays bad */
	challenge(s, 0, ch, sizeof(ch));
	CHECK(answer(ch, &good, auth, sizeof(auth)) == 0);
	fake_now += 61;
	CHECK(verify(s, auth, NULL, v) == KB_DIGEST_STALE);
	CHECK(answer(ch, &bad, auth, sizeof(auth)) == 0);
	bad.user = "alice";
	CHECK(answer(ch, &bad, auth, sizeof(auth)) == 0);
	CHECK(verify(s, auth, NULL, v) == KB_DIGEST_BAD_RESPONSE);
	CHECK(param(auth, KB_DF_NONCE, nonce));
	CHECK(kb_digest_server_challenge(s, 0, nonce, true, ch, sizeof(ch)) == 0);
	CHECK(strstr(ch, "stale=true") != NULL);
	fake_now -= 61;

	/* nonce from the future (clock stepped back) → stale */
	challenge(s, 0, ch, sizeof(ch));
	CHECK(answer(ch, &good, auth, sizeof(auth)) == 0);
	fake_now -= 3600;
	CHECK(verify(s, auth, NULL, v) == KB_DIGEST_STALE);
	fake_now += 3600;

out:
	free(v);
	kb_digest_server_free(s);
}

/* Replace the nonce in a challenge (same length) and answer it. */
static void forge(const char *ch, const char *nonce, const struct client_req *r, char *auth,
		  size_t cap)
{
	char copy[KB_DIGEST_CHALLENGE_MAX];
	snprintf(copy, sizeof(copy), "%s", ch);
	char *n = strstr(copy, "nonce=\"");
	CHECK(n != NULL);
	if (n != NULL)
		memcpy(n + 7, nonce, strlen(nonce));
	CHECK(answer(copy, r, auth, cap) == 0);
}

static void test_server_nonces(void)
{
	static const uint8_t key[32] = {1, 2, 3};
	static const enum kb_digest_alg md5[] = {KB_DIGEST_MD5};
	struct kb_digest_server *s = server(md5, 1, NULL, 0, 2, key, false);
	struct kb_digest_server *s2 = server(md5, 1, NULL, 0, 2, key, false);
	struct kb_digest_verdict *v = malloc(sizeof(*v));
	char ch[3][KB_DIGEST_CHALLENGE_MAX], auth[2048], nonce[KB_DIGEST_VALUE_MAX];
	struct client_req good = {.user = "alice", .pass = "wonderland", .nc = 1};
	CHECK(s != NULL && s2 != NULL && v != NULL);
	if (s == NULL || s2 == NULL || v == NULL)
		goto out;
	fake_now = 1700000000;

	/* forged: one character of a genuine nonce changed, response right for it */
	challenge(s, 0, ch[0], sizeof(ch[0]));
	CHECK(answer(ch[0], &good, auth, sizeof(auth)) == 0);
	CHECK(param(auth, KB_DF_NONCE, nonce));
	CHECK(strlen(nonce) == KB_DIGEST_NONCE_LEN);
	nonce[10] = nonce[10] == 'A' ? 'B' : 'A';
	forge(ch[0], nonce, &good, auth, sizeof(auth));
	CHECK(verify(s, auth, NULL, v) == KB_DIGEST_BAD_NONCE);
	/* not base64 of the right size at all */
	struct client_req g2 = good;
	char fake[KB_DIGEST_CHALLENGE_MAX];
	snprintf(fake, sizeof(fake), "Digest realm=\"%s\", qop=\"auth\", nonce=\"1053604145\"",
		 REALM);
	CHECK(answer(fake, &g2, auth, sizeof(auth)) == 0);
	CHECK(verify(s, auth, NULL, v) == KB_DIGEST_BAD_NONCE);
	/* a server with another key */
	struct kb_digest_server *other = server(md5, 1, NULL, 0, 2, NULL, false);
	if (other != NULL) {
		char och[KB_DIGEST_CHALLENGE_MAX];
		challenge(other, 0, och, sizeof(och));
		CHECK(answer(och, &good, auth, sizeof(auth)) == 0);
		CHECK(verify(s, auth, NULL, v) == KB_DIGEST_BAD_NONCE);
		kb_digest_server_free(other);
	}
	/* same key, another instance (a restart): genuine but its state is gone */
	challenge(s2, 0, ch[1], sizeof(ch[1]));
	CHECK(answer(ch[1], &good, auth, sizeof(auth)) == 0);
	CHECK(verify(s, auth, NULL, v) == KB_DIGEST_STALE);

	/* two slots: the third nonce evicts the first */
	for (int i = 0; i < 3; i++)
		challenge(s, 0, ch[i], sizeof(ch[i]));
	CHECK(answer(ch[0], &good, auth, sizeof(auth)) == 0);
	CHECK(verify(s, auth, NULL, v) == KB_DIGEST_STALE);
	CHECK(answer(ch[1], &good, auth, sizeof(auth)) == 0);
	CHECK(verify(s, auth, NULL, v) == KB_DIGEST_OK);
	CHECK(answer(ch[2], &good, auth, sizeof(auth)) == 0);
	CHECK(verify(s, auth, NULL, v) == KB_DIGEST_OK);

	/* SHA-256 answer to an MD5-only server; algorithms we do not know */
	challenge(s, 0, ch[0], sizeof(ch[0]));
	char *alg = strstr(ch[0], "algorithm=MD5");
	CHECK(alg != NULL);
	if (alg != NULL) {
		char sha[KB_DIGEST_CHALLENGE_MAX];
		snprintf(sha, sizeof(sha), "%.*salgorithm=SHA-256%s", (int)(alg - ch[0]), ch[0],
			 alg + strlen("algorithm=MD5"));
		CHECK(answer(sha, &good, auth, sizeof(auth)) == 0);
		CHECK(verify(s, auth, NULL, v) == KB_DIGEST_BAD_ALGORITHM);
	}
	CHECK(answer(ch[0], &good, auth, sizeof(auth)) == 0);
	char *a = strstr(auth, "algorithm=MD5");
	CHECK(a != NULL);
	if (a != NULL) {
		char tweak[2100];
		const char *rest = a + strlen("algorithm=MD5");
		snprintf(tweak, sizeof(tweak), "%.*salgorithm=SHA3-256%s", (int)(a - auth), auth,
			 rest);
		CHECK(verify(s, tweak, NULL, v) == KB_DIGEST_BAD_ALGORITHM);
		/* the name is case-insensitive, and no algorithm means MD5 */
		snprintf(tweak, sizeof(tweak), "%.*salgorithm=md5%s", (int)(a - auth), auth, rest);
		CHECK(verify(s, tweak, NULL, v) == KB_DIGEST_OK);
		snprintf(tweak, sizeof(tweak), "%.*sx=y%s", (int)(a - auth), auth, rest);
		CHECK(verify(s, tweak, NULL, v) == KB_DIGEST_REPLAY);
	}

	/* wrong realm */
	challenge(s, 0, ch[0], sizeof(ch[0]));
	char *rl = strstr(ch[0], "bmsc.example.org");
	CHECK(rl != NULL);
	if (rl != NULL)
		memcpy(rl, "bmsc.example.net", 16);
	CHECK(answer(ch[0], &good, auth, sizeof(auth)) == 0);
	CHECK(verify(s, auth, NULL, v) == KB_DIGEST_WRONG_REALM);

out:
	free(v);
	kb_digest_server_free(s);
	kb_digest_server_free(s2);
}

static void test_server_qop_sess_userhash(void)
{
	static const enum kb_digest_alg sess[] = {KB_DIGEST_SHA256_SESS, KB_DIGEST_MD5_SESS};
	static const enum kb_digest_qop auth_only[] = {KB_DIGEST_QOP_AUTH};
	struct kb_digest_server *s = server(sess, 2, auth_only, 1, 16, NULL, true);
	struct kb_digest_verdict *v = malloc(sizeof(*v));
	char ch[KB_DIGEST_CHALLENGE_MAX], auth[2048], nonce[KB_DIGEST_VALUE_MAX];
	CHECK(s != NULL && v != NULL);
	if (s == NULL || v == NULL)
		goto out;
	fake_now = 1700000000;

	for (size_t i = 0; i < 2; i++) {
		challenge(s, i, ch, sizeof(ch));
		CHECK(strstr(ch, "qop=\"auth\"") != NULL);
		CHECK(strstr(ch, "userhash=true") != NULL);
		/* the client sends H(user:realm) and the lookup resolves it */
		struct client_req r = {
			.user = "alice", .pass = "wonderland", .nc = 3, .cnonce = "x\"y"};
		CHECK(answer(ch, &r, auth, sizeof(auth)) == 0);
		CHECK(strstr(auth, "userhash=true") != NULL);
		CHECK(strstr(auth, "username=\"alice\"") == NULL);
		CHECK(verify(s, auth, NULL, v) == KB_DIGEST_OK);
		CHECK(strcmp(v->username, "alice") == 0);
		/* rspauth for -sess: HA1 is the session key */
		CHECK(param(auth, KB_DF_NONCE, nonce));
		struct ref ref = {.md = i == 0 ? EVP_sha256() : EVP_md5(),
				  .sess = true,
				  .qop = "auth",
				  .user = "alice",
				  .realm = REALM,
				  .pass = "wonderland",
				  .method = "",
				  .uri = "/msk",
				  .nonce = nonce,
				  .nc = "00000003",
				  .cnonce = "x\"y"};
		char want[129], expect[200];
		ref_response(&ref, want);
		snprintf(expect, sizeof(expect), "rspauth=\"%s\"", want);
		CHECK(strstr(v->auth_info, expect) != NULL);
		CHECK(strstr(v->auth_info, "cnonce=\"x\\\"y\"") != NULL);
		kb_digest_verdict_wipe(v);
	}

	/* auth-int is not offered here */
	struct client_req ai = {
		.user = "alice", .pass = "wonderland", .nc = 1, .qop = KB_DIGEST_QOP_AUTH_INT};
	static const char ai_ch[] = "Digest realm=\"3GPP-bootstrapping@bmsc.example.org\", "
				    "qop=\"auth-int\", algorithm=SHA-256-sess, nonce=\"";
	challenge(s, 0, ch, sizeof(ch));
	char *n = strstr(ch, "nonce=\"");
	char ch2[KB_DIGEST_CHALLENGE_MAX];
	snprintf(ch2, sizeof(ch2), "%s%.*s\"", ai_ch, KB_DIGEST_NONCE_LEN, n != NULL ? n + 7 : "");
	CHECK(answer(ch2, &ai, auth, sizeof(auth)) == 0);
	CHECK(verify(s, auth, NULL, v) == KB_DIGEST_BAD_QOP);
	/* no qop at all (RFC 2069): refused */
	snprintf(ch2, sizeof(ch2),
		 "Digest realm=\"3GPP-bootstrapping@bmsc.example.org\", algorithm=MD5-sess, "
		 "nonce=\"%.*s\"",
		 KB_DIGEST_NONCE_LEN, n != NULL ? n + 7 : "");
	struct kb_digest_fields f;
	CHECK(kb_digest_parse(ch2, strlen(ch2), &f, NULL, 0) == 0);
	struct kb_digest_client cl = {
		.username = "alice", .password = "wonderland", .method = "POST", .uri = "/msk"};
	/* -sess needs a cnonce, so the client refuses too */
	CHECK(kb_digest_client_authorize(&f, &cl, auth, sizeof(auth), NULL, NULL, 0) != 0);
	snprintf(auth, sizeof(auth),
		 "Digest username=\"alice\", realm=\"%s\", nonce=\"%.*s\", uri=\"/msk\", "
		 "algorithm=MD5-sess, response=\"00112233445566778899aabbccddeeff\"",
		 REALM, KB_DIGEST_NONCE_LEN, n != NULL ? n + 7 : "");
	CHECK(verify(s, auth, NULL, v) == KB_DIGEST_BAD_QOP);
	/* malformed: missing parameters, non-hex response, bad nc */
	CHECK(verify(s, "Digest username=\"alice\"", NULL, v) == KB_DIGEST_MALFORMED);
	CHECK(verify(s, "Digest username=\"alice", NULL, v) == KB_DIGEST_MALFORMED);
	CHECK(strstr(v->detail, "unterminated") != NULL);
	CHECK(verify(s, "Basic YWxpY2U6d29uZGVybGFuZA==", NULL, v) == KB_DIGEST_MALFORMED);
	struct client_req r = {.user = "alice", .pass = "wonderland", .nc = 1};
	challenge(s, 0, ch, sizeof(ch));
	CHECK(answer(ch, &r, auth, sizeof(auth)) == 0);
	char *resp = strstr(auth, "response=\"");
	if (resp != NULL) {
		char save = resp[10];
		resp[10] = 'g';
		CHECK(verify(s, auth, NULL, v) == KB_DIGEST_MALFORMED);
		resp[10] = save;
	}
	char *nc = strstr(auth, "nc=0000000");
	if (nc != NULL) {
		nc[3] = 'x';
		CHECK(verify(s, auth, NULL, v) == KB_DIGEST_MALFORMED);
		nc[3] = '0';
	}
	CHECK(verify(s, auth, NULL, v) == KB_DIGEST_OK);
	/* upper-case hex in the response is the same digest */
	CHECK(answer(ch, &(struct client_req){.user = "alice", .pass = "wonderland", .nc = 2}, auth,
		     sizeof(auth)) == 0);
	resp = strstr(auth, "response=\"");
	for (char *p = resp != NULL ? resp + 10 : auth; resp != NULL && *p != '"'; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	CHECK(verify(s, auth, NULL, v) == KB_DIGEST_OK);
out:
	free(v);
	kb_digest_server_free(s);
}

/* Several threads race one Authorization header: exactly one wins. */
struct race {
	struct kb_digest_server *s;
	const char *auth;
	int ok;
};

static void *race_thread(void *arg)
{
	struct race *r = arg;
	struct kb_digest_verdict *v = malloc(sizeof(*v));
	if (v == NULL)
		return NULL;
	for (int i = 0; i < 50; i++) {
		struct kb_digest_request req = {.authorization = r->auth,
						.authorization_len = strlen(r->auth),
						.method = "POST",
						.uri = "/msk"};
		if (kb_digest_server_verify(r->s, &req, v) == KB_DIGEST_OK)
			__atomic_add_fetch(&r->ok, 1, __ATOMIC_RELAXED);
		kb_digest_verdict_wipe(v);
	}
	free(v);
	return NULL;
}

static void test_server_threads(void)
{
	struct kb_digest_server *s = server(NULL, 0, NULL, 0, 64, NULL, false);
	char ch[KB_DIGEST_CHALLENGE_MAX], auth[2048];
	CHECK(s != NULL);
	if (s == NULL)
		return;
	fake_now = 1700000000;
	challenge(s, 0, ch, sizeof(ch));
	CHECK(answer(ch, &(struct client_req){.user = "alice", .pass = "wonderland", .nc = 1}, auth,
		     sizeof(auth)) == 0);
	struct race r = {.s = s, .auth = auth};
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		CHECK(pthread_create(&t[i], NULL, race_thread, &r) == 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	CHECK(r.ok == 1);
	kb_digest_server_free(s);

	/* bad configurations */
	struct kb_digest_server_config cfg = {.realm = "r", .lookup = lookup};
	char err[128];
	cfg.realm = "";
	CHECK(kb_digest_server_new(&cfg, err, sizeof(err)) == NULL);
	cfg.realm = "r";
	cfg.n_qops = 1;
	cfg.qops[0] = KB_DIGEST_QOP_NONE;
	CHECK(kb_digest_server_new(&cfg, err, sizeof(err)) == NULL);
	cfg.n_qops = 0;
	cfg.lookup = NULL;
	CHECK(kb_digest_server_new(&cfg, err, sizeof(err)) == NULL);
}

/* ---- parser ---- */

static int parse(const char *s, struct kb_digest_fields *f, char *err)
{
	return kb_digest_parse(s, strlen(s), f, err, 128);
}

static void test_parser(void)
{
	struct kb_digest_fields *f = malloc(sizeof(*f));
	char err[128], big[2 * KB_DIGEST_VALUE_MAX + 64];
	CHECK(f != NULL);
	if (f == NULL)
		return;

	/* escapes, tokens, whitespace, empty list elements, case */
	CHECK(parse("  dIgEsT realm=\"a\\\"b\\\\c\\d\" ,, nonce = xyz ,\tQOP=\"auth, auth-int\","
		    " x-unknown=\"whatever, really\", stale=TRUE,",
		    f, err) == 0);
	CHECK(strcmp(kb_digest_get(f, KB_DF_REALM), "a\"b\\cd") == 0);
	CHECK(strcmp(kb_digest_get(f, KB_DF_NONCE), "xyz") == 0);
	CHECK(strcmp(kb_digest_get(f, KB_DF_QOP), "auth, auth-int") == 0);
	CHECK(strcmp(kb_digest_get(f, KB_DF_STALE), "TRUE") == 0);
	CHECK(kb_digest_get(f, KB_DF_OPAQUE) == NULL);
	CHECK(parse("Digest", f, err) == 0 && f->present == 0);
	CHECK(parse("Digest opaque=\"\"", f, err) == 0 &&
	      strcmp(kb_digest_get(f, KB_DF_OPAQUE), "") == 0);
	/* obs-text is allowed inside quotes */
	CHECK(parse("Digest username=\"J\xc3\xa4s\xc3\xb8n\"", f, err) == 0);

	/* errors, with messages */
	CHECK(parse("Digest realm=\"abc", f, err) != 0 && strstr(err, "unterminated") != NULL);
	CHECK(parse("Digest realm=\"abc\\", f, err) != 0 && strstr(err, "unterminated") != NULL);
	CHECK(parse("Digest realm=abc def", f, err) != 0 && strstr(err, "','") != NULL);
	CHECK(parse("Digest realm=\"a\" nonce=\"b\"", f, err) != 0);
	CHECK(parse("Digest realm=", f, err) != 0 && strstr(err, "token") != NULL);
	CHECK(parse("Digest realm=,nonce=x", f, err) != 0);
	CHECK(parse("Digest realm=\"a\", REALM=\"b\"", f, err) != 0 &&
	      strstr(err, "duplicate parameter: realm") != NULL);
	CHECK(parse("Digest x=1, x=2", f, err) == 0); /* unknown ones are ignored */
	CHECK(parse("Digest =x", f, err) != 0 && strstr(err, "name") != NULL);
	CHECK(parse("Digest realm", f, err) != 0 && strstr(err, "'='") != NULL);
	CHECK(parse("Digest realm=\"a\r\nb\"", f, err) != 0 && strstr(err, "control") != NULL);
	CHECK(parse("Digest realm=\"a\\\x01\"", f, err) != 0);
	CHECK(parse("Digest realm=a\"b\"", f, err) != 0);
	CHECK(parse("Basic realm=\"a\"", f, err) != 0 && strstr(err, "Digest") != NULL);
	CHECK(parse("Digestrealm=\"a\"", f, err) != 0);
	CHECK(parse("Diges", f, err) != 0);
	CHECK(parse("", f, err) != 0);
	/* embedded NUL: never part of a value */
	CHECK(kb_digest_parse("Digest realm=\"a\0b\"", 19, f, err, sizeof(err)) != 0);
	CHECK(kb_digest_parse("Digest realm=a\0", 15, f, err, sizeof(err)) != 0);

	/* length limits: 511 bytes fit, 512 do not, quoted or not */
	memset(big, 0, sizeof(big));
	strcpy(big, "Digest nonce=\"");
	memset(big + strlen(big), 'n', KB_DIGEST_VALUE_MAX - 1);
	strcat(big, "\"");
	CHECK(parse(big, f, err) == 0 && strlen(kb_digest_get(f, KB_DF_NONCE)) == 511);
	strcpy(big + strlen(big) - 1, "n\"");
	CHECK(parse(big, f, err) != 0 && strstr(err, "too long") != NULL);
	strcpy(big, "Digest nonce=");
	memset(big + strlen(big), 't', KB_DIGEST_VALUE_MAX);
	CHECK(parse(big, f, err) != 0 && strstr(err, "too long") != NULL);
	/* escapes count once */
	strcpy(big, "Digest nonce=\"");
	for (int i = 0; i < KB_DIGEST_VALUE_MAX - 1; i++)
		strcat(big, "\\q");
	strcat(big, "\"");
	CHECK(parse(big, f, err) == 0);
	/* too many parameters */
	strcpy(big, "Digest ");
	for (int i = 0; i <= KB_DIGEST_PARAMS_MAX; i++)
		strcat(big, "a=b,");
	CHECK(parse(big, f, err) != 0 && strstr(err, "too many") != NULL);

	/* what we write parses back to the same value */
	char out[256] = "Digest ";
	CHECK(kb_digest_append_quoted(out, sizeof(out), "realm", "q\"uo\\te") == 0);
	CHECK(kb_digest_append_token(out, sizeof(out), "nc", "00000001") == 0);
	CHECK(strcmp(out, "Digest realm=\"q\\\"uo\\\\te\", nc=00000001") == 0);
	CHECK(parse(out, f, err) == 0 && strcmp(kb_digest_get(f, KB_DF_REALM), "q\"uo\\te") == 0);
	char tiny[16] = "";
	CHECK(kb_digest_append_quoted(tiny, sizeof(tiny), "realm", "0123456789") != 0);
	CHECK(tiny[0] == '\0');

	/* Authentication-Info has no scheme */
	static const char ai[] = "qop=auth, rspauth=\"6629fae49393a05397450978507c4ef1\", "
				 "cnonce=\"0a4f113b\", nc=00000001, nextnonce=\"n2\"";
	CHECK(kb_digest_parse_params(ai, strlen(ai), f, err, sizeof(err)) == 0);
	CHECK(strcmp(kb_digest_get(f, KB_DF_NEXTNONCE), "n2") == 0);
	CHECK(strcmp(kb_digest_get(f, KB_DF_RSPAUTH), "6629fae49393a05397450978507c4ef1") == 0);
	free(f);
}

int main(void)
{
	RUN(test_rfc2617);
	RUN(test_rfc7616_391);
	RUN(test_rfc7616_392_userhash);
	RUN(test_differential);
	RUN(test_server_flows);
	RUN(test_server_nonces);
	RUN(test_server_qop_sess_userhash);
	RUN(test_server_threads);
	RUN(test_parser);
	return kb_check_done();
}
