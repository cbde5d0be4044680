#include "uesim_json.h"

#include <stdio.h>

int kb_uesim_json_write(const json_t *o, const char *path)
{
	FILE *out = stdout;
	if (path != NULL) {
		out = fopen(path, "w");
		if (out == NULL) {
			perror(path);
			return -1;
		}
	}
	json_dumpf(o, out, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	fputc('\n', out);
	if (out != stdout)
		fclose(out);
	else
		fflush(out);
	return 0;
}
