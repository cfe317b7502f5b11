/* codec-iperf.h — iperf3 JSON output into "iperf" records (DESIGN §5.1, §5.4).
 *
 * Accepts either the whole `iperf3 --json` document or `iperf3 --json-stream` lines (one JSON
 * object per line: {"event":"start"|"interval"|"end"|...,"data":{...}}). Each non-omitted
 * interval's "sum" becomes one record: t = start.timestamp.timesecs + the interval start rounded
 * to the second; bytes == 0 marks a blackout (DESIGN §4: zero-byte intervals are outage).
 * UDP-only fields (jitter_ms, lost_packets, packets) stay unknown for TCP.
 *
 * vm must be a valid name and stream a valid stream id (th-name.h; messages name "vm" and
 * "stream"). The body is walked as a stream (json-stream.h): only "start" and each item of
 * "intervals" (or each line's object) are built, one at a time, in bounded storage; every other
 * member ("end", per-stream details of the document, ...) is skipped without being built.
 * Nesting is limited to TH_JS_DEPTH_MAX levels everywhere, an interval or a line to
 * TH_JS_ELEM_NODES values and TH_JS_ELEM_BYTES bytes (an interval of `-P 128` needs about 2000
 * values and 32 KB), a body to TH_IPERF_INTERVALS_MAX intervals (a day at 1 s).
 * In a document "start" must come before "intervals", as iperf3 writes them.
 */
#ifndef TH_CODEC_IPERF_H
#define TH_CODEC_IPERF_H

#include <stddef.h>

#include "th-error.h"
#include "th-record.h"

#define TH_IPERF_INTERVALS_MAX 100000 /* intervals in one POST /v1/iperf body */

/* Decode body into *out (malloc'd, free()) / *n records for (vm, stream), both non-empty. */
th_err th_iperf_decode(const char *body, size_t len, const char *vm, const char *stream,
                       th_record **out, size_t *n, char *errbuf);

#endif
