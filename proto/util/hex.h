/* Hex encoding for the CLI, tests and logs of public values. */
#ifndef KB_HEX_H
#define KB_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Decode exactly `len` hex digits (even, upper or lower case) into out.
 * Returns the number of bytes written, or -1 on an odd length, a non-hex
 * digit, or if the result would exceed `cap`. */
long kb_hex_decode(const char *hex, size_t len, uint8_t *out, size_t cap);

/* Encode n bytes as lower-case hex into out (2n+1 bytes, NUL-terminated). */
void kb_hex_encode(const uint8_t *in, size_t n, char *out);

#endif
