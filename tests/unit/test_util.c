#include "check.h"

#include "util/hex.h"
#include "util/roster.h"
#include "util/secret.h"

#include <arpa/inet.h>

static void test_hex(void)
{
	uint8_t out[4];
	char enc[9];
	CHECK(kb_hex_decode("00fFa5", 6, out, sizeof(out)) == 3);
	CHECK(out[0] == 0x00 && out[1] == 0xff && out[2] == 0xa5);
	CHECK(kb_hex_decode("abc", 3, out, sizeof(out)) == -1);
	CHECK(kb_hex_decode("zz", 2, out, sizeof(out)) == -1);
	CHECK(kb_hex_decode("0011223344", 10, out, sizeof(out)) == -1);
	kb_hex_encode(out, 3, enc);
	CHECK(strcmp(enc, "00ffa5") == 0);
}

static void test_secret(void)
{
	uint8_t a[20] = {1, 2, 3}, b[20] = {1, 2, 3};
	CHECK(kb_ct_equal(a, b, sizeof(a)));
	b[19] ^= 1;
	CHECK(!kb_ct_equal(a, b, sizeof(a)));
	kb_memzero(a, sizeof(a));
	for (size_t i = 0; i < sizeof(a); i++)
		CHECK(a[i] == 0);
}

static void test_roster_roundtrip(void)
{
	struct kb_roster_row gen, parsed, again;
	char line[512], err[128];
	kb_roster_gen_row(42, 7, &gen);
	kb_roster_gen_row(42, 7, &again);
	CHECK(memcmp(&gen, &again, sizeof(gen)) == 0); /* deterministic */
	kb_roster_gen_row(42, 8, &again);
	CHECK(memcmp(gen.muk, again.muk, sizeof(gen.muk)) != 0);
	kb_roster_gen_row(43, 7, &again);
	CHECK(memcmp(gen.muk, again.muk, sizeof(gen.muk)) != 0);

	int n = kb_roster_format_row(&gen, line, sizeof(line));
	CHECK(n > 0 && line[n - 1] == '\n');
	CHECK(kb_roster_parse_line(line, (size_t)n - 1, &parsed, err, sizeof(err)) == 0);
	CHECK(strcmp(parsed.impi, gen.impi) == 0);
	CHECK(strcmp(parsed.b_tid, gen.b_tid) == 0);
	CHECK_MEM(parsed.muk, gen.muk, sizeof(gen.muk));
	CHECK(parsed.af == AF_INET && memcmp(parsed.ip, gen.ip, 4) == 0);
	CHECK(parsed.ip[0] == 100 && (parsed.ip[1] & 0xc0) == 64);
	CHECK(parsed.port == 4359);
	CHECK(kb_roster_is_header(KB_ROSTER_HEADER, strlen(KB_ROSTER_HEADER)));
	CHECK(!kb_roster_is_header(line, (size_t)n - 1));
}

static void test_roster_errors(void)
{
	struct kb_roster_row r;
	char err[128];
	const char *muk = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
	char line[512];

	snprintf(line, sizeof(line), "impi,btid,%s,2001:db8::1,4359\r", muk);
	CHECK(kb_roster_parse_line(line, strlen(line), &r, err, sizeof(err)) == 0);
	CHECK(r.af == AF_INET6 && r.ip[0] == 0x20 && r.ip[15] == 1);

	snprintf(line, sizeof(line), "impi,btid,%s,10.0.0.1", muk);
	CHECK(kb_roster_parse_line(line, strlen(line), &r, err, sizeof(err)) == -1);
	CHECK(strstr(err, "5 fields") != NULL);
	snprintf(line, sizeof(line), "impi,btid,%s,10.0.0.1,4359,x", muk);
	CHECK(kb_roster_parse_line(line, strlen(line), &r, err, sizeof(err)) == -1);
	snprintf(line, sizeof(line), "impi,btid,%.62s,10.0.0.1,4359", muk);
	CHECK(kb_roster_parse_line(line, strlen(line), &r, err, sizeof(err)) == -1);
	CHECK(strstr(err, "muk") != NULL);
	snprintf(line, sizeof(line), "impi,btid,%s,10.0.0.300,4359", muk);
	CHECK(kb_roster_parse_line(line, strlen(line), &r, err, sizeof(err)) == -1);
	CHECK(strstr(err, "ip") != NULL);
	snprintf(line, sizeof(line), "impi,btid,%s,10.0.0.1,65536", muk);
	CHECK(kb_roster_parse_line(line, strlen(line), &r, err, sizeof(err)) == -1);
	CHECK(strstr(err, "port") != NULL);
	snprintf(line, sizeof(line), ",btid,%s,10.0.0.1,1", muk);
	CHECK(kb_roster_parse_line(line, strlen(line), &r, err, sizeof(err)) == -1);
	CHECK(kb_roster_parse_line("", 0, &r, err, sizeof(err)) == -1);
	/* found by fuzz_roster_csv: a NUL inside an identity was accepted */
	snprintf(line, sizeof(line), "impi,b%ctid,%s,10.0.0.1,1", 1, muk);
	CHECK(kb_roster_parse_line(line, strlen(line), &r, err, sizeof(err)) == -1);
	CHECK(strstr(err, "b_tid") != NULL);
	char nul[] = "i\0pi,btid,x,10.0.0.1,1";
	nul[1] = '\0';
	CHECK(kb_roster_parse_line(nul, sizeof(nul) - 1, &r, err, sizeof(err)) == -1);
}

int main(void)
{
	RUN(test_hex);
	RUN(test_secret);
	RUN(test_roster_roundtrip);
	RUN(test_roster_errors);
	return kb_check_done();
}
