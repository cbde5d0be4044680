/* keyburst pcap verify: check every MIKEY MSK message in a capture against
 * the roster, with the OpenSSL reference path only (independent of the
 * dataplane's IPsec-MB sealer):
 *   structure + MAC + decryption (kb_ref_open with the row's MUK, the
 *   message's own csb_id and RAND), one MSK per MSK ID for every UE, counters
 *   strictly increasing per csb_id, and with --reseal the exact bytes
 *   (kb_ref_seal_msk over the decrypted fields must give the same message). */
#include "cli.h"
#include "pcap_common.h"

#include "mikey/mikey_codec.h"
#include "mikey/mikey_prf.h"
#include "mikey/mikey_ref.h"
#include "util/roster.h"
#include "util/secret.h"

#include <getopt.h>
#include <jansson.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MSK_IDS 64
#define MAX_REPORTED 10

/* What was seen of each roster UE (same index as the roster). */
struct ue_state {
	uint32_t csb_id;
	uint32_t last_ctr;
	bool seen;
};

struct msk_seen {
	uint32_t msk_id;
	uint8_t msk[KB_MSK_LEN];
	uint64_t messages;
};

struct verify {
	struct kb_pcap_roster roster;
	struct ue_state *st;
	const char *idi;
	uint16_t port;
	bool reseal;
	uint64_t packets, udp, messages, opened, pulls, resealed, failures;
	uint64_t idi_mismatch;
	struct msk_seen msk[MAX_MSK_IDS];
	unsigned n_msk;
	json_t *errors;
	struct kb_ref_ctx *ref;
};

static int usage(FILE *out)
{
	fprintf(out,
		"usage: keyburst pcap verify --roster R.csv [--idi FQDN] [--port 4359] [--reseal]\n"
		"                            [--expect N] FILE\n"
		"  Opens every MIKEY message sent to the port with the reference path: the MUK\n"
		"  of the roster row whose B-TID is the message's IDr, the message's csb_id and\n"
		"  RAND. Checks structure, MAC, decryption, one MSK per MSK ID, counters strictly\n"
		"  increasing per csb_id, and with --reseal byte identity with kb_ref_seal_msk.\n"
		"  Prints a JSON summary; exits 1 on any failure (or if not N messages).\n");
	return out == stdout ? 0 : 2;
}

static void fail(struct verify *v, uint64_t pkt, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(struct verify *v, uint64_t pkt, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	v->failures++;
	if (json_array_size(v->errors) < MAX_REPORTED)
		json_array_append_new(v->errors, json_pack("{s:I, s:s}", "packet", (json_int_t)pkt,
							   "error", msg));
}

static void check_msk(struct verify *v, uint64_t pkt, uint32_t msk_id, const uint8_t *msk)
{
	for (unsigned i = 0; i < v->n_msk; i++)
		if (v->msk[i].msk_id == msk_id) {
			if (!kb_ct_equal(v->msk[i].msk, msk, KB_MSK_LEN))
				fail(v, pkt, "MSK ID %08x: the decrypted MSK differs between UEs",
				     msk_id);
			v->msk[i].messages++;
			return;
		}
	if (v->n_msk == MAX_MSK_IDS) {
		fail(v, pkt, "more than %d MSK IDs", MAX_MSK_IDS);
		return;
	}
	v->msk[v->n_msk].msk_id = msk_id;
	memcpy(v->msk[v->n_msk].msk, msk, KB_MSK_LEN);
	v->msk[v->n_msk].messages = 1;
	v->n_msk++;
}

static void reseal(struct verify *v, uint64_t pkt, const uint8_t *buf, size_t len,
		   const struct kb_mikey_opened *o, const struct kb_pcap_ue *u, const uint8_t *msk)
{
	const struct kb_mikey_msg *m = &o->msg;
	struct kb_msk_msg_params p = {
		.csb_id = m->csb_id,
		.counter = (uint32_t)m->t_value,
		.rand = m->rand,
		.idi = m->ids[0].data,
		.idi_len = m->ids[0].len,
		.idr = m->ids[1].data,
		.idr_len = m->ids[1].len,
		.msk_id = m->msk_id,
		.msk = msk,
		.v = m->v != 0,
	};
	memcpy(p.domain, m->domain, 3);
	struct kb_mikey_tkeys tk;
	uint8_t out[KB_MIKEY_MSG_MAX];
	size_t olen = 0;
	if (kb_mikey_derive_tkeys(u->muk, KB_MUK_LEN, m->csb_id, m->rand, m->rand_len, &tk) != 0 ||
	    kb_ref_seal_msk_ctx(v->ref, out, sizeof(out), &p, &tk, &olen) != 0) {
		fail(v, pkt, "reseal: the reference could not seal these fields");
	} else if (olen != len || memcmp(out, buf, len) != 0) {
		fail(v, pkt, "reseal: csb %08x counter %u: bytes differ from the reference",
		     m->csb_id, (uint32_t)m->t_value);
	} else {
		v->resealed++;
	}
	kb_memzero(&tk, sizeof(tk));
	kb_memzero(out, sizeof(out));
}

static void one_message(struct verify *v, uint64_t pkt, const uint8_t *buf, size_t len)
{
	struct kb_mikey_msg m;
	struct kb_mikey_error err;
	v->messages++;
	if (kb_mikey_decode(buf, len, &m, &err) != 0) {
		fail(v, pkt, "malformed at byte %zu: %s", err.offset, err.msg);
		return;
	}
	if (m.data_type != KB_MIKEY_DT_PSK_INIT || m.n_ids != 2 || !m.has_rand || !m.has_t ||
	    m.t_type != 2 || !m.has_key_id || !m.has_msk_id) {
		fail(v, pkt, "not an MSK message of the wire profile");
		return;
	}
	if (v->idi != NULL &&
	    (m.ids[0].len != strlen(v->idi) || memcmp(m.ids[0].data, v->idi, m.ids[0].len) != 0))
		fail(v, pkt, "IDi is not %s", v->idi);
	long ui = kb_pcap_roster_find(&v->roster, m.ids[1].data, m.ids[1].len);
	if (ui < 0) {
		fail(v, pkt, "IDr is not a B-TID of the roster");
		return;
	}
	const struct kb_pcap_ue *u = &v->roster.ues[ui];
	struct ue_state *st = &v->st[ui];
	struct kb_mikey_opened *o = malloc(sizeof(*o));
	if (o == NULL) {
		fail(v, pkt, "out of memory");
		return;
	}
	if (kb_ref_open_ctx(v->ref, buf, len, u->muk, KB_MUK_LEN, NULL, 0, o, &err) != 0) {
		fail(v, pkt, "csb %08x: open failed at byte %zu: %s", m.csb_id, err.offset,
		     err.msg);
		goto out;
	}
	v->opened++;
	/* counters: strictly increasing per csb_id (one csb_id per UE here) */
	if (st->seen && st->csb_id != m.csb_id)
		fail(v, pkt, "B-TID %s: csb_id changed from %08x to %08x", u->b_tid, st->csb_id,
		     m.csb_id);
	if (st->seen && st->csb_id == m.csb_id && (uint32_t)m.t_value <= st->last_ctr)
		fail(v, pkt, "csb %08x: counter %u after %u (not strictly increasing)", m.csb_id,
		     (uint32_t)m.t_value, st->last_ctr);
	st->seen = true;
	st->csb_id = m.csb_id;
	st->last_ctr = (uint32_t)m.t_value;

	if (o->n_keydata == 0) {
		/* a solicited pull: key number 0, V = 0, MAC only */
		if ((m.msk_id & 0xffff) != 0 || m.v != 0)
			fail(v, pkt, "pull without key data must have key number 0 and V = 0");
		v->pulls++;
		if (v->reseal)
			reseal(v, pkt, buf, len, o, u, NULL);
		goto out;
	}
	const struct kb_mikey_keydata *kd = &o->keydata[0];
	if (o->n_keydata != 1 || kd->key_len != KB_MSK_LEN || kd->kv != 1 || kd->spi_len != 4 ||
	    ((uint32_t)kd->spi[0] << 24 | (uint32_t)kd->spi[1] << 16 | (uint32_t)kd->spi[2] << 8 |
	     kd->spi[3]) != m.msk_id) {
		fail(v, pkt, "key data is not one MSK with SPI = MSK ID");
		goto out;
	}
	check_msk(v, pkt, m.msk_id, kd->key);
	if (v->reseal)
		reseal(v, pkt, buf, len, o, u, kd->key);
out:
	kb_memzero(o, sizeof(*o));
	free(o);
}

int kb_cmd_pcap(int argc, char **argv)
{
	if (argc >= 2 && (strcmp(argv[1], "acks") == 0 || strcmp(argv[1], "verify-acks") == 0))
		return kb_cmd_pcap_acks(argc, argv);
	if (argc < 2 || strcmp(argv[1], "verify") != 0)
		return usage(argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);
	static const struct option opts[] = {
		{"roster", required_argument, NULL, 'r'},
		{"idi", required_argument, NULL, 'i'},
		{"port", required_argument, NULL, 'p'},
		{"reseal", no_argument, NULL, 's'},
		{"expect", required_argument, NULL, 'e'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct verify v = {.port = 4359};
	const char *roster = NULL;
	long long expect = -1;
	int c;
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'r':
			roster = optarg;
			break;
		case 'i':
			v.idi = optarg;
			break;
		case 'p': {
			unsigned long p = strtoul(optarg, &end, 10);
			if (*end != '\0' || p == 0 || p > 65535)
				return usage(stderr);
			v.port = (uint16_t)p;
			break;
		}
		case 's':
			v.reseal = true;
			break;
		case 'e':
			expect = strtoll(optarg, &end, 10);
			if (*end != '\0' || expect < 0)
				return usage(stderr);
			break;
		case 'h':
			return usage(stdout);
		default:
			return usage(stderr);
		}
	}
	if (roster == NULL || optind != argc - 2)
		return usage(stderr);
	const char *file = argv[optind + 1];

	if (kb_pcap_roster_load(&v.roster, roster, "keyburst pcap verify") != 0) {
		kb_pcap_roster_free(&v.roster);
		return 1;
	}
	pcap_t *pc = kb_pcap_open_eth(file, "keyburst pcap verify");
	v.st = calloc(v.roster.n + 1, sizeof(*v.st));
	v.ref = kb_ref_ctx_new();
	if (pc == NULL || v.st == NULL || v.ref == NULL) {
		if (pc != NULL)
			pcap_close(pc);
		kb_ref_ctx_free(v.ref);
		free(v.st);
		kb_pcap_roster_free(&v.roster);
		return 1;
	}
	v.errors = json_array();
	struct pcap_pkthdr *h;
	const uint8_t *data;
	int rc;
	while ((rc = pcap_next_ex(pc, &h, &data)) == 1) {
		v.packets++;
		struct kb_pcap_frame fr;
		if (kb_pcap_parse_frame(data, h->caplen, &fr) != 0 || fr.dport != v.port)
			continue;
		v.udp++;
		one_message(&v, v.packets, fr.payload, fr.len);
	}
	if (rc == -1)
		fail(&v, v.packets, "pcap: %s", pcap_geterr(pc));
	pcap_close(pc);

	uint64_t ues_seen = 0;
	for (size_t i = 0; i < v.roster.n; i++)
		ues_seen += v.st[i].seen;
	if (v.messages == 0)
		fail(&v, 0, "no MIKEY message to port %u in the capture", v.port);
	if (expect >= 0 && v.messages != (uint64_t)expect)
		fail(&v, 0, "%lu messages, expected %lld", (unsigned long)v.messages, expect);

	json_t *msks = json_array();
	for (unsigned i = 0; i < v.n_msk; i++) {
		char id[16];
		snprintf(id, sizeof(id), "%08x", v.msk[i].msk_id);
		json_array_append_new(msks,
				      json_pack("{s:s, s:I, s:b}", "msk_id", id, "messages",
						(json_int_t)v.msk[i].messages, "identical", 1));
	}
	json_t *out = json_pack(
		"{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:b, s:I, s:o, s:b}", "packets",
		(json_int_t)v.packets, "mikey_messages", (json_int_t)v.messages, "opened",
		(json_int_t)v.opened, "pulls", (json_int_t)v.pulls, "ues_in_roster",
		(json_int_t)v.roster.n, "ues_seen", (json_int_t)ues_seen, "resealed_identical",
		(json_int_t)v.resealed, "msk_ids", msks, "reseal_checked", v.reseal, "failures",
		(json_int_t)v.failures, "errors", v.errors, "ok", v.failures == 0);
	json_dumpf(out, stdout, JSON_INDENT(2));
	fputc('\n', stdout);
	json_decref(out);

	for (unsigned i = 0; i < v.n_msk; i++)
		kb_memzero(v.msk[i].msk, KB_MSK_LEN);
	free(v.st);
	kb_pcap_roster_free(&v.roster);
	kb_ref_ctx_free(v.ref);
	return v.failures == 0 ? 0 : 1;
}
