/* The UE model of keyburst-uesim (bench/uesim/ue_state.c) against the known
 * answer of tests/vectors/msk-message-1.json, against messages sealed by the
 * OpenSSL reference (kb_ref_seal_msk), and against HMAC-SHA-1 computed here
 * with OpenSSL directly: accept, replay, bad MAC, two-MSK storage, acks and
 * the knobs that drop, duplicate and forge them. */
#include "check.h"
#include "testlib.h"

#include "mikey/mikey_codec.h"
#include "mikey/mikey_prf.h"
#include "mikey/mikey_ref.h"
#include "util/be.h"
#include "util/secret.h"

#include "ue_state.h"
#include "ue_testlib.h"

#include <unistd.h>

static const char idi[] = "bmsc.example.org";
static const uint8_t domain[3] = {0x62, 0xf2, 0x10};

/* A synthetic UE: what keyburst roster gen makes for (seed 7, index i). */
static void ue_row(uint64_t i, struct kb_roster_row *r)
{
	kb_roster_gen_row(7, i, r);
}

/* The server side of one SA, written here from the reference path only. */
struct sa {
	struct kb_roster_row row;
	uint32_t csb_id;
	uint8_t rand[16];
	struct kb_mikey_tkeys tk;
};

static void sa_make(struct sa *sa, uint64_t i, uint32_t csb_id)
{
	ue_row(i, &sa->row);
	sa->csb_id = csb_id;
	for (int b = 0; b < 16; b++)
		sa->rand[b] = (uint8_t)(csb_id * 31 + b);
	CHECK(kb_mikey_derive_tkeys(sa->row.muk, KB_MUK_LEN, csb_id, sa->rand, 16, &sa->tk) == 0);
}

static size_t seal(const struct sa *sa, uint32_t counter, uint32_t msk_id, const uint8_t *msk,
		   bool v, uint8_t *buf)
{
	struct kb_msk_msg_params p = {
		.csb_id = sa->csb_id,
		.counter = counter,
		.rand = sa->rand,
		.idi = (const uint8_t *)idi,
		.idi_len = (uint16_t)strlen(idi),
		.idr = (const uint8_t *)sa->row.b_tid,
		.idr_len = (uint16_t)strlen(sa->row.b_tid),
		.msk_id = msk_id,
		.msk = msk,
		.v = v,
	};
	memcpy(p.domain, domain, 3);
	size_t len = 0;
	CHECK(kb_ref_seal_msk(buf, KB_MIKEY_MSG_MAX, &p, &sa->tk, &len) == 0);
	return len;
}

/* The V MAC of an ack recomputed with OpenSSL's HMAC() (testlib). */
static bool ack_mac_ok(const uint8_t *ack, const uint8_t *auth, const char *idr, uint32_t counter)
{
	return kb_test_ack_mac_ok(ack, auth, idi, idr, counter);
}

/* The known answer: the vector's message opens to its MSK and the UE's ack
 * is the vector's ack byte for byte. */
static void test_vector(void)
{
	struct kb_test_msk_vector vec;
	int loaded = kb_test_msk_vector_load(&vec);
	CHECK(loaded == 0);
	if (loaded != 0)
		return;
	CHECK(vec.msg_len > 0 && vec.ack_len == KB_ACK_LEN);
	struct kb_roster_row r = {.af = 2, .port = 4359};
	memcpy(r.muk, vec.muk, 32);
	snprintf(r.b_tid, sizeof(r.b_tid), "%s", vec.idr);
	snprintf(r.impi, sizeof(r.impi), "vector@example.org");
	const uint8_t *msg = vec.msg, *ack = vec.ack, *msk = vec.msk;
	size_t msg_len = vec.msg_len;

	struct kb_uesim s;
	struct kb_ue_index idx;
	struct kb_ue_reply rep;
	CHECK(kb_ue_index_glib(&idx, 1) == 0);
	CHECK(kb_uesim_init(&s, 1, idx, NULL) == 0);
	CHECK(kb_uesim_add_ue(&s, 0, &r) == 0);
	CHECK(kb_uesim_add_ue(&s, 0, &r) != 0); /* a duplicate B-TID is refused */
	CHECK(kb_uesim_handle(&s, msg, (size_t)msg_len, &rep) == KB_UE_ACCEPTED);
	CHECK(rep.row == 0 && rep.copies == 1 && !rep.forged);
	CHECK_MEM(rep.ack, ack, KB_ACK_LEN);
	CHECK(kb_test_ue_holds(&s, 0, domain, 0x00010002, msk));
	CHECK(s.ue[0].csb_id == 65538 && s.ue[0].last_counter == 7);
	/* the same bytes again are a replay */
	CHECK(kb_uesim_handle(&s, msg, (size_t)msg_len, &rep) == KB_UE_REPLAY);
	CHECK(rep.copies == 0);
	CHECK(s.st.accepted == 1 && s.st.replays == 1 && s.st.key_derivations == 1);
	kb_uesim_free(&s);
}

static void test_accept_replay_badmac(void)
{
	struct kb_uesim s;
	struct kb_ue_reply rep;
	uint8_t buf[KB_MIKEY_MSG_MAX], msk[16];
	struct sa sa;
	CHECK(kb_test_uesim_new(&s, 50, NULL) == 0);
	sa_make(&sa, 17, 0x1234);
	memset(msk, 0x5c, sizeof(msk));

	size_t len = seal(&sa, 10, 0x00030001, msk, true, buf);
	CHECK(kb_uesim_handle(&s, buf, len, &rep) == KB_UE_ACCEPTED);
	CHECK(rep.row == 17 && rep.copies == 1);
	CHECK(kb_test_ue_holds(&s, 17, domain, 0x00030001, msk));
	CHECK(ack_mac_ok(rep.ack, sa.tk.auth, sa.row.b_tid, 10));
	CHECK(kb_be32(rep.ack + 4) == 0x1234);

	/* the ack is the reference's ack, and the reference verifies it */
	uint8_t ref[KB_ACK_LEN + 8];
	size_t ref_len = 0;
	CHECK(kb_ref_build_ack(ref, sizeof(ref), 0x1234, 10, (const uint8_t *)idi,
			       (uint16_t)strlen(idi), (const uint8_t *)sa.row.b_tid,
			       (uint16_t)strlen(sa.row.b_tid), &sa.tk, &ref_len) == 0);
	CHECK(ref_len == KB_ACK_LEN);
	CHECK_MEM(rep.ack, ref, KB_ACK_LEN);
	struct kb_mikey_msg am;
	struct kb_mikey_error err;
	CHECK(kb_mikey_decode(rep.ack, KB_ACK_LEN, &am, &err) == 0);
	CHECK(kb_ref_verify_ack(rep.ack, &am, (const uint8_t *)idi, (uint16_t)strlen(idi),
				(const uint8_t *)sa.row.b_tid, (uint16_t)strlen(sa.row.b_tid),
				&sa.tk) == 0);

	/* replays: the same counter, and a lower one, sealed correctly */
	CHECK(kb_uesim_handle(&s, buf, len, &rep) == KB_UE_REPLAY);
	len = seal(&sa, 9, 0x00030001, msk, true, buf);
	CHECK(kb_uesim_handle(&s, buf, len, &rep) == KB_UE_REPLAY);
	CHECK(rep.copies == 0);

	/* bad MACs: a flipped ciphertext bit, a flipped MAC bit; neither moves
	 * the counter, so the next good message still gets in */
	len = seal(&sa, 11, 0x00030001, msk, true, buf);
	buf[len - 30] ^= 0x01;
	CHECK(kb_uesim_handle(&s, buf, len, &rep) == KB_UE_BAD_MAC);
	buf[len - 30] ^= 0x01;
	buf[len - 1] ^= 0x80;
	CHECK(kb_uesim_handle(&s, buf, len, &rep) == KB_UE_BAD_MAC);
	buf[len - 1] ^= 0x80;
	CHECK(s.ue[17].last_counter == 10);
	CHECK(kb_uesim_handle(&s, buf, len, &rep) == KB_UE_ACCEPTED);
	CHECK(s.ue[17].last_counter == 11);

	/* a message sealed for UE 17 but naming UE 18 fails UE 18's MAC */
	struct sa other;
	sa_make(&other, 18, 0x1234);
	other.tk = sa.tk;
	len = seal(&other, 12, 0x00030001, msk, true, buf);
	CHECK(kb_uesim_handle(&s, buf, len, &rep) == KB_UE_BAD_MAC);

	/* an unknown B-TID, and garbage */
	struct sa stranger;
	sa_make(&stranger, 1000, 0x99);
	len = seal(&stranger, 1, 0x00030001, msk, true, buf);
	CHECK(kb_uesim_handle(&s, buf, len, &rep) == KB_UE_UNKNOWN);
	CHECK(kb_uesim_handle(&s, buf, 7, &rep) == KB_UE_MALFORMED);

	CHECK(s.st.accepted == 2 && s.st.replays == 2 && s.st.bad_mac == 3);
	CHECK(s.st.unknown_ue == 1 && s.st.malformed == 1);
	CHECK(kb_uesim_census_find(&s, 0x00030001) != NULL &&
	      kb_uesim_census_find(&s, 0x00030001)->holders == 1);
	kb_uesim_free(&s);
}

static void test_two_msks(void)
{
	struct kb_uesim s;
	struct kb_ue_reply rep;
	uint8_t buf[KB_MIKEY_MSG_MAX], k1[16], k2[16], k3[16], k9[16];
	struct sa sa;
	CHECK(kb_test_uesim_new(&s, 4, NULL) == 0);
	sa_make(&sa, 2, 77);
	memset(k1, 1, 16);
	memset(k2, 2, 16);
	memset(k3, 3, 16);
	memset(k9, 9, 16);

	size_t len = seal(&sa, 1, 0x00050001, k1, false, buf);
	CHECK(kb_uesim_handle(&s, buf, len, &rep) == KB_UE_ACCEPTED);
	CHECK(rep.copies == 0); /* V = 0: no ack */
	len = seal(&sa, 2, 0x00050002, k2, false, buf);
	CHECK(kb_uesim_handle(&s, buf, len, &rep) == KB_UE_ACCEPTED);
	CHECK(kb_test_ue_holds(&s, 2, domain, 0x00050001, k1) &&
	      kb_test_ue_holds(&s, 2, domain, 0x00050002, k2));
	len = seal(&sa, 3, 0x00050003, k3, false, buf);
	CHECK(kb_uesim_handle(&s, buf, len, &rep) == KB_UE_ACCEPTED);
	CHECK(!kb_test_ue_holds(&s, 2, domain, 0x00050001, NULL)); /* the oldest went */
	CHECK(kb_test_ue_holds(&s, 2, domain, 0x00050002, k2) &&
	      kb_test_ue_holds(&s, 2, domain, 0x00050003, k3));
	CHECK(kb_uesim_census_find(&s, 0x00050001)->holders == 0);
	CHECK(kb_uesim_census_find(&s, 0x00050003)->holders == 1);
	CHECK(kb_uesim_newest(&s)->msk_id == 0x00050003);

	/* the same ID again with another key: replaced in place, and counted as
	 * a mismatch against what the first holder got */
	len = seal(&sa, 4, 0x00050003, k9, false, buf);
	CHECK(kb_uesim_handle(&s, buf, len, &rep) == KB_UE_ACCEPTED);
	CHECK(kb_test_ue_holds(&s, 2, domain, 0x00050002, k2) &&
	      kb_test_ue_holds(&s, 2, domain, 0x00050003, k9));
	CHECK(s.st.msk_mismatch == 1);
	CHECK(kb_uesim_census_find(&s, 0x00050003)->holders == 1);

	/* a solicited pull: MAC only, counter moves, nothing stored */
	len = seal(&sa, 5, 0x00050000, NULL, false, buf);
	CHECK(kb_uesim_handle(&s, buf, len, &rep) == KB_UE_PULL);
	CHECK(s.ue[2].last_counter == 5 && rep.copies == 0);
	CHECK(kb_test_ue_holds(&s, 2, domain, 0x00050002, k2) &&
	      kb_test_ue_holds(&s, 2, domain, 0x00050003, k9));

	/* the server re-provisions the UE: a new csb_id and RAND, new keys; the
	 * counter rule is per MUK, so the counter must still go up */
	struct sa sa2;
	sa_make(&sa2, 2, 78);
	len = seal(&sa2, 5, 0x00050004, k1, false, buf);
	CHECK(kb_uesim_handle(&s, buf, len, &rep) == KB_UE_REPLAY);
	len = seal(&sa2, 6, 0x00050004, k1, false, buf);
	CHECK(kb_uesim_handle(&s, buf, len, &rep) == KB_UE_ACCEPTED);
	/* keys for the new SA are cached only once a message is accepted */
	CHECK(s.ue[2].csb_id == 78 && s.st.key_derivations == 3);
	CHECK(kb_test_ue_holds(&s, 2, domain, 0x00050003, k9) &&
	      kb_test_ue_holds(&s, 2, domain, 0x00050004, k1));
	CHECK(s.idx.ops->find_csb(s.idx.ctx, 78) == 2);
	CHECK(s.idx.ops->find_csb(s.idx.ctx, 77) == KB_UE_ROW_NONE);
	kb_uesim_free(&s);
}

static void test_knobs(void)
{
	struct kb_uesim s;
	struct kb_ue_reply rep;
	uint8_t buf[KB_MIKEY_MSG_MAX], msk[16];
	struct sa sa;
	memset(msk, 0x42, 16);
	sa_make(&sa, 3, 5);

	/* forge every ack: the reference must refuse it */
	struct kb_uesim_knobs k = {.forge_ack = 1.0, .seed = 1};
	CHECK(kb_test_uesim_new(&s, 8, &k) == 0);
	size_t len = seal(&sa, 1, 0x00070001, msk, true, buf);
	CHECK(kb_uesim_handle(&s, buf, len, &rep) == KB_UE_ACCEPTED);
	CHECK(rep.copies == 1 && rep.forged);
	struct kb_mikey_msg am;
	struct kb_mikey_error err;
	CHECK(kb_mikey_decode(rep.ack, KB_ACK_LEN, &am, &err) == 0);
	CHECK(am.csb_id == 5 && am.t_value == 1);
	CHECK(kb_ref_verify_ack(rep.ack, &am, (const uint8_t *)idi, (uint16_t)strlen(idi),
				(const uint8_t *)sa.row.b_tid, (uint16_t)strlen(sa.row.b_tid),
				&sa.tk) != 0);
	CHECK(!ack_mac_ok(rep.ack, sa.tk.auth, sa.row.b_tid, 1));
	CHECK(s.st.acks_forged == 1 && s.st.acks_sent == 0);
	kb_uesim_free(&s);

	/* drop every ack; the MSK is still stored */
	k = (struct kb_uesim_knobs){.drop_ack = 1.0};
	CHECK(kb_test_uesim_new(&s, 8, &k) == 0);
	CHECK(kb_uesim_handle(&s, buf, len, &rep) == KB_UE_ACCEPTED);
	CHECK(rep.copies == 0 && kb_test_ue_holds(&s, 3, domain, 0x00070001, msk));
	CHECK(s.st.acks_dropped == 1 && s.st.acks_wanted == 1);
	kb_uesim_free(&s);

	/* duplicate every ack */
	k = (struct kb_uesim_knobs){.dup_ack = 1.0};
	CHECK(kb_test_uesim_new(&s, 8, &k) == 0);
	CHECK(kb_uesim_handle(&s, buf, len, &rep) == KB_UE_ACCEPTED);
	CHECK(rep.copies == 2 && ack_mac_ok(rep.ack, sa.tk.auth, sa.row.b_tid, 1));
	CHECK(s.st.acks_sent == 2 && s.st.acks_dup == 1);
	kb_uesim_free(&s);

	/* drop every message: nothing is looked at */
	k = (struct kb_uesim_knobs){.drop_msg = 1.0};
	CHECK(kb_test_uesim_new(&s, 8, &k) == 0);
	CHECK(kb_uesim_handle(&s, buf, len, &rep) == KB_UE_DROPPED);
	CHECK(s.ue[3].last_counter == 0 && s.st.dropped_msg == 1);
	kb_uesim_free(&s);

	/* a fraction: about 30% of 2,000 acks dropped, deterministic per seed */
	k = (struct kb_uesim_knobs){.drop_ack = 0.3, .seed = 42};
	uint64_t dropped[2];
	for (int run = 0; run < 2; run++) {
		CHECK(kb_test_uesim_new(&s, 8, &k) == 0);
		for (uint32_t c = 1; c <= 2000; c++) {
			len = seal(&sa, c, 0x00070001, msk, true, buf);
			CHECK(kb_uesim_handle(&s, buf, len, &rep) == KB_UE_ACCEPTED);
		}
		dropped[run] = s.st.acks_dropped;
		kb_uesim_free(&s);
	}
	CHECK(dropped[0] == dropped[1]);
	CHECK(dropped[0] > 500 && dropped[0] < 700);
}

/* Loading a roster file as keyburst-uesim does. */
static void test_load_roster(void)
{
	char path[] = "/tmp/kb_test_roster_XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	FILE *f = fdopen(fd, "w");
	fprintf(f, "%s\n", KB_ROSTER_HEADER);
	for (uint64_t i = 0; i < 100; i++) {
		struct kb_roster_row r;
		char line[512];
		ue_row(i, &r);
		CHECK(kb_roster_format_row(&r, line, sizeof(line)) > 0);
		fputs(line, f);
	}
	fclose(f);
	struct kb_uesim s;
	char err[256] = "";
	CHECK(kb_uesim_load_roster(&s, path, kb_ue_index_glib, NULL, err, sizeof(err)) == 0);
	CHECK(s.n_ue == 100);
	struct sa sa;
	struct kb_ue_reply rep;
	uint8_t buf[KB_MIKEY_MSG_MAX], msk[16] = {7};
	sa_make(&sa, 99, 4242);
	size_t len = seal(&sa, 3, 0x00010001, msk, true, buf);
	CHECK(kb_uesim_handle(&s, buf, len, &rep) == KB_UE_ACCEPTED && rep.row == 99);
	kb_uesim_free(&s);
	CHECK(kb_uesim_load_roster(&s, "/nonexistent/roster.csv", kb_ue_index_glib, NULL, err,
				   sizeof(err)) != 0);
	unlink(path);
}

int main(void)
{
	RUN(test_vector);
	RUN(test_accept_replay_badmac);
	RUN(test_two_msks);
	RUN(test_knobs);
	RUN(test_load_roster);
	return kb_check_done();
}
