/* PTM push SRTP against libsrtp2, the independent oracle (issue 7).
 *
 * An MTK message is sealed under an MSK (proto/mikey), opened again, and the
 * MTK and master salt it carries key everything below. A push object is
 * split into RTP packets (proto/srtp framing) across a sequence-number wrap,
 * and each packet is protected three ways: our OpenSSL reference, our
 * IPsec-MB burst path (dataplane/srtp_burst.c, bursts of 32 and a partial
 * one), and libsrtp2 (srtp_protect_mki, MKI = MSK ID ‖ MTK ID). All three
 * must be byte-identical; libsrtp2 must unprotect ours, and the object it
 * reassembles must equal the submitted one; our reference must unprotect
 * libsrtp2's; tampering must be refused by libsrtp2. Fixed seed. */
#include "check.h"
#include "testlib.h"

#include "mikey/mikey_profile.h"
#include "mikey/mikey_ref.h"
#include "srtp/srtp.h"
#include "srtp_burst.h"
#include "srtp_lib_session.h"
#include "util/secret.h"

#include <srtp2/srtp.h>

#define PKT_MAX 1200
#define OBJ_LEN 300000u
#define MAX_PKTS 512
#define BURST 32

struct keying {
	uint8_t mtk[16];
	uint8_t salt[14];
	uint32_t msk_id;
	uint16_t mtk_id;
};

/* The MTK and salt as a receiver gets them: out of a sealed MTK message. */
static void keys_from_mtk_message(struct keying *out)
{
	uint8_t msk[16], rand[16], mtk[16], salt[14], buf[KB_MIKEY_MSG_MAX];
	struct kb_mikey_tkeys tk;
	struct kb_mtk_msg_params p;
	static struct kb_mikey_opened o;
	struct kb_mikey_error err;
	size_t len = 0;

	kb_test_rnd_bytes(msk, sizeof(msk));
	kb_test_rnd_bytes(rand, sizeof(rand));
	kb_test_rnd_bytes(mtk, sizeof(mtk));
	kb_test_rnd_bytes(salt, sizeof(salt));
	memset(&p, 0, sizeof(p));
	p.csb_id = 0x4d544b31u;
	p.counter = 17;
	p.rand = rand;
	p.domain[0] = 0x62;
	p.domain[1] = 0xf2;
	p.domain[2] = 0x10;
	p.msk_id = 0x00010002u;
	p.mtk_id = 0x0007;
	p.mtk = mtk;
	p.salt = salt;
	CHECK(kb_mikey_derive_tkeys(msk, sizeof(msk), p.csb_id, rand, sizeof(rand), &tk) == 0);
	CHECK(kb_ref_seal_mtk(buf, sizeof(buf), &p, &tk, &len) == 0);
	CHECK(kb_ref_open(buf, len, msk, sizeof(msk), NULL, 0, &o, &err) == 0);
	CHECK(o.n_keydata == 1 && o.keydata[0].key_len == 16 && o.keydata[0].salt_len == 14);
	CHECK(o.keydata[0].spi_len == 2);
	if (o.n_keydata == 1 && o.keydata[0].key_len == 16 && o.keydata[0].salt_len == 14 &&
	    o.keydata[0].spi_len == 2) {
		memcpy(out->mtk, o.keydata[0].key, 16);
		memcpy(out->salt, o.keydata[0].salt, 14);
		out->mtk_id = (uint16_t)(o.keydata[0].spi[0] << 8 | o.keydata[0].spi[1]);
	}
	CHECK_MEM(out->mtk, mtk, 16);
	CHECK_MEM(out->salt, salt, 14);
	out->msk_id = p.msk_id;
	CHECK(out->mtk_id == p.mtk_id);
	kb_memzero(&o, sizeof(o));
	kb_memzero(&tk, sizeof(tk));
	kb_memzero(msk, sizeof(msk));
}

/* A libsrtp2 session for one SSRC with one master key and its MKI. */
struct lib_sess {
	srtp_t s;
	struct kb_srtp_lib_key k;
};

static int lib_open(struct lib_sess *ls, const struct keying *k, uint32_t ssrc, bool inbound,
		    uint32_t roc)
{
	uint8_t mki[KB_SRTP_MKI_LEN];

	(void)inbound;
	kb_srtp_mki(k->msk_id, k->mtk_id, mki);
	return kb_srtp_lib_create(&ls->s, &ls->k, k->mtk, k->salt, mki, ssrc, roc);
}

static void lib_close(struct lib_sess *ls)
{
	srtp_dealloc(ls->s);
	kb_memzero(ls->k.key, sizeof(ls->k.key));
}

static uint8_t plain[MAX_PKTS][PKT_MAX + 64];
static uint8_t ours[MAX_PKTS][PKT_MAX + 64];
static uint8_t burst[MAX_PKTS][PKT_MAX + 64];
static uint8_t lib[MAX_PKTS][PKT_MAX + 64];
static size_t plen[MAX_PKTS];
static uint32_t proc[MAX_PKTS];

/* One stream: start_seq/start_roc chosen to cross a wrap. */
static void run_stream(struct kb_srtp_burster *b, uint16_t start_seq, uint32_t start_roc)
{
	struct keying k;
	struct kb_srtp_keys sk;
	struct kb_srtp_tx_key txk;
	struct kb_srtp_stream st;
	struct kb_push_tx tx;
	struct kb_push_pkt info;
	struct kb_push_rx rx;
	struct kb_srtp_req req[BURST];
	struct lib_sess ltx, lrx, lrx2;
	uint8_t *obj = malloc(OBJ_LEN);
	uint8_t mki[KB_SRTP_MKI_LEN];
	unsigned n = 0, same_ours = 0, same_lib = 0, lib_ok = 0, done = 0, ref_ok = 0;
	int rc;

	if (obj == NULL)
		return;
	keys_from_mtk_message(&k);
	kb_test_rnd_bytes(obj, OBJ_LEN);
	st.ssrc = (uint32_t)kb_test_rnd();
	st.seq = start_seq;
	st.roc = start_roc;
	st.pt = KB_RTP_PT_DEFAULT;
	CHECK(kb_srtp_derive(k.mtk, k.salt, &sk) == 0);
	CHECK(kb_srtp_tx_key_build(b, &txk, k.mtk, k.salt, k.msk_id, k.mtk_id) == 0);
	kb_srtp_mki(k.msk_id, k.mtk_id, mki);

	/* split the object */
	CHECK(kb_push_tx_init(&tx, 0x0000BEEFu, 90000, obj, OBJ_LEN, PKT_MAX) == 0);
	while (n < MAX_PKTS &&
	       (rc = kb_push_tx_next(&tx, &st, plain[n], sizeof(plain[n]), &info)) == 1) {
		plen[n] = info.len;
		proc[n] = info.roc;
		n++;
	}
	CHECK(n == (OBJ_LEN + 1159) / 1160);

	/* 1. our reference */
	for (unsigned i = 0; i < n; i++) {
		size_t ol = 0;

		memcpy(ours[i], plain[i], plen[i]);
		CHECK(kb_srtp_ref_protect(&sk, ours[i], plen[i], sizeof(ours[i]), proc[i], mki,
					  sizeof(mki), &ol) == 0);
		CHECK(ol == plen[i] + KB_SRTP_TRAILER_LEN);
	}
	/* 2. our IPsec-MB bursts of 32, the last one partial */
	for (unsigned i = 0; i < n; i += BURST) {
		unsigned m = n - i < BURST ? n - i : BURST;

		for (unsigned j = 0; j < m; j++) {
			memcpy(burst[i + j], plain[i + j], plen[i + j]);
			req[j].pkt = burst[i + j];
			req[j].len = (uint16_t)plen[i + j];
			req[j].hdr_len = KB_RTP_HDR_LEN;
			req[j].roc = proc[i + j];
			req[j].key = &txk;
		}
		CHECK(kb_srtp_protect_burst(b, req, m) == m);
	}
	/* 3. libsrtp2 protects the same packets */
	CHECK(lib_open(&ltx, &k, st.ssrc, false, start_roc) == 0);
	for (unsigned i = 0; i < n; i++) {
		int len = (int)plen[i];

		memcpy(lib[i], plain[i], plen[i]);
		CHECK(srtp_protect_mki(ltx.s, lib[i], &len, 1, 0) == srtp_err_status_ok);
		CHECK((size_t)len == plen[i] + KB_SRTP_TRAILER_LEN);
		same_ours += memcmp(ours[i], burst[i], plen[i] + KB_SRTP_TRAILER_LEN) == 0;
		same_lib += memcmp(ours[i], lib[i], plen[i] + KB_SRTP_TRAILER_LEN) == 0;
	}
	CHECK(same_ours == n);
	CHECK(same_lib == n);
	lib_close(&ltx);

	/* 4. libsrtp2 unprotects our burst output and the object comes back */
	CHECK(lib_open(&lrx, &k, st.ssrc, true, start_roc) == 0);
	CHECK(kb_push_rx_init(&rx, 0x0000BEEFu, OBJ_LEN, OBJ_LEN) == 0);
	for (unsigned i = 0; i < n; i++) {
		uint8_t pkt[PKT_MAX + 64];
		int len = (int)(plen[i] + KB_SRTP_TRAILER_LEN);

		memcpy(pkt, burst[i], (size_t)len);
		if (srtp_unprotect_mki(lrx.s, pkt, &len, 1) != srtp_err_status_ok)
			continue;
		lib_ok++;
		if ((size_t)len == plen[i] && memcmp(pkt, plain[i], plen[i]) == 0 &&
		    kb_push_rx_add(&rx, pkt + KB_RTP_HDR_LEN, (size_t)len - KB_RTP_HDR_LEN) == 1)
			done = 1;
	}
	CHECK(lib_ok == n);
	CHECK(done == 1);
	if (done == 1)
		CHECK_MEM(rx.buf, obj, OBJ_LEN);
	kb_push_rx_free(&rx);
	lib_close(&lrx);

	/* 5. our reference unprotects libsrtp2's, with the receiver's ROC guess */
	{
		uint16_t s_l = start_seq;
		uint32_t roc = start_roc;

		for (unsigned i = 0; i < n; i++) {
			uint8_t pkt[PKT_MAX + 64];
			uint16_t seq = (uint16_t)(lib[i][2] << 8 | lib[i][3]);
			uint32_t v = kb_srtp_guess_roc(s_l, roc, seq);
			size_t rl = 0;

			memcpy(pkt, lib[i], plen[i] + KB_SRTP_TRAILER_LEN);
			if (kb_srtp_ref_unprotect(&sk, pkt, plen[i] + KB_SRTP_TRAILER_LEN, v, mki,
						  sizeof(mki), &rl) == 0 &&
			    rl == plen[i] && memcmp(pkt, plain[i], rl) == 0)
				ref_ok++;
			s_l = seq;
			roc = v;
		}
	}
	CHECK(ref_ok == n);

	/* 6. libsrtp2 refuses tampering: a payload bit, the tag, the MKI */
	CHECK(lib_open(&lrx2, &k, st.ssrc, true, start_roc) == 0);
	{
		uint8_t pkt[PKT_MAX + 64];
		int len = (int)(plen[0] + KB_SRTP_TRAILER_LEN);

		memcpy(pkt, burst[0], (size_t)len);
		pkt[40] ^= 1;
		CHECK(srtp_unprotect_mki(lrx2.s, pkt, &len, 1) == srtp_err_status_auth_fail);
		len = (int)(plen[0] + KB_SRTP_TRAILER_LEN);
		memcpy(pkt, burst[0], (size_t)len);
		pkt[len - 1] ^= 1;
		CHECK(srtp_unprotect_mki(lrx2.s, pkt, &len, 1) == srtp_err_status_auth_fail);
		len = (int)(plen[0] + KB_SRTP_TRAILER_LEN);
		memcpy(pkt, burst[0], (size_t)len);
		pkt[plen[0] + 5] ^= 1; /* MTK ID */
		CHECK(srtp_unprotect_mki(lrx2.s, pkt, &len, 1) == srtp_err_status_bad_mki);
		len = (int)(plen[0] + KB_SRTP_TRAILER_LEN);
		memcpy(pkt, burst[0], (size_t)len);
		CHECK(srtp_unprotect_mki(lrx2.s, pkt, &len, 1) == srtp_err_status_ok);
	}
	lib_close(&lrx2);
	kb_memzero(&sk, sizeof(sk));
	kb_memzero(&txk, sizeof(txk));
	kb_memzero(&k, sizeof(k));
	free(obj);
}

/* Random lengths and keys, bursts of every size 1..64, against the
 * reference: covers partial AES blocks and odd lengths. */
static void burst_differential(struct kb_srtp_burster *b)
{
	static struct kb_srtp_tx_key txk[4];
	struct kb_srtp_keys sk[4];
	uint8_t mki[4][KB_SRTP_MKI_LEN];
	struct kb_srtp_req req[KB_SRTP_BURST_MAX];
	unsigned bad = 0;

	for (int i = 0; i < 4; i++) {
		uint8_t mk[16], ms[14];
		uint32_t msk = (uint32_t)kb_test_rnd();
		uint16_t mtk = (uint16_t)kb_test_rnd();

		kb_test_rnd_bytes(mk, 16);
		kb_test_rnd_bytes(ms, 14);
		CHECK(kb_srtp_derive(mk, ms, &sk[i]) == 0);
		CHECK(kb_srtp_tx_key_build(b, &txk[i], mk, ms, msk, mtk) == 0);
		kb_srtp_mki(msk, mtk, mki[i]);
	}
	for (unsigned m = 1; m <= KB_SRTP_BURST_MAX; m++) {
		unsigned which[KB_SRTP_BURST_MAX];

		for (unsigned j = 0; j < m; j++) {
			size_t len = 12 + (size_t)(kb_test_rnd() % (PKT_MAX - 12 - 16 + 1));

			which[j] = (unsigned)(kb_test_rnd() % 4);
			kb_test_rnd_bytes(plain[j], len);
			kb_rtp_write(plain[j], 96, false, (uint16_t)kb_test_rnd(),
				     (uint32_t)kb_test_rnd(), (uint32_t)kb_test_rnd());
			plen[j] = len;
			proc[j] = (uint32_t)kb_test_rnd();
			memcpy(burst[j], plain[j], len);
			req[j].pkt = burst[j];
			req[j].len = (uint16_t)len;
			req[j].hdr_len = 12;
			req[j].roc = proc[j];
			req[j].key = &txk[which[j]];
		}
		CHECK(kb_srtp_protect_burst(b, req, m) == m);
		for (unsigned j = 0; j < m; j++) {
			size_t ol = 0;

			memcpy(ours[j], plain[j], plen[j]);
			CHECK(kb_srtp_ref_protect(&sk[which[j]], ours[j], plen[j], sizeof(ours[j]),
						  proc[j], mki[which[j]], KB_SRTP_MKI_LEN,
						  &ol) == 0);
			bad += memcmp(ours[j], burst[j], ol) != 0;
		}
	}
	CHECK(bad == 0);
	CHECK(kb_srtp_protect_burst(b, req, 0) == 0);
	for (int i = 0; i < 4; i++)
		kb_memzero(&sk[i], sizeof(sk[i]));
}

int main(void)
{
	kb_test_seed(0x6c69627372747032ull); /* this test's own fixed sequence */
	struct kb_srtp_burster *b;

	if (srtp_init() != srtp_err_status_ok) {
		fprintf(stderr, "srtp_init failed\n");
		return 1;
	}
	b = kb_srtp_burster_new();
	CHECK(b != NULL);
	if (b != NULL) {
		printf("ipsec-mb arch: %s, libsrtp2: %s\n", kb_srtp_burster_arch(b),
		       srtp_get_version_string());
		run_stream(b, 0xFF80, 0); /* wraps to ROC 1 after 128 packets */
		run_stream(b, 0xFFF0, 41); /* a stream joined with ROC 41 */
		burst_differential(b);
		kb_srtp_burster_free(b);
	}
	srtp_shutdown();
	return kb_check_done();
}
