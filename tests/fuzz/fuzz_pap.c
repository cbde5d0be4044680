/* libFuzzer target for the PAP request path: the multipart/related
 * splitter, the Content-Type parameters, the libxml2 control entity parser
 * and the response builder fed with what was parsed. Input: the request's
 * Content-Type value, a newline, then the body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "pap/pap.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	kb_pap_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct kb_pap_limits lim = {.max_body = 1 << 16, .max_content = 1 << 15};
	const uint8_t *nl = memchr(data, '\n', size < 512 ? size : 512);
	struct kb_pap_request rq;
	struct kb_pap_error err;
	struct kb_mp_part parts[KB_MP_PARTS_MAX];
	unsigned n;
	char ct[513];
	size_t cl;

	if (nl == NULL)
		return 0;
	cl = (size_t)(nl - data);
	memcpy(ct, data, cl);
	ct[cl] = '\0';
	data += cl + 1;
	size -= cl + 1;

	if (kb_pap_parse_request(ct, data, size, &lim, &rq, &err) == 0) {
		struct kb_pap_result r = {.push_id = rq.ctl.push_id, .code = KB_PAP_ACCEPTED};
		char *xml;
		size_t len;

		/* the content stays inside the body */
		if (rq.content != NULL &&
		    (rq.content < data || rq.content + rq.content_len > data + size))
			abort();
		if (rq.ctl.push_id[0] == '\0')
			abort();
		if (kb_pap_build(KB_PAP_OUT_PUSH_RESPONSE, &r, &xml, &len) != 0)
			abort();
		free(xml);
	} else if (err.code != KB_PAP_BAD_REQUEST && err.code != KB_PAP_ADDRESS_ERROR &&
		   err.code != KB_PAP_NOT_IMPLEMENTED) {
		abort();
	}
	/* the splitter alone, with a fixed boundary */
	if (kb_mp_split(data, size, "b", parts, KB_MP_PARTS_MAX, &n) == 0) {
		for (unsigned i = 0; i < n; i++)
			if (parts[i].body < data || parts[i].body + parts[i].len > data + size)
				abort();
	}
	/* and the XML parser on the raw body */
	if (size <= KB_PAP_CONTROL_MAX)
		(void)kb_pap_parse_control(data, size, &rq.ctl, &err);
	return 0;
}
