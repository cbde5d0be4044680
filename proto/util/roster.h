/* The roster CSV: one provisioned UE per row.
 *   impi,b_tid,muk,ip,port
 * muk is 32 bytes in hex (GBA_ME: MUK = Ks_NAF); ip is IPv4 or IPv6. */
#ifndef KB_ROSTER_H
#define KB_ROSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KB_ROSTER_HEADER "impi,b_tid,muk,ip,port"
#define KB_ROSTER_FIELD_MAX 128
#define KB_MUK_LEN 32

struct kb_roster_row {
	char impi[KB_ROSTER_FIELD_MAX];
	char b_tid[KB_ROSTER_FIELD_MAX];
	uint8_t muk[KB_MUK_LEN];
	int af; /* AF_INET or AF_INET6 */
	uint8_t ip[16]; /* network order; the first 4 bytes for IPv4 */
	uint16_t port;
};

/* True if the line (without its newline) is the CSV header. */
bool kb_roster_is_header(const char *line, size_t len);

/* Parse one data row (without its newline; a trailing '\r' is accepted).
 * Returns 0, or -1 with a message naming the bad field in err. */
int kb_roster_parse_line(const char *line, size_t len, struct kb_roster_row *row, char *err,
			 size_t errlen);

/* Deterministic synthetic UE number `index` for `seed`: the same pair always
 * gives the same row. Addresses come from 100.64.0.0/10 (carrier-grade NAT
 * space, where UEs live); they are only ever written to virtual devices. */
void kb_roster_gen_row(uint64_t seed, uint64_t index, struct kb_roster_row *row);

/* Format a row as CSV with a trailing newline. Returns its length, or -1 if
 * it does not fit in cap. */
int kb_roster_format_row(const struct kb_roster_row *row, char *buf, size_t cap);

#endif
