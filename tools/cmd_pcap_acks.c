/* keyburst pcap acks / verify-acks: verification messages (acks) as pcaps
 * for the NIC lab (lab/, docs/nic-lab.md).
 *
 *   acks:        from a roster and a captured rollover (keyburstd's messages
 *                to the UEs), the ack each UE would send: the message is
 *                opened with the UE's MUK (kb_ref_open: a forged capture
 *                gives no acks), the ack is built by the reference builder
 *                (kb_ref_build_ack) for the message's csb_id and counter, and
 *                framed Ethernet/IP/UDP back to the BM-SC: addresses and
 *                ports of the message swapped, or --dst-mac/--dst-ip of the
 *                keyburstd port. Optional forged (wrong V MAC) and garbage
 *                frames, drawn from --seed, for negative load.
 *   verify-acks: every UDP datagram to the port of an ack pcap against the
 *                roster and the capture: structure, V MAC (kb_ref_verify_ack)
 *                and counter within the counters sent to that csb_id.
 *
 * Acks verify only against the keyburstd run that sent the captured
 * messages: keyburstd draws each SA's RAND at start. */
#include "cli.h"
#include "pcap_common.h"

#include "mikey/mikey_codec.h"
#include "mikey/mikey_prf.h"
#include "mikey/mikey_profile.h"
#include "mikey/mikey_ref.h"
#include "util/roster.h"
#include "util/secret.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ETH_HLEN 14
#define IP4_HLEN 20
#define IP6_HLEN 40
#define UDP_HLEN 8
#define FRAME_MAX (ETH_HLEN + IP6_HLEN + UDP_HLEN + 128)
#define GARBAGE_MAX 64

/* One MSK message of the capture, with what is needed to answer it. */
struct msg {
	uint32_t csb_id, counter;
	uint32_t ue; /* index in the sorted roster */
	uint64_t seq; /* capture order */
	uint8_t rand[KB_MIKEY_RAND_LEN];
	uint8_t v;
	uint8_t af; /* 4 or 6 */
	uint8_t eth_src[6], eth_dst[6];
	uint8_t ip_src[16], ip_dst[16];
	uint16_t sport, dport;
	struct timeval ts;
};

struct capture {
	struct kb_pcap_roster roster;
	struct msg *msgs;
	size_t n_msgs, cap_msgs;
	char idi[KB_MIKEY_ID_MAX + 1];
	uint16_t idi_len;
	uint64_t packets, not_opened, pulls;
};

static int usage(FILE *out)
{
	fprintf(out,
		"usage: keyburst pcap acks --roster R.csv --capture ROLL.pcap --output ACKS.pcap\n"
		"           [--port 4359] [--dst-mac MAC] [--src-mac MAC] [--dst-ip IP]\n"
		"           [--every] [--forged F] [--garbage F] [--seed N]\n"
		"  From a roster and a capture of keyburstd's MSK messages, writes the ack each\n"
		"  UE sends (the last counter per csb_id, or every message with --every), framed\n"
		"  back to the BM-SC: the message's addresses and ports swapped, or the\n"
		"  keyburstd port's --dst-mac / --dst-ip. --forged F: that fraction of the acks\n"
		"  carries a wrong V MAC instead; --garbage F: that fraction of UEs also sends\n"
		"  a random datagram to the port. Prints a JSON summary.\n"
		"usage: keyburst pcap verify-acks --roster R.csv --capture ROLL.pcap [--port "
		"4359]\n"
		"           [--expect N] [--allow-invalid] ACKS.pcap\n"
		"  Checks every datagram to the port of ACKS.pcap: an ack of the profile whose\n"
		"  V MAC verifies under the SA of the captured message (csb_id, RAND, the UE's\n"
		"  MUK) and whose counter was sent to that csb_id. Exits 1 on any invalid\n"
		"  datagram (unless --allow-invalid) or if not N valid acks.\n");
	return out == stdout ? 0 : 2;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* One MSK message of the capture: opened with the UE's MUK, then kept. */
static int add_message(struct capture *c, struct kb_ref_ctx *ref, const struct kb_pcap_frame *fr,
		       const struct pcap_pkthdr *h)
{
	struct kb_mikey_msg m;
	struct kb_mikey_error err;
	if (kb_mikey_decode(fr->payload, fr->len, &m, &err) != 0 ||
	    m.data_type != KB_MIKEY_DT_PSK_INIT || m.n_ids != 2 || !m.has_rand ||
	    m.rand_len != KB_MIKEY_RAND_LEN || !m.has_t || m.t_type != 2) {
		c->not_opened++;
		return 0;
	}
	long ue = kb_pcap_roster_find(&c->roster, m.ids[1].data, m.ids[1].len);
	if (ue < 0) {
		c->not_opened++;
		return 0;
	}
	struct kb_mikey_opened *o = malloc(sizeof(*o));
	if (o == NULL)
		return -1;
	int rc = kb_ref_open_ctx(ref, fr->payload, fr->len, c->roster.ues[ue].muk, KB_MUK_LEN, NULL,
				 0, o, &err);
	kb_memzero(o, sizeof(*o));
	free(o);
	if (rc != 0) {
		c->not_opened++;
		return 0;
	}
	if (c->idi_len == 0) {
		memcpy(c->idi, m.ids[0].data, m.ids[0].len);
		c->idi_len = m.ids[0].len;
	} else if (m.ids[0].len != c->idi_len || memcmp(m.ids[0].data, c->idi, c->idi_len) != 0) {
		fprintf(stderr, "keyburst pcap: the capture has more than one IDi\n");
		return -1;
	}
	if (m.v == 0) {
		c->pulls++;
		return 0;
	}
	if (c->n_msgs == c->cap_msgs) {
		c->cap_msgs = c->cap_msgs ? c->cap_msgs * 2 : 4096;
		struct msg *nm = realloc(c->msgs, c->cap_msgs * sizeof(*nm));
		if (nm == NULL)
			return -1;
		c->msgs = nm;
	}
	struct msg *s = &c->msgs[c->n_msgs];
	memset(s, 0, sizeof(*s));
	s->csb_id = m.csb_id;
	s->counter = (uint32_t)m.t_value;
	s->ue = (uint32_t)ue;
	s->seq = c->n_msgs++;
	memcpy(s->rand, m.rand, KB_MIKEY_RAND_LEN);
	s->v = m.v;
	s->af = fr->af;
	memcpy(s->eth_dst, fr->eth, 6);
	memcpy(s->eth_src, fr->eth + 6, 6);
	size_t alen = fr->af == 4 ? 4 : 16;
	memcpy(s->ip_src, fr->ip_src, alen);
	memcpy(s->ip_dst, fr->ip_dst, alen);
	s->sport = fr->sport;
	s->dport = fr->dport;
	s->ts.tv_sec = h->ts.tv_sec;
	s->ts.tv_usec = h->ts.tv_usec;
	return 0;
}

static int cmp_msg(const void *a, const void *b)
{
	const struct msg *x = a, *y = b;
	if (x->csb_id != y->csb_id)
		return x->csb_id < y->csb_id ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int load_capture(struct capture *c, const char *path, uint16_t port)
{
	pcap_t *pc = kb_pcap_open_eth(path, "keyburst pcap");
	if (pc == NULL)
		return -1;
	int rc = -1;
	struct kb_ref_ctx *ref = kb_ref_ctx_new();
	if (ref == NULL)
		goto out;
	struct pcap_pkthdr *h;
	const uint8_t *data;
	int r;
	while ((r = pcap_next_ex(pc, &h, &data)) == 1) {
		struct kb_pcap_frame fr;
		c->packets++;
		if (kb_pcap_parse_frame(data, h->caplen, &fr) != 0 || fr.sport != port)
			continue;
		if (add_message(c, ref, &fr, h) != 0) {
			kb_ref_ctx_free(ref);
			goto out;
		}
	}
	kb_ref_ctx_free(ref);
	if (r == -1) {
		fprintf(stderr, "keyburst pcap: %s: %s\n", path, pcap_geterr(pc));
		goto out;
	}
	qsort(c->msgs, c->n_msgs, sizeof(*c->msgs), cmp_msg);
	rc = 0;
out:
	pcap_close(pc);
	return rc;
}

static void capture_free(struct capture *c)
{
	kb_pcap_roster_free(&c->roster);
	free(c->msgs);
}

/* splitmix64: the forged/garbage draws, reproducible from --seed */
static uint64_t next_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static bool draw(uint64_t *s, double frac)
{
	return frac > 0 && (double)(next_rand(s) >> 11) * 0x1.0p-53 < frac;
}

static uint32_t sum16(const uint8_t *p, size_t len, uint32_t acc)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		acc += be16(p + i);
	if (len & 1)
		acc += (uint32_t)p[len - 1] << 8;
	return acc;
}

static uint16_t fold(uint32_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)~acc;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

struct addressing {
	bool dst_mac_set, src_mac_set;
	uint8_t dst_mac[6], src_mac[6];
	bool dst_ip4_set, dst_ip6_set;
	uint8_t dst_ip4[4], dst_ip6[16];
};

/* Frame a payload from the UE of message s back to the BM-SC. */
static size_t write_frame(uint8_t *f, const struct msg *s, const struct addressing *a,
			  const uint8_t *payload, size_t plen, uint16_t ip_id)
{
	memcpy(f, a->dst_mac_set ? a->dst_mac : s->eth_src, 6);
	memcpy(f + 6, a->src_mac_set ? a->src_mac : s->eth_dst, 6);
	uint8_t *ip = f + ETH_HLEN, *udp;
	uint16_t ulen = (uint16_t)(UDP_HLEN + plen);
	uint32_t pseudo;
	if (s->af == 4) {
		put16(f + 12, 0x0800);
		memset(ip, 0, IP4_HLEN);
		ip[0] = 0x45;
		put16(ip + 2, (uint16_t)(IP4_HLEN + ulen));
		put16(ip + 4, ip_id);
		put16(ip + 6, 0x4000); /* DF */
		ip[8] = 64;
		ip[9] = 17;
		memcpy(ip + 12, s->ip_dst, 4);
		memcpy(ip + 16, a->dst_ip4_set ? a->dst_ip4 : s->ip_src, 4);
		put16(ip + 10, fold(sum16(ip, IP4_HLEN, 0)));
		udp = ip + IP4_HLEN;
		pseudo = sum16(ip + 12, 8, 17 + ulen);
	} else {
		put16(f + 12, 0x86dd);
		memset(ip, 0, IP6_HLEN);
		ip[0] = 0x60;
		put16(ip + 4, ulen);
		ip[6] = 17;
		ip[7] = 64;
		memcpy(ip + 8, s->ip_dst, 16);
		memcpy(ip + 24, a->dst_ip6_set ? a->dst_ip6 : s->ip_src, 16);
		udp = ip + IP6_HLEN;
		pseudo = sum16(ip + 8, 32, 17 + ulen);
	}
	put16(udp, s->dport);
	put16(udp + 2, s->sport);
	put16(udp + 4, ulen);
	put16(udp + 6, 0);
	memcpy(udp + UDP_HLEN, payload, plen);
	uint16_t ck = fold(sum16(udp, ulen, pseudo));
	put16(udp + 6, ck == 0 ? 0xffff : ck);
	return (size_t)(udp + ulen - f);
}

struct acks_opts {
	const char *output;
	bool every;
	double forged, garbage;
	uint64_t seed;
	struct addressing addr;
};

static int write_acks(struct capture *c, const struct acks_opts *o)
{
	pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
	if (dead == NULL)
		return -1;
	pcap_dumper_t *d = pcap_dump_open(dead, o->output);
	if (d == NULL) {
		fprintf(stderr, "keyburst pcap acks: %s: %s\n", o->output, pcap_geterr(dead));
		pcap_close(dead);
		return -1;
	}
	struct kb_ref_ctx *ref = kb_ref_ctx_new();
	if (ref == NULL) {
		pcap_dump_close(d);
		pcap_close(dead);
		return -1;
	}
	uint64_t rng = o->seed, acks = 0, forged = 0, garbage = 0, ues = 0;
	uint8_t frame[FRAME_MAX], ack[KB_ACK_LEN + 8], junk[GARBAGE_MAX];
	struct kb_mikey_tkeys tk;
	int rc = 0;
	for (size_t i = 0; i < c->n_msgs && rc == 0; i++) {
		const struct msg *s = &c->msgs[i];
		bool last = i + 1 == c->n_msgs || c->msgs[i + 1].csb_id != s->csb_id;
		if (!o->every && !last)
			continue;
		if (last)
			ues++;
		const struct kb_pcap_ue *u = &c->roster.ues[s->ue];
		size_t alen = 0;
		if (kb_mikey_derive_tkeys(u->muk, KB_MUK_LEN, s->csb_id, s->rand, KB_MIKEY_RAND_LEN,
					  &tk) != 0 ||
		    kb_ref_build_ack_ctx(ref, ack, sizeof(ack), s->csb_id, s->counter,
					 (const uint8_t *)c->idi, c->idi_len,
					 (const uint8_t *)u->b_tid, (uint16_t)strlen(u->b_tid), &tk,
					 &alen) != 0) {
			rc = -1;
			break;
		}
		if (draw(&rng, o->forged)) {
			ack[alen - 1] ^= 0x01; /* one bit of the V MAC */
			forged++;
		}
		struct pcap_pkthdr h = {.ts = s->ts};
		h.caplen = h.len =
			(bpf_u_int32)write_frame(frame, s, &o->addr, ack, alen, (uint16_t)acks);
		pcap_dump((u_char *)d, &h, frame);
		acks++;
		if (last && draw(&rng, o->garbage)) {
			size_t jl = 1 + next_rand(&rng) % GARBAGE_MAX;
			for (size_t k = 0; k < jl; k++)
				junk[k] = (uint8_t)next_rand(&rng);
			if (next_rand(&rng) & 1)
				junk[0] = 1; /* looks like MIKEY version 1: reaches the decoder */
			h.caplen = h.len = (bpf_u_int32)write_frame(frame, s, &o->addr, junk, jl,
								    (uint16_t)(acks + garbage));
			pcap_dump((u_char *)d, &h, frame);
			garbage++;
		}
	}
	kb_memzero(&tk, sizeof(tk));
	kb_ref_ctx_free(ref);
	if (pcap_dump_flush(d) != 0)
		rc = -1;
	pcap_dump_close(d);
	pcap_close(dead);
	if (rc != 0) {
		fprintf(stderr, "keyburst pcap acks: could not build or write the acks\n");
		return -1;
	}
	json_t *out = json_pack(
		"{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s}", "packets", (json_int_t)c->packets,
		"messages", (json_int_t)c->n_msgs, "not_opened", (json_int_t)c->not_opened, "pulls",
		(json_int_t)c->pulls, "ues", (json_int_t)ues, "acks", (json_int_t)acks, "forged",
		(json_int_t)forged, "garbage", (json_int_t)garbage, "output", o->output);
	json_dumpf(out, stdout, JSON_INDENT(2));
	fputc('\n', stdout);
	json_decref(out);
	return 0;
}

/* The range of counters sent to csb_id: the capture's messages, sorted. */
static const struct msg *find_csb(const struct capture *c, uint32_t csb_id, uint32_t *lo,
				  uint32_t *hi)
{
	size_t a = 0, b = c->n_msgs;
	while (a < b) {
		size_t mid = a + (b - a) / 2;
		if (c->msgs[mid].csb_id < csb_id)
			a = mid + 1;
		else
			b = mid;
	}
	if (a == c->n_msgs || c->msgs[a].csb_id != csb_id)
		return NULL;
	*lo = *hi = c->msgs[a].counter;
	for (size_t i = a; i < c->n_msgs && c->msgs[i].csb_id == csb_id; i++) {
		*lo = c->msgs[i].counter < *lo ? c->msgs[i].counter : *lo;
		*hi = c->msgs[i].counter > *hi ? c->msgs[i].counter : *hi;
	}
	return &c->msgs[a];
}

static int verify_acks(struct capture *c, const char *path, uint16_t port, long long expect,
		       bool allow_invalid)
{
	pcap_t *pc = kb_pcap_open_eth(path, "keyburst pcap verify-acks");
	if (pc == NULL)
		return 1;
	struct kb_ref_ctx *ref = kb_ref_ctx_new();
	uint8_t *acked = calloc(c->n_msgs + 1, 1);
	if (ref == NULL || acked == NULL) {
		kb_ref_ctx_free(ref);
		free(acked);
		pcap_close(pc);
		return 1;
	}
	uint64_t packets = 0, datagrams = 0, valid = 0, bad_mac = 0, malformed = 0;
	uint64_t unknown = 0, stale = 0, ues_acked = 0;
	struct pcap_pkthdr *h;
	const uint8_t *data;
	struct kb_mikey_tkeys tk;
	int r;
	while ((r = pcap_next_ex(pc, &h, &data)) == 1) {
		struct kb_pcap_frame fr;
		packets++;
		if (kb_pcap_parse_frame(data, h->caplen, &fr) != 0 || fr.dport != port)
			continue;
		datagrams++;
		struct kb_mikey_msg m;
		struct kb_mikey_error err;
		/* the shape keyburstd accepts (dataplane/ack.c) */
		if (fr.len != KB_ACK_LEN || kb_mikey_decode(fr.payload, fr.len, &m, &err) != 0 ||
		    m.data_type != KB_MIKEY_DT_PSK_RESP || !m.has_t || m.t_type != 2 || !m.has_v ||
		    m.v_alg != 1 || m.has_kemac || m.n_ids != 0) {
			malformed++;
			continue;
		}
		uint32_t lo, hi, ctr = (uint32_t)m.t_value;
		const struct msg *s = find_csb(c, m.csb_id, &lo, &hi);
		if (s == NULL) {
			unknown++;
			continue;
		}
		const struct kb_pcap_ue *u = &c->roster.ues[s->ue];
		if (kb_mikey_derive_tkeys(u->muk, KB_MUK_LEN, s->csb_id, s->rand, KB_MIKEY_RAND_LEN,
					  &tk) != 0 ||
		    kb_ref_verify_ack_ctx(ref, fr.payload, &m, (const uint8_t *)c->idi, c->idi_len,
					  (const uint8_t *)u->b_tid, (uint16_t)strlen(u->b_tid),
					  &tk) != 0) {
			bad_mac++;
			continue;
		}
		if (ctr < lo || ctr > hi) {
			stale++;
			continue;
		}
		valid++;
		size_t idx = (size_t)(s - c->msgs);
		if (!acked[idx]) {
			acked[idx] = 1;
			ues_acked++;
		}
	}
	kb_memzero(&tk, sizeof(tk));
	if (r == -1)
		malformed++;
	pcap_close(pc);
	kb_ref_ctx_free(ref);
	free(acked);
	uint64_t invalid = bad_mac + malformed + unknown + stale;
	bool ok = (expect < 0 || valid == (uint64_t)expect) && (allow_invalid || invalid == 0) &&
		  valid > 0;
	json_t *out = json_pack(
		"{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b}", "packets",
		(json_int_t)packets, "datagrams", (json_int_t)datagrams, "valid", (json_int_t)valid,
		"bad_mac", (json_int_t)bad_mac, "malformed", (json_int_t)malformed, "unknown_csb",
		(json_int_t)unknown, "stale_counter", (json_int_t)stale, "ues_acked",
		(json_int_t)ues_acked, "messages_in_capture", (json_int_t)c->n_msgs, "ok", ok);
	json_dumpf(out, stdout, JSON_INDENT(2));
	fputc('\n', stdout);
	json_decref(out);
	return ok ? 0 : 1;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char tail;
	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
		return -1;
	for (int i = 0; i < 6; i++) {
		if (v[i] > 255)
			return -1;
		mac[i] = (uint8_t)v[i];
	}
	return 0;
}

static int parse_frac(const char *s, double *v)
{
	char *end;
	*v = strtod(s, &end);
	return *end != '\0' || end == s || !(*v >= 0.0 && *v <= 1.0) ? -1 : 0;
}

int kb_cmd_pcap_acks(int argc, char **argv)
{
	bool verify = strcmp(argv[1], "verify-acks") == 0;
	static const struct option opts[] = {
		{"roster", required_argument, NULL, 'r'},
		{"capture", required_argument, NULL, 'c'},
		{"output", required_argument, NULL, 'o'},
		{"port", required_argument, NULL, 'p'},
		{"dst-mac", required_argument, NULL, 'M'},
		{"src-mac", required_argument, NULL, 'm'},
		{"dst-ip", required_argument, NULL, 'I'},
		{"every", no_argument, NULL, 'e'},
		{"forged", required_argument, NULL, 'f'},
		{"garbage", required_argument, NULL, 'g'},
		{"seed", required_argument, NULL, 's'},
		{"expect", required_argument, NULL, 'x'},
		{"allow-invalid", no_argument, NULL, 'a'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct acks_opts o = {.seed = 1};
	const char *roster = NULL, *capture = NULL;
	unsigned long port = 4359;
	long long expect = -1;
	bool allow_invalid = false;
	int c;
	char *end;
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			roster = optarg;
			break;
		case 'c':
			capture = optarg;
			break;
		case 'o':
			o.output = optarg;
			break;
		case 'p':
			port = strtoul(optarg, &end, 10);
			if (*end != '\0' || port == 0 || port > 65535)
				return usage(stderr);
			break;
		case 'M':
			if (parse_mac(optarg, o.addr.dst_mac) != 0)
				return usage(stderr);
			o.addr.dst_mac_set = true;
			break;
		case 'm':
			if (parse_mac(optarg, o.addr.src_mac) != 0)
				return usage(stderr);
			o.addr.src_mac_set = true;
			break;
		case 'I':
			if (inet_pton(AF_INET, optarg, o.addr.dst_ip4) == 1)
				o.addr.dst_ip4_set = true;
			else if (inet_pton(AF_INET6, optarg, o.addr.dst_ip6) == 1)
				o.addr.dst_ip6_set = true;
			else
				return usage(stderr);
			break;
		case 'e':
			o.every = true;
			break;
		case 'f':
			if (parse_frac(optarg, &o.forged) != 0)
				return usage(stderr);
			break;
		case 'g':
			if (parse_frac(optarg, &o.garbage) != 0)
				return usage(stderr);
			break;
		case 's':
			errno = 0;
			o.seed = strtoull(optarg, &end, 0);
			if (errno != 0 || *end != '\0')
				return usage(stderr);
			break;
		case 'x':
			expect = strtoll(optarg, &end, 10);
			if (*end != '\0' || expect < 0)
				return usage(stderr);
			break;
		case 'a':
			allow_invalid = true;
			break;
		case 'h':
			return usage(stdout);
		default:
			return usage(stderr);
		}
	}
	const char *acks_in = NULL;
	if (verify) {
		if (optind != argc - 2)
			return usage(stderr);
		acks_in = argv[optind + 1];
	} else if (optind != argc - 1 || o.output == NULL) {
		return usage(stderr);
	}
	if (roster == NULL || capture == NULL)
		return usage(stderr);

	struct capture cap = {0};
	int rc = 1;
	if (kb_pcap_roster_load(&cap.roster, roster, "keyburst pcap") != 0 ||
	    load_capture(&cap, capture, (uint16_t)port) != 0)
		goto out;
	if (cap.n_msgs == 0) {
		fprintf(stderr, "keyburst pcap: %s: no MSK message with V = 1 from port %lu\n",
			capture, port);
		goto out;
	}
	if (verify)
		rc = verify_acks(&cap, acks_in, (uint16_t)port, expect, allow_invalid);
	else
		rc = write_acks(&cap, &o) == 0 ? 0 : 1;
out:
	capture_free(&cap);
	return rc;
}
