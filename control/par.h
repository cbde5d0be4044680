/* A small worker pool for one producer: fn(arg, i) runs for every index
 * below what the producer has made available, on the workers and, once the
 * producer waits, on the producer too. Bulk imports and the start-up
 * rebuild use it to derive SA records on every core while one thread
 * parses and writes LMDB. */
#ifndef KB_PAR_H
#define KB_PAR_H

#include <stddef.h>

typedef void (*kb_par_fn)(void *arg, size_t i);

struct kb_par;

/* threads 0: one per online CPU. NULL if no thread could start. */
struct kb_par *kb_par_new(unsigned threads);
/* Start a round over a fresh index space (the previous one is finished). */
void kb_par_begin(struct kb_par *p, kb_par_fn fn, void *arg);
/* Indexes below n may run now (n never decreases within a round). */
void kb_par_avail(struct kb_par *p, size_t n);
/* Make n available, help run them, return once fn ran for every i < n. */
void kb_par_finish(struct kb_par *p, size_t n);
void kb_par_free(struct kb_par *p);

#endif
