/* Shared by the digest files only: OpenSSL objects fetched once per process
 * and contexts kept per thread, so a request does not pay for an algorithm
 * lookup (EVP_MD_fetch / EVP_MAC_fetch take a global lock) or a context
 * allocation on every hash. */
#ifndef KB_DIGEST_INTERNAL_H
#define KB_DIGEST_INTERNAL_H

#include <openssl/evp.h>
#include <stdint.h>

#include "digest/digest.h"

/* The EVP_MD of alg's H() (fetched once, process lifetime), or NULL. */
const EVP_MD *kb_digest_md(enum kb_digest_alg alg);
/* The HMAC EVP_MAC (fetched once), or NULL. */
EVP_MAC *kb_digest_hmac(void);

/* This thread's contexts, freed when the thread exits. mac is keyed for
 * the nonce MAC of the server whose id is mac_owner (0: not keyed). */
struct kb_digest_tls {
	EVP_MD_CTX *md;
	EVP_MAC_CTX *mac;
	uint64_t mac_owner;
};
/* NULL only when out of memory. */
struct kb_digest_tls *kb_digest_tls(void);

#endif
