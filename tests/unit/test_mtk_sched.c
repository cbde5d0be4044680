/* The MTK scheduler with an injected clock and an in-memory persistence
 * fake: announce before use, lead time, repeats for late joiners, rotation,
 * MSK rollover mid-stream, and no counter or MTK ID reuse across restarts
 * (random simulation checked against the invariants, fixed seed). */
#include "check.h"
#include "testlib.h"

#include "srtp/mtk_sched.h"

/* the durable store: a few MSKs' marks, and a switch to make saves fail */
struct fake_store {
	uint32_t msk[8];
	struct kb_mtk_mark mark[8];
	unsigned n, saves;
	int fail;
};

static int fs_load(void *ctx, uint32_t msk_id, struct kb_mtk_mark *m)
{
	struct fake_store *fs = ctx;

	for (unsigned i = 0; i < fs->n; i++)
		if (fs->msk[i] == msk_id) {
			*m = fs->mark[i];
			return 0;
		}
	m->counter = 0;
	m->mtk_id = 0;
	return 0;
}

static int fs_save(void *ctx, uint32_t msk_id, const struct kb_mtk_mark *m)
{
	struct fake_store *fs = ctx;
	unsigned i;

	if (fs->fail)
		return -1;
	fs->saves++;
	for (i = 0; i < fs->n; i++)
		if (fs->msk[i] == msk_id)
			break;
	if (i == fs->n) {
		if (fs->n == 8)
			return -1;
		fs->msk[fs->n++] = msk_id;
	}
	/* marks only grow */
	CHECK(m->counter >= fs->mark[i].counter && m->mtk_id >= fs->mark[i].mtk_id);
	fs->mark[i] = *m;
	return 0;
}

static struct kb_mtk_mark fs_get(const struct fake_store *fs, uint32_t msk)
{
	struct kb_mtk_mark m = {0, 0};

	for (unsigned i = 0; i < fs->n; i++)
		if (fs->msk[i] == msk)
			m = fs->mark[i];
	return m;
}

static void test_basic_timeline(void)
{
	struct fake_store fs = {0};
	struct kb_mtk_persist p = {fs_load, fs_save, &fs};
	struct kb_mtk_sched_cfg cfg = {.rotate_ms = 10000, .repeat_ms = 1000, .lead_ms = 500};
	struct kb_mtk_sched s;
	struct kb_mtk_action a[KB_MTK_ACTIONS_MAX];
	struct kb_mtk_ref r;
	uint64_t wake = 0;
	int n;

	CHECK(kb_mtk_sched_init(&s, &cfg, &p, 0x00010002u) == 0);
	/* nothing announced: no content yet */
	CHECK(kb_mtk_sched_content(&s, &r) == -1);
	n = kb_mtk_sched_poll(&s, 1000, a, KB_MTK_ACTIONS_MAX, &wake);
	CHECK(n == 1 && a[0].fresh && a[0].msk_id == 0x00010002u && a[0].mtk_id == 1);
	CHECK(a[0].counter == 1);
	CHECK(wake == 1500);
	/* announced but inside the lead time: still no content */
	CHECK(kb_mtk_sched_content(&s, &r) == -1);
	CHECK(kb_mtk_sched_poll(&s, 1200, a, KB_MTK_ACTIONS_MAX, &wake) == 0);
	CHECK(kb_mtk_sched_poll(&s, 1500, a, KB_MTK_ACTIONS_MAX, &wake) == 0);
	CHECK(kb_mtk_sched_content(&s, &r) == 0 && r.mtk_id == 1);
	CHECK(wake == 2000); /* the first repeat: 1000 ms after the announcement */
	n = kb_mtk_sched_poll(&s, 2000, a, KB_MTK_ACTIONS_MAX, &wake);
	CHECK(n == 1 && !a[0].fresh && a[0].mtk_id == 1 && a[0].counter == 2);
	CHECK(wake == 3000);
	/* MTK 1 lives from 1500 to 11500: MTK 2 is announced at 11000 */
	for (uint64_t t = 3000; t < 11000; t += 1000) {
		n = kb_mtk_sched_poll(&s, t, a, KB_MTK_ACTIONS_MAX, &wake);
		CHECK(n == 1 && !a[0].fresh && a[0].mtk_id == 1);
	}
	n = kb_mtk_sched_poll(&s, 11000, a, KB_MTK_ACTIONS_MAX, &wake);
	CHECK(n == 2 && a[0].fresh && a[0].mtk_id == 2 && !a[1].fresh && a[1].mtk_id == 1);
	CHECK(a[1].counter == a[0].counter + 1);
	CHECK(wake == 11500);
	CHECK(kb_mtk_sched_content(&s, &r) == 0 && r.mtk_id == 1);
	CHECK(kb_mtk_sched_poll(&s, 11499, a, KB_MTK_ACTIONS_MAX, &wake) == 0);
	CHECK(kb_mtk_sched_content(&s, &r) == 0 && r.mtk_id == 1);
	CHECK(kb_mtk_sched_poll(&s, 11500, a, KB_MTK_ACTIONS_MAX, &wake) == 0);
	CHECK(kb_mtk_sched_content(&s, &r) == 0 && r.mtk_id == 2);
	/* repeats of MTK 2 are timed from its announcement */
	CHECK(wake == 12000);
	/* a persistence failure sends nothing, and the next poll catches up */
	fs.fail = 1;
	for (int i = 0; i < 100; i++) {
		n = kb_mtk_sched_poll(&s, 12000 + (uint64_t)i * 1000, a, KB_MTK_ACTIONS_MAX, &wake);
		if (n < 0)
			break;
	}
	CHECK(n == KB_MTK_ERR_PERSIST);
	fs.fail = 0;
	CHECK(kb_mtk_sched_poll(&s, 200000, a, KB_MTK_ACTIONS_MAX, &wake) >= 1);
	CHECK(kb_mtk_sched_poll(&s, 0, a, 1, &wake) == KB_MTK_ERR_CONFIG);
	/* bad configuration */
	cfg.lead_ms = cfg.rotate_ms;
	CHECK(kb_mtk_sched_init(&s, &cfg, &p, 1) == KB_MTK_ERR_CONFIG);
}

static void test_msk_rollover(void)
{
	struct fake_store fs = {0};
	struct kb_mtk_persist p = {fs_load, fs_save, &fs};
	struct kb_mtk_sched_cfg cfg = {.rotate_ms = 0, .repeat_ms = 1000, .lead_ms = 200};
	struct kb_mtk_sched s;
	struct kb_mtk_action a[KB_MTK_ACTIONS_MAX];
	struct kb_mtk_ref r;
	uint64_t wake;
	int n;

	CHECK(kb_mtk_sched_init(&s, &cfg, &p, 0x00050001u) == 0);
	CHECK(kb_mtk_sched_poll(&s, 0, a, 2, &wake) == 1);
	CHECK(kb_mtk_sched_poll(&s, 200, a, 2, &wake) == 0);
	CHECK(kb_mtk_sched_content(&s, &r) == 0 && r.msk_id == 0x00050001u && r.mtk_id == 1);
	/* no rotation configured: repeats only */
	for (uint64_t t = 1000; t < 60000; t += 1000) {
		n = kb_mtk_sched_poll(&s, t, a, 2, &wake);
		CHECK(n == 1 && !a[0].fresh && a[0].mtk_id == 1);
	}
	/* rollover mid-push: content stays on the old MTK until the new one's
	 * message is out and its lead time has passed */
	CHECK(kb_mtk_sched_set_msk(&s, 0x00050002u) == 0);
	CHECK(kb_mtk_sched_content(&s, &r) == 0 && r.msk_id == 0x00050001u);
	n = kb_mtk_sched_poll(&s, 60100, a, 2, &wake);
	CHECK(n == 2 && a[0].fresh && a[0].msk_id == 0x00050002u && a[0].mtk_id == 1);
	/* the old MTK is still repeated under the old MSK until the switch */
	CHECK(!a[1].fresh && a[1].msk_id == 0x00050001u && a[1].mtk_id == 1);
	CHECK(a[0].counter == 1); /* a new MSK has its own counter */
	CHECK(kb_mtk_sched_content(&s, &r) == 0 && r.msk_id == 0x00050001u);
	CHECK(kb_mtk_sched_poll(&s, 60300, a, 2, &wake) == 0);
	CHECK(kb_mtk_sched_content(&s, &r) == 0 && r.msk_id == 0x00050002u && r.mtk_id == 1);
	/* both marks are durable and cover what was used */
	CHECK(fs_get(&fs, 0x00050001u).counter >= 60);
	CHECK(fs_get(&fs, 0x00050002u).counter >= 1 && fs_get(&fs, 0x00050002u).mtk_id >= 1);
}

/* The invariants over a long random run with restarts and rollovers. */
struct seen {
	uint32_t msk;
	uint16_t mtk;
	uint64_t at;
};

static void test_random_invariants(void)
{
	struct fake_store fs = {0};
	struct kb_mtk_persist p = {fs_load, fs_save, &fs};
	struct kb_mtk_sched_cfg cfg = {.rotate_ms = 5000,
				       .repeat_ms = 700,
				       .lead_ms = 300,
				       .counter_block = 16,
				       .mtk_id_block = 3};
	struct kb_mtk_sched s;
	struct kb_mtk_action a[KB_MTK_ACTIONS_MAX];
	static struct seen ann[4096];
	unsigned n_ann = 0;
	uint32_t msk = 0x00070001u, last_counter[16] = {0};
	uint64_t t = 0, last_sent = 0, wake = 0;
	int bad_order = 0, bad_counter = 0, bad_repeat = 0, content_ok = 0;

	CHECK(kb_mtk_sched_init(&s, &cfg, &p, msk) == 0);
	for (int step = 0; step < 20000; step++) {
		struct kb_mtk_ref r;
		int n;

		t += kb_test_rnd() % 250;
		if (kb_test_rnd() % 3000 == 0) {
			msk++; /* MSK rollover */
			CHECK(kb_mtk_sched_set_msk(&s, msk) == 0);
		}
		if (kb_test_rnd() % 4000 == 0) {
			/* crash and restart: only the store survives */
			CHECK(kb_mtk_sched_init(&s, &cfg, &p, msk) == 0);
			last_sent = t;
		}
		n = kb_mtk_sched_poll(&s, t, a, KB_MTK_ACTIONS_MAX, &wake);
		CHECK(n >= 0);
		for (int i = 0; i < n; i++) {
			unsigned k = a[i].msk_id & 15;

			if (a[i].counter <= last_counter[k])
				bad_counter++;
			last_counter[k] = a[i].counter;
			if (a[i].fresh && n_ann < 4096) {
				/* an MTK ID is never announced twice under one MSK */
				for (unsigned j = 0; j < n_ann; j++)
					if (ann[j].msk == a[i].msk_id && ann[j].mtk == a[i].mtk_id)
						bad_order++;
				ann[n_ann].msk = a[i].msk_id;
				ann[n_ann].mtk = a[i].mtk_id;
				ann[n_ann].at = t;
				n_ann++;
			}
			last_sent = t;
		}
		if (kb_mtk_sched_content(&s, &r) == 0) {
			bool found = false;

			/* content only under an MTK announced >= lead_ms ago */
			for (unsigned j = 0; j < n_ann; j++)
				if (ann[j].msk == r.msk_id && ann[j].mtk == r.mtk_id &&
				    ann[j].at + cfg.lead_ms <= t)
					found = true;
			if (!found)
				bad_order++;
			content_ok++;
			/* late joiners: an MTK message at least every repeat_ms
			 * (plus our polling granularity) */
			if (t - last_sent > cfg.repeat_ms + 250)
				bad_repeat++;
		}
	}
	CHECK(bad_order == 0);
	CHECK(bad_counter == 0);
	CHECK(bad_repeat == 0);
	CHECK(content_ok > 15000);
	CHECK(n_ann > 100);
}

static void test_exhaustion(void)
{
	struct fake_store fs = {0};
	struct kb_mtk_persist p = {fs_load, fs_save, &fs};
	struct kb_mtk_sched_cfg cfg = {.rotate_ms = 0, .repeat_ms = 10, .lead_ms = 0};
	struct kb_mtk_sched s;
	struct kb_mtk_action a[KB_MTK_ACTIONS_MAX];
	uint64_t wake;
	int n = 0;

	/* the store says this MSK is near the end of its counter space */
	fs.msk[0] = 42;
	fs.mark[0].counter = UINT32_MAX - 3;
	fs.n = 1;
	CHECK(kb_mtk_sched_init(&s, &cfg, &p, 42) == 0);
	for (uint64_t t = 0; t < 100; t += 10) {
		n = kb_mtk_sched_poll(&s, t, a, 2, &wake);
		if (n < 0)
			break;
		CHECK(n == 1 && a[0].counter > UINT32_MAX - 3);
	}
	CHECK(n == KB_MTK_ERR_EXHAUSTED);
}

int main(void)
{
	kb_test_seed(0x6d746b2d736368ull); /* this test's own fixed sequence */
	RUN(test_basic_timeline);
	RUN(test_msk_rollover);
	RUN(test_random_invariants);
	RUN(test_exhaustion);
	return kb_check_done();
}
