/* placeholder until implemented */
#include "cli.h"
#include <stdio.h>
int kb_cmd_mikey(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "keyburst mikey: not built yet\n");
	return 1;
}
