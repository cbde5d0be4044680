/* MIKEY codec (RFC 3830, RFC 4563): a strict decoder and a bounded writer.
 * The decoder never reads past the buffer, rejects trailing bytes, unknown
 * versions and repeated or out-of-order payloads, and reports the exact
 * offset and reason of the first error. */
#ifndef KB_MIKEY_CODEC_H
#define KB_MIKEY_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum kb_mikey_data_type {
	KB_MIKEY_DT_PSK_INIT = 0,
	KB_MIKEY_DT_PSK_RESP = 1,
	KB_MIKEY_DT_ERROR = 6,
};

enum kb_mikey_payload_type {
	KB_MIKEY_PT_LAST = 0,
	KB_MIKEY_PT_KEMAC = 1,
	KB_MIKEY_PT_PKE = 2,
	KB_MIKEY_PT_DH = 3,
	KB_MIKEY_PT_SIGN = 4,
	KB_MIKEY_PT_T = 5,
	KB_MIKEY_PT_ID = 6,
	KB_MIKEY_PT_CERT = 7,
	KB_MIKEY_PT_CHASH = 8,
	KB_MIKEY_PT_V = 9,
	KB_MIKEY_PT_SP = 10,
	KB_MIKEY_PT_RAND = 11,
	KB_MIKEY_PT_ERR = 12,
	KB_MIKEY_PT_KEYDATA = 20,
	KB_MIKEY_PT_GENEXT = 21,
};

#define KB_MIKEY_HDR_LEN 10
#define KB_MIKEY_MAC_LEN 20
#define KB_MIKEY_MAX_IDS 4
#define KB_MIKEY_MAX_KEYDATA 4
#define KB_MIKEY_MAX_ERRS 4 /* ERR payloads in one error message */
#define KB_MIKEY_MAX_SPS 8
#define KB_MIKEY_MAX_GENEXTS 8

struct kb_mikey_error {
	size_t offset; /* byte offset in the input where the problem is */
	char msg[160];
};

struct kb_mikey_id {
	uint8_t type; /* 0 NAI, 1 URI */
	const uint8_t *data;
	uint16_t len;
};

/* A decoded message. Pointers point into the caller's buffer. */
struct kb_mikey_msg {
	size_t len;
	uint8_t version, data_type, v, prf, cs_count, map_type;
	uint32_t csb_id;

	bool has_t;
	uint8_t t_type; /* 0 NTP-UTC, 1 NTP, 2 COUNTER */
	uint64_t t_value; /* a COUNTER widened to 64 bits */
	const uint8_t *t_raw; /* the value as sent (4 or 8 bytes) */
	uint8_t t_raw_len;

	bool has_rand;
	const uint8_t *rand;
	uint8_t rand_len;

	unsigned n_ids;
	struct kb_mikey_id ids[KB_MIKEY_MAX_IDS];

	/* General Extension type 3 (Key ID, RFC 4563) */
	bool has_key_id;
	bool has_domain, has_msk_id, has_mtk_id;
	uint8_t domain[3];
	uint32_t msk_id;
	uint32_t mtk_id;
	uint8_t mtk_id_len;

	bool has_kemac;
	uint8_t encr_alg; /* 0 NULL, 1 AES-CM-128, 2 AES-KW-128 */
	const uint8_t *encr;
	uint16_t encr_len;
	size_t encr_off;
	uint8_t mac_alg; /* 0 NULL, 1 HMAC-SHA-1-160 */
	const uint8_t *mac;
	size_t mac_off; /* offset of the MAC field: the MAC covers [0, mac_off) */

	bool has_v;
	uint8_t v_alg;
	const uint8_t *v_mac;
	size_t v_mac_off;

	bool has_err;
	uint8_t err_code; /* the first ERR payload's code */
	unsigned n_err, n_sp, n_genext;
};

/* One key data sub-payload, decoded from decrypted KEMAC data. */
struct kb_mikey_keydata {
	uint8_t type; /* 0 TGK, 1 TGK+SALT, 2 TEK, 3 TEK+SALT */
	uint8_t kv; /* 0 none, 1 SPI/MKI, 2 interval */
	const uint8_t *key;
	uint16_t key_len;
	const uint8_t *salt;
	uint16_t salt_len;
	const uint8_t *spi;
	uint8_t spi_len;
	const uint8_t *from, *to; /* KV interval */
	uint8_t from_len, to_len;
};

/* Decode a whole message. Returns 0, or -1 with err filled. */
int kb_mikey_decode(const uint8_t *buf, size_t len, struct kb_mikey_msg *msg,
		    struct kb_mikey_error *err);

/* Decode the key data sub-payloads of decrypted KEMAC data. */
int kb_mikey_decode_keydata(const uint8_t *buf, size_t len, struct kb_mikey_keydata *out,
			    unsigned max, unsigned *n, struct kb_mikey_error *err);

/* Bounded writer: each call appends one payload and patches the previous
 * payload's next-payload byte. After any overflow, w->err is set and further
 * calls do nothing. */
struct kb_mikey_writer {
	uint8_t *buf;
	size_t cap, len;
	size_t np_off; /* where the next-payload byte of the last payload is */
	bool err;
};

void kb_mikey_w_init(struct kb_mikey_writer *w, uint8_t *buf, size_t cap);
void kb_mikey_w_hdr(struct kb_mikey_writer *w, uint8_t data_type, bool v, uint8_t prf,
		    uint32_t csb_id, uint8_t cs_count, uint8_t map_type);
void kb_mikey_w_t_counter(struct kb_mikey_writer *w, uint32_t counter);
void kb_mikey_w_t(struct kb_mikey_writer *w, uint8_t type, uint64_t value);
void kb_mikey_w_rand(struct kb_mikey_writer *w, const uint8_t *rand, uint8_t len);
void kb_mikey_w_id(struct kb_mikey_writer *w, uint8_t type, const uint8_t *data, uint16_t len);
/* Key ID extension; domain may be NULL, mtk_id_len 0 means no MTK ID */
void kb_mikey_w_key_id(struct kb_mikey_writer *w, const uint8_t *domain, uint32_t msk_id,
		       uint32_t mtk_id, uint8_t mtk_id_len);
void kb_mikey_w_v(struct kb_mikey_writer *w, const uint8_t mac[KB_MIKEY_MAC_LEN]);
void kb_mikey_w_err(struct kb_mikey_writer *w, uint8_t code);
/* KEMAC with encr data given in plaintext (the caller encrypts in place at
 * *encr_off) and the MAC zeroed at *mac_off. */
void kb_mikey_w_kemac(struct kb_mikey_writer *w, uint8_t encr_alg, const uint8_t *encr,
		      uint16_t encr_len, uint8_t mac_alg, size_t *encr_off, size_t *mac_off);

/* A key data sub-payload into a plain buffer; returns its length or -1. */
long kb_mikey_keydata_write(uint8_t *buf, size_t cap, bool last, uint8_t type, uint8_t kv,
			    const uint8_t *key, uint16_t key_len, const uint8_t *salt,
			    uint16_t salt_len, const uint8_t *spi, uint8_t spi_len);

const char *kb_mikey_payload_name(uint8_t type);

/* Record an error as "<what> at offset N" (err may be NULL). Always -1, so
 * that a parser can `return kb_mikey_error_set(...)`. */
__attribute__((format(printf, 3, 4))) int kb_mikey_error_set(struct kb_mikey_error *err, size_t off,
							     const char *fmt, ...);

#endif
