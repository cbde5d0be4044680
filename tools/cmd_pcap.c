/* placeholder until implemented */
#include "cli.h"
#include <stdio.h>
int kb_cmd_pcap(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "keyburst pcap: not built yet\n");
	return 1;
}
