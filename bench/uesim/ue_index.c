#include "ue_index.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <string.h>
#if defined(__SSE4_2__) && defined(__x86_64__)
#include <nmmintrin.h>
#endif

/* SHA-256 fetched once per thread: OpenSSL 3's one-shot SHA256() fetches the
 * algorithm on every call, which costs more than the hash of a B-TID. */
static _Thread_local EVP_MD *sha256;
static _Thread_local EVP_MD_CTX *sha_ctx;

void kb_ue_btid_key(const uint8_t *btid, size_t len, uint8_t key[KB_UE_BTID_KEY_LEN])
{
	uint8_t h[SHA256_DIGEST_LENGTH];
	unsigned hlen = 0;
	if (sha256 == NULL)
		sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (sha_ctx == NULL)
		sha_ctx = EVP_MD_CTX_new();
	if (sha256 == NULL || sha_ctx == NULL || EVP_DigestInit_ex(sha_ctx, sha256, NULL) != 1 ||
	    EVP_DigestUpdate(sha_ctx, btid, len) != 1 ||
	    EVP_DigestFinal_ex(sha_ctx, h, &hlen) != 1 || hlen != sizeof(h))
		SHA256(btid, len, h); /* out of memory: the slow way still works */
	memcpy(key, h, KB_UE_BTID_KEY_LEN);
}

void kb_ue_index_find_csb_bulk(const struct kb_ue_index *idx, const uint32_t *csb_ids, unsigned n,
			       uint32_t *rows)
{
	if (idx->ops->find_csb_bulk != NULL && n <= KB_UE_INDEX_BULK_MAX) {
		idx->ops->find_csb_bulk(idx->ctx, csb_ids, n, rows);
		return;
	}
	for (unsigned i = 0; i < n; i++)
		rows[i] = idx->ops->find_csb(idx->ctx, csb_ids[i]);
}

#if defined(__SSE4_2__) && defined(__x86_64__)
/* CRC32C 8 bytes at a time (one 3-cycle instruction each): the tag is
 * computed for every message of a known SA, so it must cost a few ns. */
uint32_t kb_ue_btid_tag(const uint8_t *btid, size_t len)
{
	uint64_t h = 0x9e3779b9u ^ len;
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		uint64_t w;
		memcpy(&w, btid + i, 8);
		h = _mm_crc32_u64(h, w);
	}
	uint64_t w = 0;
	memcpy(&w, btid + i, len - i);
	return (uint32_t)_mm_crc32_u64(h, w ^ ((uint64_t)(len - i) << 56));
}
#else
/* 8 bytes at a time through the murmur3 64-bit finaliser's multipliers:
 * B-TIDs are ~40-60 bytes, so this is a handful of multiplies. */
static uint64_t mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

uint32_t kb_ue_btid_tag(const uint8_t *btid, size_t len)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ len;
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		uint64_t w;
		memcpy(&w, btid + i, 8);
		h = mix64(h ^ w) + i;
	}
	uint64_t w = 0;
	memcpy(&w, btid + i, len - i);
	return (uint32_t)mix64(h ^ w ^ ((uint64_t)(len - i) << 56));
}
#endif
