/* A minimal assertion harness for the unit tests: every CHECK counts, a
 * failure prints where and why, and the exit status is the failure count
 * (capped), so meson test sees a failing executable. */
#ifndef KB_CHECK_H
#define KB_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int kb_check_failures;
static int kb_check_count;

#define CHECK(cond)                                                                              \
	do {                                                                                     \
		kb_check_count++;                                                                \
		if (!(cond)) {                                                                   \
			kb_check_failures++;                                                     \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
		}                                                                                \
	} while (0)

#define CHECK_MEM(a, b, n)                                                                         \
	do {                                                                                       \
		kb_check_count++;                                                                  \
		if (memcmp((a), (b), (n)) != 0) {                                                  \
			kb_check_failures++;                                                       \
			fprintf(stderr, "%s:%d: CHECK_MEM failed: %s != %s\n", __FILE__, __LINE__, \
				#a, #b);                                                           \
			kb_check_dump("got", (const unsigned char *)(a), (n));                     \
			kb_check_dump("want", (const unsigned char *)(b), (n));                    \
		}                                                                                  \
	} while (0)

static inline void kb_check_dump(const char *label, const unsigned char *p, size_t n)
{
	fprintf(stderr, "  %-4s ", label);
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "%02x", p[i]);
	fputc('\n', stderr);
}

/* Runs a test function and reports it by name. */
#define RUN(fn)                                                                        \
	do {                                                                           \
		int before = kb_check_failures;                                        \
		fn();                                                                  \
		printf("%s %s\n", kb_check_failures == before ? "ok  " : "FAIL", #fn); \
	} while (0)

static inline int kb_check_done(void)
{
	printf("%d checks, %d failed\n", kb_check_count, kb_check_failures);
	if (kb_check_count == 0)
		return 99; /* a test that checked nothing is a failure */
	return kb_check_failures > 100 ? 100 : kb_check_failures;
}

#endif
