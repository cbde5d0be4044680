/* keyburst-uesim's IPsec-MB burst path (ue_burst.c) against:
 *   - the known answer tests/vectors/msk-message-1.json (MSK and ack bytes);
 *   - OpenSSL's HMAC-SHA-1 called here on every ack it sends;
 *   - the OpenSSL reference path (kb_uesim_handle) on a long random stream
 *     of messages sealed by kb_ref_seal_msk: new SAs, known SAs, replays,
 *     bad MACs, garbage, pulls, re-provisioning, messages without IDs,
 *     repeats inside one burst, every knob on. Verdicts, replies (ack bytes
 *     included), statistics, the census and every UE's state must be equal. */
#include "check.h"
#include "testlib.h"

#include "mikey/mikey_codec.h"
#include "mikey/mikey_ref.h"
#include "util/be.h"

#include "ue_burst.h"
#include "ue_state.h"
#include "ue_testlib.h"

#include <stdlib.h>

static const char idi[] = "bmsc.example.org";
static const uint8_t domain[3] = {0x62, 0xf2, 0x10};

/* The server's view of one UE's SA, from proto/ only. */
struct sa {
	struct kb_roster_row row;
	uint32_t csb_id, counter;
	uint8_t rand[16];
	struct kb_mikey_tkeys tk;
};

static void sa_new(struct sa *sa, uint32_t ue, uint32_t csb_id)
{
	kb_roster_gen_row(7, ue, &sa->row);
	sa->csb_id = csb_id;
	sa->counter = 0;
	for (int b = 0; b < 16; b++)
		sa->rand[b] = (uint8_t)(csb_id * 131 + (uint32_t)b * 7);
	CHECK(kb_mikey_derive_tkeys(sa->row.muk, KB_MUK_LEN, csb_id, sa->rand, 16, &sa->tk) == 0);
}

static size_t seal(const struct sa *sa, uint32_t counter, uint32_t msk_id, const uint8_t *msk,
		   bool v, bool with_rand, bool with_ids, uint8_t *buf)
{
	struct kb_msk_msg_params p = {
		.csb_id = sa->csb_id,
		.counter = counter,
		.rand = with_rand ? sa->rand : NULL,
		.idi = with_ids ? (const uint8_t *)idi : NULL,
		.idi_len = with_ids ? (uint16_t)strlen(idi) : 0,
		.idr = with_ids ? (const uint8_t *)sa->row.b_tid : NULL,
		.idr_len = with_ids ? (uint16_t)strlen(sa->row.b_tid) : 0,
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
	CHECK(kb_ue_index_glib(&idx, 1) == 0);
	CHECK(kb_uesim_init(&s, 1, idx, NULL) == 0);
	CHECK(kb_uesim_add_ue(&s, 0, &r) == 0);
	struct kb_ue_burst *b = kb_ue_burst_new(&s);
	CHECK(b != NULL);
	if (b != NULL) {
		/* the message twice in one burst: accepted, then a replay */
		const uint8_t *msgs[2] = {msg, msg};
		uint16_t lens[2] = {(uint16_t)msg_len, (uint16_t)msg_len};
		enum kb_ue_verdict v[2];
		struct kb_ue_reply rep[2];
		kb_ue_burst_handle(b, msgs, lens, 2, v, rep);
		CHECK(v[0] == KB_UE_ACCEPTED && v[1] == KB_UE_REPLAY);
		CHECK(rep[0].row == 0 && rep[0].copies == 1 && !rep[0].forged);
		CHECK_MEM(rep[0].ack, ack, KB_ACK_LEN);
		CHECK(rep[1].copies == 0);
		CHECK(kb_test_ue_holds(&s, 0, domain, 0x00010002, msk));
		CHECK(s.ue[0].csb_id == 65538 && s.ue[0].last_counter == 7);
		CHECK(s.st.accepted == 1 && s.st.replays == 1 && s.st.key_derivations == 1);
		fprintf(stderr, "  IPsec-MB arch: %s\n", kb_ue_burst_arch(b));
		kb_ue_burst_free(b);
	}
	kb_uesim_free(&s);
}

/* A stream of messages: what a server (right or wrong) and a network send. */
#define N_UE 64
#define N_MSG 6000

struct stream {
	uint8_t buf[N_MSG][KB_MIKEY_MSG_MAX];
	uint16_t len[N_MSG];
	uint32_t ue[N_MSG]; /* intended UE, or UINT32_MAX */
	uint32_t counter[N_MSG];
};

static void make_stream(struct stream *st, struct sa *sas, unsigned short rng[3])
{
	uint8_t msk[4][16];
	for (int k = 0; k < 4; k++)
		memset(msk[k], 0x30 + k, 16);
	for (uint32_t u = 0; u < N_UE; u++)
		sa_new(&sas[u], u, 0x1000 + u);
	for (unsigned i = 0; i < N_MSG; i++) {
		uint32_t u = (uint32_t)(nrand48(rng) % N_UE);
		struct sa *sa = &sas[u];
		unsigned kind = (unsigned)(nrand48(rng) % 100);
		unsigned key = (unsigned)(i * 4 / N_MSG); /* the MSK rolls over 4 times */
		uint32_t msk_id = 0x00070000u | (key + 1);
		st->ue[i] = u;
		if (kind < 2) { /* re-provisioning: a new SA for this UE */
			sa_new(sa, u, 0x20000 + i);
		}
		if (kind >= 2 && kind < 8 && i > 0) { /* a replay of an earlier message */
			unsigned j = (unsigned)(nrand48(rng) % i);
			memcpy(st->buf[i], st->buf[j], st->len[j]);
			st->len[i] = st->len[j];
			st->ue[i] = st->ue[j];
			continue;
		}
		if (kind >= 8 && kind < 10) { /* garbage */
			st->len[i] = (uint16_t)(1 + nrand48(rng) % 100);
			for (unsigned b = 0; b < st->len[i]; b++)
				st->buf[i][b] = (uint8_t)nrand48(rng);
			st->ue[i] = UINT32_MAX;
			continue;
		}
		if (kind >= 10 && kind < 11 && i > 0) { /* the previous message again */
			memcpy(st->buf[i], st->buf[i - 1], st->len[i - 1]);
			st->len[i] = st->len[i - 1];
			st->ue[i] = st->ue[i - 1];
			continue;
		}
		bool pull = kind >= 11 && kind < 13;
		bool no_rand = kind >= 13 && kind < 18;
		bool no_ids = kind >= 18 && kind < 22;
		/* counters go up, sometimes with gaps, sometimes stale */
		uint32_t c = kind >= 22 && kind < 25 && sa->counter > 2 ? sa->counter - 1
									: ++sa->counter;
		st->counter[i] = c;
		st->len[i] =
			(uint16_t)seal(sa, c, pull ? 0x00070000u : msk_id, pull ? NULL : msk[key],
				       kind % 7 != 0, !no_rand, !no_ids, st->buf[i]);
		if (kind >= 25 && kind < 30) /* a flipped bit: a bad MAC */
			st->buf[i][nrand48(rng) % st->len[i]] ^=
				(uint8_t)(1u << (nrand48(rng) % 8));
	}
}

static void compare_state(const struct kb_uesim *a, const struct kb_uesim *b)
{
	CHECK(memcmp(&a->st, &b->st, sizeof(a->st)) == 0);
	CHECK(a->n_census == b->n_census);
	for (unsigned i = 0; i < a->n_census && i < b->n_census; i++)
		CHECK(a->census[i].msk_id == b->census[i].msk_id &&
		      a->census[i].holders == b->census[i].holders &&
		      memcmp(a->census[i].msk, b->census[i].msk, 16) == 0);
	unsigned bad = 0;
	for (uint32_t r = 0; r < a->n_ue; r++) {
		const struct kb_ue *x = &a->ue[r], *y = &b->ue[r];
		if (x->csb_id != y->csb_id || x->last_counter != y->last_counter ||
		    memcmp(x->rand, y->rand, 16) != 0 ||
		    (x->flags & KB_UE_KEYS) != (y->flags & KB_UE_KEYS) ||
		    memcmp(x->slot, y->slot, sizeof(x->slot)) != 0)
			bad++;
	}
	CHECK(bad == 0);
}

#define STAT(f)                                                                            \
	fprintf(stderr, "  %-16s ref %llu burst %llu\n", #f, (unsigned long long)ref.st.f, \
		(unsigned long long)bur.st.f)

static void test_differential(const struct kb_uesim_knobs *knobs, unsigned max_burst)
{
	static struct stream st;
	static struct sa sas[N_UE];
	unsigned short rng[3] = {1, 2, (unsigned short)max_burst};
	struct kb_uesim ref, bur;
	make_stream(&st, sas, rng);
	CHECK(kb_test_uesim_new(&ref, N_UE, knobs) == 0);
	CHECK(kb_test_uesim_new(&bur, N_UE, knobs) == 0);
	struct kb_ue_burst *b = kb_ue_burst_new(&bur);
	CHECK(b != NULL);
	if (b == NULL)
		return;
	unsigned verdict_diff = 0, reply_diff = 0, ack_checked = 0, ack_bad = 0;
	for (unsigned i = 0; i < N_MSG;) {
		unsigned n = 1 + (unsigned)(nrand48(rng) % max_burst);
		if (n > N_MSG - i)
			n = N_MSG - i;
		const uint8_t *msgs[KB_UE_BURST_MAX];
		enum kb_ue_verdict v[KB_UE_BURST_MAX];
		struct kb_ue_reply rep[KB_UE_BURST_MAX];
		for (unsigned j = 0; j < n; j++)
			msgs[j] = st.buf[i + j];
		kb_ue_burst_handle(b, msgs, &st.len[i], n, v, rep);
		for (unsigned j = 0; j < n; j++) {
			struct kb_ue_reply rr;
			enum kb_ue_verdict rv =
				kb_uesim_handle(&ref, st.buf[i + j], st.len[i + j], &rr);
			if (rv != v[j])
				verdict_diff++;
			if (rr.copies != rep[j].copies || rr.forged != rep[j].forged ||
			    rr.row != rep[j].row ||
			    (rr.copies > 0 && memcmp(rr.ack, rep[j].ack, KB_ACK_LEN) != 0)) {
				if (reply_diff++ == 0)
					fprintf(stderr,
						"  first reply diff at %u: %s copies %u/%u forged "
						"%d/%d row %u/%u\n",
						i + j, kb_ue_verdict_name(rv), rr.copies,
						rep[j].copies, rr.forged, rep[j].forged, rr.row,
						rep[j].row);
			}
			if (rep[j].copies > 0 && rep[j].row < N_UE) {
				/* OpenSSL's HMAC over the ack with the UE's current keys */
				const struct sa *sa = &sas[rep[j].row];
				struct kb_mikey_tkeys tk;
				uint32_t c = kb_be32(rep[j].ack + 12);
				CHECK(kb_mikey_derive_tkeys(sa->row.muk, KB_MUK_LEN,
							    bur.ue[rep[j].row].csb_id,
							    bur.ue[rep[j].row].rand, 16, &tk) == 0);
				ack_checked++;
				if (ack_mac_ok(rep[j].ack, tk.auth, sa->row.b_tid, c) ==
				    rep[j].forged)
					ack_bad++;
			}
		}
		i += n;
	}
	CHECK(verdict_diff == 0);
	CHECK(reply_diff == 0);
	CHECK(ack_checked > 100 && ack_bad == 0);
	compare_state(&ref, &bur);
	/* the stream exercised every verdict */
	CHECK(bur.st.accepted > 1000 && bur.st.replays > 50 && bur.st.bad_mac > 50 &&
	      bur.st.malformed > 20 && bur.st.pulls > 10 && bur.st.unknown_ue > 0);
	if (verdict_diff || reply_diff || kb_check_failures) {
		STAT(rx);
		STAT(accepted);
		STAT(replays);
		STAT(bad_mac);
		STAT(malformed);
		STAT(unknown_ue);
		STAT(bad_keydata);
		STAT(pulls);
		STAT(key_derivations);
		STAT(acks_sent);
	}
	fprintf(stderr,
		"  burst<=%u: %llu accepted, %llu replays, %llu bad MACs, %llu derivations\n",
		max_burst, (unsigned long long)bur.st.accepted, (unsigned long long)bur.st.replays,
		(unsigned long long)bur.st.bad_mac, (unsigned long long)bur.st.key_derivations);
	kb_ue_burst_free(b);
	kb_uesim_free(&ref);
	kb_uesim_free(&bur);
}

static void test_diff_clean(void)
{
	struct kb_uesim_knobs k = {.seed = 3};
	test_differential(&k, KB_UE_BURST_MAX);
	test_differential(&k, 5);
}

static void test_diff_knobs(void)
{
	struct kb_uesim_knobs k = {
		.drop_msg = 0.1, .drop_ack = 0.2, .forge_ack = 0.1, .dup_ack = 0.1, .seed = 9};
	test_differential(&k, KB_UE_BURST_MAX);
}

/* Mixing the two paths on one simulator: each derives its own keys for an
 * SA the other one learned, and the UE state stays one. */
static void test_mixed_paths(void)
{
	struct kb_uesim s;
	struct sa sa;
	uint8_t buf[KB_MIKEY_MSG_MAX], msk[16];
	struct kb_ue_reply rep;
	enum kb_ue_verdict v;
	memset(msk, 0x77, 16);
	CHECK(kb_test_uesim_new(&s, 8, NULL) == 0);
	struct kb_ue_burst *b = kb_ue_burst_new(&s);
	CHECK(b != NULL);
	if (b == NULL)
		return;
	sa_new(&sa, 3, 0x42);
	size_t len = seal(&sa, 1, 0x00070001, msk, true, true, true, buf);
	CHECK(kb_uesim_handle(&s, buf, len, &rep) == KB_UE_ACCEPTED);
	/* the burst path has no keys for the SA: it derives them from the RAND
	 * the UE stored, even for a message that carries none */
	len = seal(&sa, 2, 0x00070002, msk, true, false, true, buf);
	const uint8_t *m = buf;
	uint16_t l = (uint16_t)len;
	kb_ue_burst_handle(b, &m, &l, 1, &v, &rep);
	CHECK(v == KB_UE_ACCEPTED && rep.copies == 1);
	CHECK(ack_mac_ok(rep.ack, sa.tk.auth, sa.row.b_tid, 2));
	/* the writer's "no IDs" is two empty IDs: an IDr that names nobody */
	len = seal(&sa, 3, 0x00070002, msk, true, false, false, buf);
	l = (uint16_t)len;
	kb_ue_burst_handle(b, &m, &l, 1, &v, &rep);
	CHECK(v == KB_UE_UNKNOWN && rep.copies == 0);
	CHECK(kb_uesim_handle(&s, buf, len, &rep) == KB_UE_UNKNOWN);
	/* V = 0: accepted, no ack */
	len = seal(&sa, 3, 0x00070002, msk, false, false, true, buf);
	l = (uint16_t)len;
	kb_ue_burst_handle(b, &m, &l, 1, &v, &rep);
	CHECK(v == KB_UE_ACCEPTED && rep.copies == 0);
	CHECK(s.st.key_derivations == 2 && s.ue[3].last_counter == 3);
	CHECK(kb_test_ue_holds(&s, 3, domain, 0x00070002, msk));
	kb_ue_burst_free(b);
	kb_uesim_free(&s);
}

int main(void)
{
	RUN(test_vector);
	RUN(test_diff_clean);
	RUN(test_diff_knobs);
	RUN(test_mixed_paths);
	return kb_check_done();
}
