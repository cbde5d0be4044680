/* keyburst gba: GBA key derivation (TS 33.220), MILENAGE (TS 35.206) and
 * B-TIDs, printed as JSON. Keys are printed because the user asked for them:
 * this is the interop and debugging tool. */
#include "cli.h"

#include "gba/gba.h"
#include "gba/milenage.h"
#include "util/hex.h"
#include "util/secret.h"

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const char usage_text[] =
	"usage: keyburst gba <sub-command> [options]   (output: one JSON object)\n"
	"\n"
	"  ks-naf   --ck HEX --ik HEX --rand HEX --impi S --naf-fqdn S\n"
	"           [--ua-id HEX|NAME] [--gba-u] [--bsf DOMAIN] [--mrk NAME]\n"
	"      NAF keys (TS 33.220 Annex B), NAF_Id = FQDN || Ua id, and the MBMS keys.\n"
	"      GBA_ME (default): ks_naf, muk = ks_naf, mrk = the --mrk variant of ks_naf.\n"
	"      --gba-u: ks_ext_naf, ks_int_naf, muk = ks_int_naf, mrk = ks_ext_naf.\n"
	"      --ua-id: 10 hex digits or mbms (0100000001, the default),\n"
	"               http-digest (0100000002), push (0100000005).\n"
	"      --bsf DOMAIN adds b_tid = base64(RAND)@DOMAIN.\n"
	"\n"
	"  milenage --k HEX (--op HEX | --opc HEX) --rand HEX\n"
	"           [--sqn HEX --amf HEX | --autn HEX]\n"
	"      opc, res (f2), ck (f3), ik (f4), ak (f5), akstar (f5*); with --sqn and\n"
	"      --amf also f1 (MAC-A), f1star (MAC-S) and autn. --autn checks an AUTN\n"
	"      as the UE does: prints the recovered sqn, or fails if MAC-A is wrong.\n"
	"\n"
	"  btid     --rand HEX --bsf DOMAIN      b_tid = base64(RAND)@DOMAIN\n"
	"  btid     --parse B-TID                rand and bsf back from a B-TID\n"
	"\n"
	"Exit status: 0 ok, 1 the operation failed (e.g. AUTN rejected), 2 bad usage.\n";

static void print_mrk_variants(FILE *out)
{
	size_t n = 0;
	const struct kb_gba_mrk_variant *v = kb_gba_mrk_variants(&n);
	fprintf(out, "\n--mrk variants (GBA_ME only; see docs/gba.md):\n");
	for (size_t i = 0; i < n; i++)
		fprintf(out, "  %-14s %s\n", v[i].name, v[i].desc);
}

static int usage(FILE *out)
{
	fputs(usage_text, out);
	print_mrk_variants(out);
	return out == stdout ? 0 : 2;
}

/* Exactly n bytes of hex for a flag; a usage error otherwise. */
static int hex_arg(const char *cmd, const char *flag, const char *s, uint8_t *out, size_t n)
{
	if (s == NULL) {
		fprintf(stderr, "keyburst gba %s: --%s is required\n", cmd, flag);
		return -1;
	}
	if (strlen(s) != 2 * n || kb_hex_decode(s, 2 * n, out, n) != (long)n) {
		fprintf(stderr, "keyburst gba %s: --%s must be %zu hex digits (%zu bytes)\n", cmd,
			flag, 2 * n, n);
		return -1;
	}
	return 0;
}

static int put_hex(json_t *o, const char *key, const uint8_t *p, size_t n)
{
	char buf[2 * KB_GBA_NAF_ID_MAX + 1];
	if (2 * n + 1 > sizeof(buf))
		return -1;
	kb_hex_encode(p, n, buf);
	int rc = json_object_set_new(o, key, json_string(buf));
	kb_memzero(buf, sizeof(buf));
	return rc;
}

static int emit(json_t *o)
{
	int rc = json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0 &&
				 fputc('\n', stdout) != EOF && fflush(stdout) == 0
			 ? 0
			 : 1;
	if (rc != 0)
		fprintf(stderr, "keyburst gba: cannot write the output\n");
	json_decref(o);
	return rc;
}

/* Option values for every sub-command; each uses its own subset. */
struct args {
	const char *ck, *ik, *rand, *impi, *fqdn, *ua, *bsf, *mrk, *k, *op, *opc, *sqn, *amf, *autn,
		*parse;
	bool gba_u;
};

enum {
	O_CK = 256,
	O_IK,
	O_RAND,
	O_IMPI,
	O_FQDN,
	O_UA,
	O_GBAU,
	O_BSF,
	O_MRK,
	O_K,
	O_OP,
	O_OPC,
	O_SQN,
	O_AMF,
	O_AUTN,
	O_PARSE,
};

static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{"ck", required_argument, NULL, O_CK},
		{"ik", required_argument, NULL, O_IK},
		{"rand", required_argument, NULL, O_RAND},
		{"impi", required_argument, NULL, O_IMPI},
		{"naf-fqdn", required_argument, NULL, O_FQDN},
		{"ua-id", required_argument, NULL, O_UA},
		{"gba-u", no_argument, NULL, O_GBAU},
		{"bsf", required_argument, NULL, O_BSF},
		{"mrk", required_argument, NULL, O_MRK},
		{"k", required_argument, NULL, O_K},
		{"op", required_argument, NULL, O_OP},
		{"opc", required_argument, NULL, O_OPC},
		{"sqn", required_argument, NULL, O_SQN},
		{"amf", required_argument, NULL, O_AMF},
		{"autn", required_argument, NULL, O_AUTN},
		{"parse", required_argument, NULL, O_PARSE},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;
	optind = 1;
	opterr = 0; /* our own messages name the whole command */
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case O_CK:
			a->ck = optarg;
			break;
		case O_IK:
			a->ik = optarg;
			break;
		case O_RAND:
			a->rand = optarg;
			break;
		case O_IMPI:
			a->impi = optarg;
			break;
		case O_FQDN:
			a->fqdn = optarg;
			break;
		case O_UA:
			a->ua = optarg;
			break;
		case O_GBAU:
			a->gba_u = true;
			break;
		case O_BSF:
			a->bsf = optarg;
			break;
		case O_MRK:
			a->mrk = optarg;
			break;
		case O_K:
			a->k = optarg;
			break;
		case O_OP:
			a->op = optarg;
			break;
		case O_OPC:
			a->opc = optarg;
			break;
		case O_SQN:
			a->sqn = optarg;
			break;
		case O_AMF:
			a->amf = optarg;
			break;
		case O_AUTN:
			a->autn = optarg;
			break;
		case O_PARSE:
			a->parse = optarg;
			break;
		case 'h':
			return 1;
		case ':':
			fprintf(stderr, "keyburst gba %s: %s needs a value\n", argv[0],
				argv[optind - 1]);
			return -1;
		default:
			fprintf(stderr, "keyburst gba %s: unknown option '%s'\n", argv[0],
				argv[optind - 1]);
			return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "keyburst gba %s: unexpected argument '%s'\n", argv[0],
			argv[optind]);
		return -1;
	}
	return 0;
}

/* Flags that the sub-command does not take are an error, not silently ignored. */
static int reject(const char *cmd, const char *flag, const char *val)
{
	if (val == NULL)
		return 0;
	fprintf(stderr, "keyburst gba %s: --%s does not apply here\n", cmd, flag);
	return -1;
}

static int ua_arg(const char *s, uint8_t ua[KB_GBA_UA_ID_LEN])
{
	static const struct {
		const char *name;
		const uint8_t *id;
	} names[] = {
		{"mbms", kb_gba_ua_mbms},
		{"http-digest", kb_gba_ua_http_digest},
		{"push", kb_gba_ua_push},
	};
	if (s == NULL)
		s = "mbms";
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i].name) == 0) {
			memcpy(ua, names[i].id, KB_GBA_UA_ID_LEN);
			return 0;
		}
	}
	return hex_arg("ks-naf", "ua-id", s, ua, KB_GBA_UA_ID_LEN);
}

static int cmd_ks_naf(const struct args *a)
{
	const char *cmd = "ks-naf";
	struct {
		uint8_t ck[16], ik[16], ks[32], ext[32], intl[32], muk[32], mrk[32];
	} s;
	uint8_t rand[KB_GBA_RAND_LEN], ua[KB_GBA_UA_ID_LEN], naf_id[KB_GBA_NAF_ID_MAX];
	char btid[KB_GBA_BTID_MAX];
	int rc = 2;
	json_t *o = NULL;

	if (reject(cmd, "k", a->k) || reject(cmd, "op", a->op) || reject(cmd, "opc", a->opc) ||
	    reject(cmd, "sqn", a->sqn) || reject(cmd, "amf", a->amf) ||
	    reject(cmd, "autn", a->autn) || reject(cmd, "parse", a->parse))
		goto out;
	if (hex_arg(cmd, "ck", a->ck, s.ck, 16) || hex_arg(cmd, "ik", a->ik, s.ik, 16) ||
	    hex_arg(cmd, "rand", a->rand, rand, 16) || ua_arg(a->ua, ua))
		goto out;
	if (a->impi == NULL || a->impi[0] == '\0' || strlen(a->impi) > KB_GBA_PARAM_MAX) {
		fprintf(stderr, "keyburst gba ks-naf: --impi is required (1..65535 bytes)\n");
		goto out;
	}
	long nl = a->fqdn != NULL ? kb_gba_naf_id(a->fqdn, ua, naf_id, sizeof(naf_id)) : -1;
	if (nl < 0) {
		fprintf(stderr, "keyburst gba ks-naf: --naf-fqdn is required (1..%d bytes)\n",
			KB_GBA_FQDN_MAX);
		goto out;
	}
	kb_gba_mrk_fn mrk_fn = NULL;
	if (a->mrk != NULL) {
		if (a->gba_u) {
			fprintf(stderr, "keyburst gba ks-naf: --mrk applies to GBA_ME only "
					"(GBA_U: MRK = Ks_ext_NAF)\n");
			goto out;
		}
		mrk_fn = kb_gba_mrk_lookup(a->mrk);
		if (mrk_fn == NULL) {
			fprintf(stderr, "keyburst gba ks-naf: unknown --mrk variant '%s'\n",
				a->mrk);
			print_mrk_variants(stderr);
			goto out;
		}
	}
	if (a->bsf != NULL && kb_gba_btid(rand, a->bsf, btid, sizeof(btid)) < 0) {
		fprintf(stderr,
			"keyburst gba ks-naf: --bsf must be a domain name (1..%d printable "
			"characters, no spaces or '@')\n",
			KB_GBA_FQDN_MAX);
		goto out;
	}

	rc = 1;
	kb_gba_ks(s.ck, s.ik, s.ks);
	if (kb_gba_naf_key(s.ks, KB_GBA_KS_EXT_NAF, rand, a->impi, naf_id, (size_t)nl, s.ext) != 0)
		goto fail;
	if (a->gba_u) {
		if (kb_gba_naf_key(s.ks, KB_GBA_KS_INT_NAF, rand, a->impi, naf_id, (size_t)nl,
				   s.intl) != 0 ||
		    kb_gba_mbms_keys(KB_GBA_U, s.ext, s.intl, NULL, s.muk, s.mrk) != 0)
			goto fail;
	} else if (kb_gba_mbms_keys(KB_GBA_ME, s.ext, NULL, mrk_fn, s.muk, s.mrk) != 0) {
		goto fail;
	}

	o = json_object();
	if (o == NULL)
		goto fail;
	json_object_set_new(o, "mode", json_string(a->gba_u ? "gba-u" : "gba-me"));
	put_hex(o, "naf_id", naf_id, (size_t)nl);
	if (a->gba_u) {
		put_hex(o, "ks_ext_naf", s.ext, 32);
		put_hex(o, "ks_int_naf", s.intl, 32);
	} else {
		put_hex(o, "ks_naf", s.ext, 32);
	}
	put_hex(o, "muk", s.muk, 32);
	put_hex(o, "mrk", s.mrk, 32);
	if (!a->gba_u)
		json_object_set_new(o, "mrk_variant",
				    json_string(a->mrk != NULL ? a->mrk : KB_GBA_MRK_DEFAULT));
	if (a->bsf != NULL)
		json_object_set_new(o, "b_tid", json_string(btid));
	rc = emit(o);
	goto out;
fail:
	fprintf(stderr, "keyburst gba ks-naf: key derivation failed\n");
	rc = 1;
out:
	kb_memzero(&s, sizeof(s));
	return rc;
}

static int cmd_milenage(const struct args *a)
{
	const char *cmd = "milenage";
	struct {
		uint8_t k[16], op[16], opc[16], res[8], ck[16], ik[16], ak[6], aks[6];
	} s;
	uint8_t rand[16], sqn[6], amf[2], autn[16], mac_a[8], mac_s[8];
	struct kb_milenage m = {0};
	int rc = 2;

	if (reject(cmd, "ck", a->ck) || reject(cmd, "ik", a->ik) || reject(cmd, "impi", a->impi) ||
	    reject(cmd, "naf-fqdn", a->fqdn) || reject(cmd, "ua-id", a->ua) ||
	    reject(cmd, "bsf", a->bsf) || reject(cmd, "mrk", a->mrk) ||
	    reject(cmd, "parse", a->parse) || reject(cmd, "gba-u", a->gba_u ? "" : NULL))
		goto out;
	if ((a->op == NULL) == (a->opc == NULL)) {
		fprintf(stderr, "keyburst gba milenage: give exactly one of --op and --opc\n");
		goto out;
	}
	if ((a->sqn == NULL) != (a->amf == NULL)) {
		fprintf(stderr, "keyburst gba milenage: --sqn and --amf go together\n");
		goto out;
	}
	if (a->autn != NULL && a->sqn != NULL) {
		fprintf(stderr, "keyburst gba milenage: --autn carries SQN and AMF; do not give "
				"--sqn/--amf with it\n");
		goto out;
	}
	if (hex_arg(cmd, "k", a->k, s.k, 16) || hex_arg(cmd, "rand", a->rand, rand, 16))
		goto out;
	if (a->op != NULL ? hex_arg(cmd, "op", a->op, s.op, 16)
			  : hex_arg(cmd, "opc", a->opc, s.opc, 16))
		goto out;
	if (a->sqn != NULL &&
	    (hex_arg(cmd, "sqn", a->sqn, sqn, 6) || hex_arg(cmd, "amf", a->amf, amf, 2)))
		goto out;
	if (a->autn != NULL && hex_arg(cmd, "autn", a->autn, autn, 16))
		goto out;

	rc = 1;
	if ((a->op != NULL ? kb_milenage_init_op(&m, s.k, s.op)
			   : kb_milenage_init(&m, s.k, s.opc)) != 0)
		goto fail;
	if (a->autn != NULL) {
		int v = kb_milenage_check(&m, rand, autn, sqn, NULL, NULL, NULL);
		if (v == KB_MILENAGE_EMAC) {
			fprintf(stderr, "keyburst gba milenage: AUTN rejected: MAC-A does not "
					"verify for this K, OPc and RAND\n");
			goto out;
		}
		if (v != 0)
			goto fail;
		memcpy(amf, autn + 6, 2);
	}
	if (kb_milenage_f2345(&m, rand, s.res, s.ck, s.ik, s.ak) != 0 ||
	    kb_milenage_f5star(&m, rand, s.aks) != 0)
		goto fail;
	bool have_sqn = a->sqn != NULL || a->autn != NULL;
	if (have_sqn && (kb_milenage_f1(&m, rand, sqn, amf, mac_a, mac_s) != 0 ||
			 kb_milenage_autn(&m, rand, sqn, amf, autn) != 0))
		goto fail;

	json_t *o = json_object();
	if (o == NULL)
		goto fail;
	put_hex(o, "opc", m.opc, 16);
	if (have_sqn) {
		if (a->autn != NULL)
			json_object_set_new(o, "autn_ok", json_true());
		put_hex(o, "sqn", sqn, 6);
		put_hex(o, "amf", amf, 2);
		put_hex(o, "f1", mac_a, 8);
		put_hex(o, "f1star", mac_s, 8);
		put_hex(o, "autn", autn, 16);
	}
	put_hex(o, "res", s.res, 8);
	put_hex(o, "ck", s.ck, 16);
	put_hex(o, "ik", s.ik, 16);
	put_hex(o, "ak", s.ak, 6);
	put_hex(o, "akstar", s.aks, 6);
	rc = emit(o);
	goto out;
fail:
	fprintf(stderr, "keyburst gba milenage: computation failed (OpenSSL)\n");
	rc = 1;
out:
	kb_milenage_clear(&m);
	kb_memzero(&s, sizeof(s));
	return rc;
}

static int cmd_btid(const struct args *a)
{
	const char *cmd = "btid";
	uint8_t rand[16];
	char btid[KB_GBA_BTID_MAX], dom[KB_GBA_FQDN_MAX + 1], err[160];

	if (reject(cmd, "ck", a->ck) || reject(cmd, "ik", a->ik) || reject(cmd, "impi", a->impi) ||
	    reject(cmd, "naf-fqdn", a->fqdn) || reject(cmd, "ua-id", a->ua) ||
	    reject(cmd, "mrk", a->mrk) || reject(cmd, "k", a->k) || reject(cmd, "op", a->op) ||
	    reject(cmd, "opc", a->opc) || reject(cmd, "sqn", a->sqn) ||
	    reject(cmd, "amf", a->amf) || reject(cmd, "autn", a->autn) ||
	    reject(cmd, "gba-u", a->gba_u ? "" : NULL))
		return 2;
	json_t *o;
	if (a->parse != NULL) {
		if (a->rand != NULL || a->bsf != NULL) {
			fprintf(stderr, "keyburst gba btid: --parse takes no --rand or --bsf\n");
			return 2;
		}
		if (kb_gba_btid_parse(a->parse, rand, dom, sizeof(dom), err, sizeof(err)) != 0) {
			fprintf(stderr, "keyburst gba btid: %s\n", err);
			return 1;
		}
		o = json_object();
		if (o == NULL)
			return 1;
		put_hex(o, "rand", rand, 16);
		json_object_set_new(o, "bsf", json_string(dom));
		return emit(o);
	}
	if (hex_arg(cmd, "rand", a->rand, rand, 16))
		return 2;
	if (a->bsf == NULL || kb_gba_btid(rand, a->bsf, btid, sizeof(btid)) < 0) {
		fprintf(stderr,
			"keyburst gba btid: --bsf must be a domain name (1..%d printable "
			"characters, no spaces or '@')\n",
			KB_GBA_FQDN_MAX);
		return 2;
	}
	o = json_object();
	if (o == NULL)
		return 1;
	json_object_set_new(o, "b_tid", json_string(btid));
	return emit(o);
}

int kb_cmd_gba(int argc, char **argv)
{
	if (argc < 2)
		return usage(stderr);
	const char *sub = argv[1];
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0)
		return usage(stdout);

	static const struct {
		const char *name;
		int (*fn)(const struct args *);
	} subs[] = {
		{"ks-naf", cmd_ks_naf},
		{"milenage", cmd_milenage},
		{"btid", cmd_btid},
	};
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		if (strcmp(sub, subs[i].name) != 0)
			continue;
		struct args a = {0};
		int p = parse_args(argc - 1, argv + 1, &a);
		if (p > 0)
			return usage(stdout);
		if (p < 0) {
			fprintf(stderr, "see 'keyburst gba --help'\n");
			return 2;
		}
		return subs[i].fn(&a);
	}
	fprintf(stderr, "keyburst gba: unknown sub-command '%s'\n", sub);
	return usage(stderr);
}
