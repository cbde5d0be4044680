/* keyburst: the interop and debugging tool. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *help;
} commands[] = {
	{"mikey", kb_cmd_mikey, "seal, ack, open: MIKEY messages of the wire profile"},
	{"gba", kb_cmd_gba, "ks-naf, milenage, btid: GBA key derivation (TS 33.220)"},
	{"digest", kb_cmd_digest, "response: HTTP Digest (RFC 2617/7616) computation"},
	{"roster", kb_cmd_roster, "gen: deterministic synthetic UE rosters (CSV)"},
	{"pcap", kb_cmd_pcap, "verify, acks, verify-acks: MIKEY messages and acks in captures"},
	{"admin", kb_cmd_admin, "services, rollover, import, status: the admin API client"},
};

static int usage(FILE *out)
{
	fprintf(out, "usage: keyburst <command> <sub-command> [options]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].help);
	fprintf(out, "\n'keyburst <command> --help' describes each command's options.\n");
	return out == stdout ? 0 : 2;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage(stderr);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return usage(stdout);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "keyburst: unknown command '%s'\n", argv[1]);
	return usage(stderr);
}
