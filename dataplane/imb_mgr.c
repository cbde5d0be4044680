#include "imb_mgr.h"

#include <stdio.h>

IMB_MGR *kb_imb_mgr_new(const char *who)
{
	IMB_MGR *m = alloc_mb_mgr(0);

	if (m == NULL) {
		fprintf(stderr, "%s: alloc_mb_mgr failed\n", who);
		return NULL;
	}
	init_mb_mgr_auto(m, NULL);
	if (imb_get_errno(m) != 0) {
		fprintf(stderr, "%s: init_mb_mgr_auto: %s\n", who,
			imb_get_strerror(imb_get_errno(m)));
		free_mb_mgr(m);
		return NULL;
	}
	return m;
}

const char *kb_imb_arch_name(const IMB_MGR *m)
{
	static const char *const names[] = {
		[IMB_ARCH_NONE] = "none", [IMB_ARCH_NOAESNI] = "noaesni",
		[IMB_ARCH_SSE] = "sse",   [IMB_ARCH_AVX] = "avx",
		[IMB_ARCH_AVX2] = "avx2", [IMB_ARCH_AVX512] = "avx512",
	};
	unsigned a = (unsigned)m->used_arch;

	return a < sizeof(names) / sizeof(names[0]) && names[a] != NULL ? names[a] : "unknown";
}
