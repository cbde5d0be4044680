/* Validation of the admin API's JSON objects into store records. Pure
 * (jansson only), so the fuzzer drives it directly. */
#include "admin_json.h"

#include "util/hex.h"

#include <stdio.h>
#include <string.h>

static int fail(char *err, size_t errlen, const char *msg)
{
	snprintf(err, errlen, "%s", msg);
	return -1;
}

int kb_admin_hex_field(json_t *o, const char *name, uint8_t *out, size_t n, bool required)
{
	json_t *v = json_object_get(o, name);
	if (v == NULL)
		return required ? -1 : 1;
	if (!json_is_string(v) || json_string_length(v) != 2 * n ||
	    kb_hex_decode(json_string_value(v), 2 * n, out, n) != (long)n)
		return -1;
	return 0;
}

const char *kb_admin_str_field(json_t *o, const char *name, size_t max)
{
	json_t *v = json_object_get(o, name);
	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= max)
		return NULL;
	const char *s = json_string_value(v);
	if (strlen(s) != json_string_length(v))
		return NULL; /* embedded NUL */
	return s;
}

int kb_admin_service_from_json(json_t *o, uint16_t default_port, struct kb_rec_service *s,
			       char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	const char *id = kb_admin_str_field(o, "id", sizeof(s->id));
	json_t *v;
	if (id == NULL)
		return fail(err, errlen, "id: a string of 1..127 characters is required");
	snprintf(s->id, sizeof(s->id), "%s", id);
	if (kb_admin_hex_field(o, "key_domain", s->key_domain, 3, true) != 0)
		return fail(err, errlen, "key_domain: 6 hex digits (MCC||MNC) required");
	v = json_object_get(o, "key_group");
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 0xffff)
		return fail(err, errlen, "key_group: integer 0..65535 required");
	s->key_group = (uint16_t)json_integer_value(v);
	v = json_object_get(o, "udp_port");
	s->udp_port = default_port;
	if (v != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > 0xffff)
			return fail(err, errlen, "udp_port: integer 1..65535");
		s->udp_port = (uint16_t)json_integer_value(v);
	}
	v = json_object_get(o, "rollover_period");
	if (v != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > UINT32_MAX)
			return fail(err, errlen, "rollover_period: seconds, >= 0");
		s->rollover_period = (uint32_t)json_integer_value(v);
	}
	v = json_object_get(o, "ack_wanted");
	s->ack_wanted = 1;
	if (v != NULL) {
		if (!json_is_boolean(v))
			return fail(err, errlen, "ack_wanted: boolean");
		s->ack_wanted = json_is_true(v);
	}
	v = json_object_get(o, "retries");
	s->retries = 3;
	if (v != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 255)
			return fail(err, errlen, "retries: integer 0..255");
		s->retries = (uint8_t)json_integer_value(v);
	}
	s->version = KB_REC_VERSION;
	return 0;
}

int kb_admin_bootstrap_from_json(json_t *o, int64_t now, char *btid_out,
				 struct kb_rec_bootstrap *rec, char *err, size_t errlen)
{
	const char *btid = kb_admin_str_field(o, "btid", KB_GBA_BTID_MAX);
	const char *impi = kb_admin_str_field(o, "impi", KB_IMPI_MAX);
	const char *mode = kb_admin_str_field(o, "mode", 16);
	char perr[64];
	json_t *v;
	memset(rec, 0, sizeof(*rec));
	rec->version = KB_REC_VERSION;
	if (btid == NULL || impi == NULL) {
		snprintf(err, errlen, "btid and impi are required strings");
		return -1;
	}
	if (mode == NULL || strcmp(mode, "GBA_ME") == 0)
		rec->mode = KB_GBA_ME;
	else if (strcmp(mode, "GBA_U") == 0)
		rec->mode = KB_GBA_U;
	else {
		snprintf(err, errlen, "mode: GBA_ME or GBA_U");
		return -1;
	}
	snprintf(rec->impi, sizeof(rec->impi), "%s", impi);
	int r = kb_admin_hex_field(o, "rand", rec->rand, 16, false);
	if (r < 0 ||
	    (r == 1 && kb_gba_btid_parse(btid, rec->rand, NULL, 0, perr, sizeof(perr)) != 0)) {
		snprintf(err, errlen, "rand: 32 hex digits (or a B-TID that carries it)");
		return -1;
	}
	r = kb_admin_hex_field(o, "ks", rec->ks, 32, false);
	if (r < 0) {
		snprintf(err, errlen, "ks: 64 hex digits");
		return -1;
	}
	rec->has_ks = r == 0;
	if (!rec->has_ks) {
		if (kb_admin_hex_field(o, "ks_ext_naf", rec->ks_ext_naf, 32, true) != 0) {
			snprintf(err, errlen, "ks or ks_ext_naf (64 hex digits) required");
			return -1;
		}
		if (kb_admin_hex_field(o, "ks_int_naf", rec->ks_int_naf, 32,
				       rec->mode == KB_GBA_U) != 0) {
			snprintf(err, errlen, "GBA_U needs ks_int_naf (64 hex digits)");
			return -1;
		}
	}
	v = json_object_get(o, "expires");
	if (json_is_integer(v)) {
		rec->expires = json_integer_value(v);
	} else {
		json_t *l = json_object_get(o, "lifetime");
		if (l != NULL && (!json_is_integer(l) || json_integer_value(l) < 0)) {
			snprintf(err, errlen, "lifetime: seconds");
			return -1;
		}
		rec->expires = now + (l != NULL ? json_integer_value(l) : 3600);
	}
	snprintf(btid_out, KB_GBA_BTID_MAX, "%s", btid);
	return 0;
}
