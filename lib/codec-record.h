/* codec-record.h — strict JSON decoding of agent records (DESIGN §5.1, th-record.h).
 *
 * The decoder is the strict side of the contract: every listed key of a kind is required with
 * its JSON type and range ("second" RTT/jitter fields may be null = no echo; iperf jitter_ms,
 * lost_packets and packets may be null or absent = unknown); unknown keys are ignored so that
 * producers can add fields. Errors name the record and the field: "records[3].sent: ...".
 */
#ifndef TH_CODEC_RECORD_H
#define TH_CODEC_RECORD_H

#include <stddef.h>

#include <yajl/yajl_tree.h>

#include "th-error.h"
#include "th-record.h"
#include "th-record-names.h" /* th_record_kind_name, th_direction_name */

/* Highest epoch second accepted anywhere (year 2100): catches milliseconds sent as seconds. */
#define TH_EPOCH_MAX 4102444800LL

/* Decode one record object; `where` names it in messages (e.g. "records[3]"). */
th_err th_record_decode_value(yajl_val v, const char *where, th_record *r, char *errbuf);

/* Decode a POST /v1/records body: a JSON array of records, or one record object.
 * On success *out (malloc'd, free()) holds *n records; nothing is returned on failure. */
th_err th_records_decode(const char *body, size_t len, th_record **out, size_t *n, char *errbuf);

#endif
