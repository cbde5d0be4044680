/* SRTP protect for PTM push (issue 7): 1200-byte SRTP packets (RTP 1184 +
 * MKI 6 + tag 10), one iteration = one packet, so items_per_second is
 * packets/s. Paths: the IPsec-MB burst (dataplane/srtp_burst.c; arg burst),
 * our OpenSSL reference one packet at a time, and libsrtp2's
 * srtp_protect_mki in the same run. Registration: kb_bench_register_srtp()
 * (needs a call in bench_main.c and this file, kbsrtp_burst_dep and libsrtp2
 * in bench/meson.build). */
#include <stdio.h>
#include <string.h>

#include <srtp2/srtp.h>

#include "bench.h"
#include "srtp/srtp.h"
#include "srtp_burst.h"
#include "util/be.h"

#define PKT 1200
#define RTP_LEN (PKT - KB_SRTP_TRAILER_LEN)
#define SSRC 0x1234u

void kb_bench_register_srtp(void);

static uint8_t bufs[KB_SRTP_BURST_MAX][PKT + 64] __attribute__((aligned(64)));
static const uint8_t mk[16] = {1, 2, 3, 4}, ms[14] = {5, 6, 7, 8};

static void fill(void)
{
	for (unsigned i = 0; i < KB_SRTP_BURST_MAX; i++) {
		memset(bufs[i], 0xab, sizeof(bufs[i]));
		kb_rtp_write(bufs[i], KB_RTP_PT_DEFAULT, false, 0, 1, SSRC);
	}
}

static void bm_burst(struct kb_bench_state *st)
{
	static struct kb_srtp_burster *b;
	static struct kb_srtp_tx_key k;
	struct kb_srtp_req req[KB_SRTP_BURST_MAX];
	unsigned n = (unsigned)kb_bench_state_range(st, 0);
	uint16_t seq = 0;

	if (b == NULL) {
		b = kb_srtp_burster_new();
		if (b == NULL || kb_srtp_tx_key_build(b, &k, mk, ms, 0x00010002u, 1) != 0) {
			kb_bench_state_skip_with_error(st, "no IPsec-MB burster");
			return;
		}
	}
	if (n == 0 || n > KB_SRTP_BURST_MAX)
		n = 32;
	fill();
	for (unsigned i = 0; i < n; i++) {
		req[i].pkt = bufs[i];
		req[i].len = RTP_LEN;
		req[i].hdr_len = KB_RTP_HDR_LEN;
		req[i].roc = 0;
		req[i].key = &k;
	}
	kb_bench_state_set_label(st, kb_srtp_burster_arch(b));
	while (kb_bench_keep_running_batch(st, n)) {
		for (unsigned i = 0; i < n; i++)
			kb_put16(bufs[i] + 2, seq++);
		if (kb_srtp_protect_burst(b, req, n) != n) {
			kb_bench_state_skip_with_error(st, "burst failed");
			return;
		}
	}
	kb_bench_state_set_items_processed(st, kb_bench_state_iterations(st));
}

static void bm_openssl(struct kb_bench_state *st)
{
	uint8_t mki[KB_SRTP_MKI_LEN];
	struct kb_srtp_keys sk;
	uint16_t seq = 0;
	size_t ol;

	fill();
	kb_srtp_derive(mk, ms, &sk);
	kb_srtp_mki(0x00010002u, 1, mki);
	while (kb_bench_keep_running(st)) {
		kb_put16(bufs[0] + 2, seq++);
		if (kb_srtp_ref_protect(&sk, bufs[0], RTP_LEN, sizeof(bufs[0]), 0, mki, sizeof(mki),
					&ol) != 0) {
			kb_bench_state_skip_with_error(st, "protect failed");
			return;
		}
	}
	kb_bench_state_set_items_processed(st, kb_bench_state_iterations(st));
}

static void bm_libsrtp2(struct kb_bench_state *st)
{
	static bool inited;
	uint8_t key30[30], mki[KB_SRTP_MKI_LEN];
	srtp_master_key_t m, *mp[1] = {&m};
	srtp_policy_t pol;
	srtp_t s;
	uint16_t seq = 0;

	if (!inited && srtp_init() != srtp_err_status_ok) {
		kb_bench_state_skip_with_error(st, "srtp_init");
		return;
	}
	inited = true;
	fill();
	memcpy(key30, mk, 16);
	memcpy(key30 + 16, ms, 14);
	kb_srtp_mki(0x00010002u, 1, mki);
	memset(&pol, 0, sizeof(pol));
	m.key = key30;
	m.mki_id = mki;
	m.mki_size = sizeof(mki);
	srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtp);
	srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtcp);
	pol.ssrc.type = ssrc_specific;
	pol.ssrc.value = SSRC;
	pol.keys = mp;
	pol.num_master_keys = 1;
	pol.window_size = 1024;
	if (srtp_create(&s, &pol) != srtp_err_status_ok) {
		kb_bench_state_skip_with_error(st, "srtp_create");
		return;
	}
	kb_bench_state_set_label(st, srtp_get_version_string());
	while (kb_bench_keep_running(st)) {
		int len = RTP_LEN;

		kb_put16(bufs[0] + 2, seq++);
		if (srtp_protect_mki(s, bufs[0], &len, 1, 0) != srtp_err_status_ok) {
			kb_bench_state_skip_with_error(st, "srtp_protect_mki");
			break;
		}
	}
	srtp_dealloc(s);
	kb_bench_state_set_items_processed(st, kb_bench_state_iterations(st));
}

void kb_bench_register_srtp(void)
{
	static const char *const names[] = {"burst"};
	static const int64_t bursts[] = {1, 32, 64};
	struct kb_bench *b = kb_bench_register("srtp/ipsecmb_burst", bm_burst);

	for (unsigned i = 0; i < 3; i++)
		kb_bench_args(b, 1, &bursts[i]);
	kb_bench_arg_names(b, 1, names);
	kb_bench_register("srtp/openssl_ref", bm_openssl);
	kb_bench_register("srtp/libsrtp2", bm_libsrtp2);
}
