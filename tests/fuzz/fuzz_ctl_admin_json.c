/* The admin API's JSON: any bytes go through jansson and, when they make an
 * object (or an array of them, as POST /v1/bootstraps takes), through the
 * service and bootstrap validators, which must accept or refuse with a
 * message and never write out of their records. */
#include "admin_json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one(json_t *o)
{
	struct kb_rec_service s;
	struct kb_rec_bootstrap b;
	char err[160], btid[KB_GBA_BTID_MAX];
	err[0] = '\0';
	if (kb_admin_service_from_json(o, 4359, &s, err, sizeof(err)) == 0) {
		if (s.id[0] == '\0' || memchr(s.id, '\0', sizeof(s.id)) == NULL || s.udp_port == 0)
			__builtin_trap();
	} else if (err[0] == '\0') {
		__builtin_trap();
	}
	err[0] = '\0';
	if (kb_admin_bootstrap_from_json(o, 1000000, btid, &b, err, sizeof(err)) == 0) {
		if (btid[0] == '\0' || b.impi[0] == '\0' || (b.mode != 0 && b.mode != 1))
			__builtin_trap();
	} else if (err[0] == '\0') {
		__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t je;
	json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
	if (j == NULL)
		return 0;
	if (json_is_array(j)) {
		for (size_t i = 0; i < json_array_size(j) && i < 16; i++)
			one(json_array_get(j, i));
	} else {
		one(j);
	}
	json_decref(j);
	return 0;
}
