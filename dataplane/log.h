/* keyburstd logging: rte_log with a registered type "keyburst.dp". Never
 * pass key material to these macros. */
#ifndef KB_DP_LOG_H
#define KB_DP_LOG_H

#include <rte_log.h>

extern int kb_logtype;

#define KB_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, kb_logtype, "keyburst: " fmt "\n", ##__VA_ARGS__)

#endif
