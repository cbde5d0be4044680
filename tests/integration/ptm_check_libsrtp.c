/* ptm_check_libsrtp: the independent check of a PTM push capture (issue 7).
 * It holds the service's MSK(s), opens every MTK message with the MSK as PSK
 * (the OpenSSL reference, kb_ref_open), unprotects the SRTP packets with
 * libsrtp2 and the MKI (one session per MSK ID ‖ MTK ID), reassembles the
 * objects by hand from the push header and writes them. It shares none of
 * the receiver code of keyburst-uesim (bench/uesim/ptm_rx.c: proto/srtp's
 * reference unprotect and kb_push_rx), which the tests compare it with.
 *
 * ptm_check_libsrtp --pcap F --msk MSKID:HEX [--msk ..] [--mtk-port 4359]
 *              [--data-port P] [--out DIR]
 * Prints one JSON object; exit 0 if every MTK message opened, counters
 * strictly increased per MSK, every SRTP packet unprotected, every object
 * completed, and every frame went to the group's multicast MAC. */
#include "mikey/mikey_ref.h"
#include "srtp/srtp.h"
#include "util/be.h"
#include "util/hex.h"
#include "util/secret.h"

#include "srtp_lib_session.h"

#include <getopt.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <srtp2/srtp.h>

#define MAX_MSK 4
#define MAX_MTK 64
#define MAX_OBJ 64
#define OBJ_MAX_LEN (64u << 20)

struct msk {
	uint32_t id;
	uint8_t key[16];
	uint32_t last_counter;
	bool seen;
};

struct mtk {
	uint32_t msk_id;
	uint16_t mtk_id;
	uint8_t key[16], salt[14];
	bool keys_ready;
	struct kb_srtp_keys sk; /* reference */
	uint16_t s_l; /* highest seq seen under this key, and its ROC */
	uint32_t roc;
	bool have_seq;
	srtp_t sess;
	struct kb_srtp_lib_key lk;
};

struct obj {
	uint32_t push_id;
	bool done;
	uint32_t len, got;
	uint8_t *buf;
};

static struct msk msks[MAX_MSK];
static unsigned n_msk;
static struct mtk mtks[MAX_MTK];
static unsigned n_mtk;
static struct obj objs[MAX_OBJ];
static unsigned n_obj;
static struct {
	uint64_t frames, mtk_ok, mtk_bad, mtk_counter_bad, srtp_ok, srtp_bad, srtp_no_key, mac_bad,
		other, obj_bad;
	bool mtk_before_content; /* every SRTP packet's MTK was announced before it */
} st = {.mtk_before_content = true};

static struct msk *msk_get(uint32_t id)
{
	for (unsigned i = 0; i < n_msk; i++)
		if (msks[i].id == id)
			return &msks[i];
	return NULL;
}

static struct mtk *mtk_get(uint32_t msk_id, uint16_t mtk_id)
{
	for (unsigned i = 0; i < n_mtk; i++)
		if (mtks[i].msk_id == msk_id && mtks[i].mtk_id == mtk_id)
			return &mtks[i];
	return NULL;
}

static void on_mtk_msg(const uint8_t *p, size_t len)
{
	static struct kb_mikey_opened o;
	struct kb_mikey_msg m;
	struct kb_mikey_error err;
	struct msk *k;
	struct mtk *t;

	if (kb_mikey_decode(p, len, &m, &err) != 0 || !m.has_msk_id || !m.has_mtk_id || !m.has_t) {
		st.mtk_bad++;
		return;
	}
	k = msk_get(m.msk_id);
	if (k == NULL) {
		st.mtk_bad++; /* an MSK we do not hold */
		return;
	}
	if (kb_ref_open(p, len, k->key, 16, NULL, 0, &o, &err) != 0 || o.n_keydata != 1 ||
	    o.keydata[0].type != 1 || o.keydata[0].key_len != 16 || o.keydata[0].salt_len != 14 ||
	    o.keydata[0].spi_len != 2 || kb_be16(o.keydata[0].spi) != (uint16_t)o.msg.mtk_id) {
		st.mtk_bad++;
		goto out;
	}
	/* the UE's replay rule: the counter strictly increases per MSK */
	if (k->seen && (uint32_t)o.msg.t_value <= k->last_counter) {
		st.mtk_counter_bad++;
		goto out;
	}
	k->seen = true;
	k->last_counter = (uint32_t)o.msg.t_value;
	st.mtk_ok++;
	t = mtk_get(m.msk_id, (uint16_t)m.mtk_id);
	if (t != NULL) {
		/* a repeat must carry the same key */
		if (!kb_ct_equal(t->key, o.keydata[0].key, 16) ||
		    !kb_ct_equal(t->salt, o.keydata[0].salt, 14))
			st.mtk_bad++;
		goto out;
	}
	if (n_mtk == MAX_MTK) {
		st.mtk_bad++;
		goto out;
	}
	t = &mtks[n_mtk++];
	memset(t, 0, sizeof(*t));
	t->msk_id = m.msk_id;
	t->mtk_id = (uint16_t)m.mtk_id;
	memcpy(t->key, o.keydata[0].key, 16);
	memcpy(t->salt, o.keydata[0].salt, 14);
out:
	kb_memzero(&o, sizeof(o));
}

static struct obj *obj_get(uint32_t push_id, uint32_t len)
{
	for (unsigned i = 0; i < n_obj; i++)
		if (objs[i].push_id == push_id)
			return &objs[i];
	if (n_obj == MAX_OBJ || len > OBJ_MAX_LEN)
		return NULL;
	struct obj *o = &objs[n_obj];
	memset(o, 0, sizeof(*o));
	o->push_id = push_id;
	o->len = len;
	o->buf = calloc(1, len + 1);
	if (o->buf == NULL)
		return NULL;
	n_obj++;
	return o;
}

static void on_payload(const uint8_t *pl, size_t len)
{
	if (len < KB_PUSH_HDR_LEN) {
		st.obj_bad++;
		return;
	}
	uint32_t id = kb_be32(pl), olen = kb_be32(pl + 4);
	struct obj *o = obj_get(id, olen);
	if (o == NULL) {
		st.obj_bad++;
		return;
	}
	/* by hand: push id (4) ‖ object length (4) ‖ offset (4) ‖ chunk */
	uint32_t off = kb_be32(pl + 8);
	size_t n = len - KB_PUSH_HDR_LEN;
	if (olen != o->len || off > o->len || n > o->len - off) {
		st.obj_bad++;
		return;
	}
	memcpy(o->buf + off, pl + KB_PUSH_HDR_LEN, n);
	o->got += (uint32_t)n; /* the sender sends each chunk once */
	if (o->got == o->len)
		o->done = true;
	if (n == 0 && o->len == 0)
		o->done = true;
}

static void on_srtp(uint8_t *p, size_t len)
{
	struct kb_rtp_hdr h;
	struct mtk *t;
	uint8_t mki[KB_SRTP_MKI_LEN];
	uint32_t roc;

	if (kb_rtp_parse(p, len, &h) != 0 || len < h.len + KB_SRTP_TRAILER_LEN) {
		st.srtp_bad++;
		return;
	}
	memcpy(mki, p + len - KB_SRTP_TRAILER_LEN, KB_SRTP_MKI_LEN);
	t = mtk_get(kb_be32(mki), kb_be16(mki + 4));
	if (t == NULL) {
		/* content under an MTK whose message we have not seen yet */
		st.srtp_no_key++;
		st.mtk_before_content = false;
		return;
	}
	roc = t->have_seq ? kb_srtp_guess_roc(t->s_l, t->roc, h.seq) : 0;
	if (!t->keys_ready) {
		if (kb_srtp_lib_create(&t->sess, &t->lk, t->key, t->salt, mki, h.ssrc, roc) != 0) {
			st.srtp_bad++;
			return;
		}
		t->keys_ready = true;
	}
	int l = (int)len;
	if (srtp_unprotect_mki(t->sess, p, &l, 1) != srtp_err_status_ok) {
		st.srtp_bad++;
		return;
	}
	size_t out_len = (size_t)l;
	if (!t->have_seq || roc > t->roc || (roc == t->roc && h.seq > t->s_l)) {
		t->s_l = h.seq;
		t->roc = roc;
		t->have_seq = true;
	}
	st.srtp_ok++;
	on_payload(p + h.len, out_len - h.len);
}

static int write_objects(const char *dir)
{
	for (unsigned i = 0; i < n_obj; i++) {
		char path[4096];
		FILE *f;
		const uint8_t *b = objs[i].buf;
		size_t n = objs[i].len;
		if (!objs[i].done)
			continue;
		snprintf(path, sizeof(path), "%s/push-%" PRIu32 ".bin", dir, objs[i].push_id);
		f = fopen(path, "wb");
		if (f == NULL || (n != 0 && fwrite(b, 1, n, f) != n)) {
			perror(path);
			if (f != NULL)
				fclose(f);
			return -1;
		}
		fclose(f);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"pcap", required_argument, NULL, 'p'},
		{"msk", required_argument, NULL, 'k'},
		{"mtk-port", required_argument, NULL, 'm'},
		{"data-port", required_argument, NULL, 'd'},
		{"out", required_argument, NULL, 'o'},
		{NULL, 0, NULL, 0},
	};
	const char *pcap_path = NULL, *out = NULL;
	unsigned mtk_port = 4359, data_port = 0;
	char ebuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *ph;
	const u_char *data;
	pcap_t *pc;
	int c, rc, done = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'p') {
			pcap_path = optarg;
		} else if (c == 'k') {
			char *colon = strchr(optarg, ':');
			if (n_msk == MAX_MSK || colon == NULL ||
			    kb_hex_decode(colon + 1, strlen(colon + 1), msks[n_msk].key, 16) !=
				    16) {
				fprintf(stderr, "--msk MSKID:32HEX\n");
				return 2;
			}
			msks[n_msk++].id = (uint32_t)strtoul(optarg, NULL, 0);
		} else if (c == 'm') {
			mtk_port = (unsigned)strtoul(optarg, NULL, 0);
		} else if (c == 'd') {
			data_port = (unsigned)strtoul(optarg, NULL, 0);
		} else if (c == 'o') {
			out = optarg;
		} else {
			return 2;
		}
	}
	if (pcap_path == NULL || n_msk == 0) {
		fprintf(stderr,
			"usage: %s --pcap F --msk MSKID:HEX [--msk ..] [--mtk-port P] "
			"[--data-port P] [--out DIR]\n",
			argv[0]);
		return 2;
	}
	if (srtp_init() != srtp_err_status_ok)
		return 1;
	pc = pcap_open_offline(pcap_path, ebuf);
	if (pc == NULL) {
		fprintf(stderr, "%s: %s\n", pcap_path, ebuf);
		return 1;
	}
	while ((rc = pcap_next_ex(pc, &ph, &data)) == 1) {
		static uint8_t buf[65536];
		size_t len = ph->caplen;
		st.frames++;
		/* Ethernet / IPv4 (no options expected, but honour IHL) / UDP */
		if (len < 42 || data[12] != 0x08 || data[13] != 0x00 || (data[14] >> 4) != 4 ||
		    data[23] != 17) {
			st.other++;
			continue;
		}
		size_t ihl = (size_t)(data[14] & 0x0f) * 4;
		if (ihl < 20 || len < 14 + ihl + 8) {
			st.other++;
			continue;
		}
		const uint8_t *ip = data + 14, *udp = ip + ihl;
		size_t ulen = kb_be16(udp + 4);
		if (ulen < 8 || 14 + ihl + ulen > len) {
			st.other++;
			continue;
		}
		/* IPv4 multicast MAC mapping: 01:00:5e ‖ low 23 bits of the group */
		if ((ip[16] & 0xf0) != 0xe0 || data[0] != 0x01 || data[1] != 0x00 ||
		    data[2] != 0x5e || data[3] != (ip[17] & 0x7f) || data[4] != ip[18] ||
		    data[5] != ip[19])
			st.mac_bad++;
		unsigned dport = kb_be16(udp + 2);
		memcpy(buf, udp + 8, ulen - 8);
		if (dport == mtk_port)
			on_mtk_msg(buf, ulen - 8);
		else if (data_port == 0 || dport == data_port)
			on_srtp(buf, ulen - 8);
		else
			st.other++;
	}
	pcap_close(pc);
	for (unsigned i = 0; i < n_obj; i++)
		done += objs[i].done;
	if (out != NULL && write_objects(out) != 0)
		return 1;
	printf("{\"frames\":%" PRIu64 ",\"mtk_ok\":%" PRIu64 ",\"mtk_bad\":%" PRIu64
	       ",\"mtk_counter_bad\":%" PRIu64 ",\"mtks\":%u,\"srtp_ok\":%" PRIu64
	       ",\"srtp_bad\":%" PRIu64 ",\"srtp_no_key\":%" PRIu64 ",\"mac_bad\":%" PRIu64
	       ",\"obj_bad\":%" PRIu64 ",\"objects\":%u,\"complete\":%d,\"mtk_before_content\":%s,"
	       "\"mtk_ids\":[",
	       st.frames, st.mtk_ok, st.mtk_bad, st.mtk_counter_bad, n_mtk, st.srtp_ok, st.srtp_bad,
	       st.srtp_no_key, st.mac_bad, st.obj_bad, n_obj, done,
	       st.mtk_before_content ? "true" : "false");
	for (unsigned i = 0; i < n_mtk; i++)
		printf("%s\"%08" PRIx32 ":%u\"", i ? "," : "", mtks[i].msk_id, mtks[i].mtk_id);
	printf("]}\n");
	int ok = st.mtk_ok > 0 && st.mtk_bad == 0 && st.mtk_counter_bad == 0 && st.srtp_bad == 0 &&
		 st.srtp_no_key == 0 && st.mac_bad == 0 && st.obj_bad == 0 && done == (int)n_obj;
	for (unsigned i = 0; i < n_mtk; i++) {
		kb_memzero(mtks[i].key, 16);
		kb_memzero(&mtks[i].sk, sizeof(mtks[i].sk));
		if (mtks[i].keys_ready)
			srtp_dealloc(mtks[i].sess);
		kb_memzero(mtks[i].lk.key, sizeof(mtks[i].lk.key));
	}
	for (unsigned i = 0; i < n_msk; i++)
		kb_memzero(msks[i].key, 16);
	for (unsigned i = 0; i < n_obj; i++) {
		free(objs[i].buf);
	}
	srtp_shutdown();
	return ok ? 0 : 1;
}
