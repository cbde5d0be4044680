/* The MIKEY decoder on arbitrary bytes: it must never read out of bounds,
 * and whatever it accepts must be self-consistent. */
#include "mikey/mikey_codec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_in(const uint8_t *data, size_t size, const uint8_t *p, size_t n)
{
	if (n != 0 && (p < data || p + n > data + size))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kb_mikey_msg m, again;
	struct kb_mikey_error err;
	struct kb_mikey_keydata kd[KB_MIKEY_MAX_KEYDATA];
	unsigned n = 0;

	/* key data parsing on the raw bytes as well */
	if (kb_mikey_decode_keydata(data, size, kd, KB_MIKEY_MAX_KEYDATA, &n, &err) == 0) {
		for (unsigned i = 0; i < n; i++) {
			check_in(data, size, kd[i].key, kd[i].key_len);
			check_in(data, size, kd[i].salt, kd[i].salt_len);
			check_in(data, size, kd[i].spi, kd[i].spi_len);
		}
	}

	if (kb_mikey_decode(data, size, &m, &err) != 0) {
		/* an error always names a place inside (or just past) the input */
		if (err.offset > size || memchr(err.msg, '\0', sizeof(err.msg)) == NULL)
			__builtin_trap();
		return 0;
	}
	if (m.len != size || m.version != 1 || m.n_ids > KB_MIKEY_MAX_IDS)
		__builtin_trap();
	for (unsigned i = 0; i < m.n_ids; i++)
		check_in(data, size, m.ids[i].data, m.ids[i].len);
	if (m.has_t)
		check_in(data, size, m.t_raw, m.t_raw_len);
	if (m.has_rand)
		check_in(data, size, m.rand, m.rand_len);
	if (m.has_kemac) {
		check_in(data, size, m.encr, m.encr_len);
		/* KEMAC is last: its MAC ends the message */
		if (m.mac_off + (m.mac_alg == 1 ? KB_MIKEY_MAC_LEN : 0) != size ||
		    m.encr != data + m.encr_off)
			__builtin_trap();
	}
	if (m.has_v && m.v_mac_off + (m.v_alg == 1 ? KB_MIKEY_MAC_LEN : 0) != size)
		__builtin_trap();
	/* deterministic */
	if (kb_mikey_decode(data, size, &again, &err) != 0 || memcmp(&m, &again, sizeof(m)) != 0)
		__builtin_trap();
	/* a strict decoder cannot accept both a message and its prefix: the last
	 * payload would have to end twice (copy so ASan sees the shorter buffer) */
	if (size > 0) {
		uint8_t *p = malloc(size - 1 ? size - 1 : 1);
		if (p != NULL) {
			memcpy(p, data, size - 1);
			if (kb_mikey_decode(p, size - 1, &again, &err) == 0 &&
			    (m.has_kemac || m.has_v))
				__builtin_trap();
			free(p);
		}
	}
	return 0;
}
