/* keyburst-uesim: options, the run loop's bookkeeping (progress, the stop
 * rule, the JSON summary) shared by the DPDK and the kernel-socket modes. */
#ifndef KB_UESIM_H
#define KB_UESIM_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ptm_rx.h"
#include "ue_state.h"

enum kb_uesim_mode { KB_UESIM_MODE_DPDK, KB_UESIM_MODE_SOCK };

struct kb_uesim_opts {
	const char *roster;
	enum kb_uesim_mode mode;
	bool has_expect;
	uint32_t expect_msk_id;
	double duration; /* run time, or the timeout with until_all; 0 = until a signal */
	bool until_all;
	double linger_s; /* with until_all: quiet time before exiting */
	uint32_t delay_us;
	uint32_t delay_queue; /* acks that may wait at once */
	double progress_s; /* 0 = no progress lines */
	const char *json_out; /* NULL = stdout */
	uint16_t udp_port; /* where MSK messages arrive (4359) */
	struct kb_uesim_knobs knobs;
	bool ref_crypto; /* --crypto openssl: the reference path, one message at a time */
	double load_s; /* how long the roster took to load (set by main, reported) */
	/* sock mode */
	const char *bind_addr; /* IPv4 or IPv6 literal */
	/* dpdk mode */
	uint16_t port_id;
	uint32_t n_mbufs;
	uint16_t burst;
	double port_wait_s; /* retry starting the port this long (a memif server not up yet) */
	struct kb_ptm_opts ptm; /* the PTM receiver (ptm_rx.h), off unless asked for */
};

/* Set by SIGINT/SIGTERM. */
extern volatile sig_atomic_t kb_uesim_stop;

struct kb_uesim_run {
	struct kb_uesim *sim;
	const struct kb_uesim_opts *o;
	double t0, t_end, next_progress, t_done;
	uint64_t last_rx;
	double last_t;
	bool all_hold;
	uint64_t seen_rx;
	double t_active; /* when the last message arrived */
	uint64_t delay_overflow; /* acks sent at once because the delay queue was full */
	uint64_t tx_fail; /* acks the transport could not send */
	uint64_t rx_other; /* frames/datagrams that were not for us (ARP, other ports) */
	struct kb_ptm_rx *ptm; /* NULL: no PTM receiver in this run */
};

double kb_uesim_now(void);
void kb_uesim_run_start(struct kb_uesim_run *r, struct kb_uesim *sim,
			const struct kb_uesim_opts *o);
/* Progress on stderr when due; true when the loop must end (a signal, the
 * deadline, or every UE holding the target MSK with until_all). */
bool kb_uesim_run_tick(struct kb_uesim_run *r);
/* The MSK ID the run waits for: --expect-msk-id, else the newest seen. */
bool kb_uesim_target(const struct kb_uesim_run *r, uint32_t *msk_id, uint64_t *holders);
/* Print the JSON summary; returns the exit status. */
int kb_uesim_run_finish(struct kb_uesim_run *r);

int kb_uesim_run_sock(struct kb_uesim *sim, const struct kb_uesim_opts *o);
#ifdef KB_UESIM_DPDK
int kb_uesim_run_dpdk(struct kb_uesim *sim, const struct kb_uesim_opts *o);
#endif

#endif
