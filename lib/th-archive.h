/* th-archive.h — layout of the per-session archive (DESIGN §5.3). Written by the collectd
 * plugin, read by themis-graph (shell + rrdtool) and the tests; keep both sides in step.
 *
 * <ArchiveDir>/<vm>/<session>.rrd
 *   step 1 s; created with last_up = first second - 1; every DS is GAUGE, min 0, max U,
 *   heartbeat TH_ARCHIVE_HEARTBEAT; RRAs "AVERAGE:0.5:1:<rows>" and "MAX:0.5:1:<rows>" where
 *   rows covers the whole session (no consolidation: one row per second). Data sources, in
 *   this order (names are the rrdtool DS names):
 *     sent received lost_up lost_down lost_unknown late dup        probe counts per second
 *     rtt_min rtt_avg rtt_max jitter max_gap                       milliseconds
 *     iperf_bps iperf_lost iperf_packets iperf_jitter              iperf interval values
 *   A second with no record of a kind stores U (unknown) for that kind's sources.
 *
 * <ArchiveDir>/<vm>/<session>.json — one JSON object:
 *   { "session": "...", "vm": "...", "vm_id": 7, "definition": "...", "cycle": 1,
 *     "src_host": "...", "dst_host": "...",
 *     "first": <epoch s, first second in the rrd>, "last": <epoch s, last second>,
 *     "closed_by": "session-end" | "timeout" | "open",
 *     "markers": [ <every marker of the session, as received (DESIGN §5.2)> ],
 *     "outages": [ <every outage record of the session (DESIGN §5.1)> ],
     "outages_dropped": N,  <only when MaxOutagesPerSession outages were kept and N more came>
 *     "summary": { <the session-end summary; keys as in th_summary, th-marker.h> } }
 */
#ifndef TH_ARCHIVE_H
#define TH_ARCHIVE_H

#define TH_ARCHIVE_STEP 1
#define TH_ARCHIVE_HEARTBEAT 2

#define TH_ARCHIVE_DS_LIST                                                                        \
	"sent", "received", "lost_up", "lost_down", "lost_unknown", "late", "dup", "rtt_min",    \
	    "rtt_avg", "rtt_max", "jitter", "max_gap", "iperf_bps", "iperf_lost", "iperf_packets", \
	    "iperf_jitter"
#define TH_ARCHIVE_NDS 16

#endif
