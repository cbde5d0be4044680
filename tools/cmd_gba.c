/* placeholder until implemented */
#include "cli.h"
#include <stdio.h>
int kb_cmd_gba(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "keyburst gba: not built yet\n");
	return 1;
}
