/* PAP responses and result notifications, written with xmlTextWriter (the
 * PAP 2.1 DTD's element and attribute names). */
#include "pap/pap.h"

#include <libxml/xmlwriter.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAP_PUBID "-//WAPFORUM//DTD PAP 2.1//EN"
#define PAP_SYSID "http://www.openmobilealliance.org/tech/DTD/pap_2.1.dtd"

static const char *const state_names[] = {
	[KB_PAP_STATE_UNKNOWN] = "unknown",     [KB_PAP_STATE_PENDING] = "pending",
	[KB_PAP_STATE_DELIVERED] = "delivered", [KB_PAP_STATE_UNDELIVERABLE] = "undeliverable",
	[KB_PAP_STATE_EXPIRED] = "expired",     [KB_PAP_STATE_ABORTED] = "aborted",
	[KB_PAP_STATE_TIMEOUT] = "timeout",     [KB_PAP_STATE_CANCELLED] = "cancelled",
};

const char *kb_pap_state_name(enum kb_pap_state s)
{
	if ((unsigned)s >= sizeof(state_names) / sizeof(state_names[0]))
		return "unknown";
	return state_names[s];
}

/* Each helper returns < 0 on a writer failure; the caller ORs the results
 * into one check instead of testing every call. */
static int att(xmlTextWriterPtr w, const char *name, const char *v)
{
	if (v == NULL)
		return 0;
	return xmlTextWriterWriteAttribute(w, (const xmlChar *)name, (const xmlChar *)v) < 0 ? -1
											     : 0;
}

static int att_time(xmlTextWriterPtr w, const char *name, int64_t t)
{
	char buf[21];

	if (t == 0)
		return 0;
	kb_pap_time_format(t, buf);
	return att(w, name, buf);
}

static int att_code(xmlTextWriterPtr w, const struct kb_pap_result *r)
{
	char code[12];

	snprintf(code, sizeof(code), "%d", r->code);
	return att(w, "code", code) | att(w, "desc", r->desc ? r->desc : kb_pap_code_desc(r->code));
}

static int start(xmlTextWriterPtr w, const char *name)
{
	return xmlTextWriterStartElement(w, (const xmlChar *)name) < 0 ? -1 : 0;
}

static int end(xmlTextWriterPtr w)
{
	return xmlTextWriterEndElement(w) < 0 ? -1 : 0;
}

static int address(xmlTextWriterPtr w, const char *a)
{
	if (a == NULL)
		return 0;
	return start(w, "address") | att(w, "address-value", a) | end(w);
}

static int body(xmlTextWriterPtr w, enum kb_pap_out kind, const struct kb_pap_result *r)
{
	int rc = 0;

	switch (kind) {
	case KB_PAP_OUT_PUSH_RESPONSE:
		rc |= start(w, "push-response") | att(w, "push-id", r->push_id);
		rc |= att(w, "sender-address", r->sender_address);
		rc |= att(w, "sender-name", r->sender_name);
		rc |= att_time(w, "reply-time", r->reply_time);
		rc |= start(w, "response-result") | att_code(w, r) | end(w);
		return rc | end(w);
	case KB_PAP_OUT_STATUSQUERY_RESPONSE:
		rc |= start(w, "statusquery-response") | att(w, "push-id", r->push_id);
		rc |= start(w, "statusquery-result") | att_code(w, r);
		rc |= att(w, "message-state", kb_pap_state_name(r->state));
		rc |= att_time(w, "event-time", r->event_time);
		rc |= address(w, r->address) | end(w);
		return rc | end(w);
	case KB_PAP_OUT_CANCEL_RESPONSE:
		rc |= start(w, "cancel-response") | att(w, "push-id", r->push_id);
		rc |= start(w, "cancel-result") | att_code(w, r);
		rc |= address(w, r->address) | end(w);
		return rc | end(w);
	case KB_PAP_OUT_RESULTNOTIFICATION:
		rc |= start(w, "resultnotification-message") | att(w, "push-id", r->push_id);
		rc |= att(w, "sender-address", r->sender_address);
		rc |= att(w, "sender-name", r->sender_name);
		rc |= att_time(w, "received-time", r->received_time);
		rc |= att_time(w, "event-time", r->event_time);
		rc |= att(w, "message-state", kb_pap_state_name(r->state));
		rc |= att_code(w, r);
		/* the DTD requires one address */
		rc |= address(w, r->address != NULL ? r->address : "");
		return rc | end(w);
	case KB_PAP_OUT_BADMESSAGE_RESPONSE:
		rc |= start(w, "badmessage-response") | att_code(w, r);
		rc |= att(w, "bad-message-fragment", r->bad_fragment);
		return rc | end(w);
	}
	return -1;
}

int kb_pap_build(enum kb_pap_out kind, const struct kb_pap_result *r, char **xml, size_t *len)
{
	xmlBufferPtr buf = NULL;
	xmlTextWriterPtr w = NULL;
	int rc = -1;

	*xml = NULL;
	*len = 0;
	if (r == NULL || (kind != KB_PAP_OUT_BADMESSAGE_RESPONSE && r->push_id == NULL))
		return -1;
	buf = xmlBufferCreate();
	if (buf == NULL)
		return -1;
	w = xmlNewTextWriterMemory(buf, 0);
	if (w == NULL)
		goto out;
	if (xmlTextWriterStartDocument(w, "1.0", "UTF-8", NULL) < 0 ||
	    xmlTextWriterWriteDTD(w, (const xmlChar *)"pap", (const xmlChar *)PAP_PUBID,
				  (const xmlChar *)PAP_SYSID, NULL) < 0 ||
	    start(w, "pap") != 0 || body(w, kind, r) != 0 || end(w) != 0 ||
	    xmlTextWriterEndDocument(w) < 0)
		goto out;
	xmlFreeTextWriter(w); /* flushes into buf */
	w = NULL;
	*len = (size_t)xmlBufferLength(buf);
	*xml = malloc(*len + 1);
	if (*xml == NULL)
		goto out;
	memcpy(*xml, xmlBufferContent(buf), *len);
	(*xml)[*len] = '\0';
	rc = 0;
out:
	if (w != NULL)
		xmlFreeTextWriter(w);
	xmlBufferFree(buf);
	if (rc != 0)
		*len = 0;
	return rc;
}
