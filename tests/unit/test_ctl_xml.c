/* The UE bodies: accepted documents give the right values, every kind of
 * malformed or hostile document is refused with a message, and the
 * responses parse back (with libxml2 directly) to what was written. */
#include "check.h"

#include "ue_xml.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REG_OPEN "<mbmsUserServiceRegistration xmlns=\"" KB_NS_REGISTER "\">"
#define REG_CLOSE "</mbmsUserServiceRegistration>"
#define MSK_OPEN "<mskRequest xmlns=\"" KB_NS_MSK "\">"
#define MSK_CLOSE "</mskRequest>"

static int reg(const char *doc, struct kb_service_list *l, char *err)
{
	return kb_xml_parse_registration(doc, strlen(doc), false, l, err, 256);
}

static int msk(const char *doc, struct kb_msk_request *r, char *err)
{
	return kb_xml_parse_msk_request(doc, strlen(doc), r, err, 256);
}

static void test_registration_ok(void)
{
	struct kb_service_list l;
	char err[256] = "";
	CHECK(reg("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" REG_OPEN
		  "\n  <!-- two services -->\n  <serviceId>urn:a:1</serviceId>\n"
		  "  <serviceId>urn:b:2</serviceId>\n" REG_CLOSE,
		  &l, err) == 0);
	CHECK(l.n == 2);
	CHECK(strcmp(l.ids[0], "urn:a:1") == 0);
	CHECK(strcmp(l.ids[1], "urn:b:2") == 0);
	/* a prefixed namespace is the same namespace */
	CHECK(reg("<r:mbmsUserServiceRegistration xmlns:r=\"" KB_NS_REGISTER
		  "\"><r:serviceId>x&amp;y</r:serviceId></r:mbmsUserServiceRegistration>",
		  &l, err) == 0);
	CHECK(l.n == 1 && strcmp(l.ids[0], "x&y") == 0);
	const char *d = "<mbmsUserServiceDeregistration xmlns=\"" KB_NS_DEREGISTER
			"\"><serviceId>s</serviceId></mbmsUserServiceDeregistration>";
	CHECK(kb_xml_parse_registration(d, strlen(d), true, &l, err, sizeof(err)) == 0);
	CHECK(l.n == 1);
	/* the registration root is not a deregistration */
	CHECK(kb_xml_parse_registration(d, strlen(d), false, &l, err, sizeof(err)) != 0);
}

static void test_registration_bad(void)
{
	static const struct {
		const char *doc;
		const char *want; /* substring of the error */
	} bad[] = {
		{"", "empty"},
		{"<x", "malformed XML"},
		{REG_OPEN "<serviceId>a</serviceId>", "malformed XML"},
		{"<mbmsUserServiceRegistration><serviceId>a</serviceId>" REG_CLOSE, "namespace"},
		{"<mbmsUserServiceRegistration xmlns=\"urn:x\"><serviceId>a</serviceId>" REG_CLOSE,
		 "namespace"},
		{"<other xmlns=\"" KB_NS_REGISTER "\"/>", "root element"},
		{REG_OPEN REG_CLOSE, "at least one"},
		{REG_OPEN "<serviceId></serviceId>" REG_CLOSE, "non-empty"},
		{REG_OPEN "<serviceId>a b</serviceId>" REG_CLOSE, "without spaces"},
		{REG_OPEN "<serviceId>a</serviceId><serviceId>a</serviceId>" REG_CLOSE,
		 "duplicate"},
		{REG_OPEN "<serviceId x=\"1\">a</serviceId>" REG_CLOSE, "no attributes"},
		{REG_OPEN "<serviceId><b/></serviceId>" REG_CLOSE, "text only"},
		{REG_OPEN "<other>a</other>" REG_CLOSE, "unexpected element"},
		{REG_OPEN "text<serviceId>a</serviceId>" REG_CLOSE, "unexpected content"},
		{"<!DOCTYPE mbmsUserServiceRegistration [<!ENTITY e \"a\">]>" REG_OPEN
		 "<serviceId>&e;</serviceId>" REG_CLOSE,
		 "DTD"},
		{"<!DOCTYPE x SYSTEM \"http://example.org/x.dtd\">" REG_OPEN
		 "<serviceId>a</serviceId>" REG_CLOSE,
		 "DTD"},
		{REG_OPEN "<serviceId>&undefined;</serviceId>" REG_CLOSE, "malformed XML"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct kb_service_list l;
		char err[256] = "";
		int rc = reg(bad[i].doc, &l, err);
		CHECK(rc != 0);
		if (rc != 0 && strstr(err, bad[i].want) == NULL) {
			fprintf(stderr, "case %zu: error '%s' lacks '%s'\n", i, err, bad[i].want);
			CHECK(0);
		}
	}
	/* too many items, too long an id */
	char doc[8192], *p = doc;
	struct kb_service_list l;
	char err[256];
	p += sprintf(p, REG_OPEN);
	for (int i = 0; i <= KB_XML_MAX_ITEMS; i++)
		p += sprintf(p, "<serviceId>s%d</serviceId>", i);
	sprintf(p, REG_CLOSE);
	CHECK(reg(doc, &l, err) != 0 && strstr(err, "more than") != NULL);
	p = doc + sprintf(doc, REG_OPEN "<serviceId>");
	memset(p, 'a', KB_SERVICE_ID_MAX);
	sprintf(p + KB_SERVICE_ID_MAX, "</serviceId>" REG_CLOSE);
	CHECK(reg(doc, &l, err) != 0 && strstr(err, "longer than") != NULL);
}

static void test_msk(void)
{
	struct kb_msk_request r;
	char err[256] = "";
	CHECK(msk(MSK_OPEN "<keyDomainId>62F210</keyDomainId><mskId>00010000</mskId>"
			   "<mskId>ABCDef01</mskId>" MSK_CLOSE,
		  &r, err) == 0);
	CHECK(r.key_domain[0] == 0x62 && r.key_domain[1] == 0xf2 && r.key_domain[2] == 0x10);
	CHECK(r.n == 2 && r.msk_ids[0] == 0x00010000u && r.msk_ids[1] == 0xabcdef01u);
	static const struct {
		const char *doc;
		const char *want;
	} bad[] = {
		{MSK_OPEN "<mskId>00010000</mskId>" MSK_CLOSE, "must come first"},
		{MSK_OPEN "<keyDomainId>62f210</keyDomainId>" MSK_CLOSE, "at least one"},
		{MSK_OPEN "<keyDomainId>62f21</keyDomainId><mskId>00010000</mskId>" MSK_CLOSE,
		 "6 hex"},
		{MSK_OPEN "<keyDomainId>62f21g</keyDomainId><mskId>00010000</mskId>" MSK_CLOSE,
		 "6 hex"},
		{MSK_OPEN "<keyDomainId>62f210</keyDomainId><mskId>0001000</mskId>" MSK_CLOSE,
		 "8 hex"},
		{MSK_OPEN "<keyDomainId>62f210</keyDomainId><mskId> 00010000</mskId>" MSK_CLOSE,
		 "8 hex"},
		{MSK_OPEN "<keyDomainId>62f210</keyDomainId><keyDomainId>62f210</keyDomainId>"
			  "<mskId>00010000</mskId>" MSK_CLOSE,
		 "exactly one"},
		{MSK_OPEN "<keyDomainId>62f210</keyDomainId><mtkId>1</mtkId>" MSK_CLOSE,
		 "unexpected element"},
		{"<mskRequest xmlns=\"" KB_NS_REGISTER "\"/>", "namespace"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = msk(bad[i].doc, &r, err);
		CHECK(rc != 0);
		if (rc != 0 && strstr(err, bad[i].want) == NULL) {
			fprintf(stderr, "msk case %zu: error '%s' lacks '%s'\n", i, err,
				bad[i].want);
			CHECK(0);
		}
	}
}

static const char *attr(xmlNodePtr n, const char *name, char *buf, size_t cap)
{
	xmlChar *v = xmlGetProp(n, BAD_CAST name);
	snprintf(buf, cap, "%s", v != NULL ? (const char *)v : "");
	xmlFree(v);
	return buf;
}

static void test_responses(void)
{
	struct kb_service_list l = {.n = 2};
	int codes[2] = {200, 404};
	size_t len = 0;
	char a[64], b[64];
	snprintf(l.ids[0], sizeof(l.ids[0]), "urn:a&<\"1");
	snprintf(l.ids[1], sizeof(l.ids[1]), "urn:b");
	char *doc = kb_xml_registration_response(&l, codes, &len);
	CHECK(doc != NULL && len == strlen(doc));
	xmlDocPtr d =
		doc != NULL ? xmlReadMemory(doc, (int)len, NULL, NULL, XML_PARSE_NONET) : NULL;
	CHECK(d != NULL);
	if (d != NULL) {
		xmlNodePtr r = xmlDocGetRootElement(d);
		CHECK(xmlStrcmp(r->name, BAD_CAST "mbmsUserServiceRegistrationResponse") == 0);
		CHECK(r->ns != NULL &&
		      xmlStrcmp(r->ns->href, BAD_CAST KB_NS_REGISTER_RESPONSE) == 0);
		int i = 0;
		for (xmlNodePtr c = r->children; c != NULL; c = c->next) {
			if (c->type != XML_ELEMENT_NODE)
				continue;
			CHECK(i < 2);
			if (i >= 2)
				break;
			CHECK(strcmp(attr(c, "serviceId", a, sizeof(a)), l.ids[i]) == 0);
			snprintf(b, sizeof(b), "%d", codes[i]);
			CHECK(strcmp(attr(c, "statusCode", a, sizeof(a)), b) == 0);
			i++;
		}
		CHECK(i == 2);
		xmlFreeDoc(d);
	}
	free(doc);

	struct kb_msk_request m = {
		.key_domain = {0x62, 0xf2, 0x10}, .n = 1, .msk_ids = {0x00010002}};
	int mc[1] = {403};
	doc = kb_xml_msk_response(&m, mc, &len);
	CHECK(doc != NULL);
	d = doc != NULL ? xmlReadMemory(doc, (int)len, NULL, NULL, XML_PARSE_NONET) : NULL;
	CHECK(d != NULL);
	if (d != NULL) {
		xmlNodePtr r = xmlDocGetRootElement(d);
		CHECK(xmlStrcmp(r->name, BAD_CAST "mskResponse") == 0);
		bool saw_domain = false, saw_status = false;
		for (xmlNodePtr c = r->children; c != NULL; c = c->next) {
			if (c->type != XML_ELEMENT_NODE)
				continue;
			if (xmlStrcmp(c->name, BAD_CAST "keyDomainId") == 0) {
				xmlChar *t = xmlNodeGetContent(c);
				saw_domain = t != NULL && strcmp((const char *)t, "62f210") == 0;
				xmlFree(t);
			} else if (xmlStrcmp(c->name, BAD_CAST "mskStatus") == 0) {
				saw_status =
					strcmp(attr(c, "mskId", a, sizeof(a)), "00010002") == 0 &&
					strcmp(attr(c, "statusCode", b, sizeof(b)), "403") == 0;
			}
		}
		CHECK(saw_domain);
		CHECK(saw_status);
		xmlFreeDoc(d);
	}
	free(doc);
}

int main(void)
{
	kb_xml_init();
	RUN(test_registration_ok);
	RUN(test_registration_bad);
	RUN(test_msk);
	RUN(test_responses);
	xmlCleanupParser();
	return kb_check_done();
}
