/* codec-record.h — strict JSON decoding of agent records (DESIGN §5.1, th-record.h).
 *
 * The decoder is the strict side of the contract: every listed key of a kind is required with
 * its JSON type and range ("second" RTT/jitter fields may be null = no echo; iperf jitter_ms,
 * lost_packets and packets may be null or absent = unknown); unknown keys are ignored so that
 * producers can add fields. Errors name the record and the field: "records[3].sent: ...".
 * vm must be a valid name and stream a valid stream id (th-name.h). An outage's per-direction
 * windows (up_start/up_end, down_start/down_end) are optional, NaN when absent; a pair comes
 * whole, start <= end, inside [start, end] of the outage (1 us of rounding allowed).
 *
 * A body is walked as a stream (json-stream.h): each record is built alone in bounded storage,
 * nesting is limited to TH_JS_DEPTH_MAX levels, a record to TH_JS_ELEM_NODES values and
 * TH_JS_ELEM_BYTES bytes, a body to TH_RECORDS_MAX records (agents send batches of 200 by
 * default; 100 000 records are about 30 MB of JSON, beyond the plugin's MaxBodySize default).
 */
#ifndef TH_CODEC_RECORD_H
#define TH_CODEC_RECORD_H

#include <stddef.h>

#include <yajl/yajl_tree.h>

#include "th-error.h"
#include "th-record.h"
#include "th-record-names.h" /* th_record_kind_name, th_direction_name */

#define TH_RECORDS_MAX 100000 /* records in one POST /v1/records body */

/* Highest epoch second accepted anywhere (year 2100): catches milliseconds sent as seconds. */
#define TH_EPOCH_MAX 4102444800LL

/* Decode one record object; `where` names it in messages (e.g. "records[3]"). */
th_err th_record_decode_value(yajl_val v, const char *where, th_record *r, char *errbuf);

/* Decode a POST /v1/records body: a JSON array of records, or one record object (bounds above).
 * On success *out (malloc'd, free()) holds *n records; nothing is returned on failure. */
th_err th_records_decode(const char *body, size_t len, th_record **out, size_t *n, char *errbuf);

#endif
