/* The PTM receiver of keyburst-uesim (issue 7): what a UE does with a PTM
 * push service. Per service (multicast group + data port, MTK messages on
 * the group's MIKEY port) it opens every MTK message with an MSK that the
 * simulated UE --ptm-ue holds (ue_state.h slots: uesim is the UE, it never
 * gets keys from elsewhere), applies the MIKEY replay rule (the counter
 * strictly increases per MSK), unprotects the SRTP packets with the MTK and
 * salt (proto/srtp's reference, kb_srtp_ref_unprotect), reassembles the
 * objects (kb_push_rx), writes them to --ptm-out and reports them in the
 * JSON summary with their SHA-256.
 *
 * Inputs: whole frames (DPDK mode, and --ptm-pcap captures read with
 * libpcap), or UDP payloads from joined sockets (sock mode). */
#ifndef KB_UESIM_PTM_RX_H
#define KB_UESIM_PTM_RX_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KB_PTM_MAX_GROUPS 8
#define KB_PTM_MAX_MSKS 4

/* Option codes (getopt_long values) and the options themselves, so that
 * uesim_main.c only splices them into its table. */
enum {
	KB_PTM_OPT_GROUP = 0x1000,
	KB_PTM_OPT_MTK_PORT,
	KB_PTM_OPT_UE,
	KB_PTM_OPT_OUT,
	KB_PTM_OPT_PCAP,
	KB_PTM_OPT_MSK,
};
#define KB_PTM_LONGOPTS                                                         \
	{"ptm-group", required_argument, NULL, KB_PTM_OPT_GROUP},               \
		{"ptm-mtk-port", required_argument, NULL, KB_PTM_OPT_MTK_PORT}, \
		{"ptm-ue", required_argument, NULL, KB_PTM_OPT_UE},             \
		{"ptm-out", required_argument, NULL, KB_PTM_OPT_OUT},           \
		{"ptm-pcap", required_argument, NULL, KB_PTM_OPT_PCAP},         \
	{                                                                       \
		"ptm-msk", required_argument, NULL, KB_PTM_OPT_MSK              \
	}
#define KB_PTM_USAGE                                                                       \
	"PTM receiver (a push service's MTK messages and SRTP content):\n"                 \
	"  --ptm-group ADDR:PORT  join this multicast group, SRTP on PORT ([v6]:PORT);\n"  \
	"                       repeatable                                       [none]\n" \
	"  --ptm-mtk-port N     the groups' MIKEY (MTK message) port             [4359]\n" \
	"  --ptm-ue ROW         roster row of the UE whose MSKs open MTK messages   [0]\n" \
	"  --ptm-out DIR        write each complete object as DIR/push-ID.bin\n"           \
	"  --ptm-pcap FILE      offline: read a capture instead of a port (no EAL):\n"     \
	"                       unicast MSK messages to --udp-port go to the UEs first,\n" \
	"                       then the multicast frames to the receiver\n"               \
	"  --ptm-msk DOM:ID:KEY give the --ptm-ue UE an MSK (hex: domain 6, MSK ID 8,\n"   \
	"                       key 32 digits), as if it came in an MSK message\n"

struct kb_ptm_group {
	int af;
	uint8_t addr[16];
	uint16_t data_port;
};

struct kb_ptm_opts {
	struct kb_ptm_group groups[KB_PTM_MAX_GROUPS];
	unsigned n_groups;
	uint16_t mtk_port; /* 0 = 4359 */
	uint32_t ue_row;
	const char *out_dir;
	const char *pcap;
	struct {
		uint8_t domain[3];
		uint32_t msk_id;
		uint8_t key[16];
	} msks[KB_PTM_MAX_MSKS];
	unsigned n_msks;
};

/* One option (a KB_PTM_OPT_* code). 0, or -1 (message on stderr, or an
 * unknown code: the caller's usage error). */
int kb_ptm_opt(struct kb_ptm_opts *p, int code, const char *arg);
/* Is the receiver wanted at all? */
bool kb_ptm_enabled(const struct kb_ptm_opts *p);

struct kb_uesim;
struct kb_uesim_opts;
struct kb_uesim_run;
struct kb_ptm_rx;

/* The receiver for a run (NULL in *out when no --ptm-* option asks for it).
 * Hands the --ptm-msk keys to the UE. 0, or -1 (stderr says why). */
int kb_ptm_rx_new(struct kb_uesim *sim, const struct kb_uesim_opts *o, struct kb_ptm_rx **out);
void kb_ptm_rx_free(struct kb_ptm_rx *rx);

/* A whole Ethernet frame whose destination MAC is a multicast one (DPDK,
 * pcap). The frame may be modified (SRTP is unprotected in place). */
void kb_ptm_rx_frame(struct kb_ptm_rx *rx, uint8_t *frame, size_t len);

/* Sock mode. Opens one socket per (group, MTK port) and (group, data port),
 * joined on --bind's interface, and stops ue_fd (the UE model's socket,
 * bound to the wildcard) from getting the groups' traffic. 0 or -1. */
int kb_ptm_rx_sock_open(struct kb_ptm_rx *rx, const char *bind_addr, int ue_fd);
/* Fill pollfds (POLLIN) for the receiver's sockets; returns how many (at
 * most KB_PTM_MAX_FDS). */
#define KB_PTM_MAX_FDS (2 * KB_PTM_MAX_GROUPS)
unsigned kb_ptm_rx_pollfds(const struct kb_ptm_rx *rx, struct pollfd *pollfds);
/* Read what the sockets marked readable in pollfds hold (nonblocking). */
void kb_ptm_rx_sock_input(struct kb_ptm_rx *rx, const struct pollfd *pollfds);

#ifdef KB_UESIM_DPDK
/* Let the port take the groups' frames: allmulticast, else the groups'
 * multicast MACs as the port's list. */
void kb_ptm_rx_dpdk_port(struct kb_ptm_rx *rx, uint16_t port_id);
#endif

/* The --ptm-pcap run: UE model first, then the receiver. Exit status. */
int kb_ptm_run_pcap(struct kb_uesim *sim, const struct kb_uesim_opts *o);

/* Add "ptm" to the summary. */
struct json_t;
void kb_ptm_rx_json(const struct kb_ptm_rx *rx, struct json_t *summary);
/* Everything clean: MTK messages opened, no bad/replayed message, every
 * SRTP packet unprotected, every object complete. */
bool kb_ptm_rx_ok(const struct kb_ptm_rx *rx);

#endif
