/* keyburst digest: HTTP Digest (RFC 2617 / RFC 7616) computations for
 * interop debugging and simulators. */
#include "cli.h"

#include "digest/digest.h"
#include "util/secret.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BODY_MAX (16u << 20)

static void usage(FILE *out)
{
	fprintf(out, "usage: keyburst digest response [options]\n"
		     "\n"
		     "Compute a Digest response (RFC 7616 §3.4.1) and print it in hex.\n"
		     "\n"
		     "required:\n"
		     "  --user U          username (for GBA: the B-TID)\n"
		     "  --realm R         realm (for GBA: 3GPP-bootstrapping@<BM-SC FQDN>)\n"
		     "  --password P      password (for GBA: base64(MRK))\n"
		     "  --method M        request method, e.g. POST\n"
		     "  --uri U           digest-uri as sent in the Authorization header\n"
		     "  --nonce N         the server's nonce\n"
		     "options:\n"
		     "  --nc HEX8         nonce count, 8 hex digits (default 00000001)\n"
		     "  --cnonce C        client nonce (default: random, printed with --header)\n"
		     "  --qop Q           auth (default), auth-int, or none (RFC 2069)\n"
		     "  --body-file F     request body for auth-int (default: empty)\n"
		     "  --algorithm A     MD5 (default), MD5-sess, SHA-256, SHA-256-sess,\n"
		     "                    SHA-512-256, SHA-512-256-sess\n"
		     "  --opaque O        opaque value to echo (with --header)\n"
		     "  --header          print the whole Authorization header value instead\n"
		     "  -h, --help        this text\n");
}

static int read_file(const char *path, uint8_t **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		perror(path);
		return -1;
	}
	size_t cap = 4096, n = 0;
	uint8_t *b = malloc(cap);
	while (b != NULL) {
		n += fread(b + n, 1, cap - n, f);
		if (n < cap || cap >= BODY_MAX)
			break;
		uint8_t *nb = realloc(b, cap * 2);
		if (nb == NULL) {
			free(b);
			b = NULL;
			break;
		}
		b = nb;
		cap *= 2;
	}
	int bad = b == NULL || ferror(f) || (n == cap && !feof(f) && fgetc(f) != EOF);
	fclose(f);
	if (bad) {
		fprintf(stderr, "keyburst digest: %s: unreadable or larger than %u bytes\n", path,
			BODY_MAX);
		free(b);
		return -1;
	}
	*buf = b;
	*len = n;
	return 0;
}

static int cmd_response(int argc, char **argv)
{
	enum {
		O_USER = 1000,
		O_REALM,
		O_PASSWORD,
		O_METHOD,
		O_URI,
		O_NONCE,
		O_NC,
		O_CNONCE,
		O_QOP,
		O_BODY,
		O_ALG,
		O_OPAQUE,
		O_HEADER,
	};
	static const struct option opts[] = {
		{"user", required_argument, NULL, O_USER},
		{"realm", required_argument, NULL, O_REALM},
		{"password", required_argument, NULL, O_PASSWORD},
		{"method", required_argument, NULL, O_METHOD},
		{"uri", required_argument, NULL, O_URI},
		{"nonce", required_argument, NULL, O_NONCE},
		{"nc", required_argument, NULL, O_NC},
		{"cnonce", required_argument, NULL, O_CNONCE},
		{"qop", required_argument, NULL, O_QOP},
		{"body-file", required_argument, NULL, O_BODY},
		{"algorithm", required_argument, NULL, O_ALG},
		{"opaque", required_argument, NULL, O_OPAQUE},
		{"header", no_argument, NULL, O_HEADER},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *user = NULL, *realm = NULL, *password = NULL, *method = NULL, *uri = NULL;
	const char *nonce = NULL, *nc = "00000001", *cnonce = NULL, *qop = "auth";
	const char *body_file = NULL, *alg = "MD5", *opaque = NULL;
	bool header = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_USER:
			user = optarg;
			break;
		case O_REALM:
			realm = optarg;
			break;
		case O_PASSWORD:
			password = optarg;
			break;
		case O_METHOD:
			method = optarg;
			break;
		case O_URI:
			uri = optarg;
			break;
		case O_NONCE:
			nonce = optarg;
			break;
		case O_NC:
			nc = optarg;
			break;
		case O_CNONCE:
			cnonce = optarg;
			break;
		case O_QOP:
			qop = optarg;
			break;
		case O_BODY:
			body_file = optarg;
			break;
		case O_ALG:
			alg = optarg;
			break;
		case O_OPAQUE:
			opaque = optarg;
			break;
		case O_HEADER:
			header = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || user == NULL || realm == NULL || password == NULL || method == NULL ||
	    uri == NULL || nonce == NULL) {
		fprintf(stderr, "keyburst digest response: --user, --realm, --password, --method, "
				"--uri and --nonce are required\n");
		usage(stderr);
		return 2;
	}
	char *end = NULL;
	unsigned long ncv = strtoul(nc, &end, 16);
	if (strlen(nc) != 8 || *end != '\0' || ncv == 0) {
		fprintf(stderr, "keyburst digest: --nc must be 8 hex digits, not 00000000\n");
		return 2;
	}
	enum kb_digest_alg a;
	if (kb_digest_alg_parse(alg, &a) != 0) {
		fprintf(stderr, "keyburst digest: unknown --algorithm '%s'\n", alg);
		return 2;
	}
	enum kb_digest_qop q = KB_DIGEST_QOP_NONE;
	if (strcmp(qop, "none") != 0 && kb_digest_qop_parse(qop, &q) != 0) {
		fprintf(stderr, "keyburst digest: --qop is auth, auth-int or none\n");
		return 2;
	}

	uint8_t *body = NULL;
	size_t body_len = 0;
	if (body_file != NULL && read_file(body_file, &body, &body_len) != 0)
		return 1;

	/* The client code builds the header from a challenge; give it one. */
	struct kb_digest_fields *ch = calloc(1, sizeof(*ch));
	char out[4096], err[128];
	int rc = 1;
	if (ch == NULL)
		goto out;
	const struct {
		enum kb_digest_field id;
		const char *v;
	} set[] = {
		{KB_DF_REALM, realm},
		{KB_DF_NONCE, nonce},
		{KB_DF_ALGORITHM, alg},
		{KB_DF_QOP, q != KB_DIGEST_QOP_NONE ? kb_digest_qop_name(q) : NULL},
		{KB_DF_OPAQUE, opaque},
	};
	for (size_t i = 0; i < sizeof(set) / sizeof(set[0]); i++) {
		if (set[i].v == NULL)
			continue;
		if (strlen(set[i].v) >= KB_DIGEST_VALUE_MAX) {
			fprintf(stderr, "keyburst digest: a value is longer than %d bytes\n",
				KB_DIGEST_VALUE_MAX - 1);
			goto out;
		}
		strcpy(ch->value[set[i].id], set[i].v);
		ch->present |= 1u << set[i].id;
	}
	struct kb_digest_client cl = {
		.username = user,
		.password = password,
		.method = method,
		.uri = uri,
		.body = body,
		.body_len = body_len,
		.cnonce = cnonce,
		.nc = (uint32_t)ncv,
		.qop = q,
	};
	if (kb_digest_client_authorize(ch, &cl, out, sizeof(out), NULL, err, sizeof(err)) != 0) {
		fprintf(stderr, "keyburst digest: %s\n", err);
		goto out;
	}
	if (header) {
		printf("%s\n", out);
	} else {
		struct kb_digest_fields *f = malloc(sizeof(*f));
		if (f == NULL || kb_digest_parse(out, strlen(out), f, err, sizeof(err)) != 0) {
			free(f);
			goto out;
		}
		printf("%s\n", kb_digest_get(f, KB_DF_RESPONSE));
		free(f);
	}
	rc = 0;
out:
	free(ch);
	free(body);
	return rc;
}

int kb_cmd_digest(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "response") == 0)
		return cmd_response(argc - 1, argv + 1);
	fprintf(stderr, "keyburst digest: unknown sub-command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
