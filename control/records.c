/* Compact encodings of the per-UE records (control/records.h, version 2):
 * fields in a fixed order, integers big-endian, strings as one length byte
 * and the bytes, addresses as family, 0/4/16 address bytes and the port.
 * Decoders check every length, so a damaged value is an error, never an
 * overread. */
#include "records.h"

#include "util/be.h"
#include "util/secret.h"

#include <string.h>
#include <sys/socket.h>

struct wr {
	uint8_t *p;
	size_t n, cap;
	bool bad;
};

struct rd {
	const uint8_t *p;
	size_t n, len;
	bool bad;
};

static void w_bytes(struct wr *w, const void *b, size_t n)
{
	if (w->bad || w->cap - w->n < n) {
		w->bad = true;
		return;
	}
	memcpy(w->p + w->n, b, n);
	w->n += n;
}

static void w_u8(struct wr *w, uint8_t v)
{
	w_bytes(w, &v, 1);
}

static void w_u16(struct wr *w, uint16_t v)
{
	uint8_t b[2];
	kb_put16(b, v);
	w_bytes(w, b, 2);
}

static void w_u32(struct wr *w, uint32_t v)
{
	uint8_t b[4];
	kb_put32(b, v);
	w_bytes(w, b, 4);
}

static void w_i64(struct wr *w, int64_t v)
{
	w_u32(w, (uint32_t)((uint64_t)v >> 32));
	w_u32(w, (uint32_t)v);
}

/* a NUL-terminated string of a fixed-size field: at most cap-1 bytes */
static void w_str(struct wr *w, const char *s, size_t field)
{
	size_t l = strnlen(s, field);
	if (l >= field || l > 255) {
		w->bad = true;
		return;
	}
	w_u8(w, (uint8_t)l);
	w_bytes(w, s, l);
}

static size_t addr_ip_len(uint8_t af)
{
	return af == AF_INET ? 4 : af == AF_INET6 ? 16 : 0;
}

static void w_addr(struct wr *w, const struct kb_ue_addr *a)
{
	w_u8(w, a->af);
	w_bytes(w, a->ip, addr_ip_len(a->af));
	w_u16(w, a->port);
}

static void r_bytes(struct rd *r, void *b, size_t n)
{
	if (r->bad || r->len - r->n < n) {
		r->bad = true;
		return;
	}
	memcpy(b, r->p + r->n, n);
	r->n += n;
}

static uint8_t r_u8(struct rd *r)
{
	uint8_t v = 0;
	r_bytes(r, &v, 1);
	return v;
}

static uint16_t r_u16(struct rd *r)
{
	uint8_t b[2] = {0};
	r_bytes(r, b, 2);
	return kb_be16(b);
}

static uint32_t r_u32(struct rd *r)
{
	uint8_t b[4] = {0};
	r_bytes(r, b, 4);
	return kb_be32(b);
}

static int64_t r_i64(struct rd *r)
{
	uint64_t hi = r_u32(r);
	return (int64_t)(hi << 32 | r_u32(r));
}

static void r_str(struct rd *r, char *s, size_t field)
{
	size_t l = r_u8(r);
	if (l >= field) {
		r->bad = true;
		return;
	}
	r_bytes(r, s, l);
	s[r->bad ? 0 : l] = '\0';
}

static void r_addr(struct rd *r, struct kb_ue_addr *a)
{
	a->af = r_u8(r);
	if (a->af != 0 && addr_ip_len(a->af) == 0)
		r->bad = true;
	r_bytes(r, a->ip, addr_ip_len(a->af));
	a->port = r_u16(r);
}

static size_t w_done(struct wr *w)
{
	return w->bad ? 0 : w->n;
}

/* version 2 fully consumed, or the version-1 struct of exactly that size */
static int r_begin(struct rd *r, const void *val, size_t len, void *fixed, size_t fixed_len)
{
	const uint8_t *p = val;
	r->p = p;
	r->len = len;
	r->n = 1;
	r->bad = false;
	if (len == 0)
		return -1;
	if (p[0] == KB_REC_VERSION && len == fixed_len) {
		memcpy(fixed, val, fixed_len);
		return 1;
	}
	return p[0] == KB_REC_COMPACT ? 0 : -1;
}

static int r_end(struct rd *r)
{
	return r->bad || r->n != r->len ? -1 : 0;
}

size_t kb_rec_sa_encode(const struct kb_rec_sa *s, uint8_t *out, size_t cap)
{
	struct wr w = {.p = out, .cap = cap};
	w_u8(&w, KB_REC_COMPACT);
	w_u16(&w, s->key_group);
	w_addr(&w, &s->addr);
	w_i64(&w, s->created);
	w_i64(&w, s->muk_expires);
	w_bytes(&w, s->rand, sizeof(s->rand));
	w_bytes(&w, s->muk, sizeof(s->muk));
	w_str(&w, s->idr, sizeof(s->idr));
	w_str(&w, s->impi, sizeof(s->impi));
	return w_done(&w);
}

int kb_rec_sa_decode(const void *val, size_t len, struct kb_rec_sa *s)
{
	struct rd r;
	memset(s, 0, sizeof(*s));
	int v = r_begin(&r, val, len, s, sizeof(*s));
	if (v != 0)
		return v > 0 && s->idr[KB_SA_ID_MAX] == '\0' && s->impi[KB_IMPI_MAX - 1] == '\0'
			       ? 0
			       : -1;
	s->version = KB_REC_COMPACT;
	s->key_group = r_u16(&r);
	r_addr(&r, &s->addr);
	s->created = r_i64(&r);
	s->muk_expires = r_i64(&r);
	r_bytes(&r, s->rand, sizeof(s->rand));
	r_bytes(&r, s->muk, sizeof(s->muk));
	r_str(&r, s->idr, sizeof(s->idr));
	r_str(&r, s->impi, sizeof(s->impi));
	if (r_end(&r) != 0) {
		kb_memzero(s, sizeof(*s));
		return -1;
	}
	return 0;
}

size_t kb_rec_ue_encode(const struct kb_rec_ue *u, uint8_t *out, size_t cap)
{
	struct wr w = {.p = out, .cap = cap};
	w_u8(&w, KB_REC_COMPACT);
	w_u32(&w, u->csb_id);
	w_i64(&w, u->updated);
	w_addr(&w, &u->addr);
	w_str(&w, u->btid, sizeof(u->btid));
	return w_done(&w);
}

int kb_rec_ue_decode(const void *val, size_t len, struct kb_rec_ue *u)
{
	struct rd r;
	memset(u, 0, sizeof(*u));
	int v = r_begin(&r, val, len, u, sizeof(*u));
	if (v != 0)
		return v > 0 && u->btid[KB_GBA_BTID_MAX - 1] == '\0' ? 0 : -1;
	u->version = KB_REC_COMPACT;
	u->csb_id = r_u32(&r);
	u->updated = r_i64(&r);
	r_addr(&r, &u->addr);
	r_str(&r, u->btid, sizeof(u->btid));
	return r_end(&r);
}

size_t kb_rec_reg_encode(const struct kb_rec_reg *g, uint8_t *out, size_t cap)
{
	struct wr w = {.p = out, .cap = cap};
	w_u8(&w, KB_REC_COMPACT);
	w_i64(&w, g->registered);
	w_str(&w, g->btid, sizeof(g->btid));
	return w_done(&w);
}

int kb_rec_reg_decode(const void *val, size_t len, struct kb_rec_reg *g)
{
	struct rd r;
	memset(g, 0, sizeof(*g));
	int v = r_begin(&r, val, len, g, sizeof(*g));
	if (v != 0)
		return v > 0 && g->btid[KB_GBA_BTID_MAX - 1] == '\0' ? 0 : -1;
	g->version = KB_REC_COMPACT;
	g->registered = r_i64(&r);
	r_str(&r, g->btid, sizeof(g->btid));
	return r_end(&r);
}

/* keys: Ks alone, or Ks_ext_NAF and (GBA_U) Ks_int_NAF */
size_t kb_rec_bootstrap_encode(const struct kb_rec_bootstrap *b, uint8_t *out, size_t cap)
{
	struct wr w = {.p = out, .cap = cap};
	w_u8(&w, KB_REC_COMPACT);
	w_u8(&w, b->mode);
	w_u8(&w, b->has_ks ? 1 : 0);
	w_i64(&w, b->expires);
	w_bytes(&w, b->rand, sizeof(b->rand));
	w_str(&w, b->impi, sizeof(b->impi));
	if (b->has_ks) {
		w_bytes(&w, b->ks, sizeof(b->ks));
	} else {
		bool has_int = false;
		for (size_t i = 0; i < sizeof(b->ks_int_naf); i++)
			has_int |= b->ks_int_naf[i] != 0;
		w_u8(&w, has_int ? 2 : 1);
		w_bytes(&w, b->ks_ext_naf, sizeof(b->ks_ext_naf));
		if (has_int)
			w_bytes(&w, b->ks_int_naf, sizeof(b->ks_int_naf));
	}
	return w_done(&w);
}

int kb_rec_bootstrap_decode(const void *val, size_t len, struct kb_rec_bootstrap *b)
{
	struct rd r;
	memset(b, 0, sizeof(*b));
	int v = r_begin(&r, val, len, b, sizeof(*b));
	if (v != 0)
		return v > 0 && b->impi[KB_IMPI_MAX - 1] == '\0' ? 0 : -1;
	b->version = KB_REC_COMPACT;
	b->mode = r_u8(&r);
	b->has_ks = r_u8(&r);
	b->expires = r_i64(&r);
	r_bytes(&r, b->rand, sizeof(b->rand));
	r_str(&r, b->impi, sizeof(b->impi));
	if (b->has_ks > 1) {
		r.bad = true;
	} else if (b->has_ks) {
		r_bytes(&r, b->ks, sizeof(b->ks));
	} else {
		uint8_t n = r_u8(&r);
		if (n != 1 && n != 2)
			r.bad = true;
		r_bytes(&r, b->ks_ext_naf, sizeof(b->ks_ext_naf));
		if (n == 2)
			r_bytes(&r, b->ks_int_naf, sizeof(b->ks_int_naf));
	}
	if (r_end(&r) != 0) {
		kb_memzero(b, sizeof(*b));
		return -1;
	}
	return 0;
}
