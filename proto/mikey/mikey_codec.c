/* MIKEY codec: a strict decoder (every length checked against what is left,
 * every field value known, payload repeats bounded) and a bounded writer. */
#include "mikey/mikey_codec.h"

#include "util/be.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Decoder state: the input and where we are in it. */
struct rd {
	const uint8_t *buf;
	size_t len;
	size_t off;
	struct kb_mikey_error *err;
};

int kb_mikey_error_set(struct kb_mikey_error *err, size_t off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (err == NULL)
		return -1;
	err->offset = off;
	va_start(ap, fmt);
	n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(err->msg))
		snprintf(err->msg + n, sizeof(err->msg) - (size_t)n, " at offset %zu", off);
	return -1;
}

static size_t left(const struct rd *r)
{
	return r->len - r->off;
}

/* The fixed part of a payload (or a field) must fit in what is left. */
static int need(struct rd *r, const char *who, const char *what, size_t n)
{
	if (left(r) < n)
		return kb_mikey_error_set(r->err, r->off, "%s: %s needs %zu bytes, only %zu remain",
					  who, what, n, left(r));
	return 0;
}

const char *kb_mikey_payload_name(uint8_t type)
{
	switch (type) {
	case KB_MIKEY_PT_LAST:
		return "Last";
	case KB_MIKEY_PT_KEMAC:
		return "KEMAC";
	case KB_MIKEY_PT_PKE:
		return "PKE";
	case KB_MIKEY_PT_DH:
		return "DH";
	case KB_MIKEY_PT_SIGN:
		return "SIGN";
	case KB_MIKEY_PT_T:
		return "T";
	case KB_MIKEY_PT_ID:
		return "ID";
	case KB_MIKEY_PT_CERT:
		return "CERT";
	case KB_MIKEY_PT_CHASH:
		return "CHASH";
	case KB_MIKEY_PT_V:
		return "V";
	case KB_MIKEY_PT_SP:
		return "SP";
	case KB_MIKEY_PT_RAND:
		return "RAND";
	case KB_MIKEY_PT_ERR:
		return "ERR";
	case KB_MIKEY_PT_KEYDATA:
		return "Key data";
	case KB_MIKEY_PT_GENEXT:
		return "General Extension";
	default:
		return "unknown";
	}
}

/* ---- HDR ---- */

/* RFC 6043 GENERIC-ID map: per CS, CS ID(1) prot type(1) S|#P(1) Ps(#P)
 * session data length(2) session data, SPI length(1) SPI. */
static int decode_generic_map(struct rd *r, unsigned cs_count)
{
	for (unsigned i = 0; i < cs_count; i++) {
		if (need(r, "HDR", "generic CS ID map entry", 3) != 0)
			return -1;
		size_t np = r->buf[r->off + 2] & 0x7f;
		r->off += 3;
		if (need(r, "HDR", "generic map policy list", np + 2) != 0)
			return -1;
		r->off += np;
		size_t sd = kb_be16(r->buf + r->off);
		r->off += 2;
		if (sd > left(r))
			return kb_mikey_error_set(
				r->err, r->off - 2,
				"HDR: generic map session data length %zu exceeds remaining "
				"%zu bytes",
				sd, left(r));
		r->off += sd;
		if (need(r, "HDR", "generic map SPI length", 1) != 0)
			return -1;
		size_t spi = r->buf[r->off++];
		if (spi > left(r))
			return kb_mikey_error_set(
				r->err, r->off - 1,
				"HDR: generic map SPI length %zu exceeds remaining %zu bytes", spi,
				left(r));
		r->off += spi;
	}
	return 0;
}

static int decode_hdr(struct rd *r, struct kb_mikey_msg *m, uint8_t *np)
{
	const uint8_t *b = r->buf;

	if (r->len < KB_MIKEY_HDR_LEN)
		return kb_mikey_error_set(
			r->err, 0, "HDR: message of %zu bytes is shorter than the %d-byte header",
			r->len, KB_MIKEY_HDR_LEN);
	m->version = b[0];
	m->data_type = b[1];
	*np = b[2];
	m->v = b[3] >> 7;
	m->prf = b[3] & 0x7f;
	m->csb_id = kb_be32(b + 4);
	m->cs_count = b[8];
	m->map_type = b[9];
	if (m->version != 1)
		return kb_mikey_error_set(r->err, 0, "HDR: unknown version %u", m->version);
	if (m->data_type != KB_MIKEY_DT_PSK_INIT && m->data_type != KB_MIKEY_DT_PSK_RESP &&
	    m->data_type != KB_MIKEY_DT_ERROR)
		return kb_mikey_error_set(
			r->err, 1, "HDR: unsupported data type %u (only PSK 0, 1 and error 6)",
			m->data_type);
	if (m->prf != 0)
		return kb_mikey_error_set(r->err, 3, "HDR: unknown PRF function %u", m->prf);
	r->off = KB_MIKEY_HDR_LEN;
	switch (m->map_type) {
	case 0: /* SRTP-ID: policy no(1) SSRC(4) ROC(4) per CS */
		if ((size_t)m->cs_count * 9 > left(r))
			return kb_mikey_error_set(
				r->err, 8,
				"HDR: SRTP-ID map of %u crypto sessions needs %u bytes, only "
				"%zu remain",
				m->cs_count, m->cs_count * 9u, left(r));
		r->off += (size_t)m->cs_count * 9;
		return 0;
	case 1: /* empty map (RFC 4563): no map info */
		return 0;
	case 2:
		return decode_generic_map(r, m->cs_count);
	default:
		return kb_mikey_error_set(r->err, 9, "HDR: unknown CS ID map type %u", m->map_type);
	}
}

/* ---- payloads ---- */

static int decode_t(struct rd *r, struct kb_mikey_msg *m)
{
	size_t start = r->off;
	unsigned n;

	if (m->has_t)
		return kb_mikey_error_set(r->err, start, "T: second T payload");
	if (need(r, "T", "payload header", 2) != 0)
		return -1;
	m->t_type = r->buf[start + 1];
	if (m->t_type == 0 || m->t_type == 1)
		n = 8;
	else if (m->t_type == 2)
		n = 4;
	else
		return kb_mikey_error_set(r->err, start + 1, "T: unknown TS type %u", m->t_type);
	r->off += 2;
	if (need(r, "T", "timestamp value", n) != 0)
		return -1;
	m->t_raw = r->buf + r->off;
	m->t_raw_len = (uint8_t)n;
	m->t_value = n == 8 ? (uint64_t)kb_be32(m->t_raw) << 32 | kb_be32(m->t_raw + 4)
			    : kb_be32(m->t_raw);
	m->has_t = true;
	r->off += n;
	return 0;
}

static int decode_rand(struct rd *r, struct kb_mikey_msg *m)
{
	size_t start = r->off;

	if (m->has_rand)
		return kb_mikey_error_set(r->err, start, "RAND: second RAND payload");
	if (need(r, "RAND", "payload header", 2) != 0)
		return -1;
	m->rand_len = r->buf[start + 1];
	if (m->rand_len == 0)
		return kb_mikey_error_set(r->err, start + 1, "RAND: length 0");
	r->off += 2;
	if (m->rand_len > left(r))
		return kb_mikey_error_set(r->err, start + 1,
					  "RAND: length %u exceeds remaining %zu bytes",
					  m->rand_len, left(r));
	m->rand = r->buf + r->off;
	m->has_rand = true;
	r->off += m->rand_len;
	return 0;
}

static int decode_id(struct rd *r, struct kb_mikey_msg *m)
{
	size_t start = r->off;

	if (m->n_ids >= KB_MIKEY_MAX_IDS)
		return kb_mikey_error_set(r->err, start, "ID: more than %d ID payloads",
					  KB_MIKEY_MAX_IDS);
	if (need(r, "ID", "payload header", 4) != 0)
		return -1;
	struct kb_mikey_id *id = &m->ids[m->n_ids];
	id->type = r->buf[start + 1];
	id->len = kb_be16(r->buf + start + 2);
	if (id->type > 1)
		return kb_mikey_error_set(r->err, start + 1, "ID: unknown ID type %u", id->type);
	r->off += 4;
	if (id->len > left(r))
		return kb_mikey_error_set(r->err, start + 2,
					  "ID: data length %u exceeds remaining %zu bytes", id->len,
					  left(r));
	id->data = r->buf + r->off;
	r->off += id->len;
	m->n_ids++;
	return 0;
}

static int decode_v(struct rd *r, struct kb_mikey_msg *m)
{
	size_t start = r->off;
	size_t n;

	if (need(r, "V", "payload header", 2) != 0)
		return -1;
	m->v_alg = r->buf[start + 1];
	if (m->v_alg == 0)
		n = 0;
	else if (m->v_alg == 1)
		n = KB_MIKEY_MAC_LEN;
	else
		return kb_mikey_error_set(r->err, start + 1, "V: unknown auth alg %u", m->v_alg);
	r->off += 2;
	if (need(r, "V", "MAC", n) != 0)
		return -1;
	m->v_mac = r->buf + r->off;
	m->v_mac_off = r->off;
	m->has_v = true;
	r->off += n;
	return 0;
}

static int decode_err(struct rd *r, struct kb_mikey_msg *m)
{
	size_t start = r->off;

	if (m->n_err >= KB_MIKEY_MAX_ERRS)
		return kb_mikey_error_set(r->err, start, "ERR: more than %d ERR payloads",
					  KB_MIKEY_MAX_ERRS);
	if (need(r, "ERR", "payload", 4) != 0)
		return -1;
	if (!m->has_err)
		m->err_code = r->buf[start + 1];
	m->has_err = true;
	m->n_err++;
	r->off += 4;
	return 0;
}

static int decode_kemac(struct rd *r, struct kb_mikey_msg *m)
{
	size_t start = r->off;
	size_t n;

	if (need(r, "KEMAC", "payload header", 4) != 0)
		return -1;
	m->encr_alg = r->buf[start + 1];
	m->encr_len = kb_be16(r->buf + start + 2);
	if (m->encr_alg > 2)
		return kb_mikey_error_set(r->err, start + 1, "KEMAC: unknown encr alg %u",
					  m->encr_alg);
	r->off += 4;
	if (m->encr_len > left(r))
		return kb_mikey_error_set(r->err, start + 2,
					  "KEMAC: encr data length %u exceeds remaining %zu bytes",
					  m->encr_len, left(r));
	m->encr = r->buf + r->off;
	m->encr_off = r->off;
	r->off += m->encr_len;
	if (need(r, "KEMAC", "MAC alg", 1) != 0)
		return -1;
	m->mac_alg = r->buf[r->off];
	if (m->mac_alg == 0)
		n = 0;
	else if (m->mac_alg == 1)
		n = KB_MIKEY_MAC_LEN;
	else
		return kb_mikey_error_set(r->err, r->off, "KEMAC: unknown MAC alg %u", m->mac_alg);
	r->off++;
	if (need(r, "KEMAC", "MAC", n) != 0)
		return -1;
	m->mac = r->buf + r->off;
	m->mac_off = r->off;
	m->has_kemac = true;
	r->off += n;
	return 0;
}

/* RFC 4563 Key ID: sub-payloads type(1) len(1) value inside the extension. */
static int decode_key_id(struct rd *r, struct kb_mikey_msg *m, size_t p, size_t end)
{
	if (m->has_key_id)
		return kb_mikey_error_set(r->err, p, "General Extension: second Key ID extension");
	m->has_key_id = true;
	while (p < end) {
		if (end - p < 2)
			return kb_mikey_error_set(
				r->err, p,
				"General Extension: Key ID sub-payload header needs 2 bytes, "
				"only %zu remain",
				end - p);
		uint8_t type = r->buf[p], len = r->buf[p + 1];
		const uint8_t *v = r->buf + p + 2;
		if (len > end - p - 2)
			return kb_mikey_error_set(
				r->err, p + 1,
				"General Extension: Key ID sub-payload length %u exceeds the "
				"extension's remaining %zu bytes",
				len, end - p - 2);
		switch (type) {
		case 0:
			if (m->has_domain || len != 3)
				return kb_mikey_error_set(
					r->err, p,
					"General Extension: %s Key Domain ID (length %u, must "
					"be 3)",
					m->has_domain ? "second" : "bad", len);
			memcpy(m->domain, v, 3);
			m->has_domain = true;
			break;
		case 1:
			if (m->has_msk_id || len != 4)
				return kb_mikey_error_set(
					r->err, p,
					"General Extension: %s MSK ID (length %u, must be 4)",
					m->has_msk_id ? "second" : "bad", len);
			m->msk_id = kb_be32(v);
			m->has_msk_id = true;
			break;
		case 2:
			if (m->has_mtk_id || len == 0 || len > 4)
				return kb_mikey_error_set(
					r->err, p,
					"General Extension: %s MTK ID (length %u, must be 1..4)",
					m->has_mtk_id ? "second" : "bad", len);
			m->mtk_id = 0;
			for (unsigned i = 0; i < len; i++)
				m->mtk_id = m->mtk_id << 8 | v[i];
			m->mtk_id_len = len;
			m->has_mtk_id = true;
			break;
		default:
			return kb_mikey_error_set(
				r->err, p, "General Extension: unknown Key ID type %u", type);
		}
		p += 2 + (size_t)len;
	}
	return 0;
}

static int decode_genext(struct rd *r, struct kb_mikey_msg *m)
{
	size_t start = r->off;

	if (m->n_genext >= KB_MIKEY_MAX_GENEXTS)
		return kb_mikey_error_set(r->err, start,
					  "General Extension: more than %d extensions",
					  KB_MIKEY_MAX_GENEXTS);
	if (need(r, "General Extension", "payload header", 4) != 0)
		return -1;
	uint8_t type = r->buf[start + 1];
	size_t len = kb_be16(r->buf + start + 2);
	r->off += 4;
	if (len > left(r))
		return kb_mikey_error_set(
			r->err, start + 2,
			"General Extension: data length %zu exceeds remaining %zu bytes", len,
			left(r));
	m->n_genext++;
	if (type == 3 && decode_key_id(r, m, r->off, r->off + len) != 0)
		return -1;
	/* other types (e.g. 5 OMA BCAST) are skipped: their length was checked */
	r->off += len;
	return 0;
}

static int decode_sp(struct rd *r, struct kb_mikey_msg *m)
{
	size_t start = r->off;

	if (m->map_type == 1)
		return kb_mikey_error_set(
			r->err, start,
			"SP: SP payload not allowed with the empty CS ID map (RFC 4563)");
	if (m->n_sp >= KB_MIKEY_MAX_SPS)
		return kb_mikey_error_set(r->err, start, "SP: more than %d SP payloads",
					  KB_MIKEY_MAX_SPS);
	if (need(r, "SP", "payload header", 5) != 0)
		return -1;
	size_t len = kb_be16(r->buf + start + 3);
	r->off += 5;
	if (len > left(r))
		return kb_mikey_error_set(r->err, start + 3,
					  "SP: policy param length %zu exceeds remaining %zu bytes",
					  len, left(r));
	/* the parameters are type(1) len(1) value; check they tile the field */
	size_t p = r->off, end = r->off + len;
	while (p < end) {
		if (end - p < 2 || r->buf[p + 1] > end - p - 2)
			return kb_mikey_error_set(r->err, p,
						  "SP: policy parameter overruns the payload");
		p += 2 + (size_t)r->buf[p + 1];
	}
	m->n_sp++;
	r->off = end;
	return 0;
}

static int check_shape(struct rd *r, const struct kb_mikey_msg *m)
{
	switch (m->data_type) {
	case KB_MIKEY_DT_PSK_INIT:
		if (!m->has_t || !m->has_kemac || m->has_v || m->has_err)
			return kb_mikey_error_set(
				r->err, 1,
				"HDR: PSK init message needs T and KEMAC and no V or ERR");
		break;
	case KB_MIKEY_DT_PSK_RESP:
		if (!m->has_t || !m->has_v || m->has_kemac || m->has_err)
			return kb_mikey_error_set(
				r->err, 1,
				"HDR: PSK verification message needs T and V and no KEMAC or ERR");
		break;
	default:
		if (!m->has_err || m->has_kemac)
			return kb_mikey_error_set(
				r->err, 1,
				"HDR: error message needs at least one ERR and no KEMAC");
		break;
	}
	return 0;
}

int kb_mikey_decode(const uint8_t *buf, size_t len, struct kb_mikey_msg *msg,
		    struct kb_mikey_error *err)
{
	struct kb_mikey_error scratch;
	struct rd r = {.buf = buf, .len = len, .off = 0, .err = err != NULL ? err : &scratch};
	uint8_t np = KB_MIKEY_PT_LAST;
	size_t np_off = 2; /* where the byte naming the current payload is */
	uint8_t prev = 0xff; /* 0xff: HDR */

	memset(msg, 0, sizeof(*msg));
	if (buf == NULL && len != 0)
		return kb_mikey_error_set(r.err, 0, "HDR: no buffer");
	if (decode_hdr(&r, msg, &np) != 0)
		return -1;
	while (np != KB_MIKEY_PT_LAST) {
		const char *by = prev == 0xff ? "HDR" : kb_mikey_payload_name(prev);
		size_t start = r.off;
		int rc;

		if (r.off >= r.len)
			return kb_mikey_error_set(
				r.err, np_off,
				"%s: next payload %s (%u) announced, but the message ends", by,
				kb_mikey_payload_name(np), np);
		switch (np) {
		case KB_MIKEY_PT_T:
			rc = decode_t(&r, msg);
			break;
		case KB_MIKEY_PT_RAND:
			rc = decode_rand(&r, msg);
			break;
		case KB_MIKEY_PT_ID:
			rc = decode_id(&r, msg);
			break;
		case KB_MIKEY_PT_V:
			rc = decode_v(&r, msg);
			break;
		case KB_MIKEY_PT_ERR:
			rc = decode_err(&r, msg);
			break;
		case KB_MIKEY_PT_KEMAC:
			rc = decode_kemac(&r, msg);
			break;
		case KB_MIKEY_PT_GENEXT:
			rc = decode_genext(&r, msg);
			break;
		case KB_MIKEY_PT_SP:
			rc = decode_sp(&r, msg);
			break;
		case KB_MIKEY_PT_PKE:
		case KB_MIKEY_PT_DH:
		case KB_MIKEY_PT_SIGN:
		case KB_MIKEY_PT_CERT:
		case KB_MIKEY_PT_CHASH:
			return kb_mikey_error_set(
				r.err, np_off,
				"%s: payload not supported in PSK mode (named by %s)",
				kb_mikey_payload_name(np), by);
		case KB_MIKEY_PT_KEYDATA:
			return kb_mikey_error_set(
				r.err, np_off, "Key data: sub-payload outside KEMAC (named by %s)",
				by);
		default:
			return kb_mikey_error_set(r.err, np_off,
						  "unknown payload type %u named by %s", np, by);
		}
		if (rc != 0)
			return -1;
		prev = np;
		np_off = start;
		np = buf[start];
		/* both MACs cover every byte before them: nothing may follow */
		if ((prev == KB_MIKEY_PT_KEMAC || prev == KB_MIKEY_PT_V) && np != KB_MIKEY_PT_LAST)
			return kb_mikey_error_set(
				r.err, start,
				"%s: next payload %s (%u) after %s, which must be the last payload",
				kb_mikey_payload_name(prev), kb_mikey_payload_name(np), np,
				kb_mikey_payload_name(prev));
	}
	if (r.off != r.len)
		return kb_mikey_error_set(
			r.err, r.off, "%s: %zu trailing bytes after the last payload",
			prev == 0xff ? "HDR" : kb_mikey_payload_name(prev), r.len - r.off);
	if (check_shape(&r, msg) != 0)
		return -1;
	msg->len = len;
	return 0;
}

/* ---- key data (decrypted KEMAC contents) ---- */

static int decode_one_keydata(struct rd *r, struct kb_mikey_keydata *k, uint8_t *np)
{
	size_t start = r->off;

	if (need(r, "Key data", "sub-payload header", 4) != 0)
		return -1;
	*np = r->buf[start];
	k->type = r->buf[start + 1] >> 4;
	k->kv = r->buf[start + 1] & 0x0f;
	k->key_len = kb_be16(r->buf + start + 2);
	if (*np != 0 && *np != KB_MIKEY_PT_KEYDATA)
		return kb_mikey_error_set(
			r->err, start, "Key data: next payload %u is neither 20 (Key data) nor 0",
			*np);
	if (k->type > 3)
		return kb_mikey_error_set(r->err, start + 1, "Key data: unknown type %u", k->type);
	if (k->kv > 2)
		return kb_mikey_error_set(r->err, start + 1, "Key data: unknown KV type %u", k->kv);
	if (k->key_len == 0)
		return kb_mikey_error_set(r->err, start + 2, "Key data: key length 0");
	r->off += 4;
	if (k->key_len > left(r))
		return kb_mikey_error_set(r->err, start + 2,
					  "Key data: key length %u exceeds remaining %zu bytes",
					  k->key_len, left(r));
	k->key = r->buf + r->off;
	r->off += k->key_len;
	if (k->type & 1) { /* TGK+SALT, TEK+SALT */
		if (need(r, "Key data", "salt length", 2) != 0)
			return -1;
		k->salt_len = kb_be16(r->buf + r->off);
		r->off += 2;
		if (k->salt_len > left(r))
			return kb_mikey_error_set(
				r->err, r->off - 2,
				"Key data: salt length %u exceeds remaining %zu bytes", k->salt_len,
				left(r));
		k->salt = r->buf + r->off;
		r->off += k->salt_len;
	}
	if (k->kv == 1) {
		if (need(r, "Key data", "SPI length", 1) != 0)
			return -1;
		k->spi_len = r->buf[r->off++];
		if (k->spi_len > left(r))
			return kb_mikey_error_set(
				r->err, r->off - 1,
				"Key data: SPI length %u exceeds remaining %zu bytes", k->spi_len,
				left(r));
		k->spi = r->buf + r->off;
		r->off += k->spi_len;
	} else if (k->kv == 2) {
		for (int i = 0; i < 2; i++) {
			if (need(r, "Key data", "interval length", 1) != 0)
				return -1;
			uint8_t n = r->buf[r->off++];
			if (n > left(r))
				return kb_mikey_error_set(
					r->err, r->off - 1,
					"Key data: interval length %u exceeds remaining %zu bytes",
					n, left(r));
			if (i == 0) {
				k->from = r->buf + r->off;
				k->from_len = n;
			} else {
				k->to = r->buf + r->off;
				k->to_len = n;
			}
			r->off += n;
		}
	}
	return 0;
}

int kb_mikey_decode_keydata(const uint8_t *buf, size_t len, struct kb_mikey_keydata *out,
			    unsigned max, unsigned *n, struct kb_mikey_error *err)
{
	struct kb_mikey_error scratch;
	struct rd r = {.buf = buf, .len = len, .off = 0, .err = err != NULL ? err : &scratch};
	uint8_t np = KB_MIKEY_PT_KEYDATA;
	unsigned count = 0;

	*n = 0;
	if (len == 0)
		return kb_mikey_error_set(r.err, 0, "Key data: empty");
	while (np == KB_MIKEY_PT_KEYDATA) {
		if (count >= max)
			return kb_mikey_error_set(r.err, r.off,
						  "Key data: more than %u sub-payloads", max);
		memset(&out[count], 0, sizeof(out[count]));
		if (decode_one_keydata(&r, &out[count], &np) != 0)
			return -1;
		count++;
	}
	if (r.off != len)
		return kb_mikey_error_set(r.err, r.off,
					  "Key data: %zu trailing bytes after the last sub-payload",
					  len - r.off);
	*n = count;
	return 0;
}

/* ---- writer ---- */

/* Reserve n bytes for a payload of `type`, chain it from the previous one and
 * zero its next-payload byte. NULL once the buffer is exhausted. */
static uint8_t *w_take(struct kb_mikey_writer *w, uint8_t type, size_t n)
{
	if (w->err)
		return NULL;
	if (w->cap - w->len < n || w->len == 0) { /* no room, or no HDR yet */
		w->err = true;
		return NULL;
	}
	uint8_t *p = w->buf + w->len;
	w->buf[w->np_off] = type;
	w->np_off = w->len;
	w->len += n;
	p[0] = KB_MIKEY_PT_LAST;
	return p;
}

void kb_mikey_w_init(struct kb_mikey_writer *w, uint8_t *buf, size_t cap)
{
	w->buf = buf;
	w->cap = buf != NULL ? cap : 0;
	w->len = 0;
	w->np_off = 0;
	w->err = false;
}

void kb_mikey_w_hdr(struct kb_mikey_writer *w, uint8_t data_type, bool v, uint8_t prf,
		    uint32_t csb_id, uint8_t cs_count, uint8_t map_type)
{
	/* only the empty map can be written: the writer has no map info */
	if (w->err || w->len != 0 || w->cap < KB_MIKEY_HDR_LEN || prf > 0x7f ||
	    (map_type != 1 && cs_count != 0)) {
		w->err = true;
		return;
	}
	uint8_t *p = w->buf;
	p[0] = 1;
	p[1] = data_type;
	p[2] = KB_MIKEY_PT_LAST;
	p[3] = (uint8_t)((v ? 0x80 : 0) | prf);
	kb_put32(p + 4, csb_id);
	p[8] = cs_count;
	p[9] = map_type;
	w->np_off = 2;
	w->len = KB_MIKEY_HDR_LEN;
}

void kb_mikey_w_t_counter(struct kb_mikey_writer *w, uint32_t counter)
{
	uint8_t *p = w_take(w, KB_MIKEY_PT_T, 6);
	if (p == NULL)
		return;
	p[1] = 2;
	kb_put32(p + 2, counter);
}

void kb_mikey_w_t(struct kb_mikey_writer *w, uint8_t type, uint64_t value)
{
	if (type == 2) {
		if (value > UINT32_MAX) {
			w->err = true;
			return;
		}
		kb_mikey_w_t_counter(w, (uint32_t)value);
		return;
	}
	if (type > 2) {
		w->err = true;
		return;
	}
	uint8_t *p = w_take(w, KB_MIKEY_PT_T, 10);
	if (p == NULL)
		return;
	p[1] = type;
	kb_put32(p + 2, (uint32_t)(value >> 32));
	kb_put32(p + 6, (uint32_t)value);
}

void kb_mikey_w_rand(struct kb_mikey_writer *w, const uint8_t *rand, uint8_t len)
{
	if (rand == NULL || len == 0) {
		w->err = true;
		return;
	}
	uint8_t *p = w_take(w, KB_MIKEY_PT_RAND, 2 + (size_t)len);
	if (p == NULL)
		return;
	p[1] = len;
	memcpy(p + 2, rand, len);
}

void kb_mikey_w_id(struct kb_mikey_writer *w, uint8_t type, const uint8_t *data, uint16_t len)
{
	if (data == NULL && len != 0) {
		w->err = true;
		return;
	}
	uint8_t *p = w_take(w, KB_MIKEY_PT_ID, 4 + (size_t)len);
	if (p == NULL)
		return;
	p[1] = type;
	kb_put16(p + 2, len);
	if (len != 0)
		memcpy(p + 4, data, len);
}

void kb_mikey_w_key_id(struct kb_mikey_writer *w, const uint8_t *domain, uint32_t msk_id,
		       uint32_t mtk_id, uint8_t mtk_id_len)
{
	size_t dlen = (domain != NULL ? 5 : 0) + 6 + (mtk_id_len != 0 ? 2 + (size_t)mtk_id_len : 0);

	if (mtk_id_len > 4 || (mtk_id_len < 4 && mtk_id >> (8 * mtk_id_len) != 0)) {
		w->err = true;
		return;
	}
	uint8_t *p = w_take(w, KB_MIKEY_PT_GENEXT, 4 + dlen);
	if (p == NULL)
		return;
	p[1] = 3;
	kb_put16(p + 2, (uint16_t)dlen);
	p += 4;
	if (domain != NULL) {
		p[0] = 0;
		p[1] = 3;
		memcpy(p + 2, domain, 3);
		p += 5;
	}
	p[0] = 1;
	p[1] = 4;
	kb_put32(p + 2, msk_id);
	p += 6;
	if (mtk_id_len != 0) {
		p[0] = 2;
		p[1] = mtk_id_len;
		for (unsigned i = 0; i < mtk_id_len; i++)
			p[2 + i] = (uint8_t)(mtk_id >> (8 * (mtk_id_len - 1 - i)));
	}
}

void kb_mikey_w_v(struct kb_mikey_writer *w, const uint8_t mac[KB_MIKEY_MAC_LEN])
{
	uint8_t *p = w_take(w, KB_MIKEY_PT_V, 2 + KB_MIKEY_MAC_LEN);
	if (p == NULL)
		return;
	p[1] = 1;
	if (mac != NULL)
		memcpy(p + 2, mac, KB_MIKEY_MAC_LEN);
	else
		memset(p + 2, 0, KB_MIKEY_MAC_LEN);
}

void kb_mikey_w_err(struct kb_mikey_writer *w, uint8_t code)
{
	uint8_t *p = w_take(w, KB_MIKEY_PT_ERR, 4);
	if (p == NULL)
		return;
	p[1] = code;
	p[2] = 0;
	p[3] = 0;
}

void kb_mikey_w_kemac(struct kb_mikey_writer *w, uint8_t encr_alg, const uint8_t *encr,
		      uint16_t encr_len, uint8_t mac_alg, size_t *encr_off, size_t *mac_off)
{
	size_t mac_len = mac_alg == 1 ? KB_MIKEY_MAC_LEN : 0;

	if ((encr == NULL && encr_len != 0) || mac_alg > 1) {
		w->err = true;
		return;
	}
	uint8_t *p = w_take(w, KB_MIKEY_PT_KEMAC, 5 + (size_t)encr_len + mac_len);
	if (p == NULL)
		return;
	size_t base = (size_t)(p - w->buf);
	p[1] = encr_alg;
	kb_put16(p + 2, encr_len);
	if (encr_len != 0)
		memcpy(p + 4, encr, encr_len);
	p[4 + encr_len] = mac_alg;
	memset(p + 5 + encr_len, 0, mac_len);
	if (encr_off != NULL)
		*encr_off = base + 4;
	if (mac_off != NULL)
		*mac_off = base + 5 + encr_len;
}

long kb_mikey_keydata_write(uint8_t *buf, size_t cap, bool last, uint8_t type, uint8_t kv,
			    const uint8_t *key, uint16_t key_len, const uint8_t *salt,
			    uint16_t salt_len, const uint8_t *spi, uint8_t spi_len)
{
	bool has_salt = (type & 1) != 0;
	size_t n = 4 + (size_t)key_len + (has_salt ? 2 + (size_t)salt_len : 0) +
		   (kv == 1 ? 1 + (size_t)spi_len : 0);

	/* the interval KV (2) has no arguments here: not written */
	if (buf == NULL || type > 3 || kv > 1 || key == NULL || key_len == 0 || n > cap ||
	    (has_salt && salt == NULL && salt_len != 0) || (kv == 1 && spi == NULL && spi_len != 0))
		return -1;
	uint8_t *p = buf;
	p[0] = last ? KB_MIKEY_PT_LAST : KB_MIKEY_PT_KEYDATA;
	p[1] = (uint8_t)(type << 4 | kv);
	kb_put16(p + 2, key_len);
	memcpy(p + 4, key, key_len);
	p += 4 + key_len;
	if (has_salt) {
		kb_put16(p, salt_len);
		if (salt_len != 0)
			memcpy(p + 2, salt, salt_len);
		p += 2 + salt_len;
	}
	if (kv == 1) {
		p[0] = spi_len;
		if (spi_len != 0)
			memcpy(p + 1, spi, spi_len);
	}
	return (long)n;
}
