/* keyburst wire profile v1 (docs/wire-profile.md). The MSK writer is on the
 * dataplane's hot path, so it writes bytes directly instead of going through
 * the generic kb_mikey_writer; test_mikey_codec proves both give the same
 * bytes. */
#include "mikey/mikey_profile.h"

#include "mikey/mikey_codec.h"
#include "util/be.h"

#include <string.h>

/* Fixed sizes of the profile's payloads. */
#define EXT_MSK_LEN 15 /* NP type len(2) | 00 03 domain(3) | 01 04 msk_id(4) */
#define EXT_MTK_LEN 19 /* ... | 02 02 mtk_id(2) */
#define T_LEN 6 /* NP type counter(4) */
#define RAND_PL_LEN (2 + KB_MIKEY_RAND_LEN)
#define ID_HDR_LEN 4
#define KEMAC_FIXED (4 + 1 + KB_MIKEY_MAC_LEN)
#define MSK_KD_LEN (4 + KB_MSK_LEN + 1 + 4) /* NP type|kv len(2) key SPI-len SPI */
#define MTK_KD_LEN (4 + KB_MTK_LEN + 2 + KB_MIKEY_SALT_LEN + 1 + 2)

static uint8_t *put_hdr(uint8_t *p, uint8_t data_type, uint8_t next, bool v, uint32_t csb_id)
{
	p[0] = 1;
	p[1] = data_type;
	p[2] = next;
	p[3] = v ? 0x80 : 0x00; /* PRF 0 = MIKEY-1 */
	kb_put32(p + 4, csb_id);
	p[8] = 0; /* #CS */
	p[9] = 1; /* empty map: no map info, no SP */
	return p + KB_MIKEY_HDR_LEN;
}

static uint8_t *put_t(uint8_t *p, uint8_t next, uint32_t counter)
{
	p[0] = next;
	p[1] = 2; /* COUNTER */
	kb_put32(p + 2, counter);
	return p + T_LEN;
}

static uint8_t *put_rand(uint8_t *p, uint8_t next, const uint8_t *rand)
{
	p[0] = next;
	p[1] = KB_MIKEY_RAND_LEN;
	memcpy(p + 2, rand, KB_MIKEY_RAND_LEN);
	return p + RAND_PL_LEN;
}

/* memcpy for the short variable-length fields (IDs, <= 255 bytes): a libc
 * call per field costs more than the copy. Fixed-size 16/8/4-byte moves
 * (single vector or scalar moves), the last one overlapping the previous:
 * never reads or writes outside [0, n). */
static inline void copy_short(uint8_t *dst, const uint8_t *src, size_t n)
{
	if (n >= 16) {
		size_t i = 0;

		for (; i + 16 <= n; i += 16)
			memcpy(dst + i, src + i, 16);
		if (i != n)
			memcpy(dst + n - 16, src + n - 16, 16);
	} else if (n >= 8) {
		memcpy(dst, src, 8);
		memcpy(dst + n - 8, src + n - 8, 8);
	} else if (n >= 4) {
		memcpy(dst, src, 4);
		memcpy(dst + n - 4, src + n - 4, 4);
	} else {
		for (size_t i = 0; i < n; i++)
			dst[i] = src[i];
	}
}

static uint8_t *put_id(uint8_t *p, uint8_t next, const uint8_t *id, uint16_t len)
{
	p[0] = next;
	p[1] = 1; /* URI */
	kb_put16(p + 2, len);
	copy_short(p + 4, id, len);
	return p + ID_HDR_LEN + len;
}

static bool ids_ok(const struct kb_msk_msg_params *p)
{
	return p->idi_len <= KB_MIKEY_ID_MAX && p->idr_len <= KB_MIKEY_ID_MAX &&
	       (p->idi != NULL || p->idi_len == 0) && (p->idr != NULL || p->idr_len == 0);
}

size_t kb_msk_msg_len(const struct kb_msk_msg_params *p)
{
	return KB_MIKEY_HDR_LEN + EXT_MSK_LEN + T_LEN + (p->rand != NULL ? RAND_PL_LEN : 0) +
	       2 * ID_HDR_LEN + p->idi_len + p->idr_len + KEMAC_FIXED +
	       (p->msk != NULL ? MSK_KD_LEN : 0);
}

int kb_msk_msg_write(uint8_t *buf, size_t cap, const struct kb_msk_msg_params *p,
		     struct kb_mikey_layout *lay)
{
	bool pull = p->msk == NULL;
	/* a solicited pull names the current MSK of the key group: key number 0 */
	uint32_t msk_id = pull ? p->msk_id & 0xffff0000u : p->msk_id;
	size_t len;
	uint8_t *q = buf;

	if (buf == NULL || !ids_ok(p))
		return -1;
	len = kb_msk_msg_len(p);
	if (len > cap)
		return -1;

	q = put_hdr(q, KB_MIKEY_DT_PSK_INIT, KB_MIKEY_PT_GENEXT, pull ? false : p->v, p->csb_id);
	q[0] = KB_MIKEY_PT_T;
	q[1] = 3; /* Key ID */
	kb_put16(q + 2, EXT_MSK_LEN - 4);
	q[4] = 0;
	q[5] = 3;
	memcpy(q + 6, p->domain, 3);
	q[9] = 1;
	q[10] = 4;
	kb_put32(q + 11, msk_id);
	q += EXT_MSK_LEN;
	lay->t_off = (size_t)(q - buf) + 2;
	q = put_t(q, p->rand != NULL ? KB_MIKEY_PT_RAND : KB_MIKEY_PT_ID, p->counter);
	if (p->rand != NULL)
		q = put_rand(q, KB_MIKEY_PT_ID, p->rand);
	q = put_id(q, KB_MIKEY_PT_ID, p->idi, p->idi_len);
	q = put_id(q, KB_MIKEY_PT_KEMAC, p->idr, p->idr_len);

	q[0] = KB_MIKEY_PT_LAST;
	q[1] = 1; /* AES-CM-128 */
	kb_put16(q + 2, pull ? 0 : MSK_KD_LEN);
	q += 4;
	lay->encr_off = (size_t)(q - buf);
	lay->encr_len = pull ? 0 : MSK_KD_LEN;
	if (!pull) {
		q[0] = KB_MIKEY_PT_LAST; /* one key data sub-payload */
		q[1] = 0 << 4 | 1; /* TGK, KV = SPI */
		kb_put16(q + 2, KB_MSK_LEN);
		memcpy(q + 4, p->msk, KB_MSK_LEN);
		q[4 + KB_MSK_LEN] = 4;
		kb_put32(q + 5 + KB_MSK_LEN, msk_id);
		q += MSK_KD_LEN;
	}
	q[0] = 1; /* HMAC-SHA-1-160 */
	q++;
	lay->mac_off = (size_t)(q - buf);
	memset(q, 0, KB_MIKEY_MAC_LEN);
	lay->len = len;
	return 0;
}

int kb_mtk_msg_write(uint8_t *buf, size_t cap, const struct kb_mtk_msg_params *p,
		     struct kb_mikey_layout *lay)
{
	size_t len = KB_MIKEY_HDR_LEN + EXT_MTK_LEN + T_LEN + (p->rand != NULL ? RAND_PL_LEN : 0) +
		     KEMAC_FIXED + MTK_KD_LEN;
	uint8_t *q = buf;

	if (buf == NULL || p->mtk == NULL || p->salt == NULL || len > cap)
		return -1;
	q = put_hdr(q, KB_MIKEY_DT_PSK_INIT, KB_MIKEY_PT_GENEXT, false, p->csb_id);
	q[0] = KB_MIKEY_PT_T;
	q[1] = 3;
	kb_put16(q + 2, EXT_MTK_LEN - 4);
	q[4] = 0;
	q[5] = 3;
	memcpy(q + 6, p->domain, 3);
	q[9] = 1;
	q[10] = 4;
	kb_put32(q + 11, p->msk_id);
	q[15] = 2;
	q[16] = 2;
	kb_put16(q + 17, p->mtk_id);
	q += EXT_MTK_LEN;
	lay->t_off = (size_t)(q - buf) + 2;
	q = put_t(q, p->rand != NULL ? KB_MIKEY_PT_RAND : KB_MIKEY_PT_KEMAC, p->counter);
	if (p->rand != NULL)
		q = put_rand(q, KB_MIKEY_PT_KEMAC, p->rand);

	q[0] = KB_MIKEY_PT_LAST;
	q[1] = 1;
	kb_put16(q + 2, MTK_KD_LEN);
	q += 4;
	lay->encr_off = (size_t)(q - buf);
	lay->encr_len = MTK_KD_LEN;
	q[0] = KB_MIKEY_PT_LAST;
	q[1] = 1 << 4 | 1; /* TGK+SALT, KV = SPI */
	kb_put16(q + 2, KB_MTK_LEN);
	memcpy(q + 4, p->mtk, KB_MTK_LEN);
	q += 4 + KB_MTK_LEN;
	kb_put16(q, KB_MIKEY_SALT_LEN);
	memcpy(q + 2, p->salt, KB_MIKEY_SALT_LEN);
	q += 2 + KB_MIKEY_SALT_LEN;
	q[0] = 2;
	kb_put16(q + 1, p->mtk_id);
	q += 3;
	q[0] = 1;
	q++;
	lay->mac_off = (size_t)(q - buf);
	memset(q, 0, KB_MIKEY_MAC_LEN);
	lay->len = len;
	return 0;
}

int kb_ack_write(uint8_t *buf, size_t cap, uint32_t csb_id, uint32_t counter,
		 struct kb_mikey_layout *lay)
{
	uint8_t *q = buf;

	if (buf == NULL || cap < KB_ACK_LEN)
		return -1;
	q = put_hdr(q, KB_MIKEY_DT_PSK_RESP, KB_MIKEY_PT_T, false, csb_id);
	lay->t_off = (size_t)(q - buf) + 2;
	q = put_t(q, KB_MIKEY_PT_V, counter);
	q[0] = KB_MIKEY_PT_LAST;
	q[1] = 1; /* HMAC-SHA-1-160 */
	q += 2;
	lay->mac_off = (size_t)(q - buf);
	memset(q, 0, KB_MIKEY_MAC_LEN);
	lay->encr_off = 0;
	lay->encr_len = 0;
	lay->len = KB_ACK_LEN;
	return 0;
}

long kb_ack_mac_suffix(uint8_t *buf, size_t cap, const uint8_t *idi, uint16_t idi_len,
		       const uint8_t *idr, uint16_t idr_len, uint32_t counter)
{
	size_t n = (size_t)idi_len + idr_len + 4;

	if (buf == NULL || n > cap || (idi == NULL && idi_len != 0) ||
	    (idr == NULL && idr_len != 0))
		return -1;
	if (idi_len != 0)
		memcpy(buf, idi, idi_len);
	if (idr_len != 0)
		memcpy(buf + idi_len, idr, idr_len);
	kb_put32(buf + idi_len + idr_len, counter);
	return (long)n;
}
