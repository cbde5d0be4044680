/* The PAP control entity: push-message, statusquery-message and
 * cancel-message, parsed with libxml2 (no network, no DTD loading, no
 * entity declarations accepted), and the PTM service address. */
#include "pap/pap.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

const char *kb_pap_code_desc(int code)
{
	switch (code) {
	case KB_PAP_OK:
		return "OK";
	case KB_PAP_ACCEPTED:
		return "Accepted for processing";
	case KB_PAP_BAD_REQUEST:
		return "Bad request";
	case KB_PAP_FORBIDDEN:
		return "Forbidden";
	case KB_PAP_ADDRESS_ERROR:
		return "Address error";
	case KB_PAP_PUSH_ID_NOT_FOUND:
		return "Push ID not found";
	case KB_PAP_DUPLICATE_PUSH_ID:
		return "Duplicate push ID";
	case KB_PAP_INTERNAL_ERROR:
		return "Internal server error";
	case KB_PAP_NOT_IMPLEMENTED:
		return "Not implemented";
	case KB_PAP_SERVICE_FAILURE:
		return "Service failure";
	default:
		return "Unknown";
	}
}

static int fail(struct kb_pap_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->desc, sizeof(err->desc), fmt, ap);
	va_end(ap);
	return -1;
}

int kb_pap_time_parse(const char *s, int64_t *out)
{
	struct tm tm;
	const char *end;
	time_t t;

	/* exactly YYYY-MM-DDThh:mm:ssZ */
	if (strlen(s) != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
	    s[16] != ':' || s[19] != 'Z')
		return -1;
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end == NULL || *end != '\0')
		return -1;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	/* timegm normalises 02-30 to 03-02: refuse dates that moved */
	{
		char back[21];

		kb_pap_time_format((int64_t)t, back);
		if (strcmp(back, s) != 0)
			return -1;
	}
	*out = (int64_t)t;
	return 0;
}

void kb_pap_time_format(int64_t t, char out[21])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) != 20)
		strcpy(out, "1970-01-01T00:00:00Z");
}

static bool service_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       c == '.' || c == '_' || c == '-';
}

static bool host_ok(const char *h, size_t n)
{
	if (n == 0 || n > KB_PAP_HOST_MAX || h[0] == '.' || h[0] == '-' || h[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = h[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      c == '.' || c == '-'))
			return false;
		if (c == '.' && h[i + 1] == '.')
			return false;
	}
	return true;
}

int kb_pap_addr_parse(const char *value, struct kb_pap_addr *out)
{
	static const char pfx[] = "WAPPUSH=", typ[] = "/TYPE=USER@";
	const char *p = value, *slash, *host;
	size_t sl, hl;

	memset(out, 0, sizeof(*out));
	if (strncmp(p, pfx, sizeof(pfx) - 1) != 0)
		return -1;
	p += sizeof(pfx) - 1;
	slash = strchr(p, '/');
	if (slash == NULL)
		return -1;
	sl = (size_t)(slash - p);
	if (sl == 0 || sl > KB_PAP_SERVICE_ID_MAX)
		return -1;
	for (size_t i = 0; i < sl; i++)
		if (!service_char(p[i]))
			return -1;
	if (strncmp(slash, typ, sizeof(typ) - 1) != 0)
		return -1;
	host = slash + sizeof(typ) - 1;
	hl = strlen(host);
	if (!host_ok(host, hl))
		return -1;
	memcpy(out->service_id, p, sl);
	memcpy(out->host, host, hl);
	return 0;
}

/* An attribute into buf. 1 found, 0 absent, -1 too long or empty. */
static int attr(xmlNode *n, const char *name, char *buf, size_t cap)
{
	xmlChar *v = xmlGetNoNsProp(n, (const xmlChar *)name);
	size_t l;

	if (v == NULL)
		return 0;
	l = strlen((const char *)v);
	if (l == 0 || l >= cap) {
		xmlFree(v);
		return -1;
	}
	memcpy(buf, v, l + 1);
	xmlFree(v);
	return 1;
}

static bool is(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && n->ns == NULL &&
	       strcmp((const char *)n->name, name) == 0;
}

static int parse_time_attr(xmlNode *n, const char *name, bool *has, int64_t *t,
			   struct kb_pap_error *err)
{
	char buf[32];
	int rc = attr(n, name, buf, sizeof(buf));

	*has = false;
	if (rc == 0)
		return 0;
	if (rc < 0 || kb_pap_time_parse(buf, t) != 0)
		return fail(err, KB_PAP_BAD_REQUEST, "bad %s", name);
	*has = true;
	return 0;
}

static int parse_qos(xmlNode *q, struct kb_pap_control *c, struct kb_pap_error *err)
{
	char buf[32];
	int rc;

	rc = attr(q, "priority", buf, sizeof(buf));
	if (rc < 0)
		return fail(err, KB_PAP_BAD_REQUEST, "bad priority");
	if (rc == 1) {
		if (strcmp(buf, "high") == 0)
			c->priority = KB_PAP_PRIO_HIGH;
		else if (strcmp(buf, "medium") == 0)
			c->priority = KB_PAP_PRIO_MEDIUM;
		else if (strcmp(buf, "low") == 0)
			c->priority = KB_PAP_PRIO_LOW;
		else
			return fail(err, KB_PAP_BAD_REQUEST, "bad priority");
	}
	rc = attr(q, "delivery-method", buf, sizeof(buf));
	if (rc < 0)
		return fail(err, KB_PAP_BAD_REQUEST, "bad delivery-method");
	if (rc == 1) {
		if (strcmp(buf, "confirmed") == 0)
			c->delivery = KB_PAP_DELIVERY_CONFIRMED;
		else if (strcmp(buf, "preferconfirmed") == 0)
			c->delivery = KB_PAP_DELIVERY_PREFERCONFIRMED;
		else if (strcmp(buf, "unconfirmed") == 0)
			c->delivery = KB_PAP_DELIVERY_UNCONFIRMED;
		else if (strcmp(buf, "notspecified") == 0)
			c->delivery = KB_PAP_DELIVERY_NOTSPECIFIED;
		else
			return fail(err, KB_PAP_BAD_REQUEST, "bad delivery-method");
	}
	return 0;
}

/* Children of push-message / statusquery-message / cancel-message:
 * address elements, and quality-of-service for a push only. */
static int parse_children(xmlNode *m, struct kb_pap_control *c, struct kb_pap_error *err)
{
	bool seen_qos = false;

	for (xmlNode *k = m->children; k != NULL; k = k->next) {
		if (k->type == XML_TEXT_NODE || k->type == XML_COMMENT_NODE) {
			if (k->type == XML_TEXT_NODE && !xmlIsBlankNode(k))
				return fail(err, KB_PAP_BAD_REQUEST, "unexpected text");
			continue;
		}
		if (is(k, "address")) {
			char v[512];
			int rc;

			if (c->n_addr == KB_PAP_ADDR_MAX)
				return fail(err, KB_PAP_ADDRESS_ERROR, "too many addresses");
			rc = attr(k, "address-value", v, sizeof(v));
			if (rc != 1 || kb_pap_addr_parse(v, &c->addr[c->n_addr]) != 0)
				return fail(err, KB_PAP_ADDRESS_ERROR, "bad address-value");
			c->n_addr++;
		} else if (is(k, "quality-of-service") && c->kind == KB_PAP_PUSH && !seen_qos) {
			if (parse_qos(k, c, err) != 0)
				return -1;
			seen_qos = true;
		} else {
			return fail(err, KB_PAP_BAD_REQUEST, "unexpected element %.40s",
				    (const char *)k->name);
		}
	}
	return 0;
}

static int parse_message(xmlNode *m, struct kb_pap_control *c, struct kb_pap_error *err)
{
	int rc = attr(m, "push-id", c->push_id, sizeof(c->push_id));

	if (rc != 1)
		return fail(err, KB_PAP_BAD_REQUEST, rc == 0 ? "missing push-id" : "bad push-id");
	if (c->kind == KB_PAP_PUSH) {
		if (parse_time_attr(m, "deliver-before-timestamp", &c->has_deliver_before,
				    &c->deliver_before, err) != 0 ||
		    parse_time_attr(m, "deliver-after-timestamp", &c->has_deliver_after,
				    &c->deliver_after, err) != 0)
			return -1;
		if (c->has_deliver_before && c->has_deliver_after &&
		    c->deliver_after >= c->deliver_before)
			return fail(err, KB_PAP_BAD_REQUEST,
				    "deliver-after not before deliver-before");
		rc = attr(m, "ppg-notify-requested-to", c->notify_to, sizeof(c->notify_to));
		if (rc < 0 || (rc == 1 && strncmp(c->notify_to, "http://", 7) != 0 &&
			       strncmp(c->notify_to, "https://", 8) != 0))
			return fail(err, KB_PAP_BAD_REQUEST, "bad ppg-notify-requested-to");
	}
	if (parse_children(m, c, err) != 0)
		return -1;
	if (c->kind == KB_PAP_PUSH && c->n_addr == 0)
		return fail(err, KB_PAP_ADDRESS_ERROR, "no address");
	return 0;
}

/* PAP messages a Push Initiator may send that we know but do not serve */
static const char *const not_implemented[] = {"ccq-message", "resultnotification-response"};

void kb_pap_init(void)
{
	xmlInitParser();
}

int kb_pap_parse_control(const uint8_t *xml, size_t len, struct kb_pap_control *out,
			 struct kb_pap_error *err)
{
	const int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING;
	xmlDoc *doc = NULL;
	xmlDtd *dtd;
	xmlNode *root, *m = NULL;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	err->code = 0;
	err->desc[0] = '\0';
	if (len == 0 || len > KB_PAP_CONTROL_MAX)
		return fail(err, KB_PAP_BAD_REQUEST, "control entity size");
	doc = xmlReadMemory((const char *)xml, (int)len, "pap.xml", NULL, opts);
	if (doc == NULL)
		return fail(err, KB_PAP_BAD_REQUEST, "malformed XML");
	/* the PAP DOCTYPE names an external DTD (never fetched); an internal
	 * subset declaring entities is refused (entity expansion attacks) */
	dtd = xmlGetIntSubset(doc);
	if (dtd != NULL && (dtd->entities != NULL || dtd->pentities != NULL)) {
		fail(err, KB_PAP_BAD_REQUEST, "entity declarations");
		goto out;
	}
	root = xmlDocGetRootElement(doc);
	if (root == NULL || !is(root, "pap")) {
		fail(err, KB_PAP_BAD_REQUEST, "root is not pap");
		goto out;
	}
	for (xmlNode *k = root->children; k != NULL; k = k->next) {
		if (k->type == XML_ELEMENT_NODE) {
			if (m != NULL) {
				fail(err, KB_PAP_BAD_REQUEST, "more than one message");
				goto out;
			}
			m = k;
		} else if (k->type == XML_TEXT_NODE && !xmlIsBlankNode(k)) {
			fail(err, KB_PAP_BAD_REQUEST, "unexpected text");
			goto out;
		}
	}
	if (m == NULL) {
		fail(err, KB_PAP_BAD_REQUEST, "no message");
		goto out;
	}
	if (is(m, "push-message")) {
		out->kind = KB_PAP_PUSH;
	} else if (is(m, "statusquery-message")) {
		out->kind = KB_PAP_STATUSQUERY;
	} else if (is(m, "cancel-message")) {
		out->kind = KB_PAP_CANCEL;
	} else {
		int code = KB_PAP_BAD_REQUEST;

		for (size_t i = 0; i < sizeof(not_implemented) / sizeof(not_implemented[0]); i++)
			if (is(m, not_implemented[i]))
				code = KB_PAP_NOT_IMPLEMENTED;
		fail(err, code, "unsupported message %.40s", (const char *)m->name);
		goto out;
	}
	rc = parse_message(m, out, err);
out:
	xmlFreeDoc(doc);
	return rc;
}
