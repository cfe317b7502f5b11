/* one-context.h — a VM's OpenNebula context.sh (the file oned writes on the context CD) as the
 * variables of TEMPLATE/CONTEXT: parsing only, no I/O.
 *
 * The format is what oned writes: a "# ..." header line, then one NAME='value' line per
 * variable; a single quote inside a value is written '\'' (close, escaped quote, reopen).
 * Blank lines and "#" comment lines are skipped. NAME is [A-Za-z_][A-Za-z0-9_]*.
 */
#ifndef TH_LAB_ONE_CONTEXT_H
#define TH_LAB_ONE_CONTEXT_H

#include <stddef.h>

#include "th-error.h"

#define ONE_CTX_MAX      64   /* variables per VM */
#define ONE_CTX_NAMELEN  64   /* a name, with its terminating NUL */
#define ONE_CTX_VALUELEN 1024 /* a value, with its terminating NUL */

typedef struct one_ctxvar {
	char name[ONE_CTX_NAMELEN];
	char value[ONE_CTX_VALUELEN];
} one_ctxvar;

/* Parses text (what = the file's name for messages) into a newly allocated array of *n
 * variables in file order (free() it). TH_ERR_PARSE naming what and the line for a malformed
 * line, TH_ERR_TOOBIG past the limits above, TH_ERR_NOMEM. */
th_err one_context_parse(const char *text, const char *what, one_ctxvar **vars, size_t *n,
                         char *errbuf);

/* The value of name among vars, or NULL. */
const char *one_context_get(const one_ctxvar *vars, size_t n, const char *name);

#endif
