/* th-record-names.h — the JSON names of every enum value that crosses a part boundary: record
 * kinds and directions (th-record.h), marker events, outcomes and origins (th-marker.h). One
 * table per enum (th-record-names.c), used by every encoder (record-json, th-marker-json, the
 * plugin's archive) and every decoder (codec-record, codec-marker), so both sides cannot drift.
 *
 * TH_OUT_NONE is named "none": the outcome is not known. Decoders take "none" and an absent
 * "outcome" key alike; encoders write "none" where the key is required (migration-end) or
 * expected (session-end) and leave the key out elsewhere (th-marker-json.h). */
#ifndef TH_RECORD_NAMES_H
#define TH_RECORD_NAMES_H

#include "th-marker.h"
#include "th-record.h"

/* "second", "outage", "iperf"; NULL for an invalid value. */
const char *th_record_kind_name(th_record_kind k);
/* The kind named s; 0 when s names none. */
th_record_kind th_record_kind_parse(const char *s);

/* "up", "down", "both", "unknown"; NULL for an invalid value. */
const char *th_direction_name(th_direction d);
/* The direction named s; 0 when s names none. */
th_direction th_direction_parse(const char *s);

/* "session-start", "migration-request", "migration-start", "migration-end", "session-end",
 * "hv-status", "hv-pause", "hv-resume"; NULL for an invalid value. */
const char *th_event_name(th_event e);
/* The event named s; 0 when s names none. */
th_event th_event_parse(const char *s);

/* "none" (TH_OUT_NONE), "success", "failed", "timeout", "lost", "aborted"; NULL for an invalid
 * value. */
const char *th_outcome_name(th_outcome o);
/* The outcome named s ("none" gives TH_OUT_NONE); -1 when s names none. */
int th_outcome_parse(const char *s);

/* "run", "observed"; NULL for TH_ORIGIN_NONE (the key is left out) and invalid values. */
const char *th_origin_name(th_origin o);
/* The origin named s; TH_ORIGIN_NONE when s names none. */
th_origin th_origin_parse(const char *s);

#endif
