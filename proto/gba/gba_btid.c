/* B-TID (TS 33.220 §4.5.2): base64(RAND) "@" BSF servers' domain name. */
#include "gba/gba.h"

#include "util/secret.h"

#include <openssl/evp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	if (err != NULL && errlen > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* A domain is printable ASCII without spaces or '@'; UTF-8 IDNs arrive
 * punycoded in DNS names, so rejecting bytes >= 0x7f loses nothing. */
static bool domain_ok(const char *d, size_t n)
{
	if (n == 0 || n > KB_GBA_FQDN_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)d[i];
		if (c <= 0x20 || c >= 0x7f || c == '@')
			return false;
	}
	return true;
}

long kb_gba_btid(const uint8_t rand[KB_GBA_RAND_LEN], const char *bsf_domain, char *out, size_t cap)
{
	if (rand == NULL || bsf_domain == NULL || out == NULL)
		return -1;
	size_t dn = strlen(bsf_domain);
	if (!domain_ok(bsf_domain, dn) || KB_GBA_B64_RAND_LEN + 1 + dn + 1 > cap)
		return -1;
	if (EVP_EncodeBlock((unsigned char *)out, rand, KB_GBA_RAND_LEN) != KB_GBA_B64_RAND_LEN)
		return -1;
	out[KB_GBA_B64_RAND_LEN] = '@';
	memcpy(out + KB_GBA_B64_RAND_LEN + 1, bsf_domain, dn + 1);
	return (long)(KB_GBA_B64_RAND_LEN + 1 + dn);
}

int kb_gba_btid_parse(const char *btid, uint8_t rand[KB_GBA_RAND_LEN], char *domain,
		      size_t domain_cap, char *err, size_t errlen)
{
	if (btid == NULL || rand == NULL)
		return fail(err, errlen, "b-tid: missing argument");
	const char *at = strchr(btid, '@');
	if (at == NULL)
		return fail(err, errlen, "b-tid: no '@' between base64(RAND) and the BSF domain");
	size_t b64n = (size_t)(at - btid);
	if (b64n != KB_GBA_B64_RAND_LEN)
		return fail(err, errlen,
			    "b-tid: base64(RAND) must be %d characters (16 bytes), got %zu",
			    KB_GBA_B64_RAND_LEN, b64n);
	const char *dom = at + 1;
	size_t dn = strlen(dom);
	if (dn == 0)
		return fail(err, errlen, "b-tid: empty BSF domain after '@'");
	if (!domain_ok(dom, dn))
		return fail(err, errlen,
			    "b-tid: BSF domain must be 1..%d printable characters without "
			    "spaces or '@'",
			    KB_GBA_FQDN_MAX);
	if (domain != NULL && dn + 1 > domain_cap)
		return fail(err, errlen, "b-tid: BSF domain longer than the buffer (%zu bytes)",
			    domain_cap);

	/* EVP_DecodeBlock ignores padding in its length, so decode then
	 * re-encode: only the one canonical spelling of RAND is accepted. */
	unsigned char buf[KB_GBA_B64_RAND_LEN / 4 * 3];
	char again[KB_GBA_B64_RAND_LEN + 1];
	int rc = -1;
	int n = EVP_DecodeBlock(buf, (const unsigned char *)btid, KB_GBA_B64_RAND_LEN);
	if (n != (int)sizeof(buf)) {
		fail(err, errlen, "b-tid: base64(RAND) has characters outside the base64 alphabet");
		goto out;
	}
	EVP_EncodeBlock((unsigned char *)again, buf, KB_GBA_RAND_LEN);
	if (memcmp(again, btid, KB_GBA_B64_RAND_LEN) != 0) {
		fail(err, errlen, "b-tid: base64(RAND) is not the canonical encoding of 16 bytes");
		goto out;
	}
	memcpy(rand, buf, KB_GBA_RAND_LEN);
	if (domain != NULL)
		memcpy(domain, dom, dn + 1);
	rc = 0;
out:
	kb_memzero(buf, sizeof(buf));
	return rc;
}
