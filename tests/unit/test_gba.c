/* GBA: NAF keys and B-TID against tests/vectors/gba-1.json, the KDF against
 * a second implementation written here on raw OpenSSL HMAC, and the MBMS key
 * selection (MUK/MRK) for GBA_ME and GBA_U. */
#include "check.h"

#include "gba/gba.h"
#include "util/hex.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

/* The reference: build S = FC || P0 || L0 || ... by hand, one HMAC call. */
static void ref_kdf(const uint8_t *key, size_t key_len, uint8_t fc, const uint8_t *const p[],
		    const size_t l[], size_t n, uint8_t out[32])
{
	static uint8_t s[1 + 4 * (65535 + 2)];
	size_t off = 0;
	s[off++] = fc;
	for (size_t i = 0; i < n; i++) {
		memcpy(s + off, p[i], l[i]);
		off += l[i];
		s[off++] = (uint8_t)(l[i] >> 8);
		s[off++] = (uint8_t)l[i];
	}
	unsigned int outl = 0;
	CHECK(HMAC(EVP_sha256(), key, (int)key_len, s, off, out, &outl) != NULL && outl == 32);
}

static void unhex(const char *hex, uint8_t *out, size_t n)
{
	memset(out, 0, n);
	CHECK(hex != NULL && kb_hex_decode(hex, strlen(hex), out, n) == (long)n);
}

/* The vector file, loaded once. */
static struct {
	uint8_t ck[16], ik[16], rand[16], ua[5], ks_naf[32], ks_int_naf[32];
	const char *impi, *fqdn, *btid;
	json_t *root;
} v;

static int load_vector(void)
{
	char path[4096];
	const char *dir = getenv("KB_VECTORS");
	snprintf(path, sizeof(path), "%s/gba-1.json", dir != NULL ? dir : "tests/vectors");
	json_error_t jerr;
	v.root = json_load_file(path, 0, &jerr);
	CHECK(v.root != NULL);
	if (v.root == NULL) {
		fprintf(stderr, "%s: %s\n", path, jerr.text);
		return -1;
	}
	json_t *m = json_object_get(v.root, "milenage");
	unhex(json_string_value(json_object_get(m, "ck")), v.ck, 16);
	unhex(json_string_value(json_object_get(m, "ik")), v.ik, 16);
	unhex(json_string_value(json_object_get(m, "rand")), v.rand, 16);
	unhex(json_string_value(json_object_get(v.root, "ua_protocol_id")), v.ua, 5);
	unhex(json_string_value(json_object_get(v.root, "ks_naf")), v.ks_naf, 32);
	unhex(json_string_value(json_object_get(v.root, "ks_int_naf")), v.ks_int_naf, 32);
	v.impi = json_string_value(json_object_get(v.root, "impi"));
	v.fqdn = json_string_value(json_object_get(v.root, "naf_fqdn"));
	v.btid = json_string_value(json_object_get(v.root, "b_tid"));
	CHECK(v.impi != NULL && v.fqdn != NULL && v.btid != NULL);
	return v.impi != NULL && v.fqdn != NULL && v.btid != NULL ? 0 : -1;
}

static void test_naf_keys_vector(void)
{
	uint8_t ks[32], naf_id[KB_GBA_NAF_ID_MAX], out[32], ref[32];
	kb_gba_ks(v.ck, v.ik, ks);
	CHECK_MEM(ks, v.ck, 16);
	CHECK_MEM(ks + 16, v.ik, 16);

	long nl = kb_gba_naf_id(v.fqdn, kb_gba_ua_mbms, naf_id, sizeof(naf_id));
	CHECK(nl == (long)strlen(v.fqdn) + 5);
	CHECK(memcmp(naf_id, v.fqdn, strlen(v.fqdn)) == 0);
	CHECK_MEM(naf_id + strlen(v.fqdn), v.ua, 5); /* the vector's Ua id is MBMS */

	CHECK(kb_gba_naf_key(ks, KB_GBA_KS_EXT_NAF, v.rand, v.impi, naf_id, (size_t)nl, out) == 0);
	CHECK_MEM(out, v.ks_naf, 32);
	CHECK(kb_gba_naf_key(ks, KB_GBA_KS_INT_NAF, v.rand, v.impi, naf_id, (size_t)nl, out) == 0);
	CHECK_MEM(out, v.ks_int_naf, 32);

	/* the same two keys from the hand-built S */
	const uint8_t *p[] = {(const uint8_t *)"gba-me", v.rand, (const uint8_t *)v.impi, naf_id};
	size_t l[] = {6, 16, strlen(v.impi), (size_t)nl};
	ref_kdf(ks, 32, 0x01, p, l, 4, ref);
	CHECK_MEM(ref, v.ks_naf, 32);
	p[0] = (const uint8_t *)"gba-u";
	l[0] = 5;
	ref_kdf(ks, 32, 0x01, p, l, 4, ref);
	CHECK_MEM(ref, v.ks_int_naf, 32);

	/* another Ua protocol id gives another key */
	nl = kb_gba_naf_id(v.fqdn, kb_gba_ua_http_digest, naf_id, sizeof(naf_id));
	CHECK(kb_gba_naf_key(ks, KB_GBA_KS_EXT_NAF, v.rand, v.impi, naf_id, (size_t)nl, out) == 0);
	CHECK(memcmp(out, v.ks_naf, 32) != 0);
	CHECK(kb_gba_naf_key(ks, (enum kb_gba_naf_key)7, v.rand, v.impi, naf_id, (size_t)nl, out) ==
	      -1);
	CHECK(kb_gba_naf_key(ks, KB_GBA_KS_EXT_NAF, v.rand, NULL, naf_id, (size_t)nl, out) == -1);
}

/* The generic KDF against the reference on shapes the NAF keys do not use. */
static void test_kdf_generic(void)
{
	static uint8_t big[65536];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7 + 3);
	uint8_t key[20] = "a 20-byte HMAC key!", out[32], ref[32];

	ref_kdf(key, sizeof(key), 0x42, NULL, NULL, 0, ref);
	CHECK(kb_gba_kdf(key, sizeof(key), 0x42, NULL, NULL, 0, out) == 0);
	CHECK_MEM(out, ref, 32);

	const uint8_t *p[] = {big, (const uint8_t *)"", big + 1};
	size_t l[] = {65535, 0, 300};
	ref_kdf(key, sizeof(key), 0x01, p, l, 3, ref);
	CHECK(kb_gba_kdf(key, sizeof(key), 0x01, p, l, 3, out) == 0);
	CHECK_MEM(out, ref, 32);

	/* Li is two bytes: a 65536-byte parameter cannot be encoded */
	l[0] = 65536;
	memset(out, 0xaa, sizeof(out));
	CHECK(kb_gba_kdf(key, sizeof(key), 0x01, p, l, 3, out) == -1);
	CHECK(out[0] == 0 && out[31] == 0); /* no half result left behind */
	CHECK(kb_gba_kdf(NULL, 0, 0x01, NULL, NULL, 0, out) == -1);
	CHECK(kb_gba_kdf(key, sizeof(key), 0x01, NULL, l, 1, out) == -1);
}

static void test_naf_id(void)
{
	static const uint8_t mbms[5] = {1, 0, 0, 0, 1}, digest[5] = {1, 0, 0, 0, 2},
			     push[5] = {1, 0, 0, 0, 5};
	CHECK_MEM(kb_gba_ua_mbms, mbms, 5);
	CHECK_MEM(kb_gba_ua_http_digest, digest, 5);
	CHECK_MEM(kb_gba_ua_push, push, 5);

	uint8_t out[KB_GBA_NAF_ID_MAX];
	CHECK(kb_gba_naf_id("a.b", kb_gba_ua_push, out, sizeof(out)) == 8);
	CHECK(memcmp(out, "a.b\x01\x00\x00\x00\x05", 8) == 0);
	CHECK(kb_gba_naf_id("", kb_gba_ua_push, out, sizeof(out)) == -1);
	CHECK(kb_gba_naf_id("a.b", kb_gba_ua_push, out, 7) == -1);
	char longname[257];
	memset(longname, 'x', 256);
	longname[256] = '\0';
	CHECK(kb_gba_naf_id(longname, kb_gba_ua_push, out, sizeof(out)) == -1);
	longname[255] = '\0';
	CHECK(kb_gba_naf_id(longname, kb_gba_ua_push, out, sizeof(out)) == 260);
}

static void test_btid(void)
{
	char btid[KB_GBA_BTID_MAX], dom[KB_GBA_FQDN_MAX + 1], err[160];
	uint8_t rand[16];
	const char *at = strchr(v.btid, '@');
	CHECK(at != NULL);
	if (at == NULL)
		return;
	const char *bsf = at + 1;

	CHECK(kb_gba_btid(v.rand, bsf, btid, sizeof(btid)) == (long)strlen(v.btid));
	CHECK(strcmp(btid, v.btid) == 0);
	CHECK(kb_gba_btid(v.rand, bsf, btid, strlen(v.btid)) == -1); /* no room for NUL */
	CHECK(kb_gba_btid(v.rand, "", btid, sizeof(btid)) == -1);
	CHECK(kb_gba_btid(v.rand, "bad domain", btid, sizeof(btid)) == -1);

	CHECK(kb_gba_btid_parse(v.btid, rand, dom, sizeof(dom), err, sizeof(err)) == 0);
	CHECK_MEM(rand, v.rand, 16);
	CHECK(strcmp(dom, bsf) == 0);
	CHECK(kb_gba_btid_parse(v.btid, rand, NULL, 0, err, sizeof(err)) == 0);

	static const struct {
		const char *in, *why;
	} bad[] = {
		{"I1U8vpY3qJ0hiuZNrke/NQ==", "no '@'"},
		{"I1U8vpY3qJ0hiuZNrke/NQ=@bsf.example", "must be 24 characters"},
		{"I1U8vpY3qJ0hiuZNrke/NQ===@bsf.example", "must be 24 characters"},
		{"@bsf.example", "got 0"},
		{"I1U8vpY3qJ0hiuZNrke/NQ==@", "empty BSF domain"},
		{"I1U8vpY3qJ0hiuZNrke/NQ==@bsf example", "printable"},
		{"I1U8vpY3qJ0hiuZNrke/NQ==@a@b", "printable"},
		{"I1U8vpY3qJ0hiuZNrke*NQ==@bsf.example", "alphabet"},
		{"I1U8vpY3qJ0hiuZNrke/NR==@bsf.example", "canonical"}, /* nonzero pad bits */
		{"I1U8vpY3qJ0hiuZNrke/NQAA@bsf.example", "canonical"}, /* 18 bytes, no pad */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		int rc = kb_gba_btid_parse(bad[i].in, rand, dom, sizeof(dom), err, sizeof(err));
		CHECK(rc == -1);
		CHECK(strstr(err, bad[i].why) != NULL);
		if (rc != -1 || strstr(err, bad[i].why) == NULL)
			fprintf(stderr, "  input %s: rc %d err '%s'\n", bad[i].in, rc, err);
	}
	CHECK(kb_gba_btid_parse(v.btid, rand, dom, 4, err, sizeof(err)) == -1);
	CHECK(strstr(err, "buffer") != NULL);
}

static void test_mbms_keys(void)
{
	uint8_t muk[32], mrk[32], ref[32];

	/* GBA_U: the UICC keeps Ks_int_NAF as MUK; Ks_ext_NAF is the MRK */
	CHECK(kb_gba_mbms_keys(KB_GBA_U, v.ks_naf, v.ks_int_naf, NULL, muk, mrk) == 0);
	CHECK_MEM(muk, v.ks_int_naf, 32);
	CHECK_MEM(mrk, v.ks_naf, 32);
	CHECK(kb_gba_mbms_keys(KB_GBA_U, v.ks_naf, NULL, NULL, muk, mrk) == -1);
	CHECK(muk[0] == 0 && mrk[31] == 0);

	/* GBA_ME default: MUK = Ks_NAF, MRK = KDF(Ks_NAF, 0x01, "MBMS-MRK") */
	const uint8_t *p[] = {(const uint8_t *)"MBMS-MRK"};
	const size_t l[] = {8};
	ref_kdf(v.ks_naf, 32, 0x01, p, l, 1, ref);
	CHECK(kb_gba_mbms_keys(KB_GBA_ME, v.ks_naf, NULL, NULL, muk, mrk) == 0);
	CHECK_MEM(muk, v.ks_naf, 32);
	CHECK_MEM(mrk, ref, 32);
	CHECK(memcmp(mrk, muk, 32) != 0);
	CHECK(kb_gba_mbms_keys(KB_GBA_ME, v.ks_naf, v.ks_int_naf, NULL, muk, mrk) == -1);

	/* the registry: the default by name, the interop variant, unknowns */
	kb_gba_mrk_fn def = kb_gba_mrk_lookup(KB_GBA_MRK_DEFAULT);
	CHECK(def != NULL);
	CHECK(kb_gba_mbms_keys(KB_GBA_ME, v.ks_naf, NULL, def, muk, mrk) == 0);
	CHECK_MEM(mrk, ref, 32);
	kb_gba_mrk_fn same = kb_gba_mrk_lookup("ks-naf");
	CHECK(same != NULL);
	CHECK(kb_gba_mbms_keys(KB_GBA_ME, v.ks_naf, NULL, same, muk, mrk) == 0);
	CHECK_MEM(mrk, v.ks_naf, 32);
	CHECK(kb_gba_mrk_lookup("no-such-variant") == NULL);
	CHECK(kb_gba_mrk_lookup("") == NULL);
	CHECK(kb_gba_mrk_lookup("KDF-MBMS-MRK") == NULL); /* names are exact */
	CHECK(kb_gba_mrk_lookup(NULL) == NULL);

	size_t n = 0;
	const struct kb_gba_mrk_variant *vs = kb_gba_mrk_variants(&n);
	CHECK(n >= 2 && strcmp(vs[0].name, KB_GBA_MRK_DEFAULT) == 0);
	for (size_t i = 0; i < n; i++)
		CHECK(kb_gba_mrk_lookup(vs[i].name) == vs[i].fn && vs[i].desc != NULL);
}

int main(void)
{
	if (load_vector() == 0) {
		RUN(test_naf_keys_vector);
		RUN(test_btid);
		RUN(test_mbms_keys);
	}
	RUN(test_kdf_generic);
	RUN(test_naf_id);
	json_decref(v.root);
	return kb_check_done();
}
