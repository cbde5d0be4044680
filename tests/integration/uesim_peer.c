/* A tiny BM-SC built from proto/ only, to drive keyburst-uesim in kernel
 * socket mode while keyburstd is not the sender: it seals one MSK message
 * per roster UE with the OpenSSL reference, sends it over UDP, verifies the
 * acks (kb_ref_verify_ack), retransmits to the UEs without a valid ack with a
 * fresh counter, and injects replays, bad MACs and garbage on request.
 *   uesim_peer ROSTER HOST PORT MSK_ID_HEX REPLAYS BADMACS GARBAGE
 * Prints a JSON line; exit 0 when every UE acked. */
#include "mikey/mikey_codec.h"
#include "mikey/mikey_ref.h"
#include "util/roster.h"
#include "util/secret.h"

#include <arpa/inet.h>
#include <openssl/rand.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CSB_BASE 0x10000u
#define ROUNDS 40

static const char idi[] = "bmsc.example.org";

struct ue {
	char btid[KB_ROSTER_FIELD_MAX];
	uint8_t rand[16];
	struct kb_mikey_tkeys tk;
	uint32_t counter; /* last sent */
	int acked;
};

static struct ue *ues;
static uint32_t n_ue;
static uint64_t good_acks, forged_refused, bad_acks;
static uint32_t n_acked;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static size_t seal(struct kb_ref_ctx *c, uint32_t i, uint32_t counter, uint32_t msk_id,
		   const uint8_t *msk, const struct kb_mikey_tkeys *tk, uint8_t *buf)
{
	struct kb_msk_msg_params p = {
		.csb_id = CSB_BASE + i,
		.counter = counter,
		.rand = ues[i].rand,
		.idi = (const uint8_t *)idi,
		.idi_len = sizeof(idi) - 1,
		.idr = (const uint8_t *)ues[i].btid,
		.idr_len = (uint16_t)strlen(ues[i].btid),
		.domain = {0x62, 0xf2, 0x10},
		.msk_id = msk_id,
		.msk = msk,
		.v = true,
	};
	size_t len = 0;
	if (kb_ref_seal_msk_ctx(c, buf, KB_MIKEY_MSG_MAX, &p, tk, &len) != 0) {
		fprintf(stderr, "uesim_peer: seal failed\n");
		exit(2);
	}
	return len;
}

static void drain(int fd, struct kb_ref_ctx *c, int timeout_ms)
{
	uint8_t buf[512];
	struct pollfd p = {.fd = fd, .events = POLLIN};
	while (poll(&p, 1, timeout_ms) > 0) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n <= 0)
			break;
		struct kb_mikey_msg m;
		struct kb_mikey_error err;
		uint32_t i;
		if (kb_mikey_decode(buf, (size_t)n, &m, &err) != 0 || m.csb_id < CSB_BASE ||
		    (i = m.csb_id - CSB_BASE) >= n_ue || !m.has_t) {
			bad_acks++;
			continue;
		}
		/* valid only under the SA's keys and for a counter we sent */
		if (kb_ref_verify_ack_ctx(c, buf, &m, (const uint8_t *)idi, sizeof(idi) - 1,
					  (const uint8_t *)ues[i].btid,
					  (uint16_t)strlen(ues[i].btid), &ues[i].tk) != 0) {
			forged_refused++;
			continue;
		}
		if (m.t_value == 0 || m.t_value > ues[i].counter) {
			bad_acks++;
			continue;
		}
		good_acks++;
		if (!ues[i].acked) {
			ues[i].acked = 1;
			n_acked++;
		}
	}
}

int main(int argc, char **argv)
{
	if (argc != 8) {
		fprintf(stderr, "usage: uesim_peer ROSTER HOST PORT MSK_ID_HEX REPLAYS BADMACS "
				"GARBAGE\n");
		return 2;
	}
	uint32_t msk_id = (uint32_t)strtoul(argv[4], NULL, 16);
	unsigned replays = (unsigned)atoi(argv[5]), badmacs = (unsigned)atoi(argv[6]),
		 garbage = (unsigned)atoi(argv[7]);
	FILE *f = fopen(argv[1], "r");
	if (f == NULL) {
		perror(argv[1]);
		return 2;
	}
	char line[1024];
	size_t cap = 1024;
	ues = calloc(cap, sizeof(*ues));
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t len = strcspn(line, "\r\n");
		struct kb_roster_row r;
		char err[128];
		if (len == 0 || kb_roster_is_header(line, len))
			continue;
		if (kb_roster_parse_line(line, len, &r, err, sizeof(err)) != 0) {
			fprintf(stderr, "uesim_peer: %s\n", err);
			return 2;
		}
		if (n_ue == cap) {
			cap *= 2;
			ues = realloc(ues, cap * sizeof(*ues));
		}
		struct ue *u = &ues[n_ue];
		memset(u, 0, sizeof(*u));
		snprintf(u->btid, sizeof(u->btid), "%s", r.b_tid);
		RAND_bytes(u->rand, sizeof(u->rand));
		kb_mikey_derive_tkeys(r.muk, KB_MUK_LEN, CSB_BASE + n_ue, u->rand, 16, &u->tk);
		kb_memzero(&r, sizeof(r));
		n_ue++;
	}
	fclose(f);

	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	int big = 32 << 20;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big));
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[3]))};
	if (inet_pton(AF_INET, argv[2], &to.sin_addr) != 1 ||
	    connect(fd, (struct sockaddr *)&to, sizeof(to)) != 0) {
		perror("uesim_peer: connect");
		return 2;
	}
	struct kb_ref_ctx *c = kb_ref_ctx_new();
	uint8_t msk[16], buf[KB_MIKEY_MSG_MAX];
	RAND_bytes(msk, sizeof(msk));
	double t0 = now();
	unsigned rounds = 0;
	uint64_t sent = 0;
	for (; rounds < ROUNDS && n_acked < n_ue; rounds++) {
		for (uint32_t i = 0; i < n_ue; i++) {
			if (ues[i].acked)
				continue;
			size_t len = seal(c, i, ++ues[i].counter, msk_id, msk, &ues[i].tk, buf);
			while (send(fd, buf, len, 0) < 0)
				drain(fd, c, 1);
			sent++;
			if (sent % 256 == 0)
				drain(fd, c, 0);
		}
		/* the junk, once, after the first round: the UEs must refuse it */
		for (unsigned k = 0; rounds == 0 && k < replays; k++) {
			uint32_t i = k % n_ue;
			size_t len = seal(c, i, 1, msk_id, msk, &ues[i].tk, buf);
			send(fd, buf, len, 0);
		}
		for (unsigned k = 0; rounds == 0 && k < badmacs; k++) {
			uint32_t i = k % n_ue;
			struct kb_mikey_tkeys wrong = ues[i].tk;
			wrong.auth[0] ^= 1;
			size_t len = seal(c, i, ues[i].counter + 1000, msk_id, msk, &wrong, buf);
			send(fd, buf, len, 0);
		}
		for (unsigned k = 0; rounds == 0 && k < garbage; k++) {
			RAND_bytes(buf, 100);
			send(fd, buf, 20 + k % 80, 0);
		}
		drain(fd, c, 300);
	}
	drain(fd, c, 300); /* late duplicates and forged acks */
	printf("{\"ues\": %u, \"acked\": %u, \"rounds\": %u, \"sent\": %llu, \"good_acks\": %llu, "
	       "\"forged_refused\": %llu, \"bad_acks\": %llu, \"seconds\": %.3f}\n",
	       n_ue, n_acked, rounds, (unsigned long long)sent, (unsigned long long)good_acks,
	       (unsigned long long)forged_refused, (unsigned long long)bad_acks, now() - t0);
	kb_ref_ctx_free(c);
	kb_memzero(ues, n_ue * sizeof(*ues));
	free(ues);
	close(fd);
	return n_acked == n_ue ? 0 : 1;
}
