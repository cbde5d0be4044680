/* The multipart/related splitter for PAP requests (RFC 2046 §5.1.1, RFC
 * 2387). Small and strict on purpose: CRLF line ends only, no header
 * folding, a delimiter line is either a part boundary or the close
 * delimiter and nothing else, and a body without its close delimiter is
 * truncated. */
#include "pap/pap.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

static bool is_tchar(char c)
{
	/* RFC 2045 token: any CHAR but SPACE, CTLs and tspecials */
	return c > 0x20 && c < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

static bool is_bchar(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       strchr("'()+_,-./:=? ", c) != NULL;
}

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* Copy a token or quoted-string value at *pp into out. */
static int param_value(const char **pp, char *out, size_t cap)
{
	const char *p = *pp;
	size_t n = 0;

	if (*p == '"') {
		p++;
		while (*p != '"') {
			if (*p == '\0' || *p == '\r' || *p == '\n')
				return -1;
			if (*p == '\\') {
				p++;
				if (*p == '\0')
					return -1;
			}
			if (n + 1 >= cap)
				return -1;
			out[n++] = *p++;
		}
		p++;
	} else {
		while (is_tchar(*p)) {
			if (n + 1 >= cap)
				return -1;
			out[n++] = *p++;
		}
		if (n == 0)
			return -1;
	}
	out[n] = '\0';
	*pp = p;
	return 0;
}

int kb_mp_parse_ctype(const char *value, struct kb_mp_ctype *out)
{
	static const char mr[] = "multipart/related";
	const char *p;
	bool seen_b = false, seen_t = false, seen_s = false;

	memset(out, 0, sizeof(*out));
	if (value == NULL)
		return -1;
	p = skip_ws(value);
	if (strncasecmp(p, mr, sizeof(mr) - 1) != 0)
		return -1;
	p = skip_ws(p + sizeof(mr) - 1);
	while (*p == ';') {
		char name[32], val[512];
		size_t n = 0;

		p = skip_ws(p + 1);
		while (is_tchar(*p) && *p != '=') {
			if (n + 1 >= sizeof(name))
				return -1;
			name[n++] = *p++;
		}
		name[n] = '\0';
		if (n == 0 || *p != '=')
			return -1;
		p++;
		if (param_value(&p, val, sizeof(val)) != 0)
			return -1;
		p = skip_ws(p);
		if (strcasecmp(name, "boundary") == 0) {
			size_t bl = strlen(val);

			if (seen_b || bl == 0 || bl > KB_MP_BOUNDARY_MAX || val[bl - 1] == ' ')
				return -1;
			for (size_t i = 0; i < bl; i++)
				if (!is_bchar(val[i]))
					return -1;
			memcpy(out->boundary, val, bl + 1);
			seen_b = true;
		} else if (strcasecmp(name, "type") == 0) {
			if (seen_t || strlen(val) >= sizeof(out->type))
				return -1;
			strcpy(out->type, val);
			seen_t = true;
		} else if (strcasecmp(name, "start") == 0) {
			if (seen_s || strlen(val) >= sizeof(out->start))
				return -1;
			strcpy(out->start, val);
			seen_s = true;
		}
		/* other parameters (charset, start-info) are allowed and ignored */
	}
	if (*p != '\0' || !seen_b)
		return -1;
	return 0;
}

/* Find needle in [p, end); NULL if absent. */
static const uint8_t *find(const uint8_t *p, const uint8_t *end, const uint8_t *needle, size_t nl)
{
	if ((size_t)(end - p) < nl)
		return NULL;
	return memmem(p, (size_t)(end - p), needle, nl);
}

static void trim(const char **p, size_t *n)
{
	while (*n > 0 && (**p == ' ' || **p == '\t')) {
		(*p)++;
		(*n)--;
	}
	while (*n > 0 && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t'))
		(*n)--;
}

/* Parse one part's header section [p, end) (each line ends with CRLF). */
static int part_headers(const uint8_t *p, const uint8_t *end, struct kb_mp_part *part)
{
	while (p < end) {
		const uint8_t *eol = find(p, end, (const uint8_t *)"\r\n", 2);
		const uint8_t *colon;
		const char *v;
		size_t nl, vn;
		struct kb_str *dst = NULL;

		if (eol == NULL)
			return -1;
		colon = memchr(p, ':', (size_t)(eol - p));
		if (colon == NULL || colon == p)
			return -1;
		for (const uint8_t *q = p; q < colon; q++)
			if (!is_tchar((char)*q))
				return -1; /* includes a folded line's leading space */
		for (const uint8_t *q = colon + 1; q < eol; q++)
			if (*q == '\0' || *q == '\r' || *q == '\n')
				return -1;
		nl = (size_t)(colon - p);
		if (nl == 12 && strncasecmp((const char *)p, "Content-Type", nl) == 0)
			dst = &part->content_type;
		else if (nl == 10 && strncasecmp((const char *)p, "Content-ID", nl) == 0)
			dst = &part->content_id;
		else if (nl == 25 &&
			 strncasecmp((const char *)p, "Content-Transfer-Encoding", nl) == 0)
			dst = &part->cte;
		if (dst != NULL) {
			if (dst->p != NULL)
				return -1; /* a header we act on must not be ambiguous */
			v = (const char *)colon + 1;
			vn = (size_t)(eol - colon - 1);
			trim(&v, &vn);
			dst->p = v;
			dst->n = vn;
		}
		p = eol + 2;
	}
	return 0;
}

int kb_mp_split(const uint8_t *body, size_t len, const char *boundary, struct kb_mp_part *parts,
		unsigned max, unsigned *n)
{
	uint8_t delim[4 + KB_MP_BOUNDARY_MAX];
	size_t bl = strlen(boundary), dl;
	const uint8_t *end = body + len, *p, *d;
	unsigned count = 0;

	*n = 0;
	if (bl == 0 || bl > KB_MP_BOUNDARY_MAX)
		return -1;
	/* delimiter = CRLF "--" boundary; the first may open the body */
	memcpy(delim, "\r\n--", 4);
	memcpy(delim + 4, boundary, bl);
	dl = 4 + bl;
	if (len >= dl - 2 && memcmp(body, delim + 2, dl - 2) == 0) {
		p = body + dl - 2;
	} else {
		d = find(body, end, delim, dl);
		if (d == NULL)
			return -1; /* no delimiter at all */
		p = d + dl;
	}

	/* p is just after a "--boundary" */
	for (;;) {
		const uint8_t *hdr_end, *next;
		struct kb_mp_part *part;

		if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			break; /* close delimiter; the epilogue is ignored */
		while (p < end && (*p == ' ' || *p == '\t'))
			p++; /* transport padding */
		if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
			return -1; /* a longer boundary-like line, or truncated */
		p += 2;
		if (count == max)
			return -1;
		next = find(p, end, delim, dl);
		if (next == NULL)
			return -1; /* truncated: this part never ends */
		/* the header section ends with an empty line before the next
		 * delimiter; a part without headers starts with that line */
		if (next - p >= 2 && p[0] == '\r' && p[1] == '\n') {
			hdr_end = p;
		} else {
			hdr_end = find(p, next, (const uint8_t *)"\r\n\r\n", 4);
			if (hdr_end == NULL)
				return -1;
			hdr_end += 2;
		}
		if ((size_t)(hdr_end - p) > KB_MP_PART_HEADERS_MAX)
			return -1;
		part = &parts[count];
		memset(part, 0, sizeof(*part));
		if (part_headers(p, hdr_end, part) != 0)
			return -1;
		part->body = hdr_end + 2;
		part->len = (size_t)(next - part->body);
		count++;
		p = next + dl;
	}
	if (count == 0)
		return -1;
	*n = count;
	return 0;
}
