/* args.c — command-line value parsing for themis-agent. */
#include "themis-config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "th-record.h"
#include "th-time.h"

static th_err scaled(const char *opt, const char *val, double scale, const char *unit,
                     int64_t min_ns, int64_t max_ns, int64_t *out, char *errbuf)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(val, &end);
	if (val[0] == '\0' || *end != '\0' || errno != 0 || !isfinite(v))
		return th_seterr(errbuf, TH_ERR_INVALID, "%s \"%s\": not a number of %s", opt, val,
		                 unit);
	double ns = v * scale;
	if (ns < (double)min_ns || ns > (double)max_ns)
		return th_seterr(errbuf, TH_ERR_INVALID, "%s %s: must be between %g and %g %s", opt,
		                 val, (double)min_ns / scale, (double)max_ns / scale, unit);
	*out = (int64_t)llround(ns);
	return TH_OK;
}

th_err th_arg_ms(const char *opt, const char *val, int64_t min_ns, int64_t max_ns, int64_t *out,
                 char *errbuf)
{
	return scaled(opt, val, 1e6, "ms", min_ns, max_ns, out, errbuf);
}

th_err th_arg_s(const char *opt, const char *val, int64_t min_ns, int64_t max_ns, int64_t *out,
                char *errbuf)
{
	return scaled(opt, val, 1e9, "s", min_ns, max_ns, out, errbuf);
}

th_err th_arg_uint(const char *opt, const char *val, uint64_t min, uint64_t max, uint64_t *out,
                   char *errbuf)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(val, &end, 10);
	if (val[0] < '0' || val[0] > '9' || *end != '\0' || errno != 0)
		return th_seterr(errbuf, TH_ERR_INVALID, "%s \"%s\": not a whole number", opt, val);
	if (v < min || v > max)
		return th_seterr(errbuf, TH_ERR_INVALID, "%s %s: must be between %llu and %llu",
		                 opt, val, (unsigned long long)min, (unsigned long long)max);
	*out = v;
	return TH_OK;
}

th_err th_arg_name(const char *opt, const char *val, char *out, char *errbuf)
{
	size_t n = strlen(val);

	if (n == 0 || n >= TH_NAME_MAX)
		return th_seterr(errbuf, TH_ERR_INVALID, "%s \"%s\": must be 1 to %d characters",
		                 opt, val, TH_NAME_MAX - 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)val[i];
		if (c <= ' ' || c >= 0x7f || c == '"' || c == '\\')
			return th_seterr(errbuf, TH_ERR_INVALID,
			                 "%s \"%s\": character %zu is not allowed (printable ASCII "
			                 "without spaces, quotes or backslashes)",
			                 opt, val, i + 1);
	}
	memcpy(out, val, n + 1);
	return TH_OK;
}

th_err th_arg_size(const char *opt, const char *val, uint64_t min, uint64_t max, uint64_t *out,
                   char *errbuf)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	errno = 0;
	v = strtoull(val, &end, 10);
	if (val[0] < '0' || val[0] > '9' || errno != 0)
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "%s \"%s\": not a size (a number of bytes with an optional K, M "
		                 "or G)",
		                 opt, val);
	switch (*end) {
	case '\0':
		break;
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	case 't':
	case 'T':
		shift = 40;
		break;
	default:
		shift = 64;
	}
	if (shift == 64 || (*end != '\0' && end[1] != '\0'))
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "%s \"%s\": not a size (a number of bytes with an optional K, M "
		                 "or G)",
		                 opt, val);
	if (v > (UINT64_MAX >> shift) || (v << shift) < min || (v << shift) > max)
		return th_seterr(errbuf, TH_ERR_INVALID,
		                 "%s %s: must be between %llu and %llu bytes", opt, val,
		                 (unsigned long long)min, (unsigned long long)max);
	*out = v << shift;
	return TH_OK;
}

int th_cmd_parsed(const char *cmd, th_err e, const char *err, bool usage, bool help,
                  void (*usage_fn)(FILE *))
{
	if (e != TH_OK) {
		if (err[0] != '\0')
			fprintf(stderr, "themis-agent %s: %s\n", cmd, err);
		if (usage)
			usage_fn(stderr);
		return TH_EXIT_USAGE;
	}
	if (help) {
		usage_fn(stdout);
		return TH_EXIT_OK;
	}
	return -1;
}
