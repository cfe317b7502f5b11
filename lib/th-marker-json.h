/* th-marker-json.h — the one JSON encoder of session markers and summaries (DESIGN §5.2), used
 * by the trigger (journal, POST /v1/markers, --json report) and the plugin's archive
 * (<session>.json, summaries.jsonl); codec-marker.h decodes what it writes.
 *
 * A marker is one JSON object whose keys equal the th_marker field names:
 *   {"kind":"marker","session":…,"definition":…,"cycle":N,"vm":…,"vm_id":N,"src_host":…,
 *    "dst_host":…,"event":"session-start",…,"t":1718003600.123456
 *    [,"outcome":"success"]  always on migration-end and session-end ("none" when unknown),
 *                            on other events only when known
 *    [,"origin":"run"]       only when said
 *    [,"message":"…"]        only when non-empty
 *    [,"hv_status":"active"] hv-* events, only when non-empty (always on hv-status)
 *    [,"hv_host":…,"hv_source":"qmp"|"libvirt"]  hv-* events
 *    [,"clock_bound_ms":N]   hv-* events, only when known (not NaN)
 *    [,"params":{…}]         session-start only, when params.present: its known fields only,
 *                            "interval_ms" (3 decimals), "bandwidth", "live" (a boolean),
 *                            "cycles", "load", "migration" (object of string values, in
 *                            order), "description"
 *    [,"summary":{…}]}       session-end only
 * cycle and vm_id are written as they are (-1 = unknown). The summary object has the keys of
 * th_summary_fields (th-summary.h), in that order, each encoded by its type: "outcome" a name
 * (the marker's outcome when the summary has none; left out when neither is known), doubles
 * with three decimals (epoch times, TH_SF_TIME, with six) and null for NaN, counts as integers
 * and null when negative, OpenNebula times as integers (0 = unset). Names come from
 * th-record-names.h.
 */
#ifndef TH_MARKER_JSON_H
#define TH_MARKER_JSON_H

#include <stddef.h>
#include <yajl/yajl_gen.h>

#include "th-error.h"
#include "th-marker.h"
#include "th-record-names.h"

/* Append m as one JSON object to an open generator. Fails with TH_ERR_INVALID naming the field
 * when the session id is not valid or the event is unknown (nothing is appended then). */
th_err th_marker_json_gen(yajl_gen g, const th_marker *m, char *errbuf);

/* Append s as one JSON object to an open generator; fallback is the outcome written when s has
 * none (TH_OUT_NONE: the key is left out). */
void th_summary_json_gen(yajl_gen g, const th_summary *s, th_outcome fallback);

/* Encode m as one line of JSON (no newline) into a malloc'd NUL-terminated string (*out, length
 * *len, may be NULL); errors as th_marker_json_gen. */
th_err th_marker_to_json(const th_marker *m, char **out, size_t *len, char *errbuf);

/* Encode a summary alone as a JSON object (same keys as inside a session-end marker). */
th_err th_summary_to_json(const th_summary *s, char **out, size_t *len, char *errbuf);

#endif
