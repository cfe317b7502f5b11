#!/bin/bash
# graph-logic.sh — the pure parts of themis-graph, driven directly: legend lines from a
# summary (and their fallbacks), number formats, aggregates (median of odd and even counts,
# nearest-rank p95, success rate), session ordering and marker times.
# timeout: 60
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
th_require_cmd jq jq
# shellcheck disable=SC2034 # read by the sourced files
TH_RRDTOOL=${THEMIS_RRDTOOL:-rrdtool}
# shellcheck disable=SC2034
TH_VERSION='0-test'
# shellcheck source=rrd-graphs/graph-common.sh
. "$top_srcdir/rrd-graphs/graph-common.sh"
# shellcheck source=rrd-graphs/graph-session.sh
. "$top_srcdir/rrd-graphs/graph-session.sh"
# shellcheck source=rrd-graphs/graph-report.sh
. "$top_srcdir/rrd-graphs/graph-report.sh"

th_assert_eq '1234.5 ms' "$(th_fmt_ms 1234.5)" "fmt ms"
th_assert_eq 'n/a' "$(th_fmt_ms -1)" "fmt ms, -1 = not known"
th_assert_eq 'n/a' "$(th_fmt_ms '')" "fmt ms, empty"
th_assert_eq '2.10 s' "$(th_fmt_s 2.1)" "fmt s"
th_assert_eq '+12.5 ms' "$(th_fmt_delta 12.5)" "fmt delta positive"
th_assert_eq '-3.0 ms' "$(th_fmt_delta -3)" "fmt delta negative (a difference may be)"
th_assert_eq 'a\:b\:c' "$(th_comment a:b:c)" "rrdtool comment escaping"

j="$TH_TMP/s.json"
cat >"$j" <<'EOF'
{"session": "s", "vm": "v", "first": 100, "last": 200, "closed_by": "session-end",
 "markers": [{"event": "session-start", "t": 100.2},
             {"event": "migration-request", "t": 140.999},
             {"event": "migration-end", "t": 150.5, "outcome": "failed"}],
 "summary": {"outcome": "success", "downtime_ms": 1234.5, "downtime_bound_ms": 10,
             "one_duration_s": 2.1, "hv_downtime_ms": 45, "delta_ms": 1189.5,
             "lost_up": 120, "lost_down": 30}}
EOF
th_assert_eq 'network downtime 1234.5 ms ± 10.0 ms
OpenNebula duration 2.10 s
hypervisor downtime 45.0 ms
Δ +1189.5 ms
outcome success' "$(th_session_legend "$j")" "legend from a full summary"
# Not known in the middle: hypervisor downtime -1, no difference.
jq '.summary.hv_downtime_ms = -1 | .summary.delta_ms = null' "$j" >"$TH_TMP/t.json"
th_assert_eq 'network downtime 1234.5 ms ± 10.0 ms
OpenNebula duration 2.10 s
hypervisor downtime n/a
Δ n/a
outcome success' "$(th_session_legend "$TH_TMP/t.json")" "legend, hypervisor downtime not known"
th_assert_eq 140 "$(th_marker_time "$j" migration-request)" "marker second is the floor"
th_assert_eq '' "$(th_marker_time "$j" migration-start)" "absent marker"
th_assert_eq '100 200' "$(th_session_range "$j")" "range from first/last"

# No summary: the outcome comes from the migration-end marker, the figures are not known;
# no first/last: the range comes from the markers.
jq 'del(.summary, .first, .last)' "$j" >"$TH_TMP/t.json"
th_assert_eq 'network downtime n/a
OpenNebula duration n/a
hypervisor downtime n/a
Δ n/a
outcome failed' "$(th_session_legend "$TH_TMP/t.json")" "legend without a summary"
th_assert_eq '100 150' "$(th_session_range "$TH_TMP/t.json")" "range from markers"
jq 'del(.summary, .markers[2]) | .closed_by = "open"' "$j" >"$TH_TMP/t.json"
th_assert_eq 'outcome open' "$(th_session_legend "$TH_TMP/t.json" | tail -n 1)" "open session"
# A migration-end whose outcome is "none" (not known) does not stand in for the outcome.
jq 'del(.summary) | .markers[2].outcome = "none"' "$j" >"$TH_TMP/t.json"
th_assert_eq 'outcome unknown' "$(th_session_legend "$TH_TMP/t.json" | tail -n 1)" \
	"migration-end outcome none"

# Aggregates: 20 successful cycles with downtimes 1..20 ms, 5 failed: success 80 %, median
# 10.5 (mean of the middle two), p95 nearest rank = the 19th value; failed cycles' downtimes
# (1000) do not count.
jq -n '[range(1; 21) | {outcome: "success", downtime_ms: .}]
	+ [range(5) | {outcome: "failed", downtime_ms: 1000}]' >"$TH_TMP/rows.json"
th_assert_eq $'25\t20\t80\t20\t1\t10.5\t19\t20' "$(th_aggregates "$TH_TMP/rows.json")" "aggregates of 25 cycles"
jq -n '[3, 1, 2] | map({outcome: "success", downtime_ms: .}) + [{outcome: "success", downtime_ms: null}]' >"$TH_TMP/rows.json"
th_assert_eq $'4\t4\t100\t3\t1\t2\t3\t3' "$(th_aggregates "$TH_TMP/rows.json")" "odd count, unknown downtime skipped"
echo '[]' >"$TH_TMP/rows.json"
th_assert_eq $'0\t0\t\t0\t\t\t\t' "$(th_aggregates "$TH_TMP/rows.json")" "no cycle"

# Sessions are listed by definition, then cycle (numerically), then id; filters apply.
for s in b.10:d:10 a.2:d:2 c.1:e:1 z.1:d:1; do
	IFS=: read -r id def cyc <<<"$s"
	mkdir -p "$TH_TMP/arch/vm${cyc#1}"
	jq -n --arg id "$id" --arg d "$def" --argjson c "$cyc" \
		'{session: $id, vm: "vm", definition: $d, cycle: $c}' >"$TH_TMP/arch/vm${cyc#1}/$id.json"
done
th_assert_eq 'z.1 a.2 b.10 c.1' "$(th_list_sessions "$TH_TMP/arch" | xargs -n 1 basename | sed 's/\.json$//' | paste -sd ' ')" \
	"session order"
th_assert_eq 'c.1' "$(th_list_sessions "$TH_TMP/arch" vm e | xargs -n 1 basename | sed 's/\.json$//')" "definition filter"
th_assert_eq '' "$(th_list_sessions "$TH_TMP/arch" other)" "VM filter"

# The overlay's x labels: offsets as m:ss, negative ones with a minus sign (U+2212), at the
# pixel column of their second (graph from column 67, 9 px per second, window from −31 s).
# shellcheck source=rrd-graphs/graph-overlay.sh
. "$top_srcdir/rrd-graphs/graph-overlay.sh"
M=$'\xe2\x88\x92'
th_assert_eq "${M}1:30 ${M}0:30 0:00 0:05 1:00 12:05" \
	"$(for s in -90 -30 0 5 60 725; do th_offset_label "$s"; done | paste -sd ' ')" "offset labels"
th_assert_eq "76	${M}0:30
346	0:00
616	0:30
886	1:00" "$(th_overlay_labels 30 60 30 67 9)" "overlay labels and columns"
th_assert_eq "67	${M}5:00
367	0:00" "$(th_overlay_labels 299 1 300 67 1 | sed -n '1,2p')" "labels from the first whole step"

# The millisecond timelines' scale (timeline.jq): x of a time in ms on an axis from lo to hi
# (plot from 140 to 900 px), the tick step, the tick labels with a true minus, the extent.
tl() { jq -nr -L "$top_srcdir/rrd-graphs" "include \"timeline\"; $1"; }
th_assert_eq '140 900 662.5 650.6' "$(tl '[tl_x(-2200; -2200; 1000), tl_x(1000; -2200; 1000), tl_x(0; -2200; 1000), tl_x(-50; -2200; 1000)] | map(tostring) | join(" ")')" "timeline x scale"
th_assert_eq '1 2 5 10 200 500 1000 5000' "$(tl '[1, 12, 40, 80, 1600, 3200, 8000, 40000] | map(tl_step(.) | tostring) | join(" ")')" "timeline tick steps"
th_assert_eq "${M}250 ms|0 ms|+500 ms|${M}1500 ms|+2 s|${M}4 s|0 s" \
	"$(tl '[(-250 | tl_label(50)), (0 | tl_label(100)), (500 | tl_label(100)), (-1500 | tl_label(500)), (2000 | tl_label(1000)), (-4000 | tl_label(2000)), (0 | tl_label(5000))] | join("|")')" "timeline tick labels"
th_assert_eq "${M}2000 ${M}1500 ${M}1000 ${M}500 0 500 1000" \
	"$(tl '[tl_ticks(-2200; 1000)[] | if . < 0 then "\u2212\(-.)" else tostring end] | join(" ")')" "timeline ticks"
th_assert_eq '[-2200,1000] [-60000,-59000] [-1000,60000]' \
	"$(tl '[([-1700, 0, 500] | tl_extent(-60000; 60000)), ([-90000] | tl_extent(-60000; 60000)), ([-500, 75000] | tl_extent(-60000; 60000))] | map(tojson) | join(" ")')" "timeline extent"
