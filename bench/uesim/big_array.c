/* Per-UE arrays on transparent huge pages (see big_array.h). */
#include "big_array.h"

#include <stdint.h>
#include <sys/mman.h>

#include "util/secret.h"

static size_t bytes_of(size_t n, size_t size)
{
	if (n == 0)
		n = 1;
	if (size != 0 && n > SIZE_MAX / size)
		return 0;
	return n * size;
}

void *kb_big_array_new(size_t n, size_t size)
{
	size_t len = bytes_of(n, size);
	if (len == 0)
		return NULL;
	/* anonymous pages come zeroed and are backed only when touched */
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	(void)madvise(p, len, MADV_HUGEPAGE); /* a hint: without THP, 4 KB pages */
	return p;
}

void kb_big_array_free(void *p, size_t n, size_t size)
{
	if (p == NULL)
		return;
	size_t len = bytes_of(n, size);
	kb_memzero(p, len);
	munmap(p, len);
}
