/* hv-view.h — the hypervisor's own view of a migration, read from the output of an operator
 * command (e.g. the lab's "themis-lab migrate-info", a QMP query, or `virsh domjobinfo
 * --completed`). Recognised figures, first match wins, case-insensitive keys:
 *   downtime:  "downtime_ms=N", "downtime=N" (ms), "Total downtime: N ms", "\"downtime\": N"
 *   total:     "total_ms=N", "total-time=N", "total_time_ms=N", "Time elapsed: N ms",
 *              "\"total-time\": N"
 * Values are milliseconds; unknown figures stay NaN. */
#ifndef TH_TRIGGER_HV_VIEW_H
#define TH_TRIGGER_HV_VIEW_H

#include <stddef.h>

#include "th-error.h"

/* Parse text; TH_ERR_NOTFOUND (message quoting the start of the text) when no downtime figure is
 * present. */
th_err hv_parse(const char *text, double *downtime_ms, double *total_ms, char *errbuf);

/* Replace {vm} {vm_id} {src} {dst} {session} in tmpl. Values are substituted bare (the operator
 * may have put a placeholder inside quotes), so each must be made of [A-Za-z0-9._-] only:
 * TH_ERR_INVALID naming the placeholder and the value otherwise (a host name from OpenNebula
 * never reaches the shell unchecked), and for an unknown {placeholder}. */
th_err hv_expand(const char *tmpl, char *out, size_t size, const char *vm, int vm_id,
                 const char *src, const char *dst, const char *session, char *errbuf);

/* The same over any placeholder list: names[i] ("{vm}") replaced by vals[i]; what names the
 * option in messages. */
th_err hv_expand_vars(const char *what, const char *tmpl, char *out, size_t size,
                      const char *const *names, const char *const *vals, size_t nvars,
                      char *errbuf);

#endif
