/* Where GBA keys come from (the BSF side of Zn). A key source answers one
 * question: for this B-TID, which subscriber, which keys, until when. Two
 * built-in sources: bootstrap records provisioned through the admin API
 * (kept in the store) and a BSF simulator that bootstraps subscribers from
 * MILENAGE data. A real Zn client implements the same vtable. */
#ifndef KB_KEYSOURCE_H
#define KB_KEYSOURCE_H

#include <stdbool.h>
#include <stdint.h>

#include "digest/digest.h"
#include "gba/gba.h"
#include "records.h"

struct kb_store;

/* What a lookup yields: the NAF keys already turned into MBMS keys
 * (TS 33.246: MUK protects MSK messages, base64(MRK) is the Digest
 * password). Wipe with kb_bootstrap_wipe. */
struct kb_bootstrap {
	char btid[KB_GBA_BTID_MAX];
	char impi[KB_IMPI_MAX];
	uint8_t rand[KB_GBA_RAND_LEN];
	enum kb_gba_mode mode;
	uint8_t muk[KB_GBA_KEY_LEN];
	uint8_t mrk[KB_GBA_KEY_LEN];
	int64_t expires; /* unix seconds: end of the Ks (and Ks_NAF) lifetime */
};

void kb_bootstrap_wipe(struct kb_bootstrap *b);

#define KB_KS_FOUND 0
#define KB_KS_UNKNOWN 1
#define KB_KS_ERR (-1)

struct kb_keysource {
	const char *name;
	/* Fill *out for btid. KB_KS_FOUND, KB_KS_UNKNOWN or KB_KS_ERR. Expiry
	 * is the caller's decision (kb_bootstrap_usable). Thread-safe. */
	int (*lookup)(struct kb_keysource *src, const char *btid, struct kb_bootstrap *out);
	void (*free)(struct kb_keysource *src);
	void *ctx;
};

/* The BM-SC identity the NAF keys are derived for (NAF_Id = fqdn ‖ Ua id of
 * MBMS) and the GBA_ME MRK derivation (NULL: the profile default). */
struct kb_naf_ctx {
	const char *fqdn;
	kb_gba_mrk_fn mrk_fn;
};

/* Source 1: kb_rec_bootstrap records in the store (table KB_ST_BOOTSTRAP). */
struct kb_keysource *kb_keysource_records(struct kb_store *st, const struct kb_naf_ctx *naf);

/* Source 2: BSF simulator. Subscribers (IMPI, K, OPc) live in the store
 * (KB_ST_SUBSCRIBER); kb_bsfsim_bootstrap runs the BSF side of a bootstrap
 * (fresh RAND, MILENAGE, Ks = CK ‖ IK) and remembers the B-TID in memory
 * for `lifetime` seconds. */
struct kb_keysource *kb_keysource_bsfsim(struct kb_store *st, const struct kb_naf_ctx *naf,
					 const char *bsf_domain, uint32_t lifetime);
/* Returns 0 and the B-TID and RAND (public values) for a new bootstrap of
 * impi, KB_KS_UNKNOWN for an unknown subscriber, or KB_KS_ERR. rand may be
 * NULL (random) or fixed (tests). */
int kb_bsfsim_bootstrap(struct kb_keysource *src, const char *impi, const uint8_t *rand_in,
			char btid[KB_GBA_BTID_MAX], uint8_t rand_out[KB_GBA_RAND_LEN]);

/* Turn Ks or the NAF keys of a record into MUK/MRK (shared by the sources). */
int kb_bootstrap_from_record(const struct kb_rec_bootstrap *rec, const char *btid,
			     const struct kb_naf_ctx *naf, struct kb_bootstrap *out);

/* Whether the keys may be used now. TS 33.246 §6.3.2.2.4 (seed 004): the
 * BM-SC may use a MUK beyond the Ks_NAF lifetime for the first message of a
 * solicited pull only, so that use passes for_solicited_pull = true. */
bool kb_bootstrap_usable(const struct kb_bootstrap *b, int64_t now, bool for_solicited_pull);

/* ---- Per-thread cache of recent lookups --------------------------------
 * A lookup costs a store read and a key derivation (and the Digest HA1 a
 * hash); a UE sends several requests in a row, so each thread keeps its
 * recent successful lookups: bounded (KB_KS_CACHE_SETS x KB_KS_CACHE_WAYS
 * entries, least recently used evicted), each valid for KB_KS_CACHE_TTL
 * seconds, never past the bootstrap's expiry, and dropped by
 * kb_ks_cache_invalidate. Keys are wiped on eviction and at thread exit.
 * A store change reaches a thread's cache within KB_KS_CACHE_TTL seconds,
 * or at once if the writer calls kb_ks_cache_invalidate. */
#define KB_KS_CACHE_SETS 128
#define KB_KS_CACHE_WAYS 4
#define KB_KS_CACHE_TTL 2

/* A hit: true, *out filled; if ha1_hex is not NULL and the HA1 of alg was
 * cached, it is copied there (KB_DIGEST_HEX_MAX), else ha1_hex[0] = NUL.
 * An entry past its TTL or its bootstrap's expiry is wiped: a miss. */
bool kb_ks_cache_get(const char *btid, int64_t now, struct kb_bootstrap *out,
		     enum kb_digest_alg alg, char *ha1_hex);
/* Remember a usable bootstrap (an expired one is not cached). */
void kb_ks_cache_put(const struct kb_bootstrap *b, int64_t now);
/* Attach the HA1 of alg to btid's entry, if the thread has one. */
void kb_ks_cache_put_ha1(const char *btid, enum kb_digest_alg alg, const char *ha1_hex);
/* Every thread's entries become misses (their keys are wiped on the next
 * access or eviction): call after a bootstrap record changes or goes, or a
 * UE deregisters. */
void kb_ks_cache_invalidate(void);
/* Wipe this thread's entries now (tests, shutdown). */
void kb_ks_cache_clear(void);

#endif
