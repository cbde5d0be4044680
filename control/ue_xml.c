/* UE bodies on libxml2. Strict: no DTD (so no entity tricks), no network,
 * the exact root and namespace, only the known children, no attributes in
 * requests, bounded item counts and lengths. */
#include "ue_xml.h"

#include "util/hex.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void xml_init_once(void)
{
	xmlInitParser();
}

void kb_xml_init(void)
{
	pthread_once(&xml_once, xml_init_once);
}

static bool is_ws(const xmlChar *s)
{
	for (; *s != '\0'; s++)
		if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
			return false;
	return true;
}

/* Parse into a document and check the root. NULL with err set. */
static xmlDocPtr parse_doc(const char *buf, size_t len, const char *root, const char *ns, char *err,
			   size_t errlen)
{
	xmlParserCtxtPtr ctxt;
	xmlDocPtr doc;
	xmlNodePtr r;
	kb_xml_init();
	if (len == 0) {
		snprintf(err, errlen, "empty body");
		return NULL;
	}
	if (len > (size_t)INT32_MAX) {
		snprintf(err, errlen, "body too large");
		return NULL;
	}
	ctxt = xmlNewParserCtxt();
	if (ctxt == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	doc = xmlCtxtReadMemory(ctxt, buf, (int)len, NULL, NULL,
				XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (doc == NULL) {
		const xmlError *e = xmlCtxtGetLastError(ctxt);
		snprintf(err, errlen, "malformed XML: line %d: %.*s", e != NULL ? e->line : 0, 80,
			 e != NULL && e->message != NULL ? e->message : "parse error");
		/* libxml2 messages end in a newline */
		size_t n = strlen(err);
		if (n > 0 && err[n - 1] == '\n')
			err[n - 1] = '\0';
		xmlFreeParserCtxt(ctxt);
		return NULL;
	}
	xmlFreeParserCtxt(ctxt);
	if (doc->intSubset != NULL || doc->extSubset != NULL) {
		snprintf(err, errlen, "a DTD is not allowed");
		goto fail;
	}
	r = xmlDocGetRootElement(doc);
	if (r == NULL || xmlStrcmp(r->name, BAD_CAST root) != 0) {
		snprintf(err, errlen, "root element must be <%s>", root);
		goto fail;
	}
	if (r->ns == NULL || xmlStrcmp(r->ns->href, BAD_CAST ns) != 0) {
		snprintf(err, errlen, "<%s> must be in namespace %s", root, ns);
		goto fail;
	}
	if (r->properties != NULL) {
		snprintf(err, errlen, "<%s> takes no attributes", root);
		goto fail;
	}
	return doc;
fail:
	xmlFreeDoc(doc);
	return NULL;
}

/* The text of a leaf child element: only text nodes, trimmed of nothing.
 * Returns the length copied, or -1. */
static long leaf_text(xmlNodePtr el, const xmlNs *ns, char *out, size_t cap, char *err,
		      size_t errlen)
{
	size_t n = 0;
	if (el->properties != NULL) {
		snprintf(err, errlen, "<%s> takes no attributes", (const char *)el->name);
		return -1;
	}
	for (xmlNodePtr c = el->children; c != NULL; c = c->next) {
		if (c->type != XML_TEXT_NODE) {
			snprintf(err, errlen, "<%s> must contain text only",
				 (const char *)el->name);
			return -1;
		}
		size_t l = strlen((const char *)c->content);
		if (n + l >= cap) {
			snprintf(err, errlen, "<%s> is longer than %zu characters",
				 (const char *)el->name, cap - 1);
			return -1;
		}
		memcpy(out + n, c->content, l);
		n += l;
	}
	out[n] = '\0';
	(void)ns;
	return (long)n;
}

/* Iterate the element children of the root; text between them must be
 * whitespace; comments and PIs are ignored. */
static xmlNodePtr next_element(xmlNodePtr c, char *err, size_t errlen, bool *bad)
{
	for (; c != NULL; c = c->next) {
		if (c->type == XML_ELEMENT_NODE)
			return c;
		if (c->type == XML_COMMENT_NODE || c->type == XML_PI_NODE)
			continue;
		if (c->type == XML_TEXT_NODE && is_ws(c->content))
			continue;
		snprintf(err, errlen, "unexpected content between elements");
		*bad = true;
		return NULL;
	}
	return NULL;
}

static bool service_id_ok(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

int kb_xml_parse_registration(const char *buf, size_t len, bool deregister,
			      struct kb_service_list *out, char *err, size_t errlen)
{
	const char *root =
		deregister ? "mbmsUserServiceDeregistration" : "mbmsUserServiceRegistration";
	const char *ns = deregister ? KB_NS_DEREGISTER : KB_NS_REGISTER;
	xmlDocPtr doc = parse_doc(buf, len, root, ns, err, errlen);
	xmlNodePtr r, c;
	bool bad = false;
	int rc = -1;
	if (doc == NULL)
		return -1;
	out->n = 0;
	r = xmlDocGetRootElement(doc);
	for (c = next_element(r->children, err, errlen, &bad); c != NULL;
	     c = next_element(c->next, err, errlen, &bad)) {
		if (xmlStrcmp(c->name, BAD_CAST "serviceId") != 0 || c->ns != r->ns) {
			snprintf(err, errlen, "unexpected element <%.40s> (want <serviceId>)",
				 (const char *)c->name);
			goto out;
		}
		if (out->n == KB_XML_MAX_ITEMS) {
			snprintf(err, errlen, "more than %d <serviceId> elements",
				 KB_XML_MAX_ITEMS);
			goto out;
		}
		char *id = out->ids[out->n];
		if (leaf_text(c, r->ns, id, KB_SERVICE_ID_MAX, err, errlen) < 0)
			goto out;
		if (!service_id_ok(id)) {
			snprintf(err, errlen,
				 "<serviceId> must be non-empty printable ASCII without spaces");
			goto out;
		}
		for (size_t i = 0; i < out->n; i++)
			if (strcmp(out->ids[i], id) == 0) {
				snprintf(err, errlen, "duplicate <serviceId>");
				goto out;
			}
		out->n++;
	}
	if (bad)
		goto out;
	if (out->n == 0) {
		snprintf(err, errlen, "at least one <serviceId> is required");
		goto out;
	}
	rc = 0;
out:
	xmlFreeDoc(doc);
	return rc;
}

int kb_xml_parse_msk_request(const char *buf, size_t len, struct kb_msk_request *out, char *err,
			     size_t errlen)
{
	xmlDocPtr doc = parse_doc(buf, len, "mskRequest", KB_NS_MSK, err, errlen);
	xmlNodePtr r, c;
	bool bad = false, have_domain = false;
	char text[16];
	uint8_t bin[4];
	int rc = -1;
	if (doc == NULL)
		return -1;
	out->n = 0;
	r = xmlDocGetRootElement(doc);
	for (c = next_element(r->children, err, errlen, &bad); c != NULL;
	     c = next_element(c->next, err, errlen, &bad)) {
		long n;
		if (c->ns != r->ns) {
			snprintf(err, errlen, "element <%.40s> is not in the request namespace",
				 (const char *)c->name);
			goto out;
		}
		if (xmlStrcmp(c->name, BAD_CAST "keyDomainId") == 0) {
			if (have_domain || out->n > 0) {
				snprintf(err, errlen,
					 "exactly one <keyDomainId> is required, before the "
					 "<mskId>s");
				goto out;
			}
			n = leaf_text(c, r->ns, text, sizeof(text), err, errlen);
			if (n < 0)
				goto out;
			if (n != 6 || kb_hex_decode(text, 6, out->key_domain, 3) != 3) {
				snprintf(err, errlen,
					 "<keyDomainId> must be 6 hex digits (MCC||MNC)");
				goto out;
			}
			have_domain = true;
		} else if (xmlStrcmp(c->name, BAD_CAST "mskId") == 0) {
			if (!have_domain) {
				snprintf(err, errlen, "<keyDomainId> must come first");
				goto out;
			}
			if (out->n == KB_XML_MAX_ITEMS) {
				snprintf(err, errlen, "more than %d <mskId> elements",
					 KB_XML_MAX_ITEMS);
				goto out;
			}
			n = leaf_text(c, r->ns, text, sizeof(text), err, errlen);
			if (n < 0)
				goto out;
			if (n != 8 || kb_hex_decode(text, 8, bin, 4) != 4) {
				snprintf(err, errlen,
					 "<mskId> must be 8 hex digits (key group || key number)");
				goto out;
			}
			out->msk_ids[out->n++] = (uint32_t)bin[0] << 24 | (uint32_t)bin[1] << 16 |
						 (uint32_t)bin[2] << 8 | bin[3];
		} else {
			snprintf(err, errlen, "unexpected element <%.40s>", (const char *)c->name);
			goto out;
		}
	}
	if (bad)
		goto out;
	if (!have_domain || out->n == 0) {
		snprintf(err, errlen, "a <keyDomainId> and at least one <mskId> are required");
		goto out;
	}
	rc = 0;
out:
	xmlFreeDoc(doc);
	return rc;
}

static char *dump(xmlDocPtr doc, size_t *out_len)
{
	xmlChar *mem = NULL;
	int n = 0;
	char *res = NULL;
	xmlDocDumpFormatMemoryEnc(doc, &mem, &n, "UTF-8", 1);
	if (mem != NULL && n > 0) {
		res = malloc((size_t)n + 1);
		if (res != NULL) {
			memcpy(res, mem, (size_t)n);
			res[n] = '\0';
			*out_len = (size_t)n;
		}
	}
	xmlFree(mem);
	xmlFreeDoc(doc);
	return res;
}

static xmlNodePtr new_root(xmlDocPtr doc, const char *name, const char *ns)
{
	xmlNodePtr r = xmlNewDocNode(doc, NULL, BAD_CAST name, NULL);
	if (r == NULL)
		return NULL;
	xmlNsPtr n = xmlNewNs(r, BAD_CAST ns, NULL);
	xmlSetNs(r, n);
	xmlDocSetRootElement(doc, r);
	return r;
}

char *kb_xml_registration_response(const struct kb_service_list *l, const int *codes,
				   size_t *out_len)
{
	xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
	char code[8];
	if (doc == NULL)
		return NULL;
	xmlNodePtr r =
		new_root(doc, "mbmsUserServiceRegistrationResponse", KB_NS_REGISTER_RESPONSE);
	if (r == NULL)
		goto fail;
	for (size_t i = 0; i < l->n; i++) {
		xmlNodePtr s = xmlNewChild(r, r->ns, BAD_CAST "serviceStatus", NULL);
		snprintf(code, sizeof(code), "%d", codes[i]);
		if (s == NULL || xmlNewProp(s, BAD_CAST "serviceId", BAD_CAST l->ids[i]) == NULL ||
		    xmlNewProp(s, BAD_CAST "statusCode", BAD_CAST code) == NULL)
			goto fail;
	}
	return dump(doc, out_len);
fail:
	xmlFreeDoc(doc);
	return NULL;
}

char *kb_xml_msk_response(const struct kb_msk_request *req, const int *codes, size_t *out_len)
{
	xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
	char code[8], hex[16];
	if (doc == NULL)
		return NULL;
	xmlNodePtr r = new_root(doc, "mskResponse", KB_NS_MSK_RESPONSE);
	if (r == NULL)
		goto fail;
	kb_hex_encode(req->key_domain, 3, hex);
	if (xmlNewTextChild(r, r->ns, BAD_CAST "keyDomainId", BAD_CAST hex) == NULL)
		goto fail;
	for (size_t i = 0; i < req->n; i++) {
		xmlNodePtr s = xmlNewChild(r, r->ns, BAD_CAST "mskStatus", NULL);
		snprintf(hex, sizeof(hex), "%08x", req->msk_ids[i]);
		snprintf(code, sizeof(code), "%d", codes[i]);
		if (s == NULL || xmlNewProp(s, BAD_CAST "mskId", BAD_CAST hex) == NULL ||
		    xmlNewProp(s, BAD_CAST "statusCode", BAD_CAST code) == NULL)
			goto fail;
	}
	return dump(doc, out_len);
fail:
	xmlFreeDoc(doc);
	return NULL;
}
