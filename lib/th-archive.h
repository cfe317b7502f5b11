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
 *     "markers": [ <every marker of the session, as received: th_marker_json_gen (DESIGN §5.2)> ],
 *     "outages": [ <every outage record of the session: th_record_json_gen (DESIGN §5.1)> ],
 *     "outages_dropped": N,  <only when MaxOutagesPerSession were kept and N more came>
 *     "summary": { <the session-end summary: th_summary_json_gen, keys th_summary_fields> },
 *     once closed (the plugin computed its own network figures, th_summary_network):
 *     "summary_source": "plugin" | "trigger" | "both",
 *     "summary_plugin": { <same keys: the plugin's own figures> }  <only with "both"> }
 *   "summary" is null while the session is open and has no session-end; once closed it is the
 *   session-end summary (or, closed by timeout, an empty one) with every unknown network figure
 *   (downtime_ms, downtime_bound_ms, outage_total_ms, lost_up, lost_down, lost_unknown,
 *   delta_ms) filled from the plugin's: "plugin" when the marker had none of them, "trigger"
 *   when its known ones agree with the plugin's (downtime within the larger downtime bound, lost
 *   counts equal), else "both".
 *
 * <ArchiveDir>/summaries.jsonl — one line per finalised session, appended (never rewritten or
 *   pruned):
 *   {"session":..,"vm":..,"vm_id":..,"origin":"run"|"observed"|null,"definition":..,"cycle":..,
 *    "src_host":..,"dst_host":..,"first":..,"last":..,"closed_by":"session-end"|"timeout",
 *    "t_request":..|null,"t_migration_start":..|null,"t_migration_end":..|null,
 *    "outcome":..|null,"message":..|null,"summary":{..as in <session>.json},
 *    "summary_source":..,"summary_plugin":{..} <only with "both">}
 *
 * <ArchiveDir>/availability.jsonl — per VM and UTC hour, appended when the hour is over (and a
 *   partial line at shutdown); readers SUM the lines of one vm + hour:
 *   {"vm":"web1","hour":1764590400,"covered_s":3599,"outage_ms":1234.5,
 *    "outage_ms_sessions":1000.0,"outages":3,"outages_sessions":1}
 *   covered_s: seconds with a "second" record of the VM, each counted once; outage_ms/outages:
 *   the VM's outages (a union per VM: overlapping records count once) that started in the hour;
 *   _sessions: the part of them that fell in a session of the VM.
 *
 * ArchiveRetention prunes closed sessions whose "last" is older (.rrd, .json, .pending, .queue);
 * summaries.jsonl and availability.jsonl are kept forever.
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
