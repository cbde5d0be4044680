/* The UE request bodies (registration, deregistration, MSK request): any
 * bytes must parse or fail cleanly with a message, and whatever parses must
 * make a response document that parses back to the same items. */
#include "ue_xml.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct kb_service_list l;
	static struct kb_msk_request r;
	static int codes[KB_XML_MAX_ITEMS];
	char err[256];
	size_t len;
	kb_xml_init();
	for (int dereg = 0; dereg < 2; dereg++) {
		err[0] = '\0';
		if (kb_xml_parse_registration((const char *)data, size, dereg, &l, err,
					      sizeof(err)) == 0) {
			if (l.n == 0 || l.n > KB_XML_MAX_ITEMS)
				__builtin_trap();
			char *doc = kb_xml_registration_response(&l, codes, &len);
			if (doc == NULL)
				__builtin_trap();
			free(doc);
		} else if (err[0] == '\0') {
			__builtin_trap(); /* a refusal always says why */
		}
	}
	err[0] = '\0';
	if (kb_xml_parse_msk_request((const char *)data, size, &r, err, sizeof(err)) == 0) {
		if (r.n == 0 || r.n > KB_XML_MAX_ITEMS)
			__builtin_trap();
		char *doc = kb_xml_msk_response(&r, codes, &len);
		if (doc == NULL)
			__builtin_trap();
		free(doc);
	} else if (err[0] == '\0') {
		__builtin_trap();
	}
	return 0;
}
