/* B-TID parsing: any string parses or fails cleanly, and what parses must
 * rebuild to the same B-TID. */
#include "gba/gba.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in[512], domain[300], err[128], again[512];
	uint8_t rand[KB_GBA_RAND_LEN];
	if (size >= sizeof(in))
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	if (kb_gba_btid_parse(in, rand, domain, sizeof(domain), err, sizeof(err)) != 0)
		return 0;
	long n = kb_gba_btid(rand, domain, again, sizeof(again));
	if (n < 0 || strcmp(again, in) != 0)
		abort();
	return 0;
}
