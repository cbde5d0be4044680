/* keyburst-uesim <EAL args> -- --roster R.csv [options]: N simulated UEs
 * that receive MIKEY MSK messages, check them as real UEs do, keep the MSKs
 * and answer with verification messages. See docs/uesim.md. */
#include "uesim.h"
#include "uesim_http.h"

#include "util/secret.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef KB_UESIM_DPDK
#include <rte_eal.h>
#include "ue_index_rte.h"
#endif

static int usage(FILE *out)
{
	fprintf(out,
		"usage: keyburst-uesim [EAL args --] --roster R.csv [options]\n"
		"Simulates every UE of the roster (keyburst roster gen): checks each MIKEY MSK\n"
		"message (structure, MAC, decryption, counter above the last accepted),\n"
		"stores up to two MSKs per key group and answers with verification messages.\n"
		"\n"
		"  --roster FILE        the UEs (CSV impi,b_tid,muk,ip,port)            "
		"[required]\n"
		"  --mode dpdk|sock     DPDK port (memif, af_packet, any NIC) or kernel UDP\n"
		"                       socket; sock needs no EAL args              [dpdk]\n"
		"  --expect-msk-id HEX  the MSK ID (key group||key number, 8 hex digits) every\n"
		"                       UE must end up holding           [the newest seen]\n"
		"  --until-all          exit 0 once every UE holds it (see --linger); 1 when\n"
		"                       --duration runs out first\n"
		"  --linger S           with --until-all, keep answering until no message\n"
		"                       came for S seconds (retransmissions of lost acks) [1]\n"
		"  --duration S         run time in seconds, or the timeout with --until-all;\n"
		"                       0 = until SIGINT/SIGTERM          [0; 60 with "
		"--until-all]\n"
		"  --drop-msg F         fraction of MSK messages ignored (downlink loss)   [0]\n"
		"  --drop-ack F         fraction of acks not sent (uplink loss)            [0]\n"
		"  --forge-ack F        fraction of acks sent with a wrong MAC instead     [0]\n"
		"  --dup-ack F          fraction of acks sent twice                        [0]\n"
		"  --delay-us N         hold every ack N microseconds before sending       [0]\n"
		"  --delay-queue N      acks that may wait at once                   [1048576]\n"
		"  --seed N             seed of the knobs' random choices                  [1]\n"
		"  --udp-port N         UDP port MSK messages arrive on                 [4359]\n"
		"  --progress S         progress line on stderr every S seconds, 0 = off   [1]\n"
		"  --json FILE          write the JSON summary there              [stdout]\n"
		"  --crypto ipsec-mb|openssl  check in IPsec-MB bursts, or one message at\n"
		"                       a time with the OpenSSL reference      [ipsec-mb]\n"
		"sock mode:\n"
		"  --bind ADDR          local address to listen on               [0.0.0.0]\n"
		"dpdk mode:\n"
		"  --eth-port N         ethdev port id                                     [0]\n"
		"  --mbufs N            mbufs in the pool                              [16383]\n"
		"  --burst N            rx/tx burst size, <= 64                           [64]\n"
		"  --port-wait S        retry starting the port for S seconds (a memif\n"
		"                       server still loading)                         [10]\n");
	fputs(KB_PTM_USAGE, out);
	fputs("\n"
	      "Exit status: 0 ok; 1 --until-all not reached or UEs got different keys for\n"
	      "one MSK ID, or the PTM receiver saw a bad message or an incomplete object;\n"
	      "2 bad usage or setup failure.\n",
	      out);
	fputc('\n', out);
	kb_uesim_http_usage(out);
	return out == stdout ? 0 : 2;
}

static int parse_frac(const char *name, const char *s, double *v)
{
	char *end;
	errno = 0;
	*v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || end == s || !(*v >= 0.0 && *v <= 1.0)) {
		fprintf(stderr, "keyburst-uesim: %s must be a fraction 0..1\n", name);
		return -1;
	}
	return 0;
}

static int parse_ull(const char *name, const char *s, unsigned long long max, unsigned long long *v)
{
	char *end;
	errno = 0;
	*v = strtoull(s, &end, 0);
	if (errno != 0 || *end != '\0' || end == s || *s == '-' || *v > max) {
		fprintf(stderr, "keyburst-uesim: %s must be an integer 0..%llu\n", name, max);
		return -1;
	}
	return 0;
}

static int parse_secs(const char *name, const char *s, double *v)
{
	char *end;
	errno = 0;
	*v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || end == s || !(*v >= 0.0) || !isfinite(*v)) {
		fprintf(stderr, "keyburst-uesim: %s must be seconds >= 0\n", name);
		return -1;
	}
	return 0;
}

static int parse_opts(int argc, char **argv, struct kb_uesim_opts *o)
{
	enum {
		O_ROSTER = 256,
		O_MODE,
		O_EXPECT,
		O_UNTIL,
		O_LINGER,
		O_DURATION,
		O_DROP_MSG,
		O_DROP_ACK,
		O_FORGE,
		O_DUP,
		O_DELAY,
		O_DELAY_Q,
		O_SEED,
		O_UDP_PORT,
		O_PROGRESS,
		O_JSON,
		O_BIND,
		O_ETH_PORT,
		O_MBUFS,
		O_BURST,
		O_CRYPTO,
		O_PORT_WAIT,
		O_HELP,
	};
	static const struct option opts[] = {
		{"roster", required_argument, NULL, O_ROSTER},
		{"mode", required_argument, NULL, O_MODE},
		{"expect-msk-id", required_argument, NULL, O_EXPECT},
		{"until-all", no_argument, NULL, O_UNTIL},
		{"linger", required_argument, NULL, O_LINGER},
		{"duration", required_argument, NULL, O_DURATION},
		{"drop-msg", required_argument, NULL, O_DROP_MSG},
		{"drop-ack", required_argument, NULL, O_DROP_ACK},
		{"forge-ack", required_argument, NULL, O_FORGE},
		{"dup-ack", required_argument, NULL, O_DUP},
		{"delay-us", required_argument, NULL, O_DELAY},
		{"delay-queue", required_argument, NULL, O_DELAY_Q},
		{"seed", required_argument, NULL, O_SEED},
		{"udp-port", required_argument, NULL, O_UDP_PORT},
		{"progress", required_argument, NULL, O_PROGRESS},
		{"json", required_argument, NULL, O_JSON},
		{"bind", required_argument, NULL, O_BIND},
		{"eth-port", required_argument, NULL, O_ETH_PORT},
		{"mbufs", required_argument, NULL, O_MBUFS},
		{"burst", required_argument, NULL, O_BURST},
		{"crypto", required_argument, NULL, O_CRYPTO},
		{"port-wait", required_argument, NULL, O_PORT_WAIT},
		{"help", no_argument, NULL, O_HELP},
		KB_PTM_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	unsigned long long u;
	bool has_duration = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case O_ROSTER:
			o->roster = optarg;
			break;
		case O_MODE:
			if (strcmp(optarg, "dpdk") == 0) {
				o->mode = KB_UESIM_MODE_DPDK;
			} else if (strcmp(optarg, "sock") == 0) {
				o->mode = KB_UESIM_MODE_SOCK;
			} else {
				fprintf(stderr, "keyburst-uesim: --mode is dpdk or sock\n");
				return -1;
			}
			break;
		case O_EXPECT: {
			char *end;
			errno = 0;
			unsigned long v = strtoul(optarg, &end, 16);
			if (errno != 0 || *end != '\0' || end == optarg || strlen(optarg) > 8) {
				fprintf(stderr, "keyburst-uesim: --expect-msk-id is up to 8 hex "
						"digits\n");
				return -1;
			}
			o->has_expect = true;
			o->expect_msk_id = (uint32_t)v;
			break;
		}
		case O_UNTIL:
			o->until_all = true;
			break;
		case O_LINGER:
			if (parse_secs("--linger", optarg, &o->linger_s) != 0)
				return -1;
			break;
		case O_DURATION:
			if (parse_secs("--duration", optarg, &o->duration) != 0)
				return -1;
			has_duration = true;
			break;
		case O_DROP_MSG:
			if (parse_frac("--drop-msg", optarg, &o->knobs.drop_msg) != 0)
				return -1;
			break;
		case O_DROP_ACK:
			if (parse_frac("--drop-ack", optarg, &o->knobs.drop_ack) != 0)
				return -1;
			break;
		case O_FORGE:
			if (parse_frac("--forge-ack", optarg, &o->knobs.forge_ack) != 0)
				return -1;
			break;
		case O_DUP:
			if (parse_frac("--dup-ack", optarg, &o->knobs.dup_ack) != 0)
				return -1;
			break;
		case O_DELAY:
			if (parse_ull("--delay-us", optarg, 60000000ull, &u) != 0)
				return -1;
			o->delay_us = (uint32_t)u;
			break;
		case O_DELAY_Q:
			if (parse_ull("--delay-queue", optarg, 1ull << 30, &u) != 0 || u == 0)
				return -1;
			o->delay_queue = (uint32_t)u;
			break;
		case O_SEED:
			if (parse_ull("--seed", optarg, UINT64_MAX, &u) != 0)
				return -1;
			o->knobs.seed = u;
			break;
		case O_UDP_PORT:
			if (parse_ull("--udp-port", optarg, 65535, &u) != 0 || u == 0)
				return -1;
			o->udp_port = (uint16_t)u;
			break;
		case O_PROGRESS:
			if (parse_secs("--progress", optarg, &o->progress_s) != 0)
				return -1;
			break;
		case O_JSON:
			o->json_out = optarg;
			break;
		case O_BIND:
			o->bind_addr = optarg;
			break;
		case O_ETH_PORT:
			if (parse_ull("--eth-port", optarg, 65535, &u) != 0)
				return -1;
			o->port_id = (uint16_t)u;
			break;
		case O_MBUFS:
			if (parse_ull("--mbufs", optarg, 1ull << 24, &u) != 0 || u < 1023)
				return -1;
			o->n_mbufs = (uint32_t)u;
			break;
		case O_BURST:
			if (parse_ull("--burst", optarg, 64, &u) != 0 || u == 0)
				return -1;
			o->burst = (uint16_t)u;
			break;
		case O_PORT_WAIT:
			if (parse_secs("--port-wait", optarg, &o->port_wait_s) != 0)
				return -1;
			break;
		case O_CRYPTO:
			if (strcmp(optarg, "ipsec-mb") == 0) {
				o->ref_crypto = false;
			} else if (strcmp(optarg, "openssl") == 0) {
				o->ref_crypto = true;
			} else {
				fprintf(stderr,
					"keyburst-uesim: --crypto is ipsec-mb or openssl\n");
				return -1;
			}
			break;
		case O_HELP:
			usage(stdout);
			exit(0);
		default:
			if (kb_ptm_opt(&o->ptm, c, optarg) == 0)
				break;
			return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "keyburst-uesim: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (o->roster == NULL) {
		fprintf(stderr, "keyburst-uesim: --roster is required\n");
		return -1;
	}
	if (o->until_all && !has_duration)
		o->duration = 60;
	return 0;
}

static void on_signal(int sig)
{
	(void)sig;
	kb_uesim_stop = 1;
}

int main(int argc, char **argv)
{
	struct kb_uesim_opts o = {
		.mode = KB_UESIM_MODE_DPDK,
		.delay_queue = 1u << 20,
		.progress_s = 1,
		.linger_s = 1,
		.udp_port = 4359,
		.knobs = {.seed = 1},
		.bind_addr = "0.0.0.0",
		.n_mbufs = 16383,
		/* a whole burst per IPsec-MB call: ~13% less CPU per message than 32 */
		.burst = 64,
		.port_wait_s = 10,
	};
	/* http mode (uesim_http.c) has options of its own and no EAL */
	if (kb_uesim_http_wanted(argc, argv))
		return kb_uesim_http_main(argc, argv);
	/* EAL args, if any, end at "--"; ours follow */
	int split = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			split = i;
			break;
		}
	}
	int my_argc = split ? argc - split : argc;
	char **my_argv = split ? argv + split : argv;
	if (split)
		my_argv[0] = argv[0];
	if (parse_opts(my_argc, my_argv, &o) != 0)
		return usage(stderr);

	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	struct kb_uesim sim;
	char err[256];
	int rc = 2;
	double t_load = kb_uesim_now();
	if (o.mode == KB_UESIM_MODE_SOCK || o.ptm.pcap != NULL) {
		if (kb_uesim_load_roster(&sim, o.roster, kb_ue_index_glib, &o.knobs, err,
					 sizeof(err)) != 0) {
			fprintf(stderr, "keyburst-uesim: %s\n", err);
			return 2;
		}
		o.load_s = kb_uesim_now() - t_load;
		rc = o.ptm.pcap != NULL ? kb_ptm_run_pcap(&sim, &o) : kb_uesim_run_sock(&sim, &o);
		kb_uesim_free(&sim);
		return rc;
	}
#ifdef KB_UESIM_DPDK
	int eal_argc = split ? split : 1;
	if (rte_eal_init(eal_argc, argv) < 0) {
		fprintf(stderr, "keyburst-uesim: EAL init failed\n");
		return 2;
	}
	/* EAL installs nothing for these, but a PMD could: ours win */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	t_load = kb_uesim_now();
	if (kb_uesim_load_roster(&sim, o.roster, kb_ue_index_rte, &o.knobs, err, sizeof(err)) !=
	    0) {
		fprintf(stderr, "keyburst-uesim: %s\n", err);
		rte_eal_cleanup();
		return 2;
	}
	o.load_s = kb_uesim_now() - t_load;
	fprintf(stderr, "uesim: %u UEs loaded in %.2f s\n", sim.n_ue, o.load_s);
	rc = kb_uesim_run_dpdk(&sim, &o);
	kb_uesim_free(&sim);
	rte_eal_cleanup();
	return rc;
#else
	fprintf(stderr, "keyburst-uesim: built without DPDK; use --mode sock\n");
	return 2;
#endif
}
