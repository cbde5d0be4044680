/* The JSON summary every uesim mode ends with. */
#ifndef KB_UESIM_JSON_H
#define KB_UESIM_JSON_H

#include <jansson.h>

/* Write o (indented, in insertion order) and a newline to path, or to stdout
 * if path is NULL. Returns 0, or -1 after perror(path) if it cannot be
 * opened. Does not take the reference to o. */
int kb_uesim_json_write(const json_t *o, const char *path);

#endif
