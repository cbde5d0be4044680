/* HTTP Digest access authentication (RFC 7616, RFC 2617): the hash
 * computations, the header parser, a server (challenges, stateless nonces
 * with per-nonce nc tracking, verification) and a client (for simulators).
 *
 * Keys: in keyburst the password is base64(MRK) and the username the B-TID
 * (PROTOCOLS.md §2); nothing here logs or prints either. */
#ifndef KB_DIGEST_H
#define KB_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The hash algorithms of RFC 7616 §6.1, each plain and "-sess". */
enum kb_digest_alg {
	KB_DIGEST_MD5,
	KB_DIGEST_MD5_SESS,
	KB_DIGEST_SHA256,
	KB_DIGEST_SHA256_SESS,
	KB_DIGEST_SHA512_256,
	KB_DIGEST_SHA512_256_SESS,
	KB_DIGEST_ALG_COUNT
};

/* NONE is RFC 2069 compatibility: computed for clients, never accepted by
 * the server (no nc, so no replay protection). */
enum kb_digest_qop { KB_DIGEST_QOP_NONE, KB_DIGEST_QOP_AUTH, KB_DIGEST_QOP_AUTH_INT };

#define KB_DIGEST_HEX_MAX 65 /* longest lower-case hex digest + NUL */

/* "MD5", "SHA-256-sess", ...; NULL for an out-of-range value. */
const char *kb_digest_alg_name(enum kb_digest_alg alg);
/* Case-insensitive name → algorithm. Returns 0, or -1 if unknown. */
int kb_digest_alg_parse(const char *name, enum kb_digest_alg *alg);
/* Number of hex digits the algorithm's H() produces (32 or 64). */
size_t kb_digest_hex_len(enum kb_digest_alg alg);
/* "auth", "auth-int", "" for NONE. */
const char *kb_digest_qop_name(enum kb_digest_qop qop);
int kb_digest_qop_parse(const char *name, enum kb_digest_qop *qop);

/* H(user ":" realm ":" password) in hex: the HA1 of the plain algorithm,
 * which is what a password file stores. The -sess step happens in
 * kb_digest_response. Returns 0 or -1. */
int kb_digest_ha1(enum kb_digest_alg alg, const char *user, const char *realm, const char *password,
		  char *ha1_hex);
/* H(user ":" realm): the username sent when userhash=true (RFC 7616 §3.4.4). */
int kb_digest_userhash(enum kb_digest_alg alg, const char *user, const char *realm, char *out_hex);

/* Everything the response depends on besides HA1. For rspauth pass method
 * "" (RFC 7616 §3.5). nc and cnonce are ignored when qop is NONE; body is
 * used only for auth-int. */
struct kb_digest_calc {
	enum kb_digest_alg alg;
	enum kb_digest_qop qop;
	const char *nonce;
	const char *nc; /* 8 hex digits as sent */
	const char *cnonce;
	const char *method;
	const char *uri;
	const uint8_t *body;
	size_t body_len;
};

/* response = H(HA1' ":" nonce ":" nc ":" cnonce ":" qop ":" H(A2)), where HA1'
 * is ha1_hex (the plain HA1) or, for -sess, H(ha1_hex ":" nonce ":" cnonce).
 * out_hex gets kb_digest_hex_len(alg) digits + NUL. Returns 0 or -1. */
int kb_digest_response(const struct kb_digest_calc *c, const char *ha1_hex, char *out_hex);

/* ---- Header parsing ------------------------------------------------- */

/* The parameters we understand, from WWW-Authenticate, Authorization and
 * Authentication-Info. Others are syntax-checked and ignored. */
enum kb_digest_field {
	KB_DF_USERNAME,
	KB_DF_REALM,
	KB_DF_NONCE,
	KB_DF_URI,
	KB_DF_RESPONSE,
	KB_DF_ALGORITHM,
	KB_DF_CNONCE,
	KB_DF_OPAQUE,
	KB_DF_QOP,
	KB_DF_NC,
	KB_DF_USERHASH,
	KB_DF_STALE,
	KB_DF_DOMAIN,
	KB_DF_CHARSET,
	KB_DF_RSPAUTH,
	KB_DF_NEXTNONCE,
	KB_DF_COUNT
};

/* Longest parameter value accepted (after unescaping), and most parameters
 * in one header; both keep a hostile header's cost bounded. */
#define KB_DIGEST_VALUE_MAX 512
#define KB_DIGEST_PARAMS_MAX 64

struct kb_digest_fields {
	uint32_t present; /* bit (1u << field) */
	char value[KB_DF_COUNT][KB_DIGEST_VALUE_MAX]; /* NUL-terminated, unescaped */
};

/* Parse a header value "Digest auth-param, ..." (Authorization or
 * WWW-Authenticate; the scheme name is case-insensitive). Quoted strings
 * (with backslash escapes) and tokens are both accepted for every
 * parameter; a repeated known parameter is an error. Returns 0, or -1 with
 * a message in err. Only one challenge per value is understood. */
int kb_digest_parse(const char *hdr, size_t len, struct kb_digest_fields *f, char *err,
		    size_t errlen);
/* The same for a bare parameter list (Authentication-Info). */
int kb_digest_parse_params(const char *s, size_t len, struct kb_digest_fields *f, char *err,
			   size_t errlen);
/* The value of a parameter, or NULL if it was absent. */
const char *kb_digest_get(const struct kb_digest_fields *f, enum kb_digest_field id);

/* Append `name="value"` (escaping '"' and '\'), preceded by ", " unless the
 * buffer is empty or ends in a space. Returns 0 or -1 if it does not fit. */
int kb_digest_append_quoted(char *buf, size_t cap, const char *name, const char *value);
/* Append `name=token` the same way. */
int kb_digest_append_token(char *buf, size_t cap, const char *name, const char *value);

/* ---- Server ----------------------------------------------------------- */

/* What the credential lookup hands back: a password or a precomputed plain
 * HA1 (hex, for the algorithm asked for). The server wipes it after use. */
#define KB_DIGEST_PASSWORD_MAX 256
struct kb_digest_secret {
	char password[KB_DIGEST_PASSWORD_MAX];
	char ha1[KB_DIGEST_HEX_MAX]; /* used when non-empty */
	char username[KB_DIGEST_VALUE_MAX]; /* for userhash: the real username */
};

/* username is as the client sent it; with userhash it is H(user:realm) and
 * the callback resolves it (and fills secret->username). Return 0 if found,
 * -1 for an unknown user. Called from several threads at once. */
typedef int (*kb_digest_lookup_fn)(void *ctx, const char *username, bool userhash,
				   enum kb_digest_alg alg, const char *realm,
				   struct kb_digest_secret *secret);
/* Seconds on any clock that does not jump back (tests inject their own). */
typedef uint64_t (*kb_digest_clock_fn)(void *ctx);

struct kb_digest_server_config {
	const char *realm; /* "3GPP-bootstrapping@<BM-SC FQDN>" for GBA */
	/* HMAC key of the nonces; NULL: 32 random bytes per server */
	const uint8_t *secret;
	size_t secret_len;
	/* offered algorithms, one challenge each, most preferred first;
	 * n_algs 0: SHA-256 then MD5 */
	enum kb_digest_alg algs[KB_DIGEST_ALG_COUNT];
	size_t n_algs;
	/* offered qop values in order; n_qops 0: "auth-int,auth" (PROTOCOLS §2) */
	enum kb_digest_qop qops[2];
	size_t n_qops;
	uint32_t nonce_lifetime; /* seconds; 0: 300 */
	uint32_t nonce_slots; /* live nonces tracked; 0: 65536 */
	bool userhash; /* offer userhash=true */
	kb_digest_lookup_fn lookup;
	void *lookup_ctx;
	kb_digest_clock_fn clock; /* NULL: CLOCK_REALTIME seconds */
	void *clock_ctx;
};

/* Why a request was or was not let in; distinct so the server can log and
 * count each. Only STALE is answered with stale=true. */
enum kb_digest_result {
	KB_DIGEST_OK,
	KB_DIGEST_MISSING, /* no Authorization header */
	KB_DIGEST_MALFORMED, /* unparsable or a required parameter missing */
	KB_DIGEST_WRONG_REALM,
	KB_DIGEST_WRONG_URI,
	KB_DIGEST_BAD_ALGORITHM, /* not one we offered */
	KB_DIGEST_BAD_QOP, /* absent or not offered */
	KB_DIGEST_BAD_NONCE, /* not ours: the nonce's HMAC does not verify */
	KB_DIGEST_UNKNOWN_USER,
	KB_DIGEST_BAD_RESPONSE, /* wrong password, body, method, ... */
	KB_DIGEST_STALE, /* right response on an expired or recycled nonce */
	KB_DIGEST_REPLAY, /* nc not above the highest seen on this nonce */
	KB_DIGEST_RESULT_COUNT
};
const char *kb_digest_result_name(enum kb_digest_result r);

struct kb_digest_request {
	const char *authorization; /* header value or NULL */
	size_t authorization_len;
	const char *method;
	const char *uri; /* the request target the server received */
	const uint8_t *body; /* needed for auth-int */
	size_t body_len;
};

#define KB_DIGEST_INFO_MAX 768
struct kb_digest_verdict {
	enum kb_digest_result result;
	char username[KB_DIGEST_VALUE_MAX]; /* who, once known (B-TID) */
	/* Authentication-Info value when OK, for an empty response body (which
	 * only auth-int's rspauth depends on; see kb_digest_server_auth_info) */
	char auth_info[KB_DIGEST_INFO_MAX];
	char detail[128]; /* what was wrong, for the log */
	/* private: what rspauth needs; ha1 is password-equivalent, so callers
	 * must end with kb_digest_verdict_wipe */
	struct {
		enum kb_digest_alg alg;
		enum kb_digest_qop qop;
		char ha1[KB_DIGEST_HEX_MAX];
		char nonce[KB_DIGEST_VALUE_MAX];
		char nc[9];
		char cnonce[KB_DIGEST_VALUE_MAX];
		char uri[KB_DIGEST_VALUE_MAX];
	} priv;
};

struct kb_digest_server;

/* Returns NULL with a message in err on a bad configuration. */
struct kb_digest_server *kb_digest_server_new(const struct kb_digest_server_config *cfg, char *err,
					      size_t errlen);
void kb_digest_server_free(struct kb_digest_server *srv);

#define KB_DIGEST_NONCE_LEN 48 /* base64 characters */
#define KB_DIGEST_CHALLENGE_MAX 768

/* A fresh nonce (allocates one slot of nc state). */
int kb_digest_server_nonce(struct kb_digest_server *srv, char nonce[KB_DIGEST_NONCE_LEN + 1]);
/* The WWW-Authenticate value offering algorithm number `index` of the
 * configured list with `nonce`. One 401 carries one header per algorithm,
 * all with the same nonce. Returns 0, or -1 if index is out of range. */
int kb_digest_server_challenge(const struct kb_digest_server *srv, size_t index, const char *nonce,
			       bool stale, char *out, size_t cap);
size_t kb_digest_server_n_algs(const struct kb_digest_server *srv);

/* Verify a request. Thread-safe. On OK the nc is recorded (a second use is
 * REPLAY) and v->auth_info holds the Authentication-Info value. */
enum kb_digest_result kb_digest_server_verify(struct kb_digest_server *srv,
					      const struct kb_digest_request *req,
					      struct kb_digest_verdict *v);

/* Authentication-Info for an OK verdict whose response carries `body`
 * (auth-int's rspauth covers it; for auth it equals v->auth_info). */
int kb_digest_server_auth_info(const struct kb_digest_verdict *v, const uint8_t *body,
			       size_t body_len, char *out, size_t cap);
/* Wipe the verdict's copy of HA1. */
void kb_digest_verdict_wipe(struct kb_digest_verdict *v);

/* ---- Client ----------------------------------------------------------- */

struct kb_digest_client {
	const char *username;
	const char *password;
	const char *method;
	const char *uri;
	const uint8_t *body;
	size_t body_len;
	const char *cnonce; /* NULL: 16 random bytes in hex */
	uint32_t nc; /* 0 is taken as 1 */
	/* preferred qop if the challenge offers it; otherwise auth, then auth-int */
	enum kb_digest_qop qop;
};

/* Answer a parsed challenge: the Authorization header value (with
 * "Digest "). The algorithm is the challenge's (MD5 when absent); the used
 * cnonce is copied to cnonce_out (may be NULL, else KB_DIGEST_VALUE_MAX).
 * Returns 0, or -1 with a message in err. */
int kb_digest_client_authorize(const struct kb_digest_fields *challenge,
			       const struct kb_digest_client *cl, char *out, size_t cap,
			       char *cnonce_out, char *err, size_t errlen);

#endif
