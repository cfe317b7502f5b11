/* args.h — parsing of command-line values with messages that name the option and the value. */
#ifndef TH_AGENT_ARGS_H
#define TH_AGENT_ARGS_H

#include <stdint.h>

#include "th-error.h"

/* A duration in milliseconds ("10", "0.1", "1500") into ns; min_ns <= value <= max_ns. */
th_err th_arg_ms(const char *opt, const char *val, int64_t min_ns, int64_t max_ns, int64_t *out,
                 char *errbuf);

/* A duration in seconds ("30", "1.5") into ns; min_ns <= value <= max_ns. */
th_err th_arg_s(const char *opt, const char *val, int64_t min_ns, int64_t max_ns, int64_t *out,
                char *errbuf);

/* A whole number min <= value <= max. */
th_err th_arg_uint(const char *opt, const char *val, uint64_t min, uint64_t max, uint64_t *out,
                   char *errbuf);

/* A size in bytes ("262144", "512K", "256M", "2G"; K, M, G, T are powers of 1024);
 * min <= value <= max. */
th_err th_arg_size(const char *opt, const char *val, uint64_t min, uint64_t max, uint64_t *out,
                   char *errbuf);

/* A name for records: 1..TH_NAME_MAX-1 printable ASCII characters without quotes, backslash or
 * spaces. */
th_err th_arg_name(const char *opt, const char *val, char *out, char *errbuf);

#endif
