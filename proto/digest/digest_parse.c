/* The auth-param list of RFC 7235 §2.1 / RFC 7230 §3.2.6 as Digest uses it:
 *   param = token BWS "=" BWS ( token / quoted-string ), separated by ","
 * with optional whitespace and empty list elements. HTTP libraries do not
 * expose this, so it lives here: small, bounded and fuzzed. */
#include "digest/digest.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const field_names[KB_DF_COUNT] = {
	[KB_DF_USERNAME] = "username", [KB_DF_REALM] = "realm",
	[KB_DF_NONCE] = "nonce",       [KB_DF_URI] = "uri",
	[KB_DF_RESPONSE] = "response", [KB_DF_ALGORITHM] = "algorithm",
	[KB_DF_CNONCE] = "cnonce",     [KB_DF_OPAQUE] = "opaque",
	[KB_DF_QOP] = "qop",           [KB_DF_NC] = "nc",
	[KB_DF_USERHASH] = "userhash", [KB_DF_STALE] = "stale",
	[KB_DF_DOMAIN] = "domain",     [KB_DF_CHARSET] = "charset",
	[KB_DF_RSPAUTH] = "rspauth",   [KB_DF_NEXTNONCE] = "nextnonce",
};

static int fail(char *err, size_t errlen, const char *msg, const char *arg)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s%s%s", msg, arg != NULL ? ": " : "",
			 arg != NULL ? arg : "");
	return -1;
}

/* RFC 7230 §3.2.6 tchar */
static bool is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* qdtext and the octet of a quoted-pair: HTAB, SP, VCHAR, obs-text */
static bool is_qchar(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static const char *skip_ows(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

static int field_id(const char *name, size_t n)
{
	for (int i = 0; i < KB_DF_COUNT; i++)
		if (strlen(field_names[i]) == n && strncasecmp(name, field_names[i], n) == 0)
			return i;
	return -1;
}

/* Reads a token or quoted string at *pp into out (NUL-terminated). */
static int read_value(const char **pp, const char *end, char *out, char *err, size_t errlen)
{
	const char *p = *pp;
	size_t n = 0;
	if (p < end && *p == '"') {
		for (p++;; p++) {
			if (p == end)
				return fail(err, errlen, "unterminated quoted string", NULL);
			unsigned char c = (unsigned char)*p;
			if (c == '"')
				break;
			if (c == '\\') {
				if (++p == end)
					return fail(err, errlen, "unterminated quoted string",
						    NULL);
				c = (unsigned char)*p;
			}
			if (!is_qchar(c))
				return fail(err, errlen, "control character in quoted string",
					    NULL);
			if (n + 1 >= KB_DIGEST_VALUE_MAX)
				return fail(err, errlen, "parameter value too long", NULL);
			out[n++] = (char)c;
		}
		p++; /* closing quote */
	} else {
		const char *start = p;
		while (p < end && is_tchar((unsigned char)*p))
			p++;
		if (p == start)
			return fail(err, errlen, "expected a token or quoted string", NULL);
		if ((size_t)(p - start) >= KB_DIGEST_VALUE_MAX)
			return fail(err, errlen, "parameter value too long", NULL);
		n = (size_t)(p - start);
		memcpy(out, start, n);
	}
	out[n] = '\0';
	*pp = p;
	return 0;
}

int kb_digest_parse_params(const char *s, size_t len, struct kb_digest_fields *f, char *err,
			   size_t errlen)
{
	char scratch[KB_DIGEST_VALUE_MAX]; /* values of parameters we ignore */
	const char *p = s, *end = s + len;
	int count = 0;
	f->present = 0;
	for (;;) {
		/* empty list elements (", ,") are allowed by the #rule */
		while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
			p++;
		if (p == end)
			break;
		if (++count > KB_DIGEST_PARAMS_MAX)
			return fail(err, errlen, "too many parameters", NULL);

		const char *name = p;
		while (p < end && is_tchar((unsigned char)*p))
			p++;
		size_t name_len = (size_t)(p - name);
		if (name_len == 0)
			return fail(err, errlen, "expected a parameter name", NULL);
		p = skip_ows(p, end);
		if (p == end || *p != '=')
			return fail(err, errlen, "expected '=' after a parameter name", NULL);
		p = skip_ows(p + 1, end);

		int id = field_id(name, name_len);
		if (id >= 0 && (f->present & (1u << id)) != 0)
			return fail(err, errlen, "duplicate parameter", field_names[id]);
		char *out = id >= 0 ? f->value[id] : scratch;
		if (read_value(&p, end, out, err, errlen) != 0)
			return -1;
		if (id >= 0)
			f->present |= 1u << id;

		p = skip_ows(p, end);
		if (p < end && *p != ',')
			return fail(err, errlen, "expected ',' between parameters", NULL);
	}
	return 0;
}

int kb_digest_parse(const char *hdr, size_t len, struct kb_digest_fields *f, char *err,
		    size_t errlen)
{
	static const char scheme[] = "Digest";
	const size_t sl = sizeof(scheme) - 1;
	const char *p = skip_ows(hdr, hdr + len), *end = hdr + len;
	f->present = 0;
	if ((size_t)(end - p) < sl || strncasecmp(p, scheme, sl) != 0 ||
	    (end - p > (long)sl && p[sl] != ' ' && p[sl] != '\t'))
		return fail(err, errlen, "not a Digest header", NULL);
	p += sl;
	return kb_digest_parse_params(p, (size_t)(end - p), f, err, errlen);
}

const char *kb_digest_get(const struct kb_digest_fields *f, enum kb_digest_field id)
{
	if ((unsigned)id >= KB_DF_COUNT || (f->present & (1u << id)) == 0)
		return NULL;
	return f->value[id];
}

static int append(char *buf, size_t cap, const char *name, const char *value, bool quote)
{
	size_t len = strnlen(buf, cap);
	if (len == cap)
		return -1;
	const char *sep = len > 0 && buf[len - 1] != ' ' ? ", " : "";
	size_t need = strlen(sep) + strlen(name) + 1 + (quote ? 2 : 0);
	for (const char *v = value; *v != '\0'; v++)
		need += quote && (*v == '"' || *v == '\\') ? 2 : 1;
	if (len + need + 1 > cap)
		return -1;
	/* memcpy, not sprintf: this runs several times per answered request */
	char *o = buf + len;
	size_t sl = strlen(sep), nl = strlen(name);
	memcpy(o, sep, sl);
	o += sl;
	memcpy(o, name, nl);
	o += nl;
	*o++ = '=';
	if (quote)
		*o++ = '"';
	for (const char *v = value; *v != '\0'; v++) {
		if (quote && (*v == '"' || *v == '\\'))
			*o++ = '\\';
		*o++ = *v;
	}
	if (quote)
		*o++ = '"';
	*o = '\0';
	return 0;
}

int kb_digest_append_quoted(char *buf, size_t cap, const char *name, const char *value)
{
	return append(buf, cap, name, value, true);
}

int kb_digest_append_token(char *buf, size_t cap, const char *name, const char *value)
{
	return append(buf, cap, name, value, false);
}
