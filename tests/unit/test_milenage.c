/* MILENAGE against the 3GPP conformance data (TS 35.208), plus the AUTN and
 * AUTS round trips the BSF and UE simulators rely on. */
#include "check.h"

#include "gba/milenage.h"
#include "util/hex.h"

#include <jansson.h>

struct mset {
	const char *name;
	const char *k, *rand, *sqn, *amf, *op, *opc;
	const char *f1, *f1star, *res, *ck, *ik, *ak, *akstar;
};

/* TS 35.208 §4.3 test sets 2, 3, 4, 6 and 19, transcribed from hostap
 * tests/test-milenage.c (which repeats set 1 and so labels these one higher);
 * their K/RAND/OPc match the TS 55.205 GSM test sets of the same number.
 * Set 1 comes from tests/vectors/gba-1.json. */
static const struct mset sets[] = {
	{"35.208 set 2", "fec86ba6eb707ed08905757b1bb44b8f", "9f7c8d021accf4db213ccff0c7f71a6a",
	 "9d0277595ffc", "725c", "dbc59adcb6f9a0ef735477b7fadf8374",
	 "1006020f0a478bf6b699f15c062e42b3", "9cabc3e99baf7281", "95814ba2b3044324",
	 "8011c48c0c214ed2", "5dbdbb2954e8f3cde665b046179a5098", "59a92d3b476a0443487055cf88b2307b",
	 "33484dc2136b", "deacdd848cc6"},
	{"35.208 set 3", "9e5944aea94b81165c82fbf9f32db751", "ce83dbc54ac0274a157c17f80d017bd6",
	 "0b604a81eca8", "9e09", "223014c5806694c007ca1eeef57f004f",
	 "a64a507ae1a2a98bb88eb4210135dc87", "74a58220cba84c49", "ac2cc74a96871837",
	 "f365cd683cd92e96", "e203edb3971574f5a94b0d61b816345d", "0c4524adeac041c4dd830d20854fc46b",
	 "f0b9c08ad02e", "6085a86c6f63"},
	{"35.208 set 4", "4ab1deb05ca6ceb051fc98e77d026a84", "74b0cd6031a1c8339b2b6ce2b8c4a186",
	 "e880a1b580b6", "9f07", "2d16c5cd1fdf6b22383584e3bef2a8d8",
	 "dcf07cbd51855290b92a07a9891e523e", "49e785dd12626ef2", "9e85790336bb3fa2",
	 "5860fc1bce351e7e", "7657766b373d1c2138f307e3de9242f9", "1c42e960d89b8fa99f2744e0708ccb53",
	 "31e11a609118", "fe2555e54aa9"},
	{"35.208 set 6", "2d609d4db0ac5bf0d2c0de267014de0d", "194aa756013896b74b4a2a3b0af4539e",
	 "6bf69438c2e4", "5f67", "460a48385427aa39264aac8efc9e73e8",
	 "c35a0ab0bcbfc9252caff15f24efbde0", "bd07d3003b9e5cc3", "bcb6c2fcad152250",
	 "8c25a16cd918a1df", "4cd0846020f8fa0731dd47cbdc6be411", "88ab80a415f15c73711254a1d388f696",
	 "7e6455f34cf3", "dc6dd01e8f15"},
	{"35.208 set 19", "90dca4eda45b53cf0f12d7c9c3bc6a89", "9fddc72092c6ad036b6e464789315b78",
	 "20f813bd4141", "61df", "3ffcfe5b7b1111589920d3528e84e655",
	 "cb9cccc4b9258e6dca4760379fb82581", "09db94eab4f8149e", "a29468aa9775b527",
	 "a95100e2760952cd", "b5f2da03883b69f96bf52e029ed9ac45", "b4721368bc16ea67875c5598688bb0ef",
	 "83cfd54db913", "4f2039392ddc"},
};

static void unhex(const char *hex, uint8_t *out, size_t n)
{
	memset(out, 0, n);
	CHECK(hex != NULL && kb_hex_decode(hex, strlen(hex), out, n) == (long)n);
}

/* Every output of one test set, OPc computed from OP and also taken as given. */
static void check_set(const struct mset *t)
{
	uint8_t k[16], rand[16], sqn[6], amf[2], op[16], opc[16];
	uint8_t f1[8], f1s[8], res[8], ck[16], ik[16], ak[6], aks[6];
	uint8_t got[16], got2[16], got3[16], got4[16], got5[16];
	fprintf(stderr, "# %s\n", t->name);
	unhex(t->k, k, 16);
	unhex(t->rand, rand, 16);
	unhex(t->sqn, sqn, 6);
	unhex(t->amf, amf, 2);
	unhex(t->op, op, 16);
	unhex(t->opc, opc, 16);
	unhex(t->f1, f1, 8);
	unhex(t->f1star, f1s, 8);
	unhex(t->res, res, 8);
	unhex(t->ck, ck, 16);
	unhex(t->ik, ik, 16);
	unhex(t->ak, ak, 6);
	unhex(t->akstar, aks, 6);

	CHECK(kb_milenage_opc(k, op, got) == 0);
	CHECK_MEM(got, opc, 16);

	for (int pass = 0; pass < 2; pass++) {
		struct kb_milenage m = {0};
		if (pass == 0)
			CHECK(kb_milenage_init(&m, k, opc) == 0);
		else
			CHECK(kb_milenage_init_op(&m, k, op) == 0);
		CHECK_MEM(m.opc, opc, 16);
		CHECK(kb_milenage_f1(&m, rand, sqn, amf, got, got2) == 0);
		CHECK_MEM(got, f1, 8);
		CHECK_MEM(got2, f1s, 8);
		CHECK(kb_milenage_f2345(&m, rand, got, got2, got3, got4) == 0);
		CHECK_MEM(got, res, 8);
		CHECK_MEM(got2, ck, 16);
		CHECK_MEM(got3, ik, 16);
		CHECK_MEM(got4, ak, 6);
		CHECK(kb_milenage_f5star(&m, rand, got5) == 0);
		CHECK_MEM(got5, aks, 6);
		/* NULL outputs are skipped, the rest still right */
		memset(got, 0, sizeof(got));
		CHECK(kb_milenage_f2345(&m, rand, NULL, NULL, got, NULL) == 0);
		CHECK_MEM(got, ik, 16);
		kb_milenage_clear(&m);
		CHECK(m.aes == NULL);
	}
}

static char *vec_path(const char *name)
{
	static char path[4096];
	const char *dir = getenv("KB_VECTORS");
	snprintf(path, sizeof(path), "%s/%s", dir != NULL ? dir : "tests/vectors", name);
	return path;
}

static void test_vector_set1(void)
{
	json_error_t jerr;
	json_t *root = json_load_file(vec_path("gba-1.json"), 0, &jerr);
	CHECK(root != NULL);
	if (root == NULL) {
		fprintf(stderr, "gba-1.json: %s\n", jerr.text);
		return;
	}
	json_t *m = json_object_get(root, "milenage");
	CHECK(json_is_object(m));
#define S(f) json_string_value(json_object_get(m, f))
	struct mset t = {"35.208 set 1 (gba-1.json)",
			 S("k"),
			 S("rand"),
			 S("sqn"),
			 S("amf"),
			 S("op"),
			 S("opc"),
			 S("f1"),
			 S("f1star"),
			 S("res"),
			 S("ck"),
			 S("ik"),
			 S("ak"),
			 S("akstar")};
#undef S
	CHECK(t.k != NULL && t.akstar != NULL);
	if (t.k != NULL && t.akstar != NULL)
		check_set(&t);
	json_decref(root);
}

static void test_more_sets(void)
{
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
		check_set(&sets[i]);
}

/* AUTN from the network verifies at the UE; any flipped bit fails. */
static void test_autn_roundtrip(void)
{
	const struct mset *t = &sets[0];
	uint8_t k[16], rand[16], sqn[6], amf[2], opc[16], f1[8], ak[6], res[8], ck[16], ik[16];
	unhex(t->k, k, 16);
	unhex(t->rand, rand, 16);
	unhex(t->sqn, sqn, 6);
	unhex(t->amf, amf, 2);
	unhex(t->opc, opc, 16);
	unhex(t->f1, f1, 8);
	unhex(t->ak, ak, 6);
	unhex(t->res, res, 8);
	unhex(t->ck, ck, 16);
	unhex(t->ik, ik, 16);

	struct kb_milenage net = {0}, ue = {0};
	CHECK(kb_milenage_init(&net, k, opc) == 0);
	CHECK(kb_milenage_init(&ue, k, opc) == 0);
	uint8_t autn[16];
	CHECK(kb_milenage_autn(&net, rand, sqn, amf, autn) == 0);
	/* layout from the 3GPP values, not from our f1 */
	for (int i = 0; i < 6; i++)
		CHECK(autn[i] == (uint8_t)(sqn[i] ^ ak[i]));
	CHECK_MEM(autn + 6, amf, 2);
	CHECK_MEM(autn + 8, f1, 8);

	uint8_t got_sqn[6], got_res[8], got_ck[16], got_ik[16];
	CHECK(kb_milenage_check(&ue, rand, autn, got_sqn, got_res, got_ck, got_ik) == 0);
	CHECK_MEM(got_sqn, sqn, 6);
	CHECK_MEM(got_res, res, 8);
	CHECK_MEM(got_ck, ck, 16);
	CHECK_MEM(got_ik, ik, 16);
	CHECK(kb_milenage_check(&ue, rand, autn, NULL, NULL, NULL, NULL) == 0);

	int flips_failed = 0;
	for (int bit = 0; bit < 128; bit++) {
		uint8_t bad[16];
		memcpy(bad, autn, 16);
		bad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		memset(got_res, 0xee, sizeof(got_res));
		if (kb_milenage_check(&ue, rand, bad, got_sqn, got_res, NULL, NULL) ==
			    KB_MILENAGE_EMAC &&
		    got_res[0] == 0xee)
			flips_failed++;
	}
	CHECK(flips_failed == 128);

	/* another RAND, or a UE with another K, rejects the same AUTN */
	uint8_t rand2[16];
	memcpy(rand2, rand, 16);
	rand2[15] ^= 0x80;
	CHECK(kb_milenage_check(&ue, rand2, autn, NULL, NULL, NULL, NULL) == KB_MILENAGE_EMAC);
	struct kb_milenage other = {0};
	k[0] ^= 1;
	CHECK(kb_milenage_init(&other, k, opc) == 0);
	CHECK(kb_milenage_check(&other, rand, autn, NULL, NULL, NULL, NULL) == KB_MILENAGE_EMAC);
	kb_milenage_clear(&other);
	kb_milenage_clear(&net);
	kb_milenage_clear(&ue);
}

/* AUTS: the UE's resynchronisation token verifies at the network. */
static void test_auts_roundtrip(void)
{
	const struct mset *t = &sets[1];
	uint8_t k[16], rand[16], opc[16], aks[6];
	unhex(t->k, k, 16);
	unhex(t->rand, rand, 16);
	unhex(t->opc, opc, 16);
	unhex(t->akstar, aks, 6);
	const uint8_t sqn_ms[6] = {0x00, 0x00, 0x00, 0x01, 0x23, 0x45};
	static const uint8_t zero_amf[2] = {0, 0};

	struct kb_milenage m = {0};
	CHECK(kb_milenage_init(&m, k, opc) == 0);
	uint8_t auts[14], mac_s[8], got[6];
	CHECK(kb_milenage_auts(&m, rand, sqn_ms, auts) == 0);
	for (int i = 0; i < 6; i++)
		CHECK(auts[i] == (uint8_t)(sqn_ms[i] ^ aks[i]));
	CHECK(kb_milenage_f1(&m, rand, sqn_ms, zero_amf, NULL, mac_s) == 0);
	CHECK_MEM(auts + 6, mac_s, 8);
	CHECK(kb_milenage_auts_check(&m, rand, auts, got) == 0);
	CHECK_MEM(got, sqn_ms, 6);
	auts[13] ^= 0x01;
	CHECK(kb_milenage_auts_check(&m, rand, auts, got) == KB_MILENAGE_EMAC);
	auts[13] ^= 0x01;
	auts[2] ^= 0x40;
	CHECK(kb_milenage_auts_check(&m, rand, auts, got) == KB_MILENAGE_EMAC);
	kb_milenage_clear(&m);
}

static void test_bad_args(void)
{
	uint8_t b[16] = {0};
	struct kb_milenage m = {0};
	CHECK(kb_milenage_init(&m, NULL, b) == KB_MILENAGE_ERR);
	CHECK(kb_milenage_init(NULL, b, b) == KB_MILENAGE_ERR);
	/* an unkeyed context refuses to work instead of crashing */
	CHECK(kb_milenage_f2345(&m, b, b, NULL, NULL, NULL) == KB_MILENAGE_ERR);
	CHECK(kb_milenage_f1(&m, b, b, b, b, NULL) == KB_MILENAGE_ERR);
	CHECK(kb_milenage_autn(&m, b, b, b, NULL) == KB_MILENAGE_ERR);
	kb_milenage_clear(&m);
	kb_milenage_clear(NULL);
}

int main(void)
{
	RUN(test_vector_set1);
	RUN(test_more_sets);
	RUN(test_autn_roundtrip);
	RUN(test_auts_roundtrip);
	RUN(test_bad_args);
	return kb_check_done();
}
