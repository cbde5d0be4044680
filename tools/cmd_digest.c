/* placeholder until implemented */
#include "cli.h"
#include <stdio.h>
int kb_cmd_digest(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "keyburst digest: not built yet\n");
	return 1;
}
