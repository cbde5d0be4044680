/* Handling of key material: wiping and constant-time comparison. */
#ifndef KB_SECRET_H
#define KB_SECRET_H

#include <stdbool.h>
#include <stddef.h>

/* Wipe a buffer that held key material; never optimised away. */
void kb_memzero(void *p, size_t n);

/* Constant-time equality of two buffers of the same length (MACs, digests). */
bool kb_ct_equal(const void *a, const void *b, size_t n);

#endif
