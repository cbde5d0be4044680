/* Shared by the keyburst pcap commands (cmd_pcap.c, cmd_pcap_acks.c): the
 * roster as a B-TID-sorted table of MUKs, Ethernet/IP/UDP frame parsing and
 * opening an Ethernet capture. */
#ifndef KB_PCAP_COMMON_H
#define KB_PCAP_COMMON_H

#include "util/roster.h"

#include <pcap/pcap.h>
#include <stddef.h>
#include <stdint.h>

struct kb_pcap_ue {
	char b_tid[KB_ROSTER_FIELD_MAX];
	uint8_t muk[KB_MUK_LEN];
};

/* The roster's UEs, sorted by B-TID. */
struct kb_pcap_roster {
	struct kb_pcap_ue *ues;
	size_t n;
};

/* Load the roster CSV; errors are printed to stderr after "who: ".
 * Returns 0, or -1 (the table may hold rows read so far: free it). */
int kb_pcap_roster_load(struct kb_pcap_roster *r, const char *path, const char *who);

/* Index of the UE whose B-TID is idr, or -1. */
long kb_pcap_roster_find(const struct kb_pcap_roster *r, const uint8_t *idr, uint16_t len);

/* Wipe the MUKs and free the table. */
void kb_pcap_roster_free(struct kb_pcap_roster *r);

/* A parsed Ethernet (optionally one VLAN tag) / IPv4 or IPv6 / UDP frame. */
struct kb_pcap_frame {
	const uint8_t *eth;
	uint8_t af; /* 4 or 6 */
	const uint8_t *ip_src, *ip_dst;
	uint16_t sport, dport;
	const uint8_t *payload;
	size_t len;
};

/* Returns 0, or -1 if the frame is not UDP over IPv4/IPv6 over Ethernet. */
int kb_pcap_parse_frame(const uint8_t *f, size_t len, struct kb_pcap_frame *fr);

/* Open a capture file and check it is Ethernet; errors are printed to stderr
 * after "who: ". Returns NULL on error. */
pcap_t *kb_pcap_open_eth(const char *path, const char *who);

#endif
