/* th-archive.h — layout of the per-session archive (DESIGN §5.3). Written by the collectd
 * plugin, read by themis-graph (shell + rrdtool) and the tests; keep both sides in step.
 *
 * <ArchiveDir>/<vm>/<session>.rrd — only once the session has a per-second record (a session
 *   with markers only has its .json and no .rrd; readers treat a missing .rrd as "no data")
 *   step 1 s; created with last_up = first second - 1; every DS is GAUGE, min 0, max U,
 *   heartbeat TH_ARCHIVE_HEARTBEAT; RRAs "AVERAGE:0.5:1:<rows>" and "MAX:0.5:1:<rows>" (no
 *   consolidation: one row per second). rows grows with the session: 128 at creation (more if
 *   the first write needs it), then the file is rebuilt with max(2 x rows, needed) rows,
 *   prefilled from the old one (<session>.rrd.grow renamed over it), up to ArchiveRows; past
 *   that the RRAs are rings holding the newest ArchiveRows seconds. Readers take rows from the
 *   file (rrdtool info), never from a constant. Data sources, in this order (names are the
 *   rrdtool DS names):
 *     sent received lost_up lost_down lost_unknown late dup        probe counts per second
 *     rtt_min rtt_avg rtt_max jitter max_gap                       milliseconds
 *     iperf_bps iperf_lost iperf_packets iperf_jitter              iperf interval values
 *   A second with no record of a kind stores U (unknown) for that kind's sources.
 *
 * <ArchiveDir>/<vm>/<session>.json — one JSON object:
 *   { "session": "...", "vm": "...", "vm_id": 7, "definition": "...", "cycle": 1,
 *     "src_host": "...", "dst_host": "...",
 *     "first": <epoch s, first second in the rrd>, "last": <epoch s, last second> (= first when
 *     there is no rrd),
 *     "closed_by": "session-end" | "timeout" | "open",
 *     "markers": [ <every marker of the session, as received (DESIGN §5.2)> ],
 *     "outages": [ <every outage record of the session (DESIGN §5.1)> ],
 *     "outages_dropped": N,  <only when MaxOutagesPerSession were kept and N more came>
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
