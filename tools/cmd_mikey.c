/* keyburst mikey: seal, ack, open and decode MIKEY messages of the wire
 * profile (docs/wire-profile.md). open prints the keys it recovers: the user
 * gave the MUK (or MSK), and seeing the key is the point of this debug tool. */
#include "cli.h"

#include "mikey/mikey_codec.h"
#include "mikey/mikey_prf.h"
#include "mikey/mikey_profile.h"
#include "mikey/mikey_ref.h"
#include "util/hex.h"
#include "util/secret.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEXMSG_MAX 4096 /* bytes of a message on the command line */
#define PSK_MAX 64

static const char usage_text[] =
	"usage: keyburst mikey <sub-command> [options]\n"
	"\n"
	"  seal     --json FILE   the MSK message (or, with \"msk\" null or absent, the\n"
	"                         BM-SC solicited pull), in hex\n"
	"           keys: muk, csb_id, counter, rand, idi, idr, domain, msk_id, msk, v\n"
	"           optional \"send_rand\": false leaves RAND out (an update message)\n"
	"  ack      --json FILE   the UE's verification message for the same input\n"
	"  seal-mtk --json FILE   the MTK message, in hex\n"
	"           keys: msk, csb_id, counter, rand, domain, msk_id, mtk_id, mtk, salt\n"
	"  open     --muk HEX [--csb-id N] [--rand HEX] [--idi S --idr S] HEXMSG\n"
	"           decode, check the MAC, decrypt; JSON out, keys included.\n"
	"           --muk is the key that protects the message: the MUK for MSK\n"
	"           messages and acks, the MSK for MTK messages (--psk is an alias).\n"
	"           --rand: the CSB's RAND, for a message without RAND and for acks.\n"
	"           An ack (data type 1) needs --rand, --idi and --idr.\n"
	"  decode   HEXMSG        the structure only (no key needed), JSON out\n"
	"\n"
	"HEXMSG may be '-' to read the hex from stdin. Hex ids (domain, msk_id) are\n"
	"strings such as \"62f210\" and \"00010002\"; msk_id and mtk_id may be integers.\n"
	"Exit status: 0 ok, 1 the message failed to decode or verify, 2 bad usage.\n";

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "keyburst mikey: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(keyburst mikey --help for usage)\n");
	return 2;
}

/* ---- JSON input ---- */

struct jin {
	json_t *root;
	const char *path;
	const char *bad; /* the first key that was missing or malformed */
};

static bool j_hex(struct jin *j, const char *key, uint8_t *out, size_t want)
{
	const char *s = json_string_value(json_object_get(j->root, key));
	if (s == NULL || strlen(s) != 2 * want ||
	    kb_hex_decode(s, strlen(s), out, want) != (long)want) {
		if (j->bad == NULL)
			j->bad = key;
		return false;
	}
	return true;
}

/* Variable-length hex (the MUK). */
static long j_hexvar(struct jin *j, const char *key, uint8_t *out, size_t cap)
{
	const char *s = json_string_value(json_object_get(j->root, key));
	long n = s != NULL ? kb_hex_decode(s, strlen(s), out, cap) : -1;
	if (n <= 0 && j->bad == NULL)
		j->bad = key;
	return n;
}

static bool j_u32(struct jin *j, const char *key, uint32_t *out)
{
	json_t *v = json_object_get(j->root, key);
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > (json_int_t)UINT32_MAX) {
		if (j->bad == NULL)
			j->bad = key;
		return false;
	}
	*out = (uint32_t)json_integer_value(v);
	return true;
}

/* An id that may be an integer or a hex string of `bytes` bytes. */
static bool j_id(struct jin *j, const char *key, uint32_t *out, size_t bytes)
{
	json_t *v = json_object_get(j->root, key);
	uint8_t b[4];

	if (json_is_integer(v)) {
		json_int_t x = json_integer_value(v);
		if (x >= 0 && (bytes == 4 ? x <= (json_int_t)UINT32_MAX : x <= 0xffff)) {
			*out = (uint32_t)x;
			return true;
		}
	} else if (j_hex(j, key, b, bytes)) {
		*out = 0;
		for (size_t i = 0; i < bytes; i++)
			*out = *out << 8 | b[i];
		return true;
	}
	if (j->bad == NULL)
		j->bad = key;
	return false;
}

static const char *j_str(struct jin *j, const char *key, uint16_t *len)
{
	const char *s = json_string_value(json_object_get(j->root, key));
	if (s == NULL || strlen(s) > KB_MIKEY_ID_MAX) {
		if (j->bad == NULL)
			j->bad = key;
		return NULL;
	}
	*len = (uint16_t)strlen(s);
	return s;
}

static int j_open(struct jin *j, const char *path)
{
	json_error_t e;

	j->path = path;
	j->bad = NULL;
	j->root = json_load_file(path, 0, &e);
	if (j->root == NULL) {
		fprintf(stderr, "keyburst mikey: %s:%d: %s\n", path, e.line, e.text);
		return -1;
	}
	if (!json_is_object(j->root)) {
		fprintf(stderr, "keyburst mikey: %s: not a JSON object\n", path);
		json_decref(j->root);
		return -1;
	}
	/* a whole known-answer file (tests/vectors/msk-message-1.json) carries
	 * the parameters in its "input" object: take them from there */
	json_t *input = json_object_get(j->root, "input");
	if (json_is_object(input) && json_object_get(j->root, "muk") == NULL &&
	    json_object_get(j->root, "msk") == NULL) {
		json_incref(input);
		json_decref(j->root);
		j->root = input;
	}
	return 0;
}

static int j_bad(struct jin *j)
{
	fprintf(stderr, "keyburst mikey: %s: key \"%s\" is missing or malformed\n", j->path,
		j->bad);
	json_decref(j->root);
	return 2;
}

static void print_hex_line(const uint8_t *b, size_t n)
{
	char *h = malloc(2 * n + 1);
	if (h == NULL)
		return;
	kb_hex_encode(b, n, h);
	printf("%s\n", h);
	free(h);
}

/* The inputs shared by seal and ack. */
struct msk_input {
	uint8_t muk[PSK_MAX];
	long muk_len;
	uint8_t rand[KB_MIKEY_RAND_LEN];
	uint8_t msk[KB_MSK_LEN];
	struct kb_msk_msg_params p;
	struct kb_mikey_tkeys tk;
};

static int read_msk_input(struct jin *j, struct msk_input *in)
{
	json_t *msk = json_object_get(j->root, "msk");
	json_t *v = json_object_get(j->root, "v");
	json_t *send_rand = json_object_get(j->root, "send_rand");

	memset(in, 0, sizeof(*in));
	in->muk_len = j_hexvar(j, "muk", in->muk, sizeof(in->muk));
	j_u32(j, "csb_id", &in->p.csb_id);
	j_u32(j, "counter", &in->p.counter);
	j_hex(j, "rand", in->rand, sizeof(in->rand));
	in->p.idi = (const uint8_t *)j_str(j, "idi", &in->p.idi_len);
	in->p.idr = (const uint8_t *)j_str(j, "idr", &in->p.idr_len);
	j_hex(j, "domain", in->p.domain, 3);
	j_id(j, "msk_id", &in->p.msk_id, 4);
	if (msk != NULL && !json_is_null(msk) && j_hex(j, "msk", in->msk, sizeof(in->msk)))
		in->p.msk = in->msk;
	else if (msk != NULL && !json_is_null(msk) && j->bad == NULL)
		j->bad = "msk";
	if (v != NULL && !json_is_boolean(v) && j->bad == NULL)
		j->bad = "v";
	in->p.v = v == NULL || json_is_true(v);
	if (send_rand != NULL && !json_is_boolean(send_rand) && j->bad == NULL)
		j->bad = "send_rand";
	in->p.rand = json_is_false(send_rand) ? NULL : in->rand;
	if (j->bad != NULL)
		return -1;
	if (kb_mikey_derive_tkeys(in->muk, (size_t)in->muk_len, in->p.csb_id, in->rand,
				  sizeof(in->rand), &in->tk) != 0) {
		j->bad = "muk";
		return -1;
	}
	return 0;
}

static int cmd_seal_or_ack(const char *path, bool ack)
{
	struct jin j;
	struct msk_input in;
	uint8_t buf[KB_MIKEY_MSG_MAX * 2];
	size_t len = 0;
	int rc = 1, r;

	if (j_open(&j, path) != 0)
		return 2;
	if (read_msk_input(&j, &in) != 0) {
		kb_memzero(&in, sizeof(in));
		return j_bad(&j);
	}
	if (ack)
		r = kb_ref_build_ack(buf, sizeof(buf), in.p.csb_id, in.p.counter, in.p.idi,
				     in.p.idi_len, in.p.idr, in.p.idr_len, &in.tk, &len);
	else
		r = kb_ref_seal_msk(buf, sizeof(buf), &in.p, &in.tk, &len);
	if (r == 0) {
		print_hex_line(buf, len);
		rc = 0;
	} else {
		fprintf(stderr, "keyburst mikey: sealing failed (message too long?)\n");
	}
	kb_memzero(&in, sizeof(in));
	kb_memzero(buf, sizeof(buf));
	json_decref(j.root);
	return rc;
}

static int cmd_seal_mtk(const char *path)
{
	struct jin j;
	uint8_t msk[KB_MSK_LEN], rand[KB_MIKEY_RAND_LEN], mtk[KB_MTK_LEN], salt[KB_MIKEY_SALT_LEN];
	uint8_t buf[KB_MIKEY_MSG_MAX];
	struct kb_mtk_msg_params p = {0};
	struct kb_mikey_tkeys tk;
	uint32_t mtk_id = 0;
	size_t len = 0;
	int rc = 1;

	if (j_open(&j, path) != 0)
		return 2;
	j_hex(&j, "msk", msk, sizeof(msk));
	j_u32(&j, "csb_id", &p.csb_id);
	j_u32(&j, "counter", &p.counter);
	j_hex(&j, "rand", rand, sizeof(rand));
	j_hex(&j, "domain", p.domain, 3);
	j_id(&j, "msk_id", &p.msk_id, 4);
	j_id(&j, "mtk_id", &mtk_id, 2);
	j_hex(&j, "mtk", mtk, sizeof(mtk));
	j_hex(&j, "salt", salt, sizeof(salt));
	if (j.bad != NULL) {
		kb_memzero(msk, sizeof(msk));
		kb_memzero(mtk, sizeof(mtk));
		return j_bad(&j);
	}
	p.rand = rand;
	p.mtk_id = (uint16_t)mtk_id;
	p.mtk = mtk;
	p.salt = salt;
	if (kb_mikey_derive_tkeys(msk, sizeof(msk), p.csb_id, rand, sizeof(rand), &tk) == 0 &&
	    kb_ref_seal_mtk(buf, sizeof(buf), &p, &tk, &len) == 0) {
		print_hex_line(buf, len);
		rc = 0;
	} else {
		fprintf(stderr, "keyburst mikey: sealing the MTK message failed\n");
	}
	kb_memzero(&tk, sizeof(tk));
	kb_memzero(msk, sizeof(msk));
	kb_memzero(mtk, sizeof(mtk));
	kb_memzero(salt, sizeof(salt));
	json_decref(j.root);
	return rc;
}

/* ---- open and decode ---- */

/* The message from the command line (or stdin with "-"), whitespace ignored. */
static long read_hexmsg(const char *arg, uint8_t *out, size_t cap)
{
	static char text[HEXMSG_MAX * 2 + 2];
	size_t n = 0;
	int c;

	if (strcmp(arg, "-") == 0) {
		while ((c = getchar()) != EOF) {
			if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
				continue;
			if (n >= sizeof(text) - 1)
				return -1;
			text[n++] = (char)c;
		}
	} else {
		for (const char *p = arg; *p != '\0'; p++) {
			if (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t' || *p == ':')
				continue;
			if (n >= sizeof(text) - 1)
				return -1;
			text[n++] = *p;
		}
	}
	return kb_hex_decode(text, n, out, cap);
}

static json_t *hex_json(const uint8_t *b, size_t n)
{
	char *h = malloc(2 * n + 1);
	json_t *v;
	if (h == NULL)
		return json_null();
	kb_hex_encode(b, n, h);
	v = json_string(h);
	kb_memzero(h, 2 * n + 1); /* may be a key */
	free(h);
	return v;
}

static bool printable(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i] < 0x20 || b[i] > 0x7e)
			return false;
	return true;
}

static const char *data_type_name(uint8_t t)
{
	switch (t) {
	case KB_MIKEY_DT_PSK_INIT:
		return "PSK init";
	case KB_MIKEY_DT_PSK_RESP:
		return "PSK verification";
	default:
		return "error";
	}
}

static json_t *msg_json(const struct kb_mikey_msg *m)
{
	json_t *o = json_object();
	json_t *ids = json_array();
	uint8_t b[4];

	json_object_set_new(o, "len", json_integer((json_int_t)m->len));
	json_object_set_new(o, "data_type", json_integer(m->data_type));
	json_object_set_new(o, "data_type_name", json_string(data_type_name(m->data_type)));
	json_object_set_new(o, "v", json_boolean(m->v));
	json_object_set_new(o, "prf", json_integer(m->prf));
	json_object_set_new(o, "csb_id", json_integer(m->csb_id));
	json_object_set_new(o, "cs_count", json_integer(m->cs_count));
	json_object_set_new(o, "map_type", json_integer(m->map_type));
	if (m->has_t) {
		json_object_set_new(o, "t_type", json_integer(m->t_type));
		if (m->t_type == 2)
			json_object_set_new(o, "counter", json_integer((json_int_t)m->t_value));
		else
			json_object_set_new(o, "t", hex_json(m->t_raw, m->t_raw_len));
	}
	json_object_set_new(o, "rand", m->has_rand ? hex_json(m->rand, m->rand_len) : json_null());
	if (m->has_domain)
		json_object_set_new(o, "domain", hex_json(m->domain, 3));
	if (m->has_msk_id) {
		b[0] = (uint8_t)(m->msk_id >> 24);
		b[1] = (uint8_t)(m->msk_id >> 16);
		b[2] = (uint8_t)(m->msk_id >> 8);
		b[3] = (uint8_t)m->msk_id;
		json_object_set_new(o, "msk_id", hex_json(b, 4));
		json_object_set_new(o, "key_group", json_integer(m->msk_id >> 16));
		json_object_set_new(o, "key_number", json_integer(m->msk_id & 0xffff));
	}
	if (m->has_mtk_id)
		json_object_set_new(o, "mtk_id", json_integer(m->mtk_id));
	for (unsigned i = 0; i < m->n_ids; i++) {
		json_t *id = json_object();
		json_object_set_new(id, "type", json_string(m->ids[i].type == 1 ? "URI" : "NAI"));
		if (printable(m->ids[i].data, m->ids[i].len))
			json_object_set_new(
				id, "value",
				json_stringn((const char *)m->ids[i].data, m->ids[i].len));
		else
			json_object_set_new(id, "value_hex",
					    hex_json(m->ids[i].data, m->ids[i].len));
		json_array_append_new(ids, id);
	}
	json_object_set_new(o, "ids", ids);
	if (m->has_kemac) {
		json_t *k = json_object();
		json_object_set_new(k, "encr_alg", json_integer(m->encr_alg));
		json_object_set_new(k, "encr_len", json_integer(m->encr_len));
		json_object_set_new(k, "mac_alg", json_integer(m->mac_alg));
		json_object_set_new(o, "kemac", k);
	}
	if (m->has_v)
		json_object_set_new(o, "v_alg", json_integer(m->v_alg));
	if (m->has_err) {
		json_object_set_new(o, "err_code", json_integer(m->err_code));
		json_object_set_new(o, "n_err", json_integer(m->n_err));
	}
	return o;
}

static const char *kd_type_name(uint8_t t)
{
	static const char *names[] = {"TGK", "TGK+SALT", "TEK", "TEK+SALT"};
	return t < 4 ? names[t] : "unknown";
}

static json_t *keydata_json(const struct kb_mikey_opened *o)
{
	json_t *a = json_array();
	for (unsigned i = 0; i < o->n_keydata; i++) {
		const struct kb_mikey_keydata *k = &o->keydata[i];
		json_t *e = json_object();
		json_object_set_new(e, "type", json_string(kd_type_name(k->type)));
		json_object_set_new(e, "kv", json_integer(k->kv));
		json_object_set_new(e, "key", hex_json(k->key, k->key_len));
		if (k->salt != NULL)
			json_object_set_new(e, "salt", hex_json(k->salt, k->salt_len));
		if (k->kv == 1)
			json_object_set_new(e, "spi", hex_json(k->spi, k->spi_len));
		if (k->kv == 2) {
			json_object_set_new(e, "from", hex_json(k->from, k->from_len));
			json_object_set_new(e, "to", hex_json(k->to, k->to_len));
		}
		json_array_append_new(a, e);
	}
	return a;
}

static int print_json(json_t *o)
{
	char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (s == NULL)
		return 1;
	printf("%s\n", s);
	kb_memzero(s, strlen(s)); /* may hold a key */
	free(s);
	return 0;
}

static int cmd_decode(int argc, char **argv)
{
	static uint8_t buf[HEXMSG_MAX];
	struct kb_mikey_msg m;
	struct kb_mikey_error err;
	long n;

	if (argc != 2)
		return usage_error("decode takes exactly one HEXMSG");
	n = read_hexmsg(argv[1], buf, sizeof(buf));
	if (n < 0)
		return usage_error("HEXMSG is not hex (or longer than %d bytes)", HEXMSG_MAX);
	if (kb_mikey_decode(buf, (size_t)n, &m, &err) != 0) {
		fprintf(stderr, "keyburst mikey: decode: %s\n", err.msg);
		return 1;
	}
	json_t *o = msg_json(&m);
	int rc = print_json(o);
	json_decref(o);
	return rc;
}

static int open_ack(const uint8_t *buf, const struct kb_mikey_msg *m, const uint8_t *psk,
		    size_t psk_len, const uint8_t *rand, size_t rand_len, const char *idi,
		    const char *idr)
{
	struct kb_mikey_tkeys tk;
	int rc;

	if (rand == NULL || idi == NULL || idr == NULL)
		return usage_error("open of an ack needs --rand, --idi and --idr");
	if (strlen(idi) > KB_MIKEY_ID_MAX || strlen(idr) > KB_MIKEY_ID_MAX)
		return usage_error("--idi/--idr longer than %d bytes", KB_MIKEY_ID_MAX);
	if (kb_mikey_derive_tkeys(psk, psk_len, m->csb_id, rand, rand_len, &tk) != 0)
		return usage_error("bad --muk or --rand");
	rc = kb_ref_verify_ack(buf, m, (const uint8_t *)idi, (uint16_t)strlen(idi),
			       (const uint8_t *)idr, (uint16_t)strlen(idr), &tk);
	kb_memzero(&tk, sizeof(tk));
	json_t *o = msg_json(m);
	json_object_set_new(o, "mac_ok", json_boolean(rc == 0));
	if (rc == 0)
		print_json(o);
	else
		fprintf(stderr,
			"keyburst mikey: open: V: MAC verification failed at offset %zu "
			"(wrong MUK, RAND, IDs, or an altered ack)\n",
			m->v_mac_off);
	json_decref(o);
	return rc == 0 ? 0 : 1;
}

static int cmd_open(int argc, char **argv)
{
	static const struct option opts[] = {
		{"muk", required_argument, NULL, 'm'},
		{"psk", required_argument, NULL, 'm'},
		{"msk", required_argument, NULL, 'm'},
		{"csb-id", required_argument, NULL, 'c'},
		{"rand", required_argument, NULL, 'r'},
		{"idi", required_argument, NULL, 'i'},
		{"idr", required_argument, NULL, 'R'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static uint8_t buf[HEXMSG_MAX];
	uint8_t psk[PSK_MAX], rand_buf[255];
	long psk_len = -1, rand_len = -1, n;
	const char *idi = NULL, *idr = NULL;
	bool have_csb = false;
	unsigned long csb = 0;
	int c, rc = 1;
	char *end;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			psk_len = kb_hex_decode(optarg, strlen(optarg), psk, sizeof(psk));
			if (psk_len <= 0)
				return usage_error("--muk must be 1..64 bytes of hex");
			break;
		case 'c':
			errno = 0;
			csb = strtoul(optarg, &end, 0);
			if (errno != 0 || *end != '\0' || *optarg == '\0' || csb > UINT32_MAX)
				return usage_error("bad --csb-id '%s'", optarg);
			have_csb = true;
			break;
		case 'r':
			rand_len =
				kb_hex_decode(optarg, strlen(optarg), rand_buf, sizeof(rand_buf));
			if (rand_len <= 0)
				return usage_error("--rand must be 1..255 bytes of hex");
			break;
		case 'i':
			idi = optarg;
			break;
		case 'R':
			idr = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			return 2;
		}
	}
	if (psk_len <= 0)
		return usage_error("open needs --muk HEX");
	if (optind != argc - 1)
		return usage_error("open takes exactly one HEXMSG");
	n = read_hexmsg(argv[optind], buf, sizeof(buf));
	if (n < 0)
		return usage_error("HEXMSG is not hex (or longer than %d bytes)", HEXMSG_MAX);

	struct kb_mikey_msg m;
	struct kb_mikey_error err;
	if (kb_mikey_decode(buf, (size_t)n, &m, &err) != 0) {
		fprintf(stderr, "keyburst mikey: open: %s\n", err.msg);
		goto out;
	}
	if (have_csb && csb != m.csb_id) {
		fprintf(stderr,
			"keyburst mikey: open: the message's CSB ID %u is not --csb-id %lu\n",
			m.csb_id, csb);
		goto out;
	}
	if (m.data_type == KB_MIKEY_DT_PSK_RESP) {
		rc = open_ack(buf, &m, psk, (size_t)psk_len, rand_len > 0 ? rand_buf : NULL,
			      rand_len > 0 ? (size_t)rand_len : 0, idi, idr);
		goto out;
	}

	struct kb_mikey_opened *o = malloc(sizeof(*o));
	if (o == NULL)
		goto out;
	if (kb_ref_open(buf, (size_t)n, psk, (size_t)psk_len, rand_len > 0 ? rand_buf : NULL,
			rand_len > 0 ? (size_t)rand_len : 0, o, &err) != 0) {
		fprintf(stderr, "keyburst mikey: open: %s\n", err.msg);
	} else {
		json_t *j = msg_json(&o->msg);
		json_object_set_new(j, "mac_ok", json_true());
		json_object_set_new(j, "keys", keydata_json(o));
		rc = print_json(j);
		json_decref(j);
	}
	kb_memzero(o, sizeof(*o));
	free(o);
out:
	kb_memzero(psk, sizeof(psk));
	return rc;
}

static int json_only(int argc, char **argv, const char **path)
{
	static const struct option opts[] = {
		{"json", required_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	*path = NULL;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'j') {
			*path = optarg;
		} else if (c == 'h') {
			fputs(usage_text, stdout);
			return 0;
		} else {
			return 2;
		}
	}
	if (*path == NULL || optind != argc)
		return usage_error("%s needs --json FILE and nothing else", argv[0]);
	return -1;
}

int kb_cmd_mikey(int argc, char **argv)
{
	const char *path;
	int rc;

	if (argc < 2)
		return usage_error("missing sub-command");
	const char *sub = argv[1];
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (strcmp(sub, "seal") == 0 || strcmp(sub, "ack") == 0 || strcmp(sub, "seal-mtk") == 0) {
		rc = json_only(argc - 1, argv + 1, &path);
		if (rc >= 0)
			return rc;
		if (strcmp(sub, "seal-mtk") == 0)
			return cmd_seal_mtk(path);
		return cmd_seal_or_ack(path, strcmp(sub, "ack") == 0);
	}
	if (strcmp(sub, "open") == 0)
		return cmd_open(argc - 1, argv + 1);
	if (strcmp(sub, "decode") == 0)
		return cmd_decode(argc - 1, argv + 1);
	return usage_error("unknown sub-command '%s'", sub);
}
