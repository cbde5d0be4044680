/* proto/srtp: RFC 3711 Appendix B.2 (AES-CM keystream) and B.3 (key
 * derivation) known answers, the IV layout, the push framing round trip
 * (out of order, duplicates, sequence wrap), and the OpenSSL reference
 * protect/unprotect against the packet built by hand here with OpenSSL
 * called directly. libsrtp2 is the independent oracle in
 * tests/integration/test_srtp_libsrtp.c. */
#include "check.h"
#include "testlib.h"

#include "srtp/srtp.h"
#include "util/be.h"
#include "util/hex.h"
#include "util/secret.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

static void hex(const char *s, uint8_t *out, size_t n)
{
	CHECK(kb_hex_decode(s, strlen(s), out, n) == (long)n);
}

/* RFC 3711 B.2: session key, salt F0..FD, SSRC 0, index 0 */
static void test_b2_aes_cm(void)
{
	static const struct {
		unsigned block;
		const char *ks;
	} want[] = {
		{0x0000, "E03EAD0935C95E80E166B16DD92B4EB4"},
		{0x0001, "D23513162B02D0F72A43A2FE4A5F97AB"},
		{0x0002, "41E95B3BB0A2E8DD477901E4FCA894C0"},
		{0xFEFF, "EC8CDF7398607CB0F2D21675EA9EA1E4"},
		{0xFF00, "362B7C3C6773516318A077D7FC5073AE"},
		{0xFF01, "6A2CC3787889374FBEB4C81B17BA6C44"},
	};
	const size_t seg = 1044512; /* 65282 blocks */
	uint8_t key[16], salt[14], iv[16], offset[16], blk[16];
	uint8_t *ks = malloc(seg);

	hex("2B7E151628AED2A6ABF7158809CF4F3C", key, 16);
	hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD", salt, 14);
	hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000", offset, 16);
	kb_srtp_iv(salt, 0, 0, iv);
	CHECK_MEM(iv, offset, 16);
	CHECK(ks != NULL && kb_srtp_keystream(key, iv, ks, seg) == 0);
	for (size_t i = 0; ks != NULL && i < sizeof(want) / sizeof(want[0]); i++) {
		hex(want[i].ks, blk, 16);
		CHECK_MEM(ks + 16u * want[i].block, blk, 16);
	}
	CHECK(65282u * 16u == seg);
	free(ks);
}

/* RFC 3711 B.3: master key/salt → cipher key, cipher salt, 94-byte auth key */
static void test_b3_kdf(void)
{
	uint8_t mk[16], ms[14], ck[16], cs[14], ak[94], out[94];
	struct kb_srtp_keys k;

	hex("E1F97A0D3E018BE0D64FA32C06DE4139", mk, 16);
	hex("0EC675AD498AFEEBB6960B3AABE6", ms, 14);
	hex("C61E7A93744F39EE10734AFE3FF7A087", ck, 16);
	hex("30CBBC08863D8C85D49DB34A9AE1", cs, 14);
	hex("CEBE321F6FF7716B6FD4AB49AF256A15"
	    "6D38BAA48F0A0ACF3C34E2359E6CDBCE"
	    "E049646C43D9327AD175578EF7227098"
	    "6371C10C9A369AC2F94A8C5FBCDDDC25"
	    "6D6E919A48B610EF17C2041E47403576"
	    "6B68642C59BBFC2F34DB60DBDFB2",
	    ak, 94);
	CHECK(kb_srtp_derive(mk, ms, &k) == 0);
	CHECK_MEM(k.encr, ck, 16);
	CHECK_MEM(k.salt, cs, 14);
	CHECK_MEM(k.auth, ak, 20);
	CHECK(kb_srtp_kdf(mk, ms, KB_SRTP_LABEL_AUTH, out, sizeof(out)) == 0);
	CHECK_MEM(out, ak, 94);
	/* the salt label's full AES-CM output block, as printed in B.3 */
	hex("30CBBC08863D8C85D49DB34A9AE17AC6", out, 16);
	CHECK(kb_srtp_kdf(mk, ms, KB_SRTP_LABEL_SALT, out + 16, 16) == 0);
	CHECK_MEM(out + 16, out, 16);
	kb_memzero(&k, sizeof(k));
}

/* IV = salt*2^16 XOR SSRC*2^64 XOR index*2^16, spelled out byte by byte */
static void test_iv_layout(void)
{
	uint8_t salt[14], iv[16], want[16];

	memset(salt, 0, sizeof(salt));
	kb_srtp_iv(salt, 0x11223344u, 0xAABBCCDDEEFFull, iv);
	hex("0000000011223344AABBCCDDEEFF0000", want, 16);
	CHECK_MEM(iv, want, 16);
	memset(salt, 0xff, sizeof(salt));
	kb_srtp_iv(salt, 0x11223344u, 0x0000000100ffull, iv);
	hex("FFFFFFFFEEDDCCBBFFFFFFFEFF000000", want, 16);
	CHECK_MEM(iv, want, 16);
}

static void test_rtp_and_mki(void)
{
	uint8_t p[64], mki[6], want[6];
	struct kb_rtp_hdr h;

	kb_rtp_write(p, 96, true, 0xBEEF, 0x01020304u, 0xCAFEBABEu);
	CHECK(kb_rtp_parse(p, 12, &h) == 0);
	CHECK(h.pt == 96 && h.marker && h.seq == 0xBEEF && h.ts == 0x01020304u);
	CHECK(h.ssrc == 0xCAFEBABEu && h.len == 12);
	CHECK(p[0] == 0x80 && p[1] == (0x80 | 96));
	CHECK(kb_rtp_parse(p, 11, &h) == -1);
	/* two CSRCs and a 1-word extension */
	memset(p, 0, sizeof(p));
	p[0] = 0x80 | 0x10 | 2;
	kb_put16(p + 12 + 8 + 2, 1);
	CHECK(kb_rtp_parse(p, 12 + 8 + 8, &h) == 0 && h.len == 28);
	CHECK(kb_rtp_parse(p, 27, &h) == -1);
	p[0] = 0x40; /* version 1 */
	CHECK(kb_rtp_parse(p, 40, &h) == -1);

	kb_srtp_mki(0x00010002u, 0x0003, mki);
	hex("000100020003", want, 6);
	CHECK_MEM(mki, want, 6);
}

static void test_stream_wrap(void)
{
	struct kb_srtp_stream s = {.ssrc = 1, .seq = 0xFFFE, .roc = 5, .pt = 96};
	uint16_t seq;
	uint32_t roc;

	CHECK(kb_srtp_stream_take(&s, &seq, &roc) == 0 && seq == 0xFFFE && roc == 5);
	CHECK(kb_srtp_stream_take(&s, &seq, &roc) == 0 && seq == 0xFFFF && roc == 5);
	CHECK(kb_srtp_stream_take(&s, &seq, &roc) == 0 && seq == 0 && roc == 6);
	s.roc = UINT32_MAX;
	s.seq = 0xFFFE;
	CHECK(kb_srtp_stream_take(&s, &seq, &roc) == 0);
	CHECK(kb_srtp_stream_take(&s, &seq, &roc) == -1); /* index space exhausted */

	CHECK(kb_srtp_guess_roc(100, 7, 101) == 7);
	CHECK(kb_srtp_guess_roc(100, 7, 65000) == 6); /* late packet from before the wrap */
	CHECK(kb_srtp_guess_roc(65000, 7, 3) == 8); /* after the wrap */
	CHECK(kb_srtp_guess_roc(65000, 7, 64000) == 7);
}

/* Split an object, shuffle and duplicate the packets, reassemble. */
static void test_push_framing(void)
{
	const uint32_t len = 50000;
	uint8_t *obj = malloc(len), (*pk)[1200] = malloc(64 * 1200);
	size_t plen[64];
	struct kb_srtp_stream s = {.ssrc = 0x5eed, .seq = 0xFFF0, .roc = 2, .pt = 96};
	struct kb_push_tx tx;
	struct kb_push_pkt info;
	struct kb_push_rx rx;
	unsigned n = 0, order[64];
	int rc, done = 0;

	if (obj == NULL || pk == NULL)
		goto out;
	kb_test_rnd_bytes(obj, len);
	CHECK(kb_push_tx_init(&tx, 0xA1B2C3D4u, 777, obj, len, 1200) == 0);
	while ((rc = kb_push_tx_next(&tx, &s, pk[n], 1200, &info)) == 1) {
		struct kb_rtp_hdr h;
		struct kb_push_hdr ph;
		const uint8_t *d;
		size_t dl;

		CHECK(info.len + KB_SRTP_TRAILER_LEN <= 1200);
		CHECK(kb_rtp_parse(pk[n], info.len, &h) == 0);
		CHECK(h.seq == (uint16_t)(0xFFF0 + n) && h.ssrc == 0x5eed && h.ts == 777);
		CHECK(info.roc == (n < 16 ? 2u : 3u));
		CHECK(kb_push_hdr_parse(pk[n] + h.len, info.len - h.len, &ph, &d, &dl) == 0);
		CHECK(ph.push_id == 0xA1B2C3D4u && ph.obj_len == len && ph.offset == info.offset);
		CHECK(h.marker == (ph.offset + dl == len));
		plen[n] = info.len;
		n++;
		if (n == 64)
			break;
	}
	CHECK(rc == 0);
	/* 1200 - 12 - 12 - 16 = 1160 bytes per packet */
	CHECK(n == (len + 1159) / 1160);
	CHECK(kb_push_tx_next(&tx, &s, pk[0], 1200, &info) == 0);

	for (unsigned i = 0; i < n; i++)
		order[i] = i;
	for (unsigned i = n - 1; i > 0; i--) {
		unsigned j = (unsigned)(kb_test_rnd() % (i + 1)), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	CHECK(kb_push_rx_init(&rx, 0xA1B2C3D4u, len, 1u << 20) == 0);
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *p = pk[order[i]];

		rc = kb_push_rx_add(&rx, p + 12, plen[order[i]] - 12);
		/* a duplicate is harmless */
		CHECK(kb_push_rx_add(&rx, p + 12, plen[order[i]] - 12) == rc);
		CHECK(rc == (i + 1 == n ? 1 : 0));
		done = rc;
	}
	CHECK(done == 1 && rx.got == len);
	CHECK_MEM(rx.buf, obj, len);
	/* conflicting bytes, another object, an overrun: refused */
	pk[0][12 + 12] ^= 1;
	CHECK(kb_push_rx_add(&rx, pk[0] + 12, plen[0] - 12) == -1);
	kb_put32(pk[1] + 12, 1);
	CHECK(kb_push_rx_add(&rx, pk[1] + 12, plen[1] - 12) == -1);
	kb_put32(pk[2] + 12 + 8, len - 10);
	CHECK(kb_push_rx_add(&rx, pk[2] + 12, plen[2] - 12) == -1);
	kb_push_rx_free(&rx);
	CHECK(kb_push_rx_init(&rx, 1, 2000, 1000) == -1);

	/* an empty object is one packet with a header only */
	CHECK(kb_push_tx_init(&tx, 9, 0, NULL, 0, 100) == 0);
	CHECK(kb_push_tx_next(&tx, &s, pk[0], 1200, &info) == 1);
	CHECK(info.len == 24 && (pk[0][1] & 0x80));
	CHECK(kb_push_tx_next(&tx, &s, pk[0], 1200, &info) == 0);
	CHECK(kb_push_rx_init(&rx, 9, 0, 10) == 0);
	CHECK(kb_push_rx_add(&rx, pk[0] + 12, 12) == 1);
	kb_push_rx_free(&rx);
	/* no room for a payload byte, or for the trailer */
	CHECK(kb_push_tx_init(&tx, 9, 0, obj, 10, 40) == -1);
	CHECK(kb_push_tx_init(&tx, 9, 0, obj, 10, 41) == 0 && tx.chunk == 1);
	CHECK(kb_push_tx_init(&tx, 9, 0, obj, 10, 100) == 0);
	CHECK(kb_push_tx_next(&tx, &s, pk[0], 12 + 12 + 10 + 15, &info) == -1);
out:
	free(obj);
	free(pk);
}

/* The SRTP packet built here from OpenSSL primitives, independently of
 * srtp_ref.c's code paths: EVP AES-128-CTR and one-shot HMAC(). */
static void by_hand(const struct kb_srtp_keys *k, const uint8_t *rtp, size_t len, uint32_t roc,
		    const uint8_t *mki, uint8_t *out)
{
	uint8_t iv[16], ks[2048], macin[2048 + 4], md[20];
	unsigned mdlen = 0;
	uint16_t seq = kb_be16(rtp + 2);
	uint32_t ssrc = kb_be32(rtp + 8);
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int outl = 0;

	memset(iv, 0, sizeof(iv));
	memcpy(iv, k->salt, 14);
	for (int i = 0; i < 4; i++)
		iv[4 + i] ^= (uint8_t)(ssrc >> (24 - 8 * i));
	iv[8] ^= (uint8_t)(roc >> 24);
	iv[9] ^= (uint8_t)(roc >> 16);
	iv[10] ^= (uint8_t)(roc >> 8);
	iv[11] ^= (uint8_t)roc;
	iv[12] ^= (uint8_t)(seq >> 8);
	iv[13] ^= (uint8_t)seq;
	memset(ks, 0, sizeof(ks));
	CHECK(EVP_EncryptInit_ex(c, EVP_aes_128_ctr(), NULL, k->encr, iv) == 1);
	CHECK(EVP_EncryptUpdate(c, ks, &outl, ks, (int)(len - 12)) == 1);
	EVP_CIPHER_CTX_free(c);
	memcpy(out, rtp, 12);
	for (size_t i = 12; i < len; i++)
		out[i] = rtp[i] ^ ks[i - 12];
	memcpy(macin, out, len);
	kb_put32(macin + len, roc);
	HMAC(EVP_sha1(), k->auth, 20, macin, len + 4, md, &mdlen);
	CHECK(mdlen == 20);
	memcpy(out + len, mki, 6);
	memcpy(out + len + 6, md, 10);
}

static void test_ref_protect(void)
{
	uint8_t mk[16], ms[14], mki[6], rtp[1300], pkt[1300], want[1300];
	struct kb_srtp_keys k;
	size_t olen = 0, rlen = 0;

	for (int round = 0; round < 64; round++) {
		size_t len = 12 + (size_t)(kb_test_rnd() % 1200);
		uint32_t roc = round % 3 == 0 ? 0 : (uint32_t)kb_test_rnd();

		kb_test_rnd_bytes(mk, 16);
		kb_test_rnd_bytes(ms, 14);
		CHECK(kb_srtp_derive(mk, ms, &k) == 0);
		kb_srtp_mki((uint32_t)kb_test_rnd(), (uint16_t)kb_test_rnd(), mki);
		kb_test_rnd_bytes(rtp, len);
		kb_rtp_write(rtp, 96, round & 1, (uint16_t)kb_test_rnd(), (uint32_t)kb_test_rnd(),
			     (uint32_t)kb_test_rnd());
		memcpy(pkt, rtp, len);
		CHECK(kb_srtp_ref_protect(&k, pkt, len, sizeof(pkt), roc, mki, 6, &olen) == 0);
		CHECK(olen == len + 16);
		by_hand(&k, rtp, len, roc, mki, want);
		CHECK_MEM(pkt, want, len + 16);
		memcpy(want, pkt, olen);
		CHECK(kb_srtp_ref_unprotect(&k, pkt, olen, roc, mki, 6, &rlen) == 0);
		CHECK(rlen == len);
		CHECK_MEM(pkt, rtp, len);
		/* a flipped bit anywhere but the MKI, a wrong ROC, a wrong MKI */
		memcpy(pkt, want, olen);
		pkt[kb_test_rnd() % len] ^= 0x20;
		CHECK(kb_srtp_ref_unprotect(&k, pkt, olen, roc, mki, 6, &rlen) == -1);
		memcpy(pkt, want, olen);
		pkt[olen - 1 - kb_test_rnd() % 10] ^= 1;
		CHECK(kb_srtp_ref_unprotect(&k, pkt, olen, roc, mki, 6, &rlen) == -1);
		memcpy(pkt, want, olen);
		CHECK(kb_srtp_ref_unprotect(&k, pkt, olen, roc + 1, mki, 6, &rlen) == -1);
		memcpy(pkt, want, olen);
		pkt[len + 5] ^= 1;
		CHECK(kb_srtp_ref_unprotect(&k, pkt, olen, roc, mki, 6, &rlen) == -1);
		/* the MKI is not authenticated: with the changed MKI expected, it opens */
		mki[5] ^= 1;
		CHECK(kb_srtp_ref_unprotect(&k, pkt, olen, roc, mki, 6, &rlen) == 0);
	}
	/* too short, too little room */
	CHECK(kb_srtp_ref_unprotect(&k, pkt, 15, 0, mki, 6, &rlen) == -1);
	CHECK(kb_srtp_ref_protect(&k, pkt, 100, 115, 0, mki, 6, &olen) == -1);
	kb_memzero(&k, sizeof(k));
}

int main(void)
{
	kb_test_seed(0x737274702d6b62ull); /* this test's own fixed sequence */
	RUN(test_b2_aes_cm);
	RUN(test_b3_kdf);
	RUN(test_iv_layout);
	RUN(test_rtp_and_mki);
	RUN(test_stream_wrap);
	RUN(test_push_framing);
	RUN(test_ref_protect);
	return kb_check_done();
}
