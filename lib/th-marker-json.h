/* th-marker-json.h — JSON encoding of session markers and summaries (DESIGN §5.2).
 *
 * A marker is one JSON object whose keys equal the th_marker field names:
 *   {"kind":"marker","session":…,"definition":…,"cycle":N,"vm":…,"vm_id":N,"src_host":…,
 *    "dst_host":…,"event":"session-start",…,"t":1718003600.123456
 *    [,"outcome":"success"]        migration-end and session-end only
 *    [,"message":"…"]              only when non-empty
 *    [,"summary":{…}]}             session-end only
 * The summary object has the th_summary field names as keys: "outcome" as a string (the
 * marker's outcome when the summary has none; left out when neither is known), doubles
 * with millisecond/microsecond digits, NaN encoded as null, lost_* as integers (null when
 * negative = unknown), one_* as integers (0 = unset).
 */
#ifndef TH_MARKER_JSON_H
#define TH_MARKER_JSON_H

#include <stddef.h>

#include "th-error.h"
#include "th-marker.h"

/* "session-start", … for an event; NULL for a value outside th_event. */
const char *th_marker_event_name(th_event e);

/* "success", "failed", "timeout", "lost", "aborted"; "none" for TH_OUT_NONE; NULL otherwise. */
const char *th_marker_outcome_name(th_outcome o);

/* Encode m as one line of JSON (no newline) into a malloc'd NUL-terminated string (*out, length
 * *len). Fails with TH_ERR_INVALID naming the field when the session id is not valid or the
 * event is unknown. */
th_err th_marker_to_json(const th_marker *m, char **out, size_t *len, char *errbuf);

/* Encode a summary alone as a JSON object (same keys as inside a session-end marker). */
th_err th_summary_to_json(const th_summary *s, char **out, size_t *len, char *errbuf);

#endif
