/* MIKEY codec: the fast profile writer against the generic writer, round
 * trips of random parameter sets, and a strict decoder that rejects every
 * truncation, corruption and malformed shape of real messages. */
#include "check.h"
#include "testlib.h"

#include "mikey/mikey_codec.h"
#include "mikey/mikey_prf.h"
#include "mikey/mikey_profile.h"
#include "mikey/mikey_ref.h"
#include "util/be.h"
#include "util/secret.h"

#include <stdint.h>

static const uint8_t muk[32] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
				16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31};
static const uint8_t rand16[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
				   0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
static const uint8_t msk16[16] = {0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5,
				  0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5};
static const char idi[] = "bmsc.example.org";
static const char idr[] = "AbCdEf==@bsf.example.org";

static struct kb_msk_msg_params base_params(void)
{
	struct kb_msk_msg_params p = {
		.csb_id = 65538,
		.counter = 7,
		.rand = rand16,
		.idi = (const uint8_t *)idi,
		.idi_len = sizeof(idi) - 1,
		.idr = (const uint8_t *)idr,
		.idr_len = sizeof(idr) - 1,
		.domain = {0x62, 0xf2, 0x10},
		.msk_id = 0x00010002,
		.msk = msk16,
		.v = true,
	};
	return p;
}

/* A sealed MSK message for the base parameters. */
static size_t sealed_msg(uint8_t *buf, size_t cap)
{
	struct kb_msk_msg_params p = base_params();
	struct kb_mikey_tkeys tk;
	size_t len = 0;

	CHECK(kb_mikey_derive_tkeys(muk, 32, p.csb_id, p.rand, 16, &tk) == 0);
	CHECK(kb_ref_seal_msk(buf, cap, &p, &tk, &len) == 0);
	kb_memzero(&tk, sizeof(tk));
	return len;
}

/* ---- the generic writer, used as the slow reference for the profile ---- */

static size_t generic_msk(uint8_t *buf, size_t cap, const struct kb_msk_msg_params *p,
			  size_t *encr_off, size_t *mac_off)
{
	struct kb_mikey_writer w;
	uint8_t kd[64];
	long kdl = 0;
	bool pull = p->msk == NULL;
	uint32_t msk_id = pull ? p->msk_id & 0xffff0000u : p->msk_id;
	uint8_t spi[4];

	kb_put32(spi, msk_id);
	if (!pull)
		kdl = kb_mikey_keydata_write(kd, sizeof(kd), true, 0, 1, p->msk, 16, NULL, 0, spi,
					     4);
	CHECK(kdl >= 0);
	kb_mikey_w_init(&w, buf, cap);
	kb_mikey_w_hdr(&w, 0, pull ? false : p->v, 0, p->csb_id, 0, 1);
	kb_mikey_w_key_id(&w, p->domain, msk_id, 0, 0);
	kb_mikey_w_t_counter(&w, p->counter);
	if (p->rand != NULL)
		kb_mikey_w_rand(&w, p->rand, 16);
	kb_mikey_w_id(&w, 1, p->idi, p->idi_len);
	kb_mikey_w_id(&w, 1, p->idr, p->idr_len);
	kb_mikey_w_kemac(&w, 1, kd, (uint16_t)kdl, 1, encr_off, mac_off);
	kb_memzero(kd, sizeof(kd));
	return w.err ? 0 : w.len;
}

static size_t generic_mtk(uint8_t *buf, size_t cap, const struct kb_mtk_msg_params *p)
{
	struct kb_mikey_writer w;
	uint8_t kd[64], spi[2];
	size_t eo, mo;

	kb_put16(spi, p->mtk_id);
	long kdl =
		kb_mikey_keydata_write(kd, sizeof(kd), true, 1, 1, p->mtk, 16, p->salt, 14, spi, 2);
	CHECK(kdl > 0);
	kb_mikey_w_init(&w, buf, cap);
	kb_mikey_w_hdr(&w, 0, false, 0, p->csb_id, 0, 1);
	kb_mikey_w_key_id(&w, p->domain, p->msk_id, p->mtk_id, 2);
	kb_mikey_w_t_counter(&w, p->counter);
	if (p->rand != NULL)
		kb_mikey_w_rand(&w, p->rand, 16);
	kb_mikey_w_kemac(&w, 1, kd, (uint16_t)kdl, 1, &eo, &mo);
	return w.err ? 0 : w.len;
}

static void random_msk_params(struct kb_msk_msg_params *p, uint8_t *rnd_rand, uint8_t *msk,
			      uint8_t *id1, uint8_t *id2)
{
	p->csb_id = kb_test_rnd32() | 1;
	p->counter = kb_test_rnd32();
	kb_test_rnd_bytes(rnd_rand, 16);
	p->rand = kb_test_rnd32() % 4 == 0 ? NULL : rnd_rand;
	p->idi_len = (uint16_t)(kb_test_rnd32() % (KB_MIKEY_ID_MAX + 1));
	p->idr_len = (uint16_t)(kb_test_rnd32() % (KB_MIKEY_ID_MAX + 1));
	kb_test_rnd_bytes(id1, p->idi_len);
	kb_test_rnd_bytes(id2, p->idr_len);
	p->idi = id1;
	p->idr = id2;
	kb_test_rnd_bytes(p->domain, 3);
	p->msk_id = kb_test_rnd32();
	kb_test_rnd_bytes(msk, 16);
	p->msk = kb_test_rnd32() % 5 == 0 ? NULL : msk;
	p->v = kb_test_rnd32() & 1;
}

/* The hot-path writer and the generic writer give identical bytes. */
static void test_profile_matches_generic(void)
{
	uint8_t a[KB_MIKEY_MSG_MAX * 2], b[KB_MIKEY_MSG_MAX * 2];
	uint8_t r[16], msk[16], id1[KB_MIKEY_ID_MAX], id2[KB_MIKEY_ID_MAX];
	int same = 0;

	for (int i = 0; i < 2000; i++) {
		struct kb_msk_msg_params p;
		struct kb_mikey_layout lay;
		size_t eo = 0, mo = 0;

		random_msk_params(&p, r, msk, id1, id2);
		memset(a, 0xee, sizeof(a));
		memset(b, 0xee, sizeof(b));
		if (kb_msk_msg_write(a, sizeof(a), &p, &lay) != 0) {
			CHECK(0);
			continue;
		}
		size_t n = generic_msk(b, sizeof(b), &p, &eo, &mo);
		if (n != lay.len || memcmp(a, b, n) != 0 || eo != lay.encr_off ||
		    mo != lay.mac_off || lay.len != kb_msk_msg_len(&p) ||
		    kb_be32(a + lay.t_off) != p.counter ||
		    lay.encr_len != (p.msk != NULL ? 25u : 0u)) {
			CHECK(n == lay.len);
			CHECK_MEM(a, b, lay.len);
			break;
		}
		same++;
	}
	CHECK(same == 2000);

	/* the base message too, and the cap is respected exactly */
	struct kb_msk_msg_params p = base_params();
	struct kb_mikey_layout lay;
	size_t need = kb_msk_msg_len(&p);
	CHECK(kb_msk_msg_write(a, need, &p, &lay) == 0);
	CHECK(kb_msk_msg_write(a, need - 1, &p, &lay) == -1);
	p.idi_len = KB_MIKEY_ID_MAX + 1;
	CHECK(kb_msk_msg_write(a, sizeof(a), &p, &lay) == -1);
}

static void test_mtk_matches_generic(void)
{
	uint8_t a[KB_MIKEY_MSG_MAX], b[KB_MIKEY_MSG_MAX], r[16], mtk[16], salt[14];

	for (int i = 0; i < 200; i++) {
		struct kb_mtk_msg_params p = {.csb_id = kb_test_rnd32(),
					      .counter = kb_test_rnd32(),
					      .rand = r,
					      .msk_id = kb_test_rnd32(),
					      .mtk_id = (uint16_t)kb_test_rnd32(),
					      .mtk = mtk,
					      .salt = salt};
		struct kb_mikey_layout lay;
		kb_test_rnd_bytes(r, 16);
		kb_test_rnd_bytes(mtk, 16);
		kb_test_rnd_bytes(salt, 14);
		kb_test_rnd_bytes(p.domain, 3);
		if (i % 3 == 0)
			p.rand = NULL;
		CHECK(kb_mtk_msg_write(a, sizeof(a), &p, &lay) == 0);
		size_t n = generic_mtk(b, sizeof(b), &p);
		CHECK(n == lay.len);
		if (n != lay.len || memcmp(a, b, n) != 0) {
			CHECK_MEM(a, b, lay.len);
			break;
		}
	}
}

static void test_ack_matches_generic(void)
{
	uint8_t a[64], b[64];
	struct kb_mikey_layout lay;
	struct kb_mikey_writer w;

	CHECK(kb_ack_write(a, sizeof(a), 0x01020304, 0x0a0b0c0d, &lay) == 0);
	kb_mikey_w_init(&w, b, sizeof(b));
	kb_mikey_w_hdr(&w, 1, false, 0, 0x01020304, 0, 1);
	kb_mikey_w_t_counter(&w, 0x0a0b0c0d);
	kb_mikey_w_v(&w, NULL);
	CHECK(!w.err && w.len == KB_ACK_LEN && lay.len == KB_ACK_LEN);
	CHECK_MEM(a, b, KB_ACK_LEN);
	CHECK(lay.mac_off == 18 && lay.t_off == 12);
	CHECK(kb_ack_write(a, KB_ACK_LEN - 1, 1, 1, &lay) == -1);

	uint8_t s[16];
	CHECK(kb_ack_mac_suffix(s, sizeof(s), (const uint8_t *)"ab", 2, (const uint8_t *)"cde", 3,
				0x01020304) == 9);
	CHECK_MEM(s, "abcde\x01\x02\x03\x04", 9);
	CHECK(kb_ack_mac_suffix(s, 8, (const uint8_t *)"ab", 2, (const uint8_t *)"cde", 3, 1) ==
	      -1);
}

/* Written messages decode back to the same fields. */
static void test_round_trip(void)
{
	uint8_t buf[KB_MIKEY_MSG_MAX * 2], r[16], msk[16], id1[KB_MIKEY_ID_MAX],
		id2[KB_MIKEY_ID_MAX];
	int ok = 0;

	for (int i = 0; i < 1000; i++) {
		struct kb_msk_msg_params p;
		struct kb_mikey_layout lay;
		struct kb_mikey_msg m;
		struct kb_mikey_error err;
		struct kb_mikey_keydata kd[KB_MIKEY_MAX_KEYDATA];
		unsigned nkd = 0;
		bool pull;

		random_msk_params(&p, r, msk, id1, id2);
		pull = p.msk == NULL;
		CHECK(kb_msk_msg_write(buf, sizeof(buf), &p, &lay) == 0);
		if (kb_mikey_decode(buf, lay.len, &m, &err) != 0) {
			fprintf(stderr, "round trip %d: %s\n", i, err.msg);
			CHECK(0);
			break;
		}
		bool good =
			m.version == 1 && m.data_type == 0 && m.csb_id == p.csb_id &&
			m.v == (pull ? 0 : p.v) && m.prf == 0 && m.cs_count == 0 &&
			m.map_type == 1 && m.has_t && m.t_type == 2 && m.t_value == p.counter &&
			m.has_rand == (p.rand != NULL) && m.n_ids == 2 && m.ids[0].type == 1 &&
			m.ids[0].len == p.idi_len && memcmp(m.ids[0].data, p.idi, p.idi_len) == 0 &&
			m.ids[1].len == p.idr_len && memcmp(m.ids[1].data, p.idr, p.idr_len) == 0 &&
			m.has_key_id && m.has_domain && memcmp(m.domain, p.domain, 3) == 0 &&
			m.has_msk_id && m.msk_id == (pull ? p.msk_id & 0xffff0000u : p.msk_id) &&
			!m.has_mtk_id && m.has_kemac && m.encr_off == lay.encr_off &&
			m.encr_len == lay.encr_len && m.mac_off == lay.mac_off && m.len == lay.len;
		if (good && p.rand != NULL)
			good = m.rand_len == 16 && memcmp(m.rand, p.rand, 16) == 0;
		if (good && !pull) /* plaintext key data (before sealing) */
			good = kb_mikey_decode_keydata(m.encr, m.encr_len, kd, KB_MIKEY_MAX_KEYDATA,
						       &nkd, &err) == 0 &&
			       nkd == 1 && kd[0].type == 0 && kd[0].kv == 1 &&
			       kd[0].key_len == 16 && memcmp(kd[0].key, p.msk, 16) == 0 &&
			       kd[0].spi_len == 4 && kb_be32(kd[0].spi) == p.msk_id;
		if (!good) {
			fprintf(stderr, "round trip %d: fields differ\n", i);
			CHECK(0);
			break;
		}
		ok++;
	}
	CHECK(ok == 1000);
}

/* ---- decoder negatives ---- */

static bool decode_fails_with(const uint8_t *buf, size_t len, const char *needle)
{
	struct kb_mikey_msg m;
	struct kb_mikey_error err;
	memset(&err, 0, sizeof(err));
	if (kb_mikey_decode(buf, len, &m, &err) == 0) {
		fprintf(stderr, "  decoded but should not have (want '%s')\n", needle);
		return false;
	}
	if (strstr(err.msg, needle) == NULL || strstr(err.msg, "at offset") == NULL) {
		fprintf(stderr, "  error '%s' does not mention '%s'\n", err.msg, needle);
		return false;
	}
	return true;
}

static void test_truncations(void)
{
	uint8_t msg[KB_MIKEY_MSG_MAX], copy[KB_MIKEY_MSG_MAX];
	size_t len = sealed_msg(msg, sizeof(msg));
	struct kb_mikey_msg m;
	struct kb_mikey_error err;
	int failed = 0;

	CHECK(kb_mikey_decode(msg, len, &m, &err) == 0);
	for (size_t n = 0; n < len; n++) {
		/* a copy of exactly n bytes, so ASan sees any over-read */
		uint8_t *t = malloc(n ? n : 1);
		memcpy(t, msg, n);
		if (kb_mikey_decode(t, n, &m, &err) == 0)
			fprintf(stderr, "  truncation to %zu decoded\n", n);
		else
			failed++;
		free(t);
	}
	CHECK(failed == (int)len);
	/* one trailing byte */
	memcpy(copy, msg, len);
	copy[len] = 0;
	CHECK(decode_fails_with(copy, len + 1, "trailing"));
	CHECK(decode_fails_with(copy, len + 1, "KEMAC"));
	/* a truncation mid-KEMAC names the KEMAC */
	CHECK(decode_fails_with(msg, len - 5, "KEMAC"));
}

/* Any single-byte change: an error, or a MAC failure on open; never accepted. */
static void test_corruptions(void)
{
	uint8_t msg[KB_MIKEY_MSG_MAX], copy[KB_MIKEY_MSG_MAX];
	size_t len = sealed_msg(msg, sizeof(msg));
	static const uint8_t deltas[] = {0x01, 0x80, 0xff, 0x10};
	int refused = 0, total = 0;

	for (size_t i = 0; i < len; i++) {
		for (size_t d = 0; d < sizeof(deltas); d++) {
			struct kb_mikey_opened o;
			struct kb_mikey_error err;
			memcpy(copy, msg, len);
			copy[i] ^= deltas[d];
			total++;
			if (kb_ref_open(copy, len, muk, 32, NULL, 0, &o, &err) != 0)
				refused++;
			else
				fprintf(stderr, "  byte %zu ^ %02x opened\n", i, deltas[d]);
			kb_memzero(&o, sizeof(o));
		}
	}
	CHECK(refused == total);

	/* set every byte to each of a few values too (length fields to 0, max) */
	static const uint8_t vals[] = {0x00, 0x14, 0x15, 0xff};
	refused = total = 0;
	for (size_t i = 0; i < len; i++) {
		for (size_t d = 0; d < sizeof(vals); d++) {
			struct kb_mikey_opened o;
			struct kb_mikey_error err;
			if (msg[i] == vals[d])
				continue;
			memcpy(copy, msg, len);
			copy[i] = vals[d];
			total++;
			if (kb_ref_open(copy, len, muk, 32, NULL, 0, &o, &err) != 0)
				refused++;
			kb_memzero(&o, sizeof(o));
		}
	}
	CHECK(refused == total);
}

/* One byte of the sealed base message set to a value, and what the
 * decoder's error must name. Offsets: HDR 0, EXT 10, T 25, RAND 31, IDi 49. */
struct byte_patch {
	size_t off;
	uint8_t val;
	const char *want;
};

static const struct byte_patch patches[] = {
	{0, 2, "HDR: unknown version 2"},
	{1, 3, "HDR: unsupported data type"},
	{9, 7, "CS ID map type"},
	{3, 0x81, "PRF"},
	/* unknown or unsupported payload types named by the EXT's next payload */
	{10, 99, "unknown payload type 99 named by General Extension"},
	{10, KB_MIKEY_PT_CERT, "CERT: payload not supported"},
	{10, KB_MIKEY_PT_KEYDATA, "Key data"},
	/* ID length past the end */
	{49 + 2, 0xff, "ID: data length 65296 exceeds"},
	/* T with an unknown TS type */
	{26, 3, "T: unknown TS type 3"},
	/* Key ID sub-payload: bad MSK ID length, unknown type, overrun */
	{20, 3, "General Extension"},
	{19, 9, "General Extension: unknown Key ID type 9"},
	{15, 10, "General Extension: Key ID sub-payload length 10 exceeds"},
	/* extension length beyond the message */
	{12, 0x40, "General Extension: data length"},
};

static void test_malformed(void)
{
	uint8_t msg[KB_MIKEY_MSG_MAX], c[KB_MIKEY_MSG_MAX + 64];
	size_t len = sealed_msg(msg, sizeof(msg));
	struct kb_mikey_msg m;
	struct kb_mikey_error err;

	CHECK(kb_mikey_decode(msg, len, &m, &err) == 0);
	/* offsets in the base message: HDR 0, EXT 10, T 25, RAND 31, IDi 49 */
	CHECK(msg[10] == 5 && msg[25] == 11 && msg[31] == 6);

	for (size_t i = 0; i < sizeof(patches) / sizeof(patches[0]); i++) {
		const struct byte_patch *p = &patches[i];
		memcpy(c, msg, len);
		c[p->off] = p->val;
		CHECK(decode_fails_with(c, len, p->want));
	}

	/* an SP payload with the empty map: insert SP after the EXT */
	size_t sp_at = 25;
	uint8_t sp[] = {KB_MIKEY_PT_T, 0, 0, 0, 3, 0, 1, 1};
	memcpy(c, msg, sp_at);
	memcpy(c + sp_at, sp, sizeof(sp));
	memcpy(c + sp_at + sizeof(sp), msg + sp_at, len - sp_at);
	c[10] = KB_MIKEY_PT_SP;
	CHECK(decode_fails_with(c, len + sizeof(sp), "SP: SP payload not allowed"));
	/* the same SP with a SRTP-ID map of 0 CS is structurally fine */
	c[9] = 0;
	CHECK(kb_mikey_decode(c, len + sizeof(sp), &m, &err) == 0);
	CHECK(m.n_sp == 1);
	/* ...but an SP whose parameters overrun its length is not */
	c[sp_at + 6] = 5;
	CHECK(decode_fails_with(c, len + sizeof(sp), "SP: policy parameter overruns"));
	c[sp_at + 6] = 1;
	c[sp_at + 4] = 200;
	CHECK(decode_fails_with(c, len + sizeof(sp), "SP: policy param length 200 exceeds"));

	/* two T payloads: duplicate the T (6 bytes) */
	memcpy(c, msg, 31);
	memcpy(c + 31, msg + 25, 6);
	memcpy(c + 37, msg + 31, len - 31);
	c[25] = KB_MIKEY_PT_T;
	CHECK(decode_fails_with(c, len + 6, "T: second T payload"));

	/* two RAND payloads */
	memcpy(c, msg, 49);
	memcpy(c + 49, msg + 31, 18);
	memcpy(c + 67, msg + 49, len - 49);
	c[31] = KB_MIKEY_PT_RAND;
	CHECK(decode_fails_with(c, len + 18, "RAND: second RAND payload"));

	/* more than KB_MIKEY_MAX_IDS IDs: repeat IDi */
	{
		size_t idlen = 4 + sizeof(idi) - 1, at = 49, n = 0;
		memcpy(c, msg, at);
		n = at;
		for (int i = 0; i < KB_MIKEY_MAX_IDS; i++) {
			memcpy(c + n, msg + at, idlen);
			c[n] = KB_MIKEY_PT_ID;
			n += idlen;
		}
		memcpy(c + n, msg + at, len - at);
		n += len - at;
		CHECK(decode_fails_with(c, n, "ID: more than"));
	}

	/* a payload after KEMAC: KEMAC names an ERR that follows */
	memcpy(c, msg, len);
	size_t kemac = m.encr_off - 4;
	(void)kemac;
	CHECK(kb_mikey_decode(msg, len, &m, &err) == 0);
	kemac = m.encr_off - 4;
	c[kemac] = KB_MIKEY_PT_ERR;
	memcpy(c + len, "\x00\x0c\x00\x00", 4);
	CHECK(decode_fails_with(c, len + 4, "KEMAC: next payload ERR (12) after KEMAC"));

	/* KEMAC encr length too long: the exact message */
	memcpy(c, msg, len);
	c[kemac + 2] = 0x01;
	c[kemac + 3] = 0x2c; /* 300 */
	CHECK(kb_mikey_decode(c, len, &m, &err) == -1);
	char want[160];
	snprintf(want, sizeof(want),
		 "KEMAC: encr data length 300 exceeds remaining %zu bytes at offset %zu",
		 len - kemac - 4, kemac + 2);
	CHECK(strcmp(err.msg, want) == 0);
	CHECK(err.offset == kemac + 2);
	if (strcmp(err.msg, want) != 0)
		fprintf(stderr, "  got '%s'\n  want '%s'\n", err.msg, want);

	/* a PSK init without KEMAC: cut before the KEMAC and end the chain */
	memcpy(c, msg, kemac);
	CHECK(kb_mikey_decode(c, kemac, &m, &err) == -1);
	/* IDr's next payload is KEMAC, so it fails on the missing KEMAC */
	CHECK(strstr(err.msg, "KEMAC") != NULL);
	{
		/* make IDr the last: then the shape check fires */
		size_t idr_at = 49 + 4 + sizeof(idi) - 1;
		c[idr_at] = 0;
		CHECK(decode_fails_with(c, kemac, "PSK init message needs T and KEMAC"));
	}

	/* an unknown General Extension type is skipped, but length-checked */
	{
		uint8_t ge[] = {KB_MIKEY_PT_T, 5, 0, 2, 0xaa, 0xbb};
		memcpy(c, msg, 25);
		memcpy(c + 25, ge, sizeof(ge));
		memcpy(c + 25 + sizeof(ge), msg + 25, len - 25);
		c[10] = KB_MIKEY_PT_GENEXT;
		CHECK(kb_mikey_decode(c, len + sizeof(ge), &m, &err) == 0);
		CHECK(m.n_genext == 2 && m.has_msk_id);
		/* a second Key ID extension is refused */
		c[25 + 1] = 3;
		CHECK(decode_fails_with(c, len + sizeof(ge), "General Extension"));
	}
}

static void test_ack_and_error_shapes(void)
{
	uint8_t a[64];
	struct kb_mikey_layout lay;
	struct kb_mikey_msg m;
	struct kb_mikey_error err;
	struct kb_mikey_writer w;

	CHECK(kb_ack_write(a, sizeof(a), 5, 6, &lay) == 0);
	CHECK(kb_mikey_decode(a, KB_ACK_LEN, &m, &err) == 0);
	CHECK(m.data_type == 1 && m.has_v && m.v_alg == 1 && m.v_mac_off == 18);
	for (size_t n = 0; n < KB_ACK_LEN; n++)
		CHECK(kb_mikey_decode(a, n, &m, &err) == -1);
	/* V must be last */
	a[16] = KB_MIKEY_PT_ERR;
	uint8_t b[64];
	memcpy(b, a, KB_ACK_LEN);
	memcpy(b + KB_ACK_LEN, "\x00\x00\x00\x00", 4);
	CHECK(decode_fails_with(b, KB_ACK_LEN + 4, "V: next payload ERR"));

	/* an error message: HDR(6), T, ERR, ERR */
	kb_mikey_w_init(&w, a, sizeof(a));
	kb_mikey_w_hdr(&w, 6, false, 0, 9, 0, 1);
	kb_mikey_w_t_counter(&w, 3);
	kb_mikey_w_err(&w, 1);
	kb_mikey_w_err(&w, 12);
	CHECK(!w.err);
	CHECK(kb_mikey_decode(a, w.len, &m, &err) == 0);
	CHECK(m.data_type == 6 && m.has_err && m.err_code == 1 && m.n_err == 2);
	/* an error message without ERR */
	kb_mikey_w_init(&w, a, sizeof(a));
	kb_mikey_w_hdr(&w, 6, false, 0, 9, 0, 1);
	kb_mikey_w_t_counter(&w, 3);
	CHECK(decode_fails_with(a, w.len, "error message needs"));

	/* the writer stops at its capacity and says so */
	kb_mikey_w_init(&w, a, 20);
	kb_mikey_w_hdr(&w, 0, false, 0, 1, 0, 1);
	kb_mikey_w_t_counter(&w, 1);
	CHECK(!w.err && w.len == 16);
	kb_mikey_w_rand(&w, rand16, 16);
	CHECK(w.err && w.len == 16 && a[10] == 0);
	kb_mikey_w_t_counter(&w, 1);
	CHECK(w.err && w.len == 16);
}

static void test_open_failures(void)
{
	uint8_t msg[KB_MIKEY_MSG_MAX], c[KB_MIKEY_MSG_MAX];
	size_t len = sealed_msg(msg, sizeof(msg));
	struct kb_mikey_opened o;
	struct kb_mikey_error err;
	uint8_t wrong[32];

	CHECK(kb_ref_open(msg, len, muk, 32, NULL, 0, &o, &err) == 0);
	CHECK(o.n_keydata == 1 && memcmp(o.keydata[0].key, msk16, 16) == 0);

	/* bad MAC */
	memcpy(c, msg, len);
	c[len - 1] ^= 0x40;
	CHECK(kb_ref_open(c, len, muk, 32, NULL, 0, &o, &err) == -1);
	CHECK(strstr(err.msg, "KEMAC: MAC verification failed") != NULL);
	CHECK(o.n_keydata == 0);
	/* a flipped ciphertext bit is caught by the MAC before decryption */
	memcpy(c, msg, len);
	c[len - 30] ^= 0x01;
	CHECK(kb_ref_open(c, len, muk, 32, NULL, 0, &o, &err) == -1);
	CHECK(strstr(err.msg, "MAC verification failed") != NULL);
	/* wrong MUK */
	memcpy(wrong, muk, 32);
	wrong[31] ^= 1;
	CHECK(kb_ref_open(msg, len, wrong, 32, NULL, 0, &o, &err) == -1);
	CHECK(strstr(err.msg, "MAC verification failed") != NULL);
	/* a structural error is reported as such, not as a MAC failure */
	memcpy(c, msg, len);
	c[0] = 2;
	CHECK(kb_ref_open(c, len, muk, 32, NULL, 0, &o, &err) == -1);
	CHECK(strstr(err.msg, "HDR: unknown version") != NULL);
	/* an ack is not something to open */
	uint8_t a[64];
	struct kb_mikey_layout lay;
	CHECK(kb_ack_write(a, sizeof(a), 1, 1, &lay) == 0);
	CHECK(kb_ref_open(a, KB_ACK_LEN, muk, 32, NULL, 0, &o, &err) == -1);
	CHECK(strstr(err.msg, "no KEMAC") != NULL);
	kb_memzero(&o, sizeof(o));
}

static void test_keydata_decoder(void)
{
	uint8_t buf[128], key[16] = {1}, salt[14] = {2}, spi[2] = {0, 7};
	struct kb_mikey_keydata kd[KB_MIKEY_MAX_KEYDATA];
	struct kb_mikey_error err;
	unsigned n = 0;

	long a = kb_mikey_keydata_write(buf, sizeof(buf), false, 3, 1, key, 16, salt, 14, spi, 2);
	long b = kb_mikey_keydata_write(buf + a, sizeof(buf) - (size_t)a, true, 2, 0, key, 16, NULL,
					0, NULL, 0);
	CHECK(a == 39 && b == 20);
	CHECK(kb_mikey_decode_keydata(buf, (size_t)(a + b), kd, KB_MIKEY_MAX_KEYDATA, &n, &err) ==
	      0);
	CHECK(n == 2 && kd[0].type == 3 && kd[0].salt_len == 14 && kd[1].type == 2 &&
	      kd[1].kv == 0 && kd[1].spi == NULL);
	for (long t = 0; t < a + b; t++)
		CHECK(kb_mikey_decode_keydata(buf, (size_t)t, kd, KB_MIKEY_MAX_KEYDATA, &n, &err) ==
		      -1);
	CHECK(kb_mikey_decode_keydata(buf, (size_t)(a + b), kd, 1, &n, &err) == -1);
	CHECK(strstr(err.msg, "Key data: more than 1") != NULL);
	buf[a + 1] = 0x40; /* type 4 */
	CHECK(kb_mikey_decode_keydata(buf, (size_t)(a + b), kd, KB_MIKEY_MAX_KEYDATA, &n, &err) ==
	      -1);
	CHECK(strstr(err.msg, "Key data: unknown type 4") != NULL);
	/* interval KV is not written, and bad arguments are refused */
	CHECK(kb_mikey_keydata_write(buf, sizeof(buf), true, 0, 2, key, 16, NULL, 0, NULL, 0) ==
	      -1);
	CHECK(kb_mikey_keydata_write(buf, 10, true, 0, 0, key, 16, NULL, 0, NULL, 0) == -1);
	CHECK(strcmp(kb_mikey_payload_name(KB_MIKEY_PT_KEMAC), "KEMAC") == 0);
	CHECK(strcmp(kb_mikey_payload_name(200), "unknown") == 0);
}

int main(void)
{
	RUN(test_profile_matches_generic);
	RUN(test_mtk_matches_generic);
	RUN(test_ack_matches_generic);
	RUN(test_round_trip);
	RUN(test_truncations);
	RUN(test_corruptions);
	RUN(test_malformed);
	RUN(test_ack_and_error_shapes);
	RUN(test_open_failures);
	RUN(test_keydata_decoder);
	return kb_check_done();
}
