/* SA records: everything the sealer needs, precomputed once per MUK on the
 * control plane (ARCHITECTURE.md decision 2). */
#include "sa.h"

#include "imb_mgr.h"

#include <intel-ipsec-mb.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "util/secret.h"

_Static_assert(sizeof(struct kb_sa_record) == 6 * KB_SA_LINE, "a record is 6 whole lines");
_Static_assert(KB_SA_SEAL_BYTES <= 4 * KB_SA_LINE, "the sealer reads lines 0-3 only");
_Static_assert(offsetof(struct kb_sa_record, salt) + 16 <= offsetof(struct kb_sa_record, csb_id),
	       "the sealer loads salt as 16 bytes");

/* Key expansion and the HMAC pad states need an IMB_MGR. Records are built on
 * control-plane threads, which have no sealer of their own, so each such
 * thread lazily allocates one manager on first use; it is freed by the
 * thread-exit destructor, or explicitly with kb_sa_thread_release(). */
static pthread_key_t mgr_key;
static pthread_once_t mgr_once = PTHREAD_ONCE_INIT;
static int mgr_key_ok;

static void mgr_destroy(void *p)
{
	free_mb_mgr(p);
}

static void mgr_key_init(void)
{
	mgr_key_ok = pthread_key_create(&mgr_key, mgr_destroy) == 0;
}

static IMB_MGR *thread_mgr(void)
{
	IMB_MGR *m;

	if (pthread_once(&mgr_once, mgr_key_init) != 0 || !mgr_key_ok)
		return NULL;
	m = pthread_getspecific(mgr_key);
	if (m != NULL)
		return m;
	m = kb_imb_mgr_new("kb_sa_record_build");
	if (m == NULL)
		return NULL;
	if (pthread_setspecific(mgr_key, m) != 0) {
		free_mb_mgr(m);
		return NULL;
	}
	return m;
}

void kb_sa_thread_release(void)
{
	IMB_MGR *m;

	if (pthread_once(&mgr_once, mgr_key_init) != 0 || !mgr_key_ok)
		return;
	m = pthread_getspecific(mgr_key);
	if (m == NULL)
		return;
	pthread_setspecific(mgr_key, NULL);
	free_mb_mgr(m);
}

int kb_sa_record_build(struct kb_sa_record *rec, const uint8_t *muk, size_t muk_len,
		       uint32_t csb_id, const uint8_t rand[KB_MIKEY_RAND_LEN], const char *idr,
		       uint16_t key_group, const struct kb_ue_addr *addr, unsigned n_shards)
{
	struct kb_mikey_tkeys tk;
	uint8_t dec_keys[16 * 11] __attribute__((aligned(16)));
	size_t idr_len = idr != NULL ? strlen(idr) : 0;
	IMB_MGR *m;
	int rc = -1;

	if (rec == NULL)
		return -1;
	/* zero everything, padding included: records are compared and hashed */
	memset(rec, 0, sizeof(*rec));
	if (rand == NULL || idr_len > KB_SA_ID_MAX || n_shards > 256)
		return -1;
	m = thread_mgr();
	if (m == NULL) {
		fprintf(stderr, "kb_sa_record_build: no IPsec-MB manager\n");
		return -1;
	}
	if (kb_mikey_derive_tkeys(muk, muk_len, csb_id, rand, KB_MIKEY_RAND_LEN, &tk) != 0)
		goto out;

	IMB_AES_KEYEXP_128(m, tk.encr, rec->aes_enc_keys, dec_keys);
	/* the SHA-1 states after key^ipad / key^opad: what IPsec-MB's HMAC jobs
	 * take (1.3 has no helper for it) */
	if (kb_hmac_sha1_pad_state(tk.auth, sizeof(tk.auth), 0x36, rec->hmac_ipad) != 0 ||
	    kb_hmac_sha1_pad_state(tk.auth, sizeof(tk.auth), 0x5c, rec->hmac_opad) != 0)
		goto out;
	memcpy(rec->salt, tk.salt, sizeof(rec->salt));
	memcpy(rec->rand, rand, KB_MIKEY_RAND_LEN);
	rec->csb_id = csb_id;
	rec->key_group = key_group;
	rec->idr_len = (uint8_t)idr_len;
	if (idr_len != 0)
		memcpy(rec->idr, idr, idr_len);
	rec->shard = (uint8_t)kb_sa_shard(csb_id, n_shards);
	if (addr != NULL)
		rec->addr = *addr;
	rc = 0;
out:
	kb_memzero(&tk, sizeof(tk));
	kb_memzero(dec_keys, sizeof(dec_keys));
	if (rc != 0)
		kb_memzero(rec, sizeof(*rec));
	return rc;
}

unsigned kb_sa_shard(uint32_t csb_id, unsigned n_shards)
{
	uint32_t h = csb_id;

	if (n_shards <= 1)
		return 0;
	/* murmur3 finaliser: csb_ids are often sequential, so mix all bits
	 * before the multiply-shift range reduction (no modulo bias to speak
	 * of, no division) */
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return (unsigned)(((uint64_t)h * n_shards) >> 32);
}
