/* The RTP header, the MKI and the keyburst push framing (PROFILE.md "PTM
 * push content"): a push object is split in order into RTP packets whose
 * payload starts with push id ‖ object length ‖ offset. */
#include "srtp/srtp.h"

#include <stdlib.h>
#include <string.h>

#include "util/be.h"

int kb_rtp_parse(const uint8_t *pkt, size_t len, struct kb_rtp_hdr *h)
{
	size_t hl;

	if (len < KB_RTP_HDR_LEN || (pkt[0] >> 6) != 2)
		return -1;
	hl = KB_RTP_HDR_LEN + 4u * (pkt[0] & 0x0f);
	if (hl > len)
		return -1;
	if (pkt[0] & 0x10) {
		/* extension: profile (2) ‖ length in 32-bit words (2) ‖ data */
		if (hl + 4 > len)
			return -1;
		hl += 4 + 4u * kb_be16(pkt + hl + 2);
		if (hl > len)
			return -1;
	}
	h->marker = (pkt[1] & 0x80) != 0;
	h->pt = pkt[1] & 0x7f;
	h->seq = kb_be16(pkt + 2);
	h->ts = kb_be32(pkt + 4);
	h->ssrc = kb_be32(pkt + 8);
	h->len = hl;
	return 0;
}

void kb_rtp_write(uint8_t *buf, uint8_t pt, bool marker, uint16_t seq, uint32_t ts, uint32_t ssrc)
{
	buf[0] = 0x80; /* V=2, P=0, X=0, CC=0 */
	buf[1] = (uint8_t)((marker ? 0x80 : 0) | (pt & 0x7f));
	kb_put16(buf + 2, seq);
	kb_put32(buf + 4, ts);
	kb_put32(buf + 8, ssrc);
}

void kb_srtp_mki(uint32_t msk_id, uint16_t mtk_id, uint8_t mki[KB_SRTP_MKI_LEN])
{
	kb_put32(mki, msk_id);
	kb_put16(mki + 4, mtk_id);
}

int kb_srtp_stream_take(struct kb_srtp_stream *s, uint16_t *seq, uint32_t *roc)
{
	/* the last index 2^48 - 1 is never used, so the check stays simple */
	if (s->roc == UINT32_MAX && s->seq == UINT16_MAX)
		return -1;
	*seq = s->seq;
	*roc = s->roc;
	s->seq++;
	if (s->seq == 0)
		s->roc++;
	return 0;
}

int kb_push_tx_init(struct kb_push_tx *tx, uint32_t push_id, uint32_t ts, const uint8_t *obj,
		    uint32_t len, size_t pkt_max)
{
	const size_t overhead = KB_RTP_HDR_LEN + KB_PUSH_HDR_LEN + KB_SRTP_TRAILER_LEN;

	memset(tx, 0, sizeof(*tx));
	if (pkt_max <= overhead || (obj == NULL && len != 0))
		return -1;
	tx->obj = obj;
	tx->len = len;
	tx->push_id = push_id;
	tx->ts = ts;
	tx->chunk = pkt_max - overhead;
	return 0;
}

int kb_push_tx_next(struct kb_push_tx *tx, struct kb_srtp_stream *s, uint8_t *buf, size_t cap,
		    struct kb_push_pkt *out)
{
	size_t n = tx->len - tx->off, plen;
	bool last;

	if (tx->started && tx->off == tx->len)
		return 0;
	if (n > tx->chunk)
		n = tx->chunk;
	plen = KB_RTP_HDR_LEN + KB_PUSH_HDR_LEN + n;
	if (cap < plen + KB_SRTP_TRAILER_LEN)
		return -1;
	if (kb_srtp_stream_take(s, &out->seq, &out->roc) != 0)
		return -1;
	last = tx->off + n == tx->len;
	kb_rtp_write(buf, s->pt, last, out->seq, tx->ts, s->ssrc);
	kb_put32(buf + KB_RTP_HDR_LEN, tx->push_id);
	kb_put32(buf + KB_RTP_HDR_LEN + 4, tx->len);
	kb_put32(buf + KB_RTP_HDR_LEN + 8, tx->off);
	if (n != 0)
		memcpy(buf + KB_RTP_HDR_LEN + KB_PUSH_HDR_LEN, tx->obj + tx->off, n);
	out->len = plen;
	out->offset = tx->off;
	tx->off += (uint32_t)n;
	tx->started = true;
	return 1;
}

int kb_push_hdr_parse(const uint8_t *payload, size_t len, struct kb_push_hdr *h,
		      const uint8_t **data, size_t *data_len)
{
	size_t n;

	if (len < KB_PUSH_HDR_LEN)
		return -1;
	h->push_id = kb_be32(payload);
	h->obj_len = kb_be32(payload + 4);
	h->offset = kb_be32(payload + 8);
	n = len - KB_PUSH_HDR_LEN;
	if (h->offset > h->obj_len || n > (size_t)(h->obj_len - h->offset))
		return -1;
	*data = payload + KB_PUSH_HDR_LEN;
	*data_len = n;
	return 0;
}

int kb_push_rx_init(struct kb_push_rx *rx, uint32_t push_id, uint32_t len, uint32_t max_len)
{
	memset(rx, 0, sizeof(*rx));
	if (len > max_len)
		return -1;
	rx->push_id = push_id;
	rx->len = len;
	/* +1: malloc(0) may return NULL */
	rx->buf = malloc((size_t)len + 1);
	rx->have = calloc((size_t)len / 8 + 1, 1);
	if (rx->buf == NULL || rx->have == NULL) {
		kb_push_rx_free(rx);
		return -1;
	}
	return 0;
}

int kb_push_rx_add(struct kb_push_rx *rx, const uint8_t *payload, size_t len)
{
	struct kb_push_hdr h;
	const uint8_t *d;
	size_t n;

	if (kb_push_hdr_parse(payload, len, &h, &d, &n) != 0 || h.push_id != rx->push_id ||
	    h.obj_len != rx->len)
		return -1;
	for (size_t i = 0; i < n; i++) {
		size_t at = (size_t)h.offset + i;
		uint8_t bit = (uint8_t)(1u << (at & 7));

		if (rx->have[at >> 3] & bit) {
			if (rx->buf[at] != d[i])
				return -1;
			continue;
		}
		rx->have[at >> 3] |= bit;
		rx->buf[at] = d[i];
		rx->got++;
	}
	return rx->got == rx->len ? 1 : 0;
}

void kb_push_rx_free(struct kb_push_rx *rx)
{
	free(rx->buf);
	free(rx->have);
	rx->buf = NULL;
	rx->have = NULL;
}

uint32_t kb_srtp_guess_roc(uint16_t s_l, uint32_t roc, uint16_t seq)
{
	if (s_l < 32768) {
		if ((int32_t)seq - (int32_t)s_l > 32768)
			return roc - 1;
		return roc;
	}
	if ((int32_t)s_l - 32768 > (int32_t)seq)
		return roc + 1;
	return roc;
}
