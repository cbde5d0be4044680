/* One PAP HTTP request: multipart/related (push) or a bare XML control
 * entity (statusquery, cancel) → control + content. */
#include "pap/pap.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static int fail(struct kb_pap_error *err, int code, const char *desc)
{
	err->code = code;
	snprintf(err->desc, sizeof(err->desc), "%s", desc);
	return -1;
}

/* Media type of a header value, without parameters, compared exactly. */
static bool media_is(const char *p, size_t n, const char *want)
{
	size_t wl = strlen(want), i = 0;

	while (i < n && p[i] != ';' && p[i] != ' ' && p[i] != '\t')
		i++;
	return i == wl && strncasecmp(p, want, wl) == 0;
}

static bool identity_cte(const struct kb_str *cte)
{
	if (cte->p == NULL)
		return true;
	return (cte->n == 4 && strncasecmp(cte->p, "7bit", 4) == 0) ||
	       (cte->n == 4 && strncasecmp(cte->p, "8bit", 4) == 0) ||
	       (cte->n == 6 && strncasecmp(cte->p, "binary", 6) == 0);
}

int kb_pap_parse_request(const char *content_type, const uint8_t *body, size_t len,
			 const struct kb_pap_limits *lim, struct kb_pap_request *out,
			 struct kb_pap_error *err)
{
	struct kb_mp_ctype ct;
	struct kb_mp_part parts[3];
	unsigned n = 0, root = 0, content;

	memset(out, 0, sizeof(*out));
	err->code = 0;
	err->desc[0] = '\0';
	if (content_type == NULL || body == NULL)
		return fail(err, KB_PAP_BAD_REQUEST, "no body");
	if (len > lim->max_body)
		return fail(err, KB_PAP_BAD_REQUEST, "request too large");

	/* statusquery and cancel: a bare control entity */
	if (media_is(content_type, strlen(content_type), "application/xml")) {
		if (kb_pap_parse_control(body, len, &out->ctl, err) != 0)
			return -1;
		if (out->ctl.kind == KB_PAP_PUSH)
			return fail(err, KB_PAP_BAD_REQUEST, "push-message without content");
		return 0;
	}
	if (kb_mp_parse_ctype(content_type, &ct) != 0)
		return fail(err, KB_PAP_BAD_REQUEST,
			    "Content-Type is not a valid multipart/related");
	if (ct.type[0] != '\0' && strcasecmp(ct.type, "application/xml") != 0)
		return fail(err, KB_PAP_BAD_REQUEST, "root type is not application/xml");
	/* control, content, and the optional capabilities entity */
	if (kb_mp_split(body, len, ct.boundary, parts, 3, &n) != 0)
		return fail(err, KB_PAP_BAD_REQUEST, "malformed multipart body");
	if (ct.start[0] != '\0') {
		size_t sl = strlen(ct.start);

		for (root = 0; root < n; root++)
			if (parts[root].content_id.p != NULL && parts[root].content_id.n == sl &&
			    memcmp(parts[root].content_id.p, ct.start, sl) == 0)
				break;
		if (root == n)
			return fail(err, KB_PAP_BAD_REQUEST, "start part not found");
	}
	if (parts[root].content_type.p == NULL ||
	    !media_is(parts[root].content_type.p, parts[root].content_type.n, "application/xml"))
		return fail(err, KB_PAP_BAD_REQUEST, "control entity is not application/xml");
	if (kb_pap_parse_control(parts[root].body, parts[root].len, &out->ctl, err) != 0)
		return -1;
	if (out->ctl.kind != KB_PAP_PUSH)
		return 0; /* a statusquery or cancel in a multipart: content ignored */
	if (n < 2)
		return fail(err, KB_PAP_BAD_REQUEST, "no content entity");
	content = root == 0 ? 1 : 0;
	if (parts[content].len > lim->max_content)
		return fail(err, KB_PAP_BAD_REQUEST, "content too large");
	if (!identity_cte(&parts[content].cte))
		return fail(err, KB_PAP_NOT_IMPLEMENTED, "Content-Transfer-Encoding not supported");
	if (parts[content].content_type.p == NULL || parts[content].content_type.n == 0 ||
	    parts[content].content_type.n >= sizeof(out->content_type))
		return fail(err, KB_PAP_BAD_REQUEST, "content entity without Content-Type");
	memcpy(out->content_type, parts[content].content_type.p, parts[content].content_type.n);
	out->content = parts[content].body;
	out->content_len = parts[content].len;
	return 0;
}
