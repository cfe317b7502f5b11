/* codec-marker.h — strict JSON decoding of session markers (DESIGN §5.2, th-marker.h).
 *
 * Required: kind ("marker"), session ([A-Za-z0-9_.]+), vm, event, t. Optional with a type
 * check: definition, cycle, vm_id (-1 or null = unknown), src_host, dst_host, message, outcome
 * ("none" = unknown, as an absent key), origin. Names come from th-record-names.h.
 * "migration-end" needs an outcome key; "session-end" needs a summary object whose keys are
 * those of th_summary_fields (th-summary.h), each optional with its type and range (numbers may
 * be null = unknown; the outcome comes from the summary or else from the marker, and may stay
 * unknown). th-marker-json.h writes what this reads.
 *
 * hv-status, hv-pause and hv-resume need hv_host (a valid name) and hv_source ("qmp" or
 * "libvirt"), hv-status also hv_status (at most 31 bytes; optional on the other two);
 * clock_bound_ms is optional, a finite number >= 0 (absent = unknown, null refused). Other
 * events must not carry these keys. session-start may carry "params" (null = absent; other
 * events must not): an object whose known keys are typed strictly (interval_ms a number in
 * (0, 3.6e6], bandwidth a string of at most 31 bytes, live a boolean, cycles an integer >= 0,
 * load and description strings of at most 255 bytes, migration an object of at most
 * TH_PARAMS_MIGRATION_MAX distinct keys [a-z0-9-]{1,31} to strings of at most 63 bytes); its
 * unknown keys are ignored.
 *
 * vm must be a valid name (th-name.h). A body is walked as a stream (json-stream.h): each
 * marker is built alone in bounded storage, nesting is limited to TH_JS_DEPTH_MAX levels, a
 * marker to TH_JS_ELEM_NODES values and TH_JS_ELEM_BYTES bytes, a body to TH_MARKERS_MAX
 * markers (a session writes about five per migration cycle).
 */
#ifndef TH_CODEC_MARKER_H
#define TH_CODEC_MARKER_H

#include <stdbool.h>
#include <stddef.h>

#include <yajl/yajl_tree.h>

#include "th-error.h"
#include "th-marker.h"
#include "th-record-names.h" /* the names of events, outcomes and origins */

#define TH_MARKERS_MAX 10000 /* markers in one POST /v1/markers body */

/* True when s is a valid session id: 1..TH_SESSION_MAX-1 bytes of [A-Za-z0-9_.]. */
bool th_codec_session_ok(const char *s);

/* Decode one marker object; `where` names it in messages (e.g. "markers[0]"). */
th_err th_marker_decode_value(yajl_val v, const char *where, th_marker *m, char *errbuf);

/* Decode a POST /v1/markers body: a JSON array of markers or one marker object (bounds above).
 * On success *out (malloc'd, free()) holds *n markers. */
th_err th_markers_decode(const char *body, size_t len, th_marker **out, size_t *n, char *errbuf);

#endif
