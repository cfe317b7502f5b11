/* codec-test.h — small helpers the decoder tests share: hostile nesting and a monotonic clock. */
#ifndef TH_CODEC_TEST_H
#define TH_CODEC_TEST_H

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>

/* n opening brackets then n closing ones, between prefix and suffix (malloc'd; *len bytes). */
static inline char *th_nested(const char *prefix, size_t n, const char *suffix, size_t *len)
{
	size_t p = strlen(prefix), s = strlen(suffix);
	char *b = malloc(p + 2 * n + s + 1);

	ck_assert_ptr_nonnull(b);
	memcpy(b, prefix, p);
	memset(b + p, '[', n);
	memset(b + p + n, ']', n);
	memcpy(b + p + 2 * n, suffix, s + 1);
	*len = p + 2 * n + s;
	return b;
}

/* CLOCK_MONOTONIC in seconds. */
static inline double th_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
