/* Roster CSV rows: any bytes must parse or fail cleanly. */
#include "util/roster.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kb_roster_row row;
	char err[128], out[512];
	const char *p = (const char *)data, *end = p + size;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl != NULL ? nl : end) - p);
		if (!kb_roster_is_header(p, len) &&
		    kb_roster_parse_line(p, len, &row, err, sizeof(err)) == 0) {
			/* a row that parses must format and parse back to itself */
			int n = kb_roster_format_row(&row, out, sizeof(out));
			struct kb_roster_row again;
			if (n <= 0 ||
			    kb_roster_parse_line(out, (size_t)n - 1, &again, err, sizeof(err)) !=
				    0 ||
			    memcmp(row.muk, again.muk, sizeof(row.muk)) != 0 ||
			    row.port != again.port)
				__builtin_trap();
		}
		p += len + 1;
	}
	return 0;
}
