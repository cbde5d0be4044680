/* The UE request and response bodies (TS 33.246 §6.3.2, TS 26.346 media
 * types), parsed and written with libxml2. Element names, namespaces and
 * status codes are defined in docs/wire-profile.md ("HTTP and XML"). Pure:
 * no server state, so the fuzzers and unit tests call it directly. */
#ifndef KB_UE_XML_H
#define KB_UE_XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "records.h"

#define KB_MT_REGISTER "application/mbms-register+xml"
#define KB_MT_REGISTER_RESPONSE "application/mbms-register-response+xml"
#define KB_MT_DEREGISTER "application/mbms-deregister+xml"
#define KB_MT_MSK "application/mbms-msk+xml"
#define KB_MT_MSK_RESPONSE "application/mbms-msk-response+xml"

#define KB_NS_REGISTER "urn:3GPP:metadata:2005:MBMS:userServiceRegistration"
#define KB_NS_DEREGISTER "urn:3GPP:metadata:2005:MBMS:userServiceDeregistration"
#define KB_NS_REGISTER_RESPONSE "urn:3GPP:metadata:2005:MBMS:userServiceRegistrationResponse"
#define KB_NS_MSK "urn:3GPP:metadata:2005:MBMS:mskRequest"
#define KB_NS_MSK_RESPONSE "urn:3GPP:metadata:2005:MBMS:mskResponse"

#define KB_XML_MAX_ITEMS 32

/* Per-item status codes (TS 33.246 §6.3.2.4), HTTP-style numbers. */
#define KB_ST_OK 200
#define KB_ST_BAD_REQUEST 400
#define KB_ST_FORBIDDEN 403 /* not registered to the service of this key group */
#define KB_ST_NOT_FOUND 404 /* unknown service, key domain, key group or key number */
#define KB_ST_INTERNAL 500

struct kb_service_list {
	size_t n;
	char ids[KB_XML_MAX_ITEMS][KB_SERVICE_ID_MAX];
};

struct kb_msk_request {
	uint8_t key_domain[KB_KEY_DOMAIN_LEN];
	size_t n;
	uint32_t msk_ids[KB_XML_MAX_ITEMS]; /* key group << 16 | key number */
};

/* Parse a (de)registration body. Returns 0, or -1 with a message for the
 * client in err. */
int kb_xml_parse_registration(const char *buf, size_t len, bool deregister,
			      struct kb_service_list *out, char *err, size_t errlen);
int kb_xml_parse_msk_request(const char *buf, size_t len, struct kb_msk_request *out, char *err,
			     size_t errlen);

/* Responses: malloc'd documents (free with free()). NULL on failure. */
char *kb_xml_registration_response(const struct kb_service_list *l, const int *codes,
				   size_t *out_len);
char *kb_xml_msk_response(const struct kb_msk_request *r, const int *codes, size_t *out_len);

/* Initialise libxml2 once per process (idempotent, thread-safe). */
void kb_xml_init(void);

#endif
