/* th-error.c — error codes and message formatting shared by every part. */
#include "themis-config.h"

#include <stdarg.h>
#include <stdio.h>

#include "th-error.h"

static const char *const th_err_names[TH_ERR__COUNT] = {
    [TH_OK] = "success",
    [TH_ERR_NOMEM] = "out of memory",
    [TH_ERR_INVALID] = "invalid input",
    [TH_ERR_PARSE] = "parse error",
    [TH_ERR_IO] = "I/O error",
    [TH_ERR_NET] = "network error",
    [TH_ERR_TIMEOUT] = "timed out",
    [TH_ERR_AUTH] = "authentication refused",
    [TH_ERR_REMOTE] = "remote error",
    [TH_ERR_NOTFOUND] = "not found",
    [TH_ERR_TOOBIG] = "too big",
    [TH_ERR_STATE] = "wrong state",
    [TH_ERR_LIMIT] = "limit reached",
};

const char *th_strerror(th_err e)
{
	if ((unsigned)e >= TH_ERR__COUNT || th_err_names[e] == NULL)
		return "unknown error";
	return th_err_names[e];
}

th_err th_seterr(char *errbuf, th_err e, const char *fmt, ...)
{
	va_list ap;

	if (errbuf == NULL)
		return e;
	va_start(ap, fmt);
	vsnprintf(errbuf, TH_ERRLEN, fmt, ap);
	va_end(ap);
	return e;
}
