#include "util/roster.h"

#include "util/hex.h"
#include "util/secret.h"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

bool kb_roster_is_header(const char *line, size_t len)
{
	size_t hl = strlen(KB_ROSTER_HEADER);
	if (len > 0 && line[len - 1] == '\r')
		len--;
	return len == hl && memcmp(line, KB_ROSTER_HEADER, hl) == 0;
}

static int fail(char *err, size_t errlen, const char *msg)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", msg);
	return -1;
}

/* Identities are printable ASCII without spaces: a NUL or a control byte
 * would be cut or misread by every consumer downstream. */
static bool printable(const char *s, long n)
{
	for (long i = 0; i < n; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return false;
	return true;
}

/* Split the next comma-separated field; returns its length or -1 at the end. */
static long next_field(const char **p, const char *end, const char **field)
{
	if (*p > end)
		return -1;
	const char *start = *p;
	const char *c = memchr(start, ',', (size_t)(end - start));
	const char *stop = c != NULL ? c : end;
	*field = start;
	*p = stop + 1;
	return stop - start;
}

int kb_roster_parse_line(const char *line, size_t len, struct kb_roster_row *row, char *err,
			 size_t errlen)
{
	if (len > 0 && line[len - 1] == '\r')
		len--;
	const char *p = line, *end = line + len, *f[5];
	long flen[5];
	for (int i = 0; i < 5; i++) {
		flen[i] = next_field(&p, end, &f[i]);
		if (flen[i] < 0)
			return fail(err, errlen, "expected 5 fields: impi,b_tid,muk,ip,port");
	}
	if (p <= end)
		return fail(err, errlen, "more than 5 fields");

	memset(row, 0, sizeof(*row));
	if (flen[0] == 0 || flen[0] >= KB_ROSTER_FIELD_MAX || !printable(f[0], flen[0]))
		return fail(err, errlen,
			    "impi: empty, longer than 127 bytes, or not printable ASCII");
	memcpy(row->impi, f[0], (size_t)flen[0]);
	if (flen[1] == 0 || flen[1] >= KB_ROSTER_FIELD_MAX || !printable(f[1], flen[1]))
		return fail(err, errlen,
			    "b_tid: empty, longer than 127 bytes, or not printable ASCII");
	memcpy(row->b_tid, f[1], (size_t)flen[1]);
	if (flen[2] != 2 * KB_MUK_LEN ||
	    kb_hex_decode(f[2], (size_t)flen[2], row->muk, sizeof(row->muk)) != KB_MUK_LEN)
		return fail(err, errlen, "muk: must be 64 hex digits");

	char ip[64];
	if (flen[3] == 0 || (size_t)flen[3] >= sizeof(ip))
		return fail(err, errlen, "ip: empty or too long");
	memcpy(ip, f[3], (size_t)flen[3]);
	ip[flen[3]] = '\0';
	if (inet_pton(AF_INET, ip, row->ip) == 1)
		row->af = AF_INET;
	else if (inet_pton(AF_INET6, ip, row->ip) == 1)
		row->af = AF_INET6;
	else
		return fail(err, errlen, "ip: not an IPv4 or IPv6 address");

	unsigned long port = 0;
	if (flen[4] == 0 || flen[4] > 5)
		return fail(err, errlen, "port: must be 1..65535");
	for (long i = 0; i < flen[4]; i++) {
		if (f[4][i] < '0' || f[4][i] > '9')
			return fail(err, errlen, "port: must be 1..65535");
		port = port * 10 + (unsigned long)(f[4][i] - '0');
	}
	if (port == 0 || port > 65535)
		return fail(err, errlen, "port: must be 1..65535");
	row->port = (uint16_t)port;
	return 0;
}

void kb_roster_gen_row(uint64_t seed, uint64_t index, struct kb_roster_row *row)
{
	uint8_t in[24] = "kbroster", h[SHA256_DIGEST_LENGTH];
	for (int i = 0; i < 8; i++) {
		in[8 + i] = (uint8_t)(seed >> (56 - 8 * i));
		in[16 + i] = (uint8_t)(index >> (56 - 8 * i));
	}
	memset(row, 0, sizeof(*row));
	SHA256(in, sizeof(in), h);
	memcpy(row->muk, h, KB_MUK_LEN);
	/* a second hash for the B-TID's RAND so that it is not a piece of the MUK */
	in[0] = 'B';
	SHA256(in, sizeof(in), h);
	char b64[32];
	EVP_EncodeBlock((unsigned char *)b64, h, 16);
	snprintf(row->impi, sizeof(row->impi), "001010%09llu@ims.mnc001.mcc001.3gppnetwork.org",
		 (unsigned long long)(index % 1000000000ull));
	snprintf(row->b_tid, sizeof(row->b_tid), "%s@bsf.mnc001.mcc001.pub.3gppnetwork.org", b64);
	kb_memzero(h, sizeof(h));

	/* 100.64.0.0/10 holds 4M hosts; past that the addresses repeat, which a
	 * roster allows (UEs behind one address are told apart by B-TID). */
	uint32_t host = (uint32_t)(index % ((1u << 22) - 2)) + 1;
	uint32_t addr = (100u << 24) | (64u << 16) | host;
	row->af = AF_INET;
	row->ip[0] = (uint8_t)(addr >> 24);
	row->ip[1] = (uint8_t)(addr >> 16);
	row->ip[2] = (uint8_t)(addr >> 8);
	row->ip[3] = (uint8_t)addr;
	row->port = 4359;
}

int kb_roster_format_row(const struct kb_roster_row *row, char *buf, size_t cap)
{
	char muk[2 * KB_MUK_LEN + 1], ip[INET6_ADDRSTRLEN];
	kb_hex_encode(row->muk, KB_MUK_LEN, muk);
	if (inet_ntop(row->af, row->ip, ip, sizeof(ip)) == NULL)
		return -1;
	int n = snprintf(buf, cap, "%s,%s,%s,%s,%u\n", row->impi, row->b_tid, muk, ip, row->port);
	kb_memzero(muk, sizeof(muk));
	return n < 0 || (size_t)n >= cap ? -1 : n;
}
