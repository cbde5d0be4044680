/* Streamed bulk imports (admin API): the roster CSV and NDJSON bootstrap
 * records. Rows are parsed as the upload arrives and stored in batches of
 * KB_IMPORT_BATCH rows, each one LMDB write transaction: a batch is
 * visible whole or not at all, also after kill -9. For the roster, SA
 * records are derived on a worker pool while this thread parses and
 * writes, and published once their batch is committed. */
#ifndef KB_IMPORT_H
#define KB_IMPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "records.h"

#define KB_IMPORT_BATCH 65536

struct kb_ctl;
struct kb_import;

enum kb_import_kind { KB_IMPORT_ROSTER, KB_IMPORT_BOOTSTRAPS };

/* svc: the service every roster row is registered to (NULL: none);
 * lifetime: seconds the imported MUKs stay valid. NULL on no memory. */
struct kb_import *kb_import_new(struct kb_ctl *c, enum kb_import_kind kind,
				const struct kb_rec_service *svc, uint32_t lifetime);
void kb_import_feed(struct kb_import *im, const char *data, size_t n);
/* Stores the last rows; the answer {"rows","imported","errors",
 * "first_errors"} and whether the store failed. */
json_t *kb_import_finish(struct kb_import *im, bool *failed);
/* Frees; rows parsed but not finished (the client went away) are stored. */
void kb_import_free(struct kb_import *im);

#endif
