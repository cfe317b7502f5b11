/* th-name.h — the one rule for VM names and stream ids taken from outside (HTTP bodies and
 * queries), checked when they are decoded so that nothing downstream (collectd identifiers,
 * archive paths, messages, logs) meets a separator, a dot name, an option-looking name or a
 * control character.
 *
 * A name: 1..63 bytes of [A-Za-z0-9._:-], the first a letter, a digit or '_' (so never "." or
 * "..", never a leading '-', no '/', NUL, space or newline).
 * A stream id: one or more names joined by '/' (the agents' default ids are
 * "<host>/<vm>/<port>", "<host>/<vm>/iperf", "<host>/<vm>/<port>/oneway"), at most
 * TH_STREAM_ID_MAX bytes; each part obeys the name rule, so no part is empty, "." or "..".
 */
#ifndef TH_NAME_H
#define TH_NAME_H

#include <stdbool.h>

#include "th-error.h"

#define TH_NAME_LEN_MAX  63  /* bytes of a name */
#define TH_STREAM_ID_MAX 127 /* bytes of a stream id (th_record.stream holds 127 + NUL) */

/* True when s is a valid name (see above). */
bool th_name_ok(const char *s);
/* TH_OK, or TH_ERR_INVALID "<field>: \"a/b\" is not a valid name (...)". */
th_err th_name_check(const char *field, const char *s, char *errbuf);

/* True when s is a valid stream id: names joined by '/'. */
bool th_stream_id_ok(const char *s);
/* TH_OK, or TH_ERR_INVALID "<field>: \"a//b\" is not a valid stream id (...)". */
th_err th_stream_id_check(const char *field, const char *s, char *errbuf);

#endif
