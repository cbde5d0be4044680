/* Telemetry commands (see telemetry.h). Reads counters that their lcores
 * write with plain stores: 64-bit aligned loads, so never torn on x86-64. */
#include "telemetry.h"

#include "lcore.h"
#include "rollover.h"

#include <stdio.h>
#include <string.h>

#include <rte_telemetry.h>

static struct kb_dp *g_dp;

static void sum_stats(struct kb_lcore_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned l = 0; l < g_dp->n_lcores; l++) {
		const struct kb_lcore_stats *s = &g_dp->lc[l]->st;
#define X(name) out->name += __atomic_load_n(&s->name, __ATOMIC_RELAXED);
		KB_LCORE_STATS(X)
#undef X
	}
}

static void add_stats(struct rte_tel_data *d, const struct kb_lcore_stats *s)
{
#define X(name) rte_tel_data_add_dict_u64(d, #name, s->name);
	KB_LCORE_STATS(X)
#undef X
}

static int cmd_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	(void)params;
	struct kb_lcore_stats s;
	sum_stats(&s);
	rte_tel_data_start_dict(d);
	add_stats(d, &s);
	rte_tel_data_add_dict_u64(d, "lcores", g_dp->n_lcores);
	rte_tel_data_add_dict_u64(d, "counter_limit",
				  __atomic_load_n(&g_dp->ctr_limit, __ATOMIC_RELAXED));
	return 0;
}

static int cmd_lcores(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	(void)params;
	rte_tel_data_start_dict(d);
	for (unsigned l = 0; l < g_dp->n_lcores; l++) {
		const struct kb_lcore *lc = g_dp->lc[l];
		struct rte_tel_data *c = rte_tel_data_alloc();
		if (c == NULL)
			return -1;
		rte_tel_data_start_dict(c);
		rte_tel_data_add_dict_u64(c, "lcore_id", lc->lcore_id);
		rte_tel_data_add_dict_u64(c, "ues", lc->sh.n_ue);
		rte_tel_data_add_dict_u64(c, "busy_cycles", lc->busy_tsc);
		add_stats(c, &lc->st);
		char name[32];
		snprintf(name, sizeof(name), "shard%u", l);
		rte_tel_data_add_dict_container(d, name, c, 0);
	}
	return 0;
}

static int cmd_rollover(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	(void)params;
	rte_tel_data_start_dict(d);
	for (unsigned i = 0; i < g_dp->svc->n; i++) {
		struct kb_rollover_progress p;
		kb_rollover_progress(g_dp, i, &p);
		struct rte_tel_data *c = rte_tel_data_alloc();
		if (c == NULL)
			return -1;
		char msk[16];
		snprintf(msk, sizeof(msk), "%08x", p.msk_id);
		rte_tel_data_start_dict(c);
		rte_tel_data_add_dict_u64(c, "key_group", g_dp->svc->s[i].cfg.key_group);
		rte_tel_data_add_dict_string(c, "msk_id", msk);
		rte_tel_data_add_dict_string(c, "state",
					     p.active ? "running"
					     : p.done ? "done"
						      : "idle");
		rte_tel_data_add_dict_u64(c, "ues", p.ues);
		rte_tel_data_add_dict_u64(c, "sent", p.sent);
		rte_tel_data_add_dict_u64(c, "acked", p.acked);
		rte_tel_data_add_dict_u64(c, "pending", p.pending);
		rte_tel_data_add_dict_u64(c, "retried", p.retried);
		rte_tel_data_add_dict_u64(c, "failed", p.failed);
		rte_tel_data_add_dict_u64(c, "rate_msgs_per_s", (uint64_t)p.rate_msgs_per_s);
		rte_tel_data_add_dict_container(d, g_dp->svc->s[i].cfg.name, c, 0);
	}
	return 0;
}

int kb_telemetry_register(struct kb_dp *dp)
{
	g_dp = dp;
	int rc = rte_telemetry_register_cmd("/keyburst/stats", cmd_stats,
					    "keyburstd counters over all lcores");
	rc |= rte_telemetry_register_cmd("/keyburst/lcores", cmd_lcores,
					 "keyburstd counters per dataplane lcore");
	rc |= rte_telemetry_register_cmd("/keyburst/rollover", cmd_rollover,
					 "MSK rollover progress per service");
	return rc;
}
