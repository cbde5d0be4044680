/* keyburst roster gen --count N [--seed S]: deterministic synthetic UEs. */
#include "cli.h"

#include "util/roster.h"
#include "util/secret.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KB_ROSTER_MAX_ROWS 100000000ull

static int usage(FILE *out)
{
	fprintf(out, "usage: keyburst roster gen --count N [--seed S] [--output FILE]\n"
		     "  Prints CSV with the header '" KB_ROSTER_HEADER "': N synthetic UEs\n"
		     "  with 32-byte MUKs (GBA_ME). The same seed always gives the same rows.\n");
	return out == stdout ? 0 : 2;
}

static int parse_u64(const char *s, unsigned long long *v)
{
	char *end;
	errno = 0;
	*v = strtoull(s, &end, 0);
	return errno != 0 || *end != '\0' || *s == '\0' || *s == '-' ? -1 : 0;
}

int kb_cmd_roster(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "gen") != 0)
		return usage(argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);

	static const struct option opts[] = {
		{"count", required_argument, NULL, 'n'},
		{"seed", required_argument, NULL, 's'},
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	unsigned long long count = 0, seed = 1;
	const char *output = NULL;
	bool have_count = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "n:s:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (parse_u64(optarg, &count) != 0 || count > KB_ROSTER_MAX_ROWS) {
				fprintf(stderr, "keyburst roster gen: --count must be 0..%llu\n",
					KB_ROSTER_MAX_ROWS);
				return 2;
			}
			have_count = true;
			break;
		case 's':
			if (parse_u64(optarg, &seed) != 0) {
				fprintf(stderr, "keyburst roster gen: --seed must be an unsigned "
						"integer\n");
				return 2;
			}
			break;
		case 'o':
			output = optarg;
			break;
		case 'h':
			return usage(stdout);
		default:
			return usage(stderr);
		}
	}
	if (!have_count || optind != argc - 1)
		return usage(stderr);

	FILE *out = stdout;
	if (output != NULL) {
		out = fopen(output, "w");
		if (out == NULL) {
			fprintf(stderr, "keyburst roster gen: %s: %s\n", output, strerror(errno));
			return 1;
		}
	}
	static char iobuf[1 << 20];
	setvbuf(out, iobuf, _IOFBF, sizeof(iobuf));

	fputs(KB_ROSTER_HEADER "\n", out);
	struct kb_roster_row row;
	char line[512];
	for (unsigned long long i = 0; i < count; i++) {
		kb_roster_gen_row(seed, i, &row);
		int n = kb_roster_format_row(&row, line, sizeof(line));
		if (n < 0 || fwrite(line, 1, (size_t)n, out) != (size_t)n)
			break;
	}
	kb_memzero(&row, sizeof(row));
	kb_memzero(line, sizeof(line));
	int rc = 0;
	if (ferror(out) || fflush(out) != 0) {
		fprintf(stderr, "keyburst roster gen: write failed: %s\n", strerror(errno));
		rc = 1;
	}
	if (out != stdout)
		fclose(out);
	return rc;
}
