/* th-session.h — session identifiers (DESIGN §5.2): unique, made only of [A-Za-z0-9_.] so they
 * are safe in file names and collectd identifiers. */
#ifndef TH_SESSION_H
#define TH_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "th-error.h"
#include "th-marker.h"

/* True when id is non-empty, shorter than TH_SESSION_MAX and only [A-Za-z0-9_.]. */
bool th_session_id_valid(const char *id);

/* Build "<definition>.<YYYYmmddTHHMMSSZ>.<rnd as 8 hex>.c<cycle>" into out (TH_SESSION_MAX
 * bytes) from the epoch time wall_ns (UTC). Characters of definition outside [A-Za-z0-9_.]
 * become '_', and it is cut to 48 bytes; an empty definition becomes "session". */
th_err th_session_id_make(char *out, const char *definition, int64_t wall_ns, uint32_t rnd,
                          int cycle, char *errbuf);

/* 32 random bits from the kernel (getrandom); falls back to clock bits if unavailable. */
uint32_t th_session_random(void);

#endif
