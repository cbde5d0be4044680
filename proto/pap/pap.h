/* OMA Push Access Protocol (PAP 2.x) for Push Initiators (PROTOCOLS.md §5,
 * issue 7, docs/pap.md): the multipart/related request splitter, the control
 * entity parser (libxml2) and the response builders (xmlTextWriter).
 * Pure C, no HTTP: the control plane's HTTP server hands over the
 * Content-Type header value and the body. */
#ifndef KB_PAP_H
#define KB_PAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Response codes (PROTOCOLS.md §5) */
#define KB_PAP_OK 1000
#define KB_PAP_ACCEPTED 1001
#define KB_PAP_BAD_REQUEST 2000
#define KB_PAP_FORBIDDEN 2001
#define KB_PAP_ADDRESS_ERROR 2002
#define KB_PAP_PUSH_ID_NOT_FOUND 2004
#define KB_PAP_DUPLICATE_PUSH_ID 2007
#define KB_PAP_INTERNAL_ERROR 3000
#define KB_PAP_NOT_IMPLEMENTED 3001
#define KB_PAP_SERVICE_FAILURE 4000

/* A short English description of a code, for desc="" attributes. */
const char *kb_pap_code_desc(int code);

struct kb_pap_error {
	int code; /* a KB_PAP_* code */
	char desc[128];
};

/* ---- pap_multipart.c: RFC 2046 §5.1 / RFC 2387 ---- */

struct kb_str {
	const char *p; /* not NUL-terminated; NULL when absent */
	size_t n;
};

/* The parameters of a multipart/related Content-Type header value. */
#define KB_MP_BOUNDARY_MAX 70
struct kb_mp_ctype {
	char boundary[KB_MP_BOUNDARY_MAX + 1];
	char type[128]; /* the root's media type ("" when absent) */
	char start[256]; /* the root's Content-ID ("" when absent: the first part) */
};

/* Parse a Content-Type value: media type multipart/related with exactly one
 * valid boundary (1..70 bchars), parameters as token or quoted-string, no
 * duplicate parameter. Returns 0 or -1. */
int kb_mp_parse_ctype(const char *value, struct kb_mp_ctype *out);

#define KB_MP_PARTS_MAX 8
#define KB_MP_PART_HEADERS_MAX 4096 /* bytes of one part's header section */

struct kb_mp_part {
	const uint8_t *body;
	size_t len;
	struct kb_str content_type, content_id, cte; /* values, trimmed */
};

/* Split body on boundary: preamble and epilogue ignored; delimiters at the
 * start of the body or after CRLF; transport padding allowed after a
 * delimiter; headers "Name: value" CRLF (no folding), a blank line, then
 * the body up to CRLF--boundary. A delimiter line that does not end a part
 * properly, a missing close delimiter (truncation), more than max parts,
 * or an oversized header section: -1. Parts point into body. */
int kb_mp_split(const uint8_t *body, size_t len, const char *boundary, struct kb_mp_part *parts,
		unsigned max, unsigned *n);

/* ---- pap_control.c: the XML control entity ---- */

#define KB_PAP_PUSH_ID_MAX 128
#define KB_PAP_ADDR_MAX 4 /* addresses per message we accept */
#define KB_PAP_SERVICE_ID_MAX 64
#define KB_PAP_HOST_MAX 253
#define KB_PAP_URL_MAX 512
#define KB_PAP_CONTROL_MAX (64 * 1024)

enum kb_pap_kind { KB_PAP_PUSH = 1, KB_PAP_STATUSQUERY, KB_PAP_CANCEL };
enum kb_pap_priority { KB_PAP_PRIO_MEDIUM = 0, KB_PAP_PRIO_HIGH, KB_PAP_PRIO_LOW };
enum kb_pap_delivery {
	KB_PAP_DELIVERY_NOTSPECIFIED = 0,
	KB_PAP_DELIVERY_CONFIRMED,
	KB_PAP_DELIVERY_PREFERCONFIRMED,
	KB_PAP_DELIVERY_UNCONFIRMED,
};

/* An address naming a PTM service (docs/pap.md):
 * WAPPUSH=<service-id>/TYPE=USER@<BM-SC FQDN> */
struct kb_pap_addr {
	char service_id[KB_PAP_SERVICE_ID_MAX + 1];
	char host[KB_PAP_HOST_MAX + 1];
};

/* Parse an address-value. Returns 0 or -1 (a 2002 address error). */
int kb_pap_addr_parse(const char *value, struct kb_pap_addr *out);

struct kb_pap_control {
	enum kb_pap_kind kind;
	char push_id[KB_PAP_PUSH_ID_MAX + 1];
	bool has_deliver_before, has_deliver_after;
	int64_t deliver_before, deliver_after; /* Unix seconds, UTC */
	char notify_to[KB_PAP_URL_MAX + 1]; /* ppg-notify-requested-to, "" if absent */
	unsigned n_addr;
	struct kb_pap_addr addr[KB_PAP_ADDR_MAX];
	enum kb_pap_priority priority;
	enum kb_pap_delivery delivery;
};

/* Initialise libxml2 once, from the main thread, before any other thread
 * parses (libxml2 2.9 requirement). */
void kb_pap_init(void);

/* Parse a PAP control entity (no network, no DTD loading, no entity
 * declarations). push-message needs push-id and at least one address;
 * statusquery and cancel need push-id. Returns 0, or -1 with err: 2000 bad
 * XML or a missing/invalid field, 2002 a bad address, 3001 a PAP message we
 * do not implement (ccq-message, ...). On error, out->kind and
 * out->push_id are kept when they were read, for the response. */
int kb_pap_parse_control(const uint8_t *xml, size_t len, struct kb_pap_control *out,
			 struct kb_pap_error *err);

/* PAP time: YYYY-MM-DDThh:mm:ssZ (UTC). Returns 0 or -1. */
int kb_pap_time_parse(const char *s, int64_t *out);
void kb_pap_time_format(int64_t t, char out[21]);

/* ---- pap_request.c: one HTTP request ---- */

struct kb_pap_limits {
	size_t max_body; /* whole request body */
	size_t max_content; /* the content entity */
};

struct kb_pap_request {
	struct kb_pap_control ctl;
	const uint8_t *content; /* into the body; NULL for statusquery/cancel */
	size_t content_len;
	char content_type[128];
};

/* content_type is the request's Content-Type header value. A push-message
 * comes as multipart/related (control entity = the root part, which must be
 * application/xml; content entity = the next part; an optional third part,
 * the capabilities entity, is ignored); statusquery and cancel may also
 * come as a bare application/xml body. Returns 0, or -1 with err (2000,
 * 2002, 3001; oversize is 2000). */
int kb_pap_parse_request(const char *content_type, const uint8_t *body, size_t len,
			 const struct kb_pap_limits *lim, struct kb_pap_request *out,
			 struct kb_pap_error *err);

/* ---- pap_build.c: responses and notifications ---- */

enum kb_pap_out {
	KB_PAP_OUT_PUSH_RESPONSE = 1,
	KB_PAP_OUT_STATUSQUERY_RESPONSE,
	KB_PAP_OUT_CANCEL_RESPONSE,
	KB_PAP_OUT_RESULTNOTIFICATION,
	KB_PAP_OUT_BADMESSAGE_RESPONSE,
};

/* message-state values of statusquery-response and resultnotification */
enum kb_pap_state {
	KB_PAP_STATE_UNKNOWN = 0,
	KB_PAP_STATE_PENDING,
	KB_PAP_STATE_DELIVERED,
	KB_PAP_STATE_UNDELIVERABLE,
	KB_PAP_STATE_EXPIRED,
	KB_PAP_STATE_ABORTED,
	KB_PAP_STATE_TIMEOUT,
	KB_PAP_STATE_CANCELLED,
};
const char *kb_pap_state_name(enum kb_pap_state s);

struct kb_pap_result {
	const char *push_id; /* required but for badmessage-response */
	int code;
	const char *desc; /* NULL: kb_pap_code_desc(code) */
	const char *sender_address; /* push-response, resultnotification */
	const char *sender_name;
	int64_t reply_time; /* push-response; 0 omits */
	int64_t received_time, event_time; /* resultnotification, statusquery; 0 omits */
	enum kb_pap_state state; /* statusquery-response, resultnotification */
	const char *address; /* address-value to echo, NULL omits */
	const char *bad_fragment; /* badmessage-response */
};

/* Build the XML document. *xml is malloc'd (NUL-terminated; free()), *len
 * its length. Returns 0 or -1 (missing push-id, writer failure). */
int kb_pap_build(enum kb_pap_out kind, const struct kb_pap_result *r, char **xml, size_t *len);

#endif
