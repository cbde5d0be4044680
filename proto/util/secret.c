#include "util/secret.h"

#include <openssl/crypto.h>
#include <string.h>

void kb_memzero(void *p, size_t n)
{
	if (p != NULL && n != 0)
		explicit_bzero(p, n);
}

bool kb_ct_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}
