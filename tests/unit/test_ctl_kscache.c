/* The per-thread key-source cache (control/keysource.c): hits return the
 * bootstrap byte for byte, and nothing outlives its TTL, its bootstrap's
 * expiry or an invalidation; the cache is bounded and per thread. The
 * keys cached come from the records source, checked against TS 33.246
 * (GBA_U: MUK = Ks_int_NAF, MRK = Ks_ext_NAF) and, for GBA_ME, against
 * the Annex B KDF computed here with OpenSSL HMAC directly. */
#include "check.h"

#include "keysource.h"
#include "records.h"
#include "store.h"
#include "util/secret.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOW 1700000000

static void make_bootstrap(struct kb_bootstrap *b, const char *btid, int64_t expires, uint8_t seed)
{
	memset(b, 0, sizeof(*b));
	snprintf(b->btid, sizeof(b->btid), "%s", btid);
	snprintf(b->impi, sizeof(b->impi), "ue%u@ims.example.org", seed);
	memset(b->rand, seed, sizeof(b->rand));
	memset(b->muk, seed ^ 0x55, sizeof(b->muk));
	memset(b->mrk, seed ^ 0xaa, sizeof(b->mrk));
	b->mode = KB_GBA_ME;
	b->expires = expires;
}

static void test_hit_miss(void)
{
	struct kb_bootstrap b, got;
	char ha1[KB_DIGEST_HEX_MAX];
	kb_ks_cache_clear();
	make_bootstrap(&b, "AAAAAAAAAAAAAAAAAAAAAA==@bsf.example.org", NOW + 100, 1);
	CHECK(!kb_ks_cache_get(b.btid, NOW, &got, KB_DIGEST_SHA256, ha1));
	kb_ks_cache_put(&b, NOW);
	memset(&got, 0xee, sizeof(got));
	CHECK(kb_ks_cache_get(b.btid, NOW, &got, KB_DIGEST_SHA256, ha1));
	CHECK_MEM(&got, &b, sizeof(b));
	CHECK(ha1[0] == '\0'); /* no HA1 attached yet */
	CHECK(!kb_ks_cache_get("BBBBBBBBBBBBBBBBBBBBBB==@bsf.example.org", NOW, &got,
			       KB_DIGEST_SHA256, NULL));

	/* HA1 per algorithm */
	static const char h256[] =
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	kb_ks_cache_put_ha1(b.btid, KB_DIGEST_SHA256, h256);
	CHECK(kb_ks_cache_get(b.btid, NOW, &got, KB_DIGEST_SHA256, ha1));
	CHECK(strcmp(ha1, h256) == 0);
	CHECK(kb_ks_cache_get(b.btid, NOW, &got, KB_DIGEST_MD5, ha1));
	CHECK(ha1[0] == '\0');
	/* a put replaces the entry, HA1s included (the keys may differ) */
	kb_ks_cache_put(&b, NOW);
	CHECK(kb_ks_cache_get(b.btid, NOW, &got, KB_DIGEST_SHA256, ha1));
	CHECK(ha1[0] == '\0');
	kb_ks_cache_clear();
	CHECK(!kb_ks_cache_get(b.btid, NOW, &got, KB_DIGEST_SHA256, NULL));
}

static void test_ttl_and_expiry(void)
{
	struct kb_bootstrap b, got;
	kb_ks_cache_clear();
	/* TTL: a long-lived bootstrap is looked up again after the TTL */
	make_bootstrap(&b, "long@bsf.example.org", NOW + 3600, 2);
	kb_ks_cache_put(&b, NOW);
	CHECK(kb_ks_cache_get(b.btid, NOW + KB_KS_CACHE_TTL - 1, &got, KB_DIGEST_MD5, NULL));
	CHECK(!kb_ks_cache_get(b.btid, NOW + KB_KS_CACHE_TTL, &got, KB_DIGEST_MD5, NULL));
	/* and the stale entry was wiped, not just skipped */
	CHECK(!kb_ks_cache_get(b.btid, NOW, &got, KB_DIGEST_MD5, NULL));

	/* expiry inside the TTL: refused from the first second it is due */
	make_bootstrap(&b, "short@bsf.example.org", NOW + 1, 3);
	kb_ks_cache_put(&b, NOW);
	CHECK(kb_ks_cache_get(b.btid, NOW, &got, KB_DIGEST_MD5, NULL));
	CHECK(!kb_ks_cache_get(b.btid, NOW + 1, &got, KB_DIGEST_MD5, NULL));
	CHECK(!kb_ks_cache_get(b.btid, NOW, &got, KB_DIGEST_MD5, NULL));
	CHECK(kb_bootstrap_usable(&b, NOW, false) && !kb_bootstrap_usable(&b, NOW + 1, false));

	/* an expired bootstrap is never cached */
	make_bootstrap(&b, "old@bsf.example.org", NOW, 4);
	kb_ks_cache_put(&b, NOW);
	CHECK(!kb_ks_cache_get(b.btid, NOW - 10, &got, KB_DIGEST_MD5, NULL));
}

static void test_invalidate(void)
{
	struct kb_bootstrap a, b, got;
	kb_ks_cache_clear();
	make_bootstrap(&a, "a@bsf.example.org", NOW + 100, 5);
	make_bootstrap(&b, "b@bsf.example.org", NOW + 100, 6);
	kb_ks_cache_put(&a, NOW);
	kb_ks_cache_put(&b, NOW);
	kb_ks_cache_invalidate();
	CHECK(!kb_ks_cache_get(a.btid, NOW, &got, KB_DIGEST_MD5, NULL));
	CHECK(!kb_ks_cache_get(b.btid, NOW, &got, KB_DIGEST_MD5, NULL));
	kb_ks_cache_put(&a, NOW); /* filled after the invalidation: live */
	CHECK(kb_ks_cache_get(a.btid, NOW, &got, KB_DIGEST_MD5, NULL));
	CHECK_MEM(&got, &a, sizeof(a));
}

static void test_bounded(void)
{
	const int cap = KB_KS_CACHE_SETS * KB_KS_CACHE_WAYS, n = 4 * cap;
	struct kb_bootstrap b, got;
	char id[64];
	int hits = 0, recent_hits = 0;
	kb_ks_cache_clear();
	for (int i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "ue-%06d@bsf.example.org", i);
		make_bootstrap(&b, id, NOW + 100, (uint8_t)i);
		kb_ks_cache_put(&b, NOW);
	}
	for (int i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "ue-%06d@bsf.example.org", i);
		if (kb_ks_cache_get(id, NOW, &got, KB_DIGEST_MD5, NULL)) {
			hits++;
			make_bootstrap(&b, id, NOW + 100, (uint8_t)i);
			CHECK_MEM(&got, &b, sizeof(b)); /* never another UE's keys */
			recent_hits += i >= n - cap;
		}
	}
	CHECK(hits <= cap);
	CHECK(hits > cap / 2); /* the sets are used, not one of them */
	CHECK(recent_hits > hits / 2); /* the newest survive */
	/* the most recent put is always there */
	snprintf(id, sizeof(id), "ue-%06d@bsf.example.org", n - 1);
	CHECK(kb_ks_cache_get(id, NOW, &got, KB_DIGEST_MD5, NULL));

	/* least recently used goes first: x used between the puts stays, y
	 * left alone is evicted */
	struct kb_bootstrap x, y;
	make_bootstrap(&x, "x@bsf.example.org", NOW + 100, 200);
	make_bootstrap(&y, "y@bsf.example.org", NOW + 100, 201);
	kb_ks_cache_put(&x, NOW);
	kb_ks_cache_put(&y, NOW);
	for (int i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "other-%06d@bsf.example.org", i);
		make_bootstrap(&b, id, NOW + 100, (uint8_t)i);
		kb_ks_cache_put(&b, NOW);
		kb_ks_cache_get(x.btid, NOW, &got, KB_DIGEST_MD5, NULL);
	}
	CHECK(kb_ks_cache_get(x.btid, NOW, &got, KB_DIGEST_MD5, NULL));
	CHECK_MEM(&got, &x, sizeof(x));
	CHECK(!kb_ks_cache_get(y.btid, NOW, &got, KB_DIGEST_MD5, NULL));
	kb_ks_cache_clear();
}

static void *other_thread(void *arg)
{
	struct kb_bootstrap got;
	bool *seen = arg;
	*seen = kb_ks_cache_get("a@bsf.example.org", NOW, &got, KB_DIGEST_MD5, NULL);
	return NULL;
}

static void test_per_thread(void)
{
	struct kb_bootstrap a, got;
	pthread_t t;
	bool seen = true;
	kb_ks_cache_clear();
	make_bootstrap(&a, "a@bsf.example.org", NOW + 100, 7);
	kb_ks_cache_put(&a, NOW);
	CHECK(pthread_create(&t, NULL, other_thread, &seen) == 0);
	pthread_join(t, NULL);
	CHECK(!seen);
	CHECK(kb_ks_cache_get(a.btid, NOW, &got, KB_DIGEST_MD5, NULL));
	kb_ks_cache_clear();
}

/* Annex B KDF with FC 0x01 and one parameter, on OpenSSL HMAC() */
static void ref_kdf(const uint8_t key[32], const char *p0, uint8_t out[32])
{
	uint8_t s[64];
	size_t n = strlen(p0);
	unsigned int len = 0;
	s[0] = 0x01;
	memcpy(s + 1, p0, n);
	s[1 + n] = (uint8_t)(n >> 8);
	s[2 + n] = (uint8_t)n;
	HMAC(EVP_sha256(), key, 32, s, 3 + n, out, &len);
}

static void test_records_source(void)
{
	char dir[] = "/tmp/kb-kscache-XXXXXX", err[256];
	struct kb_bootstrap b, got;
	uint8_t val[512], want[32];
	CHECK(mkdtemp(dir) != NULL);
	struct kb_store *st = kb_store_lmdb_open(dir, 16u << 20, err, sizeof(err));
	CHECK(st != NULL);
	if (st == NULL)
		return;
	struct kb_naf_ctx naf = {.fqdn = "bmsc.example.org"};
	struct kb_keysource *src = kb_keysource_records(st, &naf);
	CHECK(src != NULL);

	/* GBA_U with NAF keys given */
	struct kb_rec_bootstrap r = {
		.version = KB_REC_VERSION, .mode = KB_GBA_U, .expires = NOW + 100};
	snprintf(r.impi, sizeof(r.impi), "u@ims.example.org");
	memset(r.rand, 0x11, sizeof(r.rand));
	memset(r.ks_ext_naf, 0x22, sizeof(r.ks_ext_naf));
	memset(r.ks_int_naf, 0x33, sizeof(r.ks_int_naf));
	size_t vl = kb_rec_bootstrap_encode(&r, val, sizeof(val));
	CHECK(vl != 0 && st->ops->put(st, KB_ST_BOOTSTRAP, "u-btid", 6, val, vl) == 0);
	/* GBA_ME: MUK = Ks_NAF, MRK = KDF(Ks_NAF, "MBMS-MRK") */
	r.mode = KB_GBA_ME;
	memset(r.ks_int_naf, 0, sizeof(r.ks_int_naf));
	vl = kb_rec_bootstrap_encode(&r, val, sizeof(val));
	CHECK(vl != 0 && st->ops->put(st, KB_ST_BOOTSTRAP, "me-btid", 7, val, vl) == 0);

	kb_ks_cache_clear();
	CHECK(src->lookup(src, "u-btid", &b) == KB_KS_FOUND);
	memset(want, 0x33, sizeof(want)); /* Ks_int_NAF */
	CHECK_MEM(b.muk, want, 32);
	CHECK_MEM(b.mrk, r.ks_ext_naf, 32);
	kb_ks_cache_put(&b, NOW);
	CHECK(kb_ks_cache_get("u-btid", NOW, &got, KB_DIGEST_SHA256, NULL));
	CHECK_MEM(&got, &b, sizeof(b));

	CHECK(src->lookup(src, "me-btid", &b) == KB_KS_FOUND);
	ref_kdf(r.ks_ext_naf, "MBMS-MRK", want);
	CHECK_MEM(b.mrk, want, 32);
	CHECK_MEM(b.muk, r.ks_ext_naf, 32);
	kb_ks_cache_put(&b, NOW);
	CHECK(kb_ks_cache_get("me-btid", NOW, &got, KB_DIGEST_SHA256, NULL));
	CHECK_MEM(got.mrk, want, 32);
	CHECK(!kb_ks_cache_get("me-btid", NOW + 100, &got, KB_DIGEST_SHA256, NULL));

	kb_ks_cache_clear();
	kb_bootstrap_wipe(&b);
	kb_bootstrap_wipe(&got);
	src->free(src);
	st->ops->close(st);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
}

int main(void)
{
	RUN(test_hit_miss);
	RUN(test_ttl_and_expiry);
	RUN(test_invalidate);
	RUN(test_bounded);
	RUN(test_per_thread);
	RUN(test_records_source);
	return kb_check_done();
}
