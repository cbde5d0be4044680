/* The C face of Google Benchmark. Every benchmark body is a C function that
 * calls keyburst's C code; gbench_shim.cc is the only C++ in the tree and it
 * never reaches the product (bench/ links it, nothing else does). */
#ifndef KB_BENCH_H
#define KB_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct kb_bench;
struct kb_bench_state;
typedef void (*kb_bench_fn)(struct kb_bench_state *st);

/* Register a benchmark; add argument tuples with kb_bench_args (none: one
 * instance without arguments). The name must outlive the run. */
struct kb_bench *kb_bench_register(const char *name, kb_bench_fn fn);
/* One instance with n (<= 4) integer arguments, read back with
 * kb_bench_state_range(st, i). */
void kb_bench_args(struct kb_bench *b, unsigned n, const int64_t *args);
void kb_bench_arg_names(struct kb_bench *b, unsigned n, const char *const *names);
/* Report wall-clock time (default: the calling thread's CPU time). */
void kb_bench_use_real_time(struct kb_bench *b);

/* The timing loop: while (kb_bench_keep_running_batch(st, n)) { n items }.
 * Each iteration is one item, so "time per iteration" is time per item. */
bool kb_bench_keep_running(struct kb_bench_state *st);
bool kb_bench_keep_running_batch(struct kb_bench_state *st, uint64_t n);
int64_t kb_bench_state_range(const struct kb_bench_state *st, unsigned i);
uint64_t kb_bench_state_iterations(const struct kb_bench_state *st);
void kb_bench_state_pause(struct kb_bench_state *st);
void kb_bench_state_resume(struct kb_bench_state *st);
void kb_bench_state_set_items_processed(struct kb_bench_state *st, uint64_t n);
void kb_bench_state_set_bytes_processed(struct kb_bench_state *st, uint64_t n);
/* A user counter; rate != 0 divides it by the elapsed time (per second). */
void kb_bench_state_counter(struct kb_bench_state *st, const char *name, double value, int rate);
void kb_bench_state_set_label(struct kb_bench_state *st, const char *label);
/* Mark the run failed (shown, and "error_occurred" in the JSON). */
void kb_bench_state_skip_with_error(struct kb_bench_state *st, const char *msg);

/* Context key/values printed in the JSON "context" object. */
void kb_bench_add_context(const char *key, const char *value);

/* Parse gbench's flags from argv and run the registered benchmarks.
 * Returns the process exit status. */
int kb_bench_run(int argc, char **argv);

#ifdef __cplusplus
}
#endif

#endif
