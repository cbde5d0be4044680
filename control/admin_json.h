/* The admin API's JSON objects (docs/control-plane.md), validated into
 * store records. Pure: no server state. */
#ifndef KB_ADMIN_JSON_H
#define KB_ADMIN_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "records.h"

/* A hex string field of exactly n bytes: 0, 1 if absent and not required,
 * -1 if malformed (or absent and required). */
int kb_admin_hex_field(json_t *o, const char *name, uint8_t *out, size_t n, bool required);
/* A string field of 1..max-1 characters without NUL, or NULL. */
const char *kb_admin_str_field(json_t *o, const char *name, size_t max);

/* {"id","key_domain","key_group","udp_port","rollover_period","ack_wanted",
 *  "retries"} -> record (key numbers left 0). 0 or -1 with err. */
int kb_admin_service_from_json(json_t *o, uint16_t default_port, struct kb_rec_service *s,
			       char *err, size_t errlen);
/* {"btid","impi","mode","rand","ks"|"ks_ext_naf"[,"ks_int_naf"],
 *  "expires"|"lifetime"} -> record. 0 or -1 with err. */
int kb_admin_bootstrap_from_json(json_t *o, int64_t now, char *btid_out,
				 struct kb_rec_bootstrap *rec, char *err, size_t errlen);

#endif
