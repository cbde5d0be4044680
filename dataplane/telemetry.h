/* DPDK telemetry commands (dpdk-telemetry.py -f <file-prefix>):
 *   /keyburst/stats     counters summed over the dataplane lcores
 *   /keyburst/lcores    the same per lcore, plus busy time
 *   /keyburst/rollover  per service: MSK ID, UEs, sent, acked, pending, ... */
#ifndef KB_DP_TELEMETRY_H
#define KB_DP_TELEMETRY_H

struct kb_dp;

int kb_telemetry_register(struct kb_dp *dp);

#endif
