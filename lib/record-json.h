/* record-json.h — encoding of th_record values as JSON (DESIGN §5.1), with yajl.
 *
 * Keys are exactly the DESIGN §5.1 names (plus the th-record.h additions noted there), NaN
 * numbers become null, epoch times with fractions ("start", "end") carry microsecond digits,
 * "t" is an integer. An outage's per-direction windows ("up_start"/"up_end",
 * "down_start"/"down_end") are written, as pairs, only when known (finite and > 0). Decoding lives in the codec (lib/codec.am).
 */
#ifndef TH_RECORD_JSON_H
#define TH_RECORD_JSON_H

#include <stddef.h>
#include <yajl/yajl_gen.h>

#include "th-error.h"
#include "th-record.h"

/* Append one record as a JSON object to an open generator (e.g. inside an array). */
th_err th_record_json_gen(yajl_gen g, const th_record *rec, char *errbuf);

/* One record as a NUL-terminated JSON object without newline, in a malloc'd string the caller
 * frees; *len (may be NULL) gets its length. */
th_err th_record_to_json(const th_record *rec, char **out, size_t *len, char *errbuf);

#endif
