/* codec-iperf.h — iperf3 JSON output into "iperf" records (DESIGN §5.1, §5.4).
 *
 * Accepts either the whole `iperf3 --json` document or `iperf3 --json-stream` lines (one JSON
 * object per line: {"event":"start"|"interval"|"end"|...,"data":{...}}). Each non-omitted
 * interval's "sum" becomes one record: t = start.timestamp.timesecs + the interval start rounded
 * to the second; bytes == 0 marks a blackout (DESIGN §4: zero-byte intervals are outage).
 * UDP-only fields (jitter_ms, lost_packets, packets) stay unknown for TCP.
 */
#ifndef TH_CODEC_IPERF_H
#define TH_CODEC_IPERF_H

#include <stddef.h>

#include "th-error.h"
#include "th-record.h"

/* Decode body into *out (malloc'd, free()) / *n records for (vm, stream), both non-empty. */
th_err th_iperf_decode(const char *body, size_t len, const char *vm, const char *stream,
                       th_record **out, size_t *n, char *errbuf);

#endif
