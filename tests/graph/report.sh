#!/bin/bash
# report.sh — `themis-graph report`: the summary CSV and the HTML table carry exactly the
# figures of the archive's summaries, the aggregates are right (success rate, downtime
# min/median/p95/max over successful cycles), every image and CSV the page names exists, the
# page has no external asset, and a real headless Chromium renders the table and the graphs.
# timeout: 240
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
# shellcheck source=tests/graph/fixture.sh
. "$top_srcdir/tests/graph/fixture.sh"
th_require_cmd jq jq
th_require_cmd identify imagemagick
th_require_cmd chromium chromium

A="$TH_TMP/archive"
R="$TH_TMP/report"
FX_SUMMARY=$(fx_summary success 1234.5 10 2.1 45 120 30) fx_session "$A" web1 c1 d1 1 1700000000 120 40 "5:50:0 6:100:0 7:20:30" yes
FX_SUMMARY=$(fx_summary success 800 10 1.9 40 70 10) fx_session "$A" web1 c2 d1 2 1700003000 100 40 "5:60:0 6:10:10"
FX_OUTCOME=failed FX_SUMMARY=$(fx_summary failed 3000 10 5 -1 300 0) fx_session "$A" web1 c3 d1 3 1700006000 100 40 "4:100:0 5:100:0 6:100:0"
FX_SUMMARY=$(fx_summary success 950 10 2 50 90 5) fx_session "$A" web1 c4 d1 4 1700009000 100 40 "5:90:5"
FX_SUMMARY=$(fx_summary success 1100 10 2.25 -1 100 0) fx_session "$A" web1 c5 d1 5 1700012000 100 40 "5:100:0"
# Cycle 6 timed out: no summary; its RRD never received a sample (no data, no graph).
FX_OUTCOME=timeout fx_session "$A" web1 c6 d1 6 1700015000 60 40 ""
rm "$A/web1/c6.rrd"
"$TH_RRDTOOL_BIN" create "$A/web1/c6.rrd" --step 1 --start 1700014999 DS:sent:GAUGE:2:0:U \
	DS:received:GAUGE:2:0:U RRA:AVERAGE:0.5:1:100
# Another definition on another VM: left out by --definition d1.
FX_SUMMARY=$(fx_summary success 5 1 1 1 1 1) fx_session "$A" web2 z1 d2 1 1700000000 60 20 "3:1:0"

# A damaged session file (e.g. cut short by a crash) is named and left out.
printf '{"session": "cut", "vm": "web1", "defini' >"$A/web1/cut.json"
th_graph report "$A" --definition d1 -o "$R" >"$TH_TMP/out" 2>"$TH_TMP/err" ||
	th_fail "report failed: $(cat "$TH_TMP/err")"
th_assert_eq "$R/index.html" "$(cat "$TH_TMP/out")" "report prints the page's path"
th_assert_match 'session c6 has no data' "$(cat "$TH_TMP/err")" "no-data session named on stderr"
th_assert_match "$A/web1/cut.json is not a valid session file" "$(cat "$TH_TMP/err")" "damaged file named on stderr"

# Summary CSV, golden.
th_assert_eq 'session,vm,definition,cycle,src_host,dst_host,closed_by,migration_request,migration_start,migration_end,outcome,one_stime,one_rstime,one_etime,one_duration_s,downtime_ms,downtime_bound_ms,outage_total_ms,lost_up,lost_down,lost_unknown,hv_downtime_ms,hv_total_ms,delta_ms,hv_pause,hv_resume,hv_paused_ms,pre_pause_ms,post_resume_ms,decomp_bound_ms,up_pre_pause_ms,up_post_resume_ms,down_pre_pause_ms,down_post_resume_ms
"c1","web1","d1",1,"hv-a","hv-b","session-end",1700000038.4,1700000040.5,1700000048.75,"success",,,,2.1,1234.5,10,1234.5,120,30,0,45,,1189.5,,,,,,,,,,
"c2","web1","d1",2,"hv-a","hv-b","session-end",1700003038.4,1700003040.5,1700003048.75,"success",,,,1.9,800,10,800,70,10,0,40,,760,,,,,,,,,,
"c3","web1","d1",3,"hv-a","hv-b","session-end",1700006038.4,1700006040.5,1700006048.75,"failed",,,,5,3000,10,3000,300,0,0,,,,,,,,,,,,,
"c4","web1","d1",4,"hv-a","hv-b","session-end",1700009038.4,1700009040.5,1700009048.75,"success",,,,2,950,10,950,90,5,0,50,,900,,,,,,,,,,
"c5","web1","d1",5,"hv-a","hv-b","session-end",1700012038.4,1700012040.5,1700012048.75,"success",,,,2.25,1100,10,1100,100,0,0,,,,,,,,,,,,,
"c6","web1","d1",6,"hv-a","hv-b","session-end",1700015038.4,1700015040.5,1700015048.75,"timeout",,,,,,,,,,,,,,,,,,,,,,,' \
	"$(cat "$R/summary.csv")" "summary.csv"

html=$(cat "$R/index.html")
row() { printf '%s\n' "$html" | grep "<tr id=\"row-$1\">"; }
th_assert_eq '<tr id="row-c1"><td class="num" data-col="cycle">1</td><td data-col="session"><a href="#s-c1">c1</a></td><td data-col="vm">web1</td><td data-col="route">hv-a → hv-b</td><td data-col="outcome"><span class="badge success">success</span></td><td class="num" data-col="one_duration_s">2.10</td><td class="num" data-col="downtime_ms">1234.5</td><td class="num" data-col="downtime_bound_ms">10.0</td><td class="num" data-col="lost_up">120</td><td class="num" data-col="lost_down">30</td><td class="num" data-col="hv_downtime_ms">45.0</td><td class="num" data-col="delta_ms">+1189.5</td></tr>' \
	"$(row c1)" "table row c1"
th_assert_match 'data-col="outcome"><span class="badge failed">failed</span>.*data-col="downtime_ms">3000.0<.*data-col="hv_downtime_ms">–<.*data-col="delta_ms">–<' \
	"$(row c3)" "table row c3"
th_assert_match 'data-col="one_duration_s">2.25<.*data-col="lost_down">0<.*data-col="hv_downtime_ms">–<' "$(row c5)" "table row c5"
th_assert_match 'badge timeout">timeout<.*data-col="downtime_ms">–<' "$(row c6)" "table row c6"
[ "$(printf '%s\n' "$html" | grep -c '<tr id="row-')" -eq 6 ] || th_fail "table: expected 6 rows"
printf '%s\n' "$html" | grep -q 'row-z1' && th_fail "definition d2 leaked into the d1 report"

# Aggregates: 4 of 6 cycles succeeded; successful downtimes 800, 950, 1100, 1234.5.
agg() { printf '%s\n' "$html" | sed -n "s/.*id=\"agg-$1\">\\([^<&]*\\).*/\\1/p"; }
th_assert_eq 66.7 "$(agg success)" "success rate"
th_assert_eq 1025.0 "$(agg median)" "downtime median"
th_assert_eq 1234.5 "$(agg p95)" "downtime p95"
th_assert_eq 800.0 "$(agg min)" "downtime min"
th_assert_eq 1234.5 "$(agg max)" "downtime max"
th_assert_match '4 of 6 cycles' "$html" "success count"

# Every image and link is a relative file that exists; no external asset, no script.
printf '%s\n' "$html" | grep -Eiq '<script|<link|src="(https?:)?//|url\(' && th_fail "index.html has an external asset or script"
refs=$(printf '%s\n' "$html" | grep -o -E '(src|href)="[^"#][^"]*"' | sed 's/^[a-z]*="//; s/"$//' | sort -u)
th_assert_eq 'csv/c1.csv csv/c2.csv csv/c3.csv csv/c4.csv csv/c5.csv csv/overlay-web1.csv overlay-web1.png sessions/c1.png sessions/c2.png sessions/c3.png sessions/c4.png sessions/c5.png summary.csv' \
	"$(printf '%s\n' "$refs" | paste -sd ' ')" "files the page names"
for f in $refs; do [ -s "$R/$f" ] || th_fail "index.html names $f, which is missing"; done
[ ! -e "$R/sessions/c6.png" ] || th_fail "a graph was drawn for the session without data"
th_assert_match 'No per-second data' "$(printf '%s\n' "$html" | grep 'id="s-c6"')" "c6 marked as without data"
# Image sizes in the page are the files' sizes.
for s in c1 c2; do
	wh=$(identify -format 'width="%w" height="%h"' "$R/sessions/$s.png")
	th_assert_match "src=\"sessions/$s.png\" $wh" "$html" "size attributes of $s"
done
th_assert_eq 960x660 "$(identify -format '%wx%h' "$R/sessions/c1.png")" "c1 (iperf) graph size"
th_assert_eq 960x490 "$(identify -format '%wx%h' "$R/sessions/c2.png")" "c2 graph size"

# Per-second CSV of a session: exact values at a lossy second.
th_assert_eq 101 "$(wc -l <"$R/csv/c2.csv")" "c2 CSV lines"
th_assert_eq '1700003046,100,80,10,10,0,0,0,0.5,1.006,2,0.1,200,,,,' "$(grep '^1700003046,' "$R/csv/c2.csv")" "c2 CSV at offset 6"
th_assert_eq '5,50,60,100,95,100,95' "$(grep '^5,' "$R/csv/overlay-web1.csv")" "overlay CSV at offset 5"

# A real browser: the page renders with the table and the graphs.
profile=$(mktemp -d "$TH_TMP/chromium.XXXXXX")
timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
	--disable-background-networking --disable-component-update --disable-sync \
	--user-data-dir="$profile" --hide-scrollbars --window-size=1280,2400 \
	--screenshot="$TH_TMP/shot.png" "file://$R/index.html" >"$TH_TMP/chromium.log" 2>&1 ||
	th_fail "chromium failed: $(tail -n 5 "$TH_TMP/chromium.log")"
# Kept beside the test log for a look.
cp "$TH_TMP/shot.png" "${top_builddir:?}/tests/graph/report-screenshot.png" 2>/dev/null || true
th_assert_eq 1280x2400 "$(identify -format '%wx%h' "$TH_TMP/shot.png")" "screenshot size"
colours=$(identify -format '%k' "$TH_TMP/shot.png")
[ "$colours" -gt 500 ] || th_fail "screenshot has only $colours colours: blank or broken page"
hist=$(convert "$TH_TMP/shot.png" -format %c histogram:info:-)
# pixels HEX: pixels within 8 per channel of that colour (the browser colour-manages images).
pixels() {
	printf '%s\n' "$hist" | awk -v c="$1" '
		function hex(s) { return index("0123456789ABCDEF", substr(s, 1, 1)) * 16 - 17 + index("0123456789ABCDEF", substr(s, 2, 1)) }
		function near(a, b) { return a - b <= 8 && b - a <= 8 }
		BEGIN { r = hex(substr(c, 1, 2)); g = hex(substr(c, 3, 2)); b = hex(substr(c, 5, 2)) }
		{ if (!match($0, /\([0-9]+,[0-9]+,[0-9]+/)) next
		  split(substr($0, RSTART + 1, RLENGTH - 1), v, ",")
		  if (near(v[1], r) && near(v[2], g) && near(v[3], b)) n += $1 }
		END { print n + 0 }'
}
# Table header background, success badges, the graphs' loss bars and migration window.
for c in EEF1F4 DCF1E3 D62728 FBE3C4; do
	[ "$(pixels "$c")" -gt 200 ] || th_fail "screenshot lacks #$c (table or graphs not rendered)"
done

# No session at all, or no session of the definition: exit 2.
mkdir "$TH_TMP/emptyarchive"
rc=0
err=$(th_graph report "$TH_TMP/emptyarchive" -o "$TH_TMP/r2" 2>&1) || rc=$?
th_assert_eq 2 "$rc" "empty archive: exit status"
th_assert_match "no session in $TH_TMP/emptyarchive" "$err" "empty archive: message"
rc=0
err=$(th_graph report "$A" --definition nosuch -o "$TH_TMP/r2" 2>&1) || rc=$?
th_assert_eq 2 "$rc" "unknown definition: exit status"
th_assert_match "no session of definition nosuch in $A" "$err" "unknown definition: message"
rc=0
err=$(th_graph report "$A" 2>&1) || rc=$?
th_assert_eq 1 "$rc" "report without -o: exit status"
