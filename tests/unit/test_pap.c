/* proto/pap: a PAP push request (multipart/related, control entity per the
 * OMA PAP 2.1 DTD, content entity) parses; the errors map to the right
 * codes (bad XML, missing push-id, duplicate boundary, truncation at every
 * length, oversize, bad address, unsupported message); builders produce XML
 * that libxml2 re-parses with the expected attributes. */
#include "check.h"

#include "pap/pap.h"

#include <libxml/parser.h>
#include <libxml/tree.h>

#define CT "multipart/related; boundary=asdlfkjiurwghasf; type=\"application/xml\""

#define CONTROL                                                                           \
	"<?xml version=\"1.0\"?>\r\n"                                                     \
	"<!DOCTYPE pap PUBLIC \"-//WAPFORUM//DTD PAP 2.1//EN\"\r\n"                       \
	"  \"http://www.openmobilealliance.org/tech/DTD/pap_2.1.dtd\">\r\n"               \
	"<pap>\r\n"                                                                       \
	"  <push-message push-id=\"9fjeo39jf084@pi.example.com\"\r\n"                     \
	"      deliver-before-timestamp=\"2030-02-28T06:45:00Z\"\r\n"                     \
	"      deliver-after-timestamp=\"2030-02-27T06:45:00Z\"\r\n"                      \
	"      ppg-notify-requested-to=\"http://pi.example.com/notify\">\r\n"             \
	"    <address address-value=\"WAPPUSH=news-7/TYPE=USER@bmsc.example.org\"/>\r\n"  \
	"    <quality-of-service priority=\"high\" delivery-method=\"unconfirmed\"/>\r\n" \
	"  </push-message>\r\n"                                                           \
	"</pap>"

static const char sample[] = "--asdlfkjiurwghasf\r\n"
			     "Content-Type: application/xml\r\n"
			     "\r\n" CONTROL "\r\n"
			     "--asdlfkjiurwghasf\r\n"
			     "Content-Type: text/plain\r\n"
			     "Content-ID: <obj1@pi.example.com>\r\n"
			     "\r\n"
			     "Hello multicast\r\n\r\n-- not a boundary\r\n"
			     "--asdlfkjiurwghasf--\r\n";

static const struct kb_pap_limits lim = {.max_body = 1 << 20, .max_content = 1 << 19};

static int parse(const char *ct, const char *body, size_t len, struct kb_pap_request *rq,
		 struct kb_pap_error *err)
{
	return kb_pap_parse_request(ct, (const uint8_t *)body, len, &lim, rq, err);
}

static void test_sample_push(void)
{
	static const char content[] = "Hello multicast\r\n\r\n-- not a boundary";
	struct kb_pap_request rq;
	struct kb_pap_error err;

	CHECK(parse(CT, sample, strlen(sample), &rq, &err) == 0);
	CHECK(rq.ctl.kind == KB_PAP_PUSH);
	CHECK(strcmp(rq.ctl.push_id, "9fjeo39jf084@pi.example.com") == 0);
	CHECK(rq.ctl.has_deliver_before && rq.ctl.deliver_before == 1898491500);
	CHECK(rq.ctl.has_deliver_after && rq.ctl.deliver_after == 1898405100);
	CHECK(strcmp(rq.ctl.notify_to, "http://pi.example.com/notify") == 0);
	CHECK(rq.ctl.n_addr == 1);
	CHECK(strcmp(rq.ctl.addr[0].service_id, "news-7") == 0);
	CHECK(strcmp(rq.ctl.addr[0].host, "bmsc.example.org") == 0);
	CHECK(rq.ctl.priority == KB_PAP_PRIO_HIGH);
	CHECK(rq.ctl.delivery == KB_PAP_DELIVERY_UNCONFIRMED);
	CHECK(strcmp(rq.content_type, "text/plain") == 0);
	CHECK(rq.content_len == strlen(content));
	CHECK(rq.content != NULL && memcmp(rq.content, content, strlen(content)) == 0);
}

/* preamble, transport padding, epilogue, root named by start= second */
/* the splitter on a NUL-free string, boundary "x" */
static int split(const char *s, struct kb_mp_part *parts, unsigned max, unsigned *n)
{
	return kb_mp_split((const uint8_t *)s, strlen(s), "x", parts, max, n);
}

static void test_multipart_variants(void)
{
	static const char body[] =
		"This is the preamble.\r\n"
		"--b1  \t\r\n"
		"Content-Type: application/octet-stream\r\n"
		"Content-ID: <c>\r\n"
		"\r\n"
		"\x00\x01\x02\r\n"
		"--b1\r\n"
		"content-type: application/xml; charset=utf-8\r\n"
		"Content-ID: <root>\r\n"
		"X-Other: ignored\r\n"
		"\r\n"
		"<pap><push-message push-id=\"p2\"><address "
		"address-value=\"WAPPUSH=svc/TYPE=USER@a.b\"/></push-message></pap>\r\n"
		"--b1--\r\n"
		"epilogue --b1 junk";
	struct kb_pap_request rq;
	struct kb_pap_error err;
	struct kb_mp_ctype ct;
	struct kb_mp_part parts[4];
	unsigned n;

	CHECK(parse("Multipart/Related; type=\"application/xml\"; start=\"<root>\"; "
		    "boundary=\"b1\"",
		    body, sizeof(body) - 1, &rq, &err) == 0);
	CHECK(strcmp(rq.ctl.push_id, "p2") == 0);
	CHECK(rq.content_len == 3 && memcmp(rq.content, "\x00\x01\x02", 3) == 0);
	CHECK(strcmp(rq.content_type, "application/octet-stream") == 0);
	CHECK(!rq.ctl.has_deliver_before && rq.ctl.notify_to[0] == '\0');
	CHECK(rq.ctl.priority == KB_PAP_PRIO_MEDIUM);
	/* RFC 2045: a value with a tspecial ('/') must be quoted */
	CHECK(parse("multipart/related; type=application/xml; start=\"<root>\"; boundary=b1", body,
		    sizeof(body) - 1, &rq, &err) == -1);
	/* start names a part that does not exist */
	CHECK(parse("multipart/related; boundary=b1; start=\"<nope>\"", body, sizeof(body) - 1, &rq,
		    &err) == -1 &&
	      err.code == 2000);
	/* without start, the first part is the root: not application/xml */
	CHECK(parse("multipart/related; boundary=b1", body, sizeof(body) - 1, &rq, &err) == -1 &&
	      err.code == 2000);

	/* the splitter itself: an empty part, a part without headers */
	CHECK(kb_mp_parse_ctype("multipart/related;boundary=\"a b\"", &ct) == 0);
	CHECK(strcmp(ct.boundary, "a b") == 0);
	CHECK(split("--x\r\n\r\n\r\n--x\r\nA: b\r\n\r\nz\r\n--x--", parts, 4, &n) == 0);
	CHECK(n == 2 && parts[0].len == 0 && parts[1].len == 1 && parts[1].body[0] == 'z');
	/* too many parts */
	CHECK(split("--x\r\n\r\n\r\n--x\r\nA: b\r\n\r\nz\r\n--x--", parts, 1, &n) == -1);
	/* a part without the blank line after its headers */
	CHECK(split("--x\r\nA: b\r\n--x--", parts, 4, &n) == -1);
	/* a bare LF multipart is refused (CRLF only) */
	CHECK(split("--x\nA: b\n\nz\n--x--", parts, 4, &n) == -1);
	/* a folded header line */
	CHECK(split("--x\r\nA: b\r\n c\r\n\r\nz\r\n--x--", parts, 4, &n) == -1);
	/* duplicate Content-Type in a part */
	CHECK(split("--x\r\nContent-Type: a\r\nContent-type: b\r\n\r\n"
		    "z\r\n--x--",
		    parts, 4, &n) == -1);
	/* a line that starts with the boundary but is longer */
	CHECK(split("--x\r\n\r\nz\r\n--xy\r\n--x--", parts, 4, &n) == -1);
}

static void test_ctype_errors(void)
{
	struct kb_mp_ctype ct;
	char longb[100];

	CHECK(kb_mp_parse_ctype("multipart/related; boundary=a; boundary=b", &ct) == -1);
	CHECK(kb_mp_parse_ctype("multipart/related; boundary=a; BOUNDARY=a", &ct) == -1);
	CHECK(kb_mp_parse_ctype("multipart/related", &ct) == -1);
	CHECK(kb_mp_parse_ctype("multipart/mixed; boundary=a", &ct) == -1);
	CHECK(kb_mp_parse_ctype("multipart/related; boundary=\"\"", &ct) == -1);
	CHECK(kb_mp_parse_ctype("multipart/related; boundary=\"ab \"", &ct) == -1);
	CHECK(kb_mp_parse_ctype("multipart/related; boundary=\"a\\\"b\"", &ct) == -1);
	CHECK(kb_mp_parse_ctype("multipart/related; boundary=\"abc", &ct) == -1);
	CHECK(kb_mp_parse_ctype("multipart/related; boundary=a junk", &ct) == -1);
	CHECK(kb_mp_parse_ctype("multipart/related; type=a; type=b; boundary=c", &ct) == -1);
	memcpy(longb, "multipart/related;boundary=", 27);
	memset(longb + 27, 'a', 71);
	longb[27 + 71] = '\0';
	CHECK(kb_mp_parse_ctype(longb, &ct) == -1);
	longb[27 + 70] = '\0';
	CHECK(kb_mp_parse_ctype(longb, &ct) == 0 && strlen(ct.boundary) == 70);
}

static void test_request_errors(void)
{
	struct kb_pap_request rq;
	struct kb_pap_error err;
	char buf[4096];
	size_t full = strlen(sample), close_end;
	const char *close;
	int bad = 0;
	struct kb_pap_limits small = {.max_body = 100, .max_content = 100};

	/* duplicate boundary parameter */
	CHECK(parse("multipart/related; boundary=asdlfkjiurwghasf; boundary=x", sample, full, &rq,
		    &err) == -1 &&
	      err.code == KB_PAP_BAD_REQUEST);
	/* every truncation before the close delimiter fails */
	close = strstr(sample, "--asdlfkjiurwghasf--");
	close_end = (size_t)(close - sample) + strlen("--asdlfkjiurwghasf--");
	for (size_t l = 0; l < close_end; l++) {
		if (parse(CT, sample, l, &rq, &err) != -1 || err.code != KB_PAP_BAD_REQUEST)
			bad++;
	}
	CHECK(bad == 0);
	CHECK(parse(CT, sample, close_end, &rq, &err) == 0);
	/* oversize body and content */
	CHECK(kb_pap_parse_request(CT, (const uint8_t *)sample, full, &small, &rq, &err) == -1 &&
	      err.code == KB_PAP_BAD_REQUEST);
	small.max_body = 1 << 20;
	small.max_content = 10;
	CHECK(kb_pap_parse_request(CT, (const uint8_t *)sample, full, &small, &rq, &err) == -1 &&
	      err.code == KB_PAP_BAD_REQUEST);
	/* a base64 content entity: not implemented */
	snprintf(buf, sizeof(buf),
		 "--b\r\nContent-Type: application/xml\r\n\r\n%s\r\n--b\r\nContent-Type: "
		 "text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\nSGk=\r\n--b--",
		 CONTROL);
	CHECK(parse("multipart/related; boundary=b", buf, strlen(buf), &rq, &err) == -1 &&
	      err.code == KB_PAP_NOT_IMPLEMENTED);
	/* no content entity */
	snprintf(buf, sizeof(buf), "--b\r\nContent-Type: application/xml\r\n\r\n%s\r\n--b--",
		 CONTROL);
	CHECK(parse("multipart/related; boundary=b", buf, strlen(buf), &rq, &err) == -1 &&
	      err.code == KB_PAP_BAD_REQUEST);
	/* a push-message without content as bare XML */
	CHECK(parse("application/xml", CONTROL, strlen(CONTROL), &rq, &err) == -1 &&
	      err.code == KB_PAP_BAD_REQUEST);
	CHECK(parse("text/plain", "x", 1, &rq, &err) == -1 && err.code == KB_PAP_BAD_REQUEST);
	/* the root type parameter must be application/xml */
	CHECK(parse("multipart/related; boundary=asdlfkjiurwghasf; type=\"text/html\"", sample,
		    full, &rq, &err) == -1 &&
	      err.code == KB_PAP_BAD_REQUEST);
}

static int control(const char *xml, struct kb_pap_control *c, struct kb_pap_error *e)
{
	return kb_pap_parse_control((const uint8_t *)xml, strlen(xml), c, e);
}

#define ADDR "<address address-value=\"WAPPUSH=s1/TYPE=USER@bmsc.example.org\"/>"

static void test_control_errors(void)
{
	struct kb_pap_control c;
	struct kb_pap_error e;
	static char big[KB_PAP_CONTROL_MAX + 2];

	/* bad XML → 2000 */
	CHECK(control("<pap><push-message push-id=\"a\">" ADDR "</pap>", &c, &e) == -1 &&
	      e.code == 2000);
	CHECK(control("not xml at all", &c, &e) == -1 && e.code == 2000);
	CHECK(kb_pap_parse_control((const uint8_t *)"", 0, &c, &e) == -1 && e.code == 2000);
	/* missing push-id → 2000 */
	CHECK(control("<pap><push-message>" ADDR "</push-message></pap>", &c, &e) == -1 &&
	      e.code == 2000 && strstr(e.desc, "push-id") != NULL);
	CHECK(control("<pap><push-message push-id=\"\">" ADDR "</push-message></pap>", &c, &e) ==
		      -1 &&
	      e.code == 2000);
	/* addresses → 2002, with the push-id kept for the response */
	CHECK(control("<pap><push-message push-id=\"k\"></push-message></pap>", &c, &e) == -1 &&
	      e.code == 2002 && strcmp(c.push_id, "k") == 0);
	CHECK(control("<pap><push-message push-id=\"k\"><address "
		      "address-value=\"WAPPUSH=+15551234/TYPE=PLMN@ppg.x\"/></push-message></pap>",
		      &c, &e) == -1 &&
	      e.code == 2002);
	CHECK(control("<pap><push-message push-id=\"k\"><address/></push-message></pap>", &c, &e) ==
		      -1 &&
	      e.code == 2002);
	/* wrong root, wrong/unknown message, two messages, stray element */
	CHECK(control("<xpap/>", &c, &e) == -1 && e.code == 2000);
	CHECK(control("<pap/>", &c, &e) == -1 && e.code == 2000);
	CHECK(control("<pap><ccq-message push-id=\"a\"/></pap>", &c, &e) == -1 && e.code == 3001);
	CHECK(control("<pap><frobnicate/></pap>", &c, &e) == -1 && e.code == 2000);
	CHECK(control("<pap><cancel-message push-id=\"a\"/><cancel-message push-id=\"b\"/></pap>",
		      &c, &e) == -1 &&
	      e.code == 2000);
	CHECK(control("<pap><push-message push-id=\"k\">" ADDR "<x/></push-message></pap>", &c,
		      &e) == -1 &&
	      e.code == 2000);
	CHECK(control("<pap><push-message push-id=\"k\">" ADDR "text</push-message></pap>", &c,
		      &e) == -1 &&
	      e.code == 2000);
	CHECK(control("<pap xmlns=\"urn:x\"><cancel-message push-id=\"a\"/></pap>", &c, &e) == -1);
	/* timestamps, notify URL, qos values */
	CHECK(control("<pap><push-message push-id=\"k\" "
		      "deliver-before-timestamp=\"2030-02-30T00:00:"
		      "00Z\">" ADDR "</push-message></pap>",
		      &c, &e) == -1 &&
	      e.code == 2000);
	CHECK(control("<pap><push-message push-id=\"k\" "
		      "deliver-before-timestamp=\"2030-02-01\">" ADDR "</push-message></pap>",
		      &c, &e) == -1 &&
	      e.code == 2000);
	CHECK(control("<pap><push-message push-id=\"k\" "
		      "deliver-before-timestamp=\"2030-01-01T00:00:"
		      "00Z\" deliver-after-timestamp=\"2030-01-01T00:00:00Z\">" ADDR
		      "</push-message></pap>",
		      &c, &e) == -1 &&
	      e.code == 2000);
	CHECK(control("<pap><push-message push-id=\"k\" ppg-notify-requested-to=\"file:///etc/"
		      "passwd\">" ADDR "</push-message></pap>",
		      &c, &e) == -1 &&
	      e.code == 2000);
	CHECK(control("<pap><push-message push-id=\"k\">" ADDR
		      "<quality-of-service priority=\"urgent\"/></push-message></pap>",
		      &c, &e) == -1 &&
	      e.code == 2000);
	CHECK(control("<pap><push-message push-id=\"k\">" ADDR
		      "<quality-of-service/><quality-of-service/></push-message></pap>",
		      &c, &e) == -1 &&
	      e.code == 2000);
	/* entity declarations are refused, even harmless ones */
	CHECK(control("<!DOCTYPE pap [<!ENTITY a \"aaaa\">]><pap><cancel-message push-id=\"&a;\"/>"
		      "</pap>",
		      &c, &e) == -1 &&
	      e.code == 2000);
	/* external entities are never fetched */
	CHECK(control("<!DOCTYPE pap [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><pap><cancel-"
		      "message push-id=\"&x;\"/></pap>",
		      &c, &e) == -1);
	/* oversize control entity */
	memset(big, ' ', sizeof(big) - 1);
	memcpy(big, "<pap>", 5);
	CHECK(kb_pap_parse_control((const uint8_t *)big, sizeof(big) - 1, &c, &e) == -1 &&
	      e.code == 2000);

	/* good statusquery and cancel, as bare XML requests */
	{
		struct kb_pap_request rq;
		const char *sq = "<?xml version=\"1.0\"?><pap><statusquery-message "
				 "push-id=\"q1\"/></pap>";
		const char *cn =
			"<pap><cancel-message push-id=\"q2\">" ADDR "</cancel-message></pap>";

		CHECK(parse("application/xml", sq, strlen(sq), &rq, &e) == 0);
		CHECK(rq.ctl.kind == KB_PAP_STATUSQUERY && strcmp(rq.ctl.push_id, "q1") == 0);
		CHECK(rq.content == NULL);
		CHECK(parse("application/xml; charset=utf-8", cn, strlen(cn), &rq, &e) == 0);
		CHECK(rq.ctl.kind == KB_PAP_CANCEL && rq.ctl.n_addr == 1);
	}
}

static void test_address(void)
{
	struct kb_pap_addr a;

	CHECK(kb_pap_addr_parse("WAPPUSH=news.sport_1-x/TYPE=USER@bmsc.mnc001.mcc001.pub."
				"3gppnetwork.org",
				&a) == 0);
	CHECK(strcmp(a.service_id, "news.sport_1-x") == 0);
	CHECK(strcmp(a.host, "bmsc.mnc001.mcc001.pub.3gppnetwork.org") == 0);
	CHECK(kb_pap_addr_parse("WAPPUSH=/TYPE=USER@h", &a) == -1);
	CHECK(kb_pap_addr_parse("WAPPUSH=a%20b/TYPE=USER@h", &a) == -1);
	CHECK(kb_pap_addr_parse("WAPPUSH=a/TYPE=PLMN@h", &a) == -1);
	CHECK(kb_pap_addr_parse("WAPPUSH=a/TYPE=USER@", &a) == -1);
	CHECK(kb_pap_addr_parse("WAPPUSH=a/TYPE=USER@h..x", &a) == -1);
	CHECK(kb_pap_addr_parse("WAPPUSH=a/TYPE=USER@h/x", &a) == -1);
	CHECK(kb_pap_addr_parse("wappush=a/TYPE=USER@h", &a) == -1);
	CHECK(kb_pap_addr_parse(
		      "WAPPUSH=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/"
		      "TYPE=USER@h",
		      &a) == -1); /* 65 characters */
}

static void test_time(void)
{
	int64_t t;
	char s[21];

	CHECK(kb_pap_time_parse("1970-01-01T00:00:00Z", &t) == 0 && t == 0);
	CHECK(kb_pap_time_parse("2024-02-29T23:59:59Z", &t) == 0 && t == 1709251199);
	CHECK(kb_pap_time_parse("2023-02-29T23:59:59Z", &t) == -1);
	CHECK(kb_pap_time_parse("2024-02-29T23:59:59", &t) == -1);
	CHECK(kb_pap_time_parse("2024-02-29 23:59:59Z", &t) == -1);
	CHECK(kb_pap_time_parse("2024-13-01T00:00:00Z", &t) == -1);
	kb_pap_time_format(1898491500, s);
	CHECK(strcmp(s, "2030-02-28T06:45:00Z") == 0);
}

/* Re-parse a built document: root pap, one element child named `elem`. */
static xmlNode *reparse(const char *xml, size_t len, const char *elem, xmlDoc **doc)
{
	xmlNode *root, *m = NULL;

	*doc = xmlReadMemory(xml, (int)len, "out.xml", NULL, XML_PARSE_NONET);
	CHECK(*doc != NULL);
	if (*doc == NULL)
		return NULL;
	CHECK(xmlGetIntSubset(*doc) != NULL);
	root = xmlDocGetRootElement(*doc);
	CHECK(root != NULL && strcmp((const char *)root->name, "pap") == 0);
	for (xmlNode *k = root ? root->children : NULL; k != NULL; k = k->next)
		if (k->type == XML_ELEMENT_NODE)
			m = k;
	CHECK(m != NULL && strcmp((const char *)m->name, elem) == 0);
	return m;
}

static bool prop_is(xmlNode *n, const char *name, const char *want)
{
	xmlChar *v = n != NULL ? xmlGetProp(n, (const xmlChar *)name) : NULL;
	bool ok = v != NULL && strcmp((const char *)v, want) == 0;

	xmlFree(v);
	return ok;
}

static xmlNode *child(xmlNode *n, const char *name)
{
	for (xmlNode *k = n != NULL ? n->children : NULL; k != NULL; k = k->next)
		if (k->type == XML_ELEMENT_NODE && strcmp((const char *)k->name, name) == 0)
			return k;
	return NULL;
}

static void test_builders(void)
{
	struct kb_pap_result r = {
		.push_id = "id<&\"'>1",
		.code = KB_PAP_ACCEPTED,
		.sender_address = "http://bmsc.example.org/pap",
		.sender_name = "keyburst",
		.reply_time = 1898491500,
	};
	char *x = NULL;
	size_t n = 0;
	xmlDoc *doc;
	xmlNode *m;

	CHECK(kb_pap_build(KB_PAP_OUT_PUSH_RESPONSE, &r, &x, &n) == 0 && n == strlen(x));
	m = reparse(x, n, "push-response", &doc);
	CHECK(prop_is(m, "push-id", "id<&\"'>1"));
	CHECK(prop_is(m, "reply-time", "2030-02-28T06:45:00Z"));
	CHECK(prop_is(m, "sender-name", "keyburst"));
	CHECK(prop_is(child(m, "response-result"), "code", "1001"));
	CHECK(prop_is(child(m, "response-result"), "desc", "Accepted for processing"));
	xmlFreeDoc(doc);
	free(x);

	r.code = KB_PAP_DUPLICATE_PUSH_ID;
	r.desc = "seen before";
	CHECK(kb_pap_build(KB_PAP_OUT_PUSH_RESPONSE, &r, &x, &n) == 0);
	m = reparse(x, n, "push-response", &doc);
	CHECK(prop_is(child(m, "response-result"), "code", "2007"));
	CHECK(prop_is(child(m, "response-result"), "desc", "seen before"));
	xmlFreeDoc(doc);
	free(x);

	r.desc = NULL;
	r.code = KB_PAP_OK;
	r.state = KB_PAP_STATE_PENDING;
	r.event_time = 1898405100;
	r.address = "WAPPUSH=s1/TYPE=USER@bmsc.example.org";
	CHECK(kb_pap_build(KB_PAP_OUT_STATUSQUERY_RESPONSE, &r, &x, &n) == 0);
	m = reparse(x, n, "statusquery-response", &doc);
	CHECK(prop_is(m, "push-id", "id<&\"'>1"));
	CHECK(prop_is(child(m, "statusquery-result"), "message-state", "pending"));
	CHECK(prop_is(child(m, "statusquery-result"), "code", "1000"));
	CHECK(prop_is(child(m, "statusquery-result"), "event-time", "2030-02-27T06:45:00Z"));
	CHECK(prop_is(child(child(m, "statusquery-result"), "address"), "address-value",
		      "WAPPUSH=s1/TYPE=USER@bmsc.example.org"));
	xmlFreeDoc(doc);
	free(x);

	r.state = KB_PAP_STATE_CANCELLED;
	CHECK(kb_pap_build(KB_PAP_OUT_CANCEL_RESPONSE, &r, &x, &n) == 0);
	m = reparse(x, n, "cancel-response", &doc);
	CHECK(prop_is(child(m, "cancel-result"), "code", "1000"));
	xmlFreeDoc(doc);
	free(x);

	r.state = KB_PAP_STATE_DELIVERED;
	r.received_time = 1898405000;
	CHECK(kb_pap_build(KB_PAP_OUT_RESULTNOTIFICATION, &r, &x, &n) == 0);
	m = reparse(x, n, "resultnotification-message", &doc);
	CHECK(prop_is(m, "message-state", "delivered"));
	CHECK(prop_is(m, "code", "1000"));
	CHECK(prop_is(m, "received-time", "2030-02-27T06:43:20Z"));
	CHECK(child(m, "address") != NULL);
	xmlFreeDoc(doc);
	free(x);

	r.push_id = NULL;
	r.code = KB_PAP_BAD_REQUEST;
	r.bad_fragment = "<pap><push-message";
	CHECK(kb_pap_build(KB_PAP_OUT_PUSH_RESPONSE, &r, &x, &n) == -1 && x == NULL);
	CHECK(kb_pap_build(KB_PAP_OUT_BADMESSAGE_RESPONSE, &r, &x, &n) == 0);
	m = reparse(x, n, "badmessage-response", &doc);
	CHECK(prop_is(m, "code", "2000"));
	CHECK(prop_is(m, "bad-message-fragment", "<pap><push-message"));
	xmlFreeDoc(doc);
	free(x);

	/* our own parser reads what we build where the grammar overlaps */
	CHECK(strcmp(kb_pap_code_desc(2002), "Address error") == 0);
	CHECK(strcmp(kb_pap_state_name((enum kb_pap_state)99), "unknown") == 0);
}

int main(void)
{
	kb_pap_init();
	RUN(test_sample_push);
	RUN(test_multipart_variants);
	RUN(test_ctype_errors);
	RUN(test_request_errors);
	RUN(test_control_errors);
	RUN(test_address);
	RUN(test_time);
	RUN(test_builders);
	xmlCleanupParser();
	return kb_check_done();
}
