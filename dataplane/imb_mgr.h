/* IPsec-MB managers: every burst engine (MSK sealer, SRTP protect, the UE
 * simulator's opener) and the SA builder take one per thread, on the best
 * code path the CPU offers. */
#ifndef KB_IMB_MGR_H
#define KB_IMB_MGR_H

#include <intel-ipsec-mb.h>

/* Allocate and initialise a manager (init_mb_mgr_auto). On failure, says
 * why on stderr prefixed with `who`, and returns NULL. */
IMB_MGR *kb_imb_mgr_new(const char *who);

/* The code path a manager runs: "avx512", "avx2", "avx", "sse", ... */
const char *kb_imb_arch_name(const IMB_MGR *m);

#endif
