/* th-error.h — the one error convention of Themis.
 *
 * Every fallible function returns a th_err; when it fails it also writes a message naming the
 * input that caused the problem into a caller-supplied buffer of TH_ERRLEN bytes (NULL allowed).
 * Nothing below main() prints or exits.
 */
#ifndef TH_ERROR_H
#define TH_ERROR_H

#include <stddef.h>

#define TH_ERRLEN 256

typedef enum th_err {
	TH_OK = 0,
	TH_ERR_NOMEM,    /* out of memory */
	TH_ERR_INVALID,  /* bad argument or malformed input */
	TH_ERR_PARSE,    /* a document could not be parsed */
	TH_ERR_IO,       /* system call or file failed */
	TH_ERR_NET,      /* network/transport failure */
	TH_ERR_TIMEOUT,  /* a deadline passed */
	TH_ERR_AUTH,     /* authentication or authorization refused */
	TH_ERR_REMOTE,   /* the peer answered with an error */
	TH_ERR_NOTFOUND, /* named object does not exist */
	TH_ERR_TOOBIG,   /* input exceeds a configured bound */
	TH_ERR_STATE,    /* operation not possible in the current state */
	TH_ERR_LIMIT,    /* a resource limit is reached for now: try again later */
	TH_ERR__COUNT
} th_err;

/* Short, stable description of an error code ("invalid input", ...). Never NULL. */
const char *th_strerror(th_err e);

/* printf-style write of a message into errbuf (TH_ERRLEN bytes, may be NULL); returns e. */
th_err th_seterr(char *errbuf, th_err e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
