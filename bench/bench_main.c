/* kb_bench: keyburst's benchmark suite. Our own options come first and are
 * removed before Google Benchmark parses the rest:
 *   --kb-small          tiny sizes only (the integration test: checks it runs)
 *   --kb-no-eal         skip the DPDK benchmarks (key table, cryptodev)
 *   --kb-eal="ARGS"     EAL arguments (default below)
 *   --kb-cold-ues=N     the cold population (default 1048576)
 *   --kb-keytable-max=N the largest key table (default 10000000)
 * Everything else is Google Benchmark's (--benchmark_filter, _format=json,
 * _repetitions, _min_time, ...). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef KB_BENCH_DPDK
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_version.h>
#endif
#include <intel-ipsec-mb.h>
#include <openssl/opensslv.h>

#include "bench.h"
#include "bench_common.h"

struct kb_bench_cfg kb_bench_cfg = {
	.cold_ues = 1u << 20,
	.hot_ues = 1024,
	.keytable_max = 10000000,
};

static char default_eal[160];

int kb_bench_eal(void)
{
#ifdef KB_BENCH_DPDK
	static int state; /* 0 not tried, 1 up, -1 failed */
	char *argv[64], *copy;
	int argc = 0;

	if (state != 0)
		return state > 0 ? 0 : -1;
	state = -1;
	if (kb_bench_cfg.no_eal)
		return -1;
	copy = strdup(kb_bench_cfg.eal_args);
	if (copy == NULL)
		return -1;
	argv[argc++] = "kb_bench";
	for (char *tok = strtok(copy, " "); tok != NULL && argc < 63; tok = strtok(NULL, " "))
		argv[argc++] = tok;
	argv[argc] = NULL;
	if (rte_eal_init(argc, argv) < 0) {
		fprintf(stderr, "kb_bench: rte_eal_init(%s): %s\n", kb_bench_cfg.eal_args,
			rte_strerror(rte_errno));
		return -1;
	}
	state = 1;
	return 0;
#else
	return -1;
#endif
}

static int opt(const char *arg, const char *name, const char **val)
{
	size_t n = strlen(name);

	if (strncmp(arg, name, n) != 0)
		return 0;
	if (arg[n] == '\0') {
		*val = NULL;
		return 1;
	}
	if (arg[n] != '=')
		return 0;
	*val = arg + n + 1;
	return 1;
}

int main(int argc, char **argv)
{
	char ipsecmb[32];
	int out = 1;

	/* a unique file prefix: several bench or test processes may run at once */
	snprintf(default_eal, sizeof(default_eal),
		 "--no-huge --no-pci -m 10240 --file-prefix kbbench%ld -l 0 --log-level=error "
		 "--vdev crypto_aesni_mb",
		 (long)getpid());
	kb_bench_cfg.eal_args = default_eal;
	for (int i = 1; i < argc; i++) {
		const char *v;

		if (opt(argv[i], "--kb-small", &v)) {
			kb_bench_cfg.small = true;
		} else if (opt(argv[i], "--kb-no-eal", &v)) {
			kb_bench_cfg.no_eal = true;
		} else if (opt(argv[i], "--kb-eal", &v) && v != NULL) {
			kb_bench_cfg.eal_args = v;
		} else if (opt(argv[i], "--kb-cold-ues", &v) && v != NULL) {
			kb_bench_cfg.cold_ues = (uint32_t)strtoul(v, NULL, 0);
		} else if (opt(argv[i], "--kb-keytable-max", &v) && v != NULL) {
			kb_bench_cfg.keytable_max = (uint32_t)strtoul(v, NULL, 0);
		} else {
			argv[out++] = argv[i];
			continue;
		}
	}
	argc = out;
	argv[argc] = NULL;
	if (kb_bench_cfg.small) {
		kb_bench_cfg.cold_ues = 4096;
		kb_bench_cfg.hot_ues = 256;
		if (kb_bench_cfg.keytable_max > 65536)
			kb_bench_cfg.keytable_max = 65536;
	}
#ifndef KB_BENCH_DPDK
	kb_bench_cfg.no_eal = true;
#endif

	snprintf(ipsecmb, sizeof(ipsecmb), "%s", imb_get_version_str());
	kb_bench_add_context("kb_ipsec_mb", ipsecmb);
	kb_bench_add_context("kb_openssl", OPENSSL_VERSION_TEXT);
#ifdef KB_BENCH_DPDK
	kb_bench_add_context("kb_dpdk", rte_version());
#endif
	kb_bench_add_context("kb_eal_args", kb_bench_cfg.no_eal ? "" : kb_bench_cfg.eal_args);

	kb_bench_register_primitives();
	kb_bench_register_seal();
	kb_bench_register_cryptodev();
	kb_bench_register_ack();
	kb_bench_register_prf();
	kb_bench_register_decode();
	kb_bench_register_digest();
	kb_bench_register_keytable();
	kb_bench_register_srtp();
	return kb_bench_run(argc, argv);
}
