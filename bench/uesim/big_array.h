/* The UE simulator's per-UE arrays (UE records, SA keys: hundreds of bytes
 * per UE, gigabytes at 10M UEs), in anonymous memory marked for
 * transparent huge pages: every message touches a random UE, and on 4 KB
 * pages that is a TLB miss per record (THP is often in "madvise" mode, so
 * plain malloc memory never gets huge pages). Zeroed, like calloc. */
#ifndef KB_BIG_ARRAY_H
#define KB_BIG_ARRAY_H

#include <stddef.h>

/* n * size bytes, zeroed, or NULL (overflow, no memory). */
void *kb_big_array_new(size_t n, size_t size);
/* Wipes (the arrays hold keys) and unmaps; p may be NULL. */
void kb_big_array_free(void *p, size_t n, size_t size);

#endif
