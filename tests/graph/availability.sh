#!/bin/bash
# availability.sh — `themis-graph availability` over the plugin's summaries.jsonl and
# availability.jsonl: lines of the same VM and hour are summed; availability %, covered time,
# migrations by origin and outcome, total and worst downtime with its bound and the outage
# outside migrations come out exactly, in the text table and the CSV files; malformed lines are
# counted in one warning per file and left out; --vm, --since, --until and --period select;
# missing files give an empty table and exit 0, a missing archive exit 2; the HTML report gets
# an Availability section with the same figures, also when no session file is left.
# timeout: 120
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
# shellcheck source=tests/graph/fixture.sh
. "$top_srcdir/tests/graph/fixture.sh"
th_require_cmd jq jq

A="$TH_TMP/archive"
mkdir -p "$A"
NOW=$(date +%s)
# D: midnight UTC two days ago, so that the recent hours D+1h, D+2h share a day (and so the
# --period day rows are fixed); O: an hour 38 days before D (outside --since 30d).
D=$(((NOW / 86400 - 2) * 86400))
R1=$((D + 3600))
R2=$((D + 7200))
O=$((D - 38 * 86400 + 3600))

# web1: R1 one line; R2 two lines (a partial one at shutdown and the rest of the hour) that
# must be summed: 3600 s covered, 1800 ms of outage, 300 ms of it in sessions, 3 outages, 1
# in a session. Recent: 7200 s, 3600 ms -> 99.95 %, 2100 ms outside migrations.
# Old hour: 3600 s, 5400 ms (5000 in sessions). All: 10800 s, 9000 ms -> 99.916667 %.
fx_hour "$A" web1 "$R1" 3600 1800 1200 3 1
fx_hour "$A" web1 "$R2" 1800 600 0 1 0
fx_hour "$A" web2 "$R1" 3600 360 360 1 1
fx_hour "$A" web1 "$R2" 1800 1200 300 2 1
printf '{"vm":"web2","hour":%s,"covered_s":36' "$R2" >>"$A/availability.jsonl"
printf '\n\n' >>"$A/availability.jsonl"
fx_hour "$A" web1 "$O" 3600 5400 5000 2 1
# web3: probed never (covered 0): availability unknown.
fx_hour "$A" web3 "$R1" 0 0 0 0 0

# Sessions. web1: s1 old run success 5000 +-10; s2 run failed 1200 +-20; s3 observed success
# 250.5 +-5; s4 no origin, timeout, downtime unknown. web2: s5 observed success 360 +-10;
# s6 observed lost; s7 run aborted; s8 run, no outcome (closed before its migration).
fx_summary_line "$A" web1 s1 run "$((O + 600))" success 5000 10 hv-a hv-b
fx_summary_line "$A" web1 s2 run "$((R1 + 300))" failed 1200 20 hv-b hv-a
fx_summary_line "$A" web2 s5 observed "$((R1 + 100))" success 360 10 hv-c hv-d
fx_summary_line "$A" web1 s3 observed "$((R2 + 600))" success 250.5 5 hv-b hv-c
printf '[1, 2]\n' >>"$A/summaries.jsonl"
fx_summary_line "$A" web1 s4 - "$((R2 + 1200))" timeout -1 -1 hv-c hv-a
fx_summary_line "$A" web2 s6 observed "$((R1 + 2000))" lost -1 -1 hv-d hv-c
fx_summary_line "$A" web2 s7 run "$((R1 + 2500))" aborted -1 -1 hv-d hv-c
fx_summary_line "$A" web2 s8 run "$((R1 + 3000))" - -1 -1 hv-d hv-c

day() { date -u -d "@$1" '+%Y-%m-%d'; }
stamp() { date -u -d "@$1" '+%Y-%m-%d %H:%M:%S'; }

# --- CSV of everything -----------------------------------------------------------------------
th_graph availability "$A" --csv >"$TH_TMP/all.csv" 2>"$TH_TMP/err" ||
	th_fail "availability --csv failed: $(cat "$TH_TMP/err")"
th_assert_eq "themis-graph: warning: $A/summaries.jsonl: 1 malformed line left out (line 5)
themis-graph: warning: $A/availability.jsonl: 1 malformed line left out (line 5)" \
	"$(cat "$TH_TMP/err")" "one warning per file, counting its malformed lines"
th_assert_eq 'vm,period,period_start,hours,covered_s,outage_ms,availability_pct,outage_outside_ms,outages,outages_outside,migrations,origin_run,origin_observed,origin_unknown,success,failed,timeout,lost,aborted,other,downtime_known,downtime_total_ms,downtime_worst_ms,downtime_worst_bound_ms,downtime_worst_session
"web1","all",,3,10800,9000,99.916667,2500,8,5,4,2,1,1,2,1,1,0,0,0,3,6450.5,5000,10,"s1"
"web2","all",,1,3600,360,99.99,0,1,0,4,2,2,0,1,0,0,1,1,1,1,360,360,10,"s5"
"web3","all",,1,0,0,,0,0,0,0,0,0,0,0,0,0,0,0,0,0,,,,' \
	"$(cat "$TH_TMP/all.csv")" "availability CSV, whole archive"

# --- the text table and the timeline ---------------------------------------------------------
th_graph availability "$A" >"$TH_TMP/all.txt" 2>/dev/null || th_fail "availability (text) failed"
txt=$(cat "$TH_TMP/all.txt")
line() { printf '%s\n' "$txt" | awk -v k="$1" -v p="$2" '$1 == k && $2 == p' | tr -s ' '; }
th_assert_eq 'web1 all 99.9167 3:00:00 9000.0 2500.0 4 2 1 1 2 1 1 0 0 0 6450.5 5000.0 10.0 s1' \
	"$(line web1 all)" "text row web1"
th_assert_eq 'web2 all 99.9900 1:00:00 360.0 0.0 4 2 2 0 1 0 0 1 1 1 360.0 360.0 10.0 s5' \
	"$(line web2 all)" "text row web2"
th_assert_eq 'web3 all - 0:00:00 0.0 0.0 0 0 0 0 0 0 0 0 0 0 - - - -' "$(line web3 all)" \
	"text row web3: availability unknown without coverage"
tl=$(printf '%s\n' "$txt" | awk '$1 ~ /^web/ && $2 ~ /^[0-9][0-9][0-9][0-9]-/' | tr -s ' ')
th_assert_eq "web1 $(stamp "$((O + 600))") run success 5000.0 10.0 hv-a -> hv-b s1
web1 $(stamp "$((R1 + 300))") run failed 1200.0 20.0 hv-b -> hv-a s2
web1 $(stamp "$((R2 + 600))") observed success 250.5 5.0 hv-b -> hv-c s3
web1 $(stamp "$((R2 + 1200))") unknown timeout - - hv-c -> hv-a s4
web2 $(stamp "$((R1 + 100))") observed success 360.0 10.0 hv-c -> hv-d s5
web2 $(stamp "$((R1 + 2000))") observed lost - - hv-d -> hv-c s6
web2 $(stamp "$((R1 + 2500))") run aborted - - hv-d -> hv-c s7
web2 $(stamp "$((R1 + 3000))") run - - - hv-d -> hv-c s8" "$tl" "timeline, by VM and time"
th_assert_match '^VM +PERIOD +AVAIL_% +COVERED' "$txt" "table header"

# --- --vm and --since: the old hour and session s1 drop out ----------------------------------
th_graph availability "$A" --vm web1 --since 30d --csv >"$TH_TMP/recent.csv" 2>/dev/null ||
	th_fail "availability --vm --since failed"
# (period_start of "all" is the window's start, now - 30 d, taken by themis-graph a moment
# after NOW: compare the other fields exactly and that one within 60 s.)
row=$(sed -n 2p "$TH_TMP/recent.csv")
th_assert_eq '"web1","all",2,7200,3600,99.95,2100,6,4,3,1,1,1,1,1,1,0,0,0,2,1450.5,1200,20,"s2"' \
	"$(printf '%s\n' "$row" | cut -d, -f1,2,4-)" "web1 over the last 30 days"
th_assert_near "$((NOW - 30 * 86400))" "$(printf '%s\n' "$row" | cut -d, -f3)" 60 "window start"
th_assert_eq 2 "$(wc -l <"$TH_TMP/recent.csv")" "--vm web1: one VM only"
# Same window given as seconds.
th_graph availability "$A" --vm web1 --since 2592000 --csv 2>/dev/null | sed -n 2p | cut -d, -f1,2,4- >"$TH_TMP/r2"
th_assert_eq '"web1","all",2,7200,3600,99.95,2100,6,4,3,1,1,1,1,1,1,0,0,0,2,1450.5,1200,20,"s2"' \
	"$(cat "$TH_TMP/r2")" "--since in bare seconds"

# --- --until: only the old hour and s1 --------------------------------------------------------
th_graph availability "$A" --vm web1 --until "$((D - 10 * 86400))" --csv >"$TH_TMP/old.csv" 2>/dev/null ||
	th_fail "availability --until failed"
th_assert_eq '"web1","all",,1,3600,5400,99.85,400,2,1,1,1,0,0,1,0,0,0,0,0,1,5000,5000,10,"s1"' \
	"$(sed -n 2p "$TH_TMP/old.csv")" "web1 before --until"
th_graph availability "$A" --vm web1 --until "$(date -u -d "@$((D - 10 * 86400))" '+%Y-%m-%d %H:%M:%S')" --csv \
	2>/dev/null | sed -n 2p >"$TH_TMP/old2"
th_assert_eq "$(sed -n 2p "$TH_TMP/old.csv")" "$(cat "$TH_TMP/old2")" "--until as a date"

# --- --period day: one row per VM and UTC day ---------------------------------------------------
th_graph availability "$A" --period day --csv 2>/dev/null | cut -d, -f1-7,11 >"$TH_TMP/day.csv"
th_assert_eq "vm,period,period_start,hours,covered_s,outage_ms,availability_pct,migrations
\"web1\",\"$(day "$O")\",$(((O / 86400) * 86400)),1,3600,5400,99.85,1
\"web1\",\"$(day "$D")\",$D,2,7200,3600,99.95,3
\"web2\",\"$(day "$D")\",$D,1,3600,360,99.99,4
\"web3\",\"$(day "$D")\",$D,1,0,0,,0" "$(cat "$TH_TMP/day.csv")" "--period day"
# --period month / week: the two days 38 days apart fall in two periods.
for p in week month; do
	n=$(th_graph availability "$A" --vm web1 --period "$p" --csv 2>/dev/null | wc -l)
	th_assert_eq 3 "$n" "--period $p: header and two rows for web1"
done
th_assert_eq "\"web1\",\"$(date -u -d "@$D" +%G-W%V)\"" \
	"$(th_graph availability "$A" --vm web1 --period week --csv 2>/dev/null | sed -n 3p | cut -d, -f1,2)" \
	"ISO week label"

# --- -o DIR: availability.csv and sessions.csv ---------------------------------------------------
th_graph availability "$A" --vm web2 -o "$TH_TMP/out" >"$TH_TMP/paths" 2>/dev/null || th_fail "availability -o failed"
th_assert_eq "$TH_TMP/out/availability.csv
$TH_TMP/out/sessions.csv" "$(cat "$TH_TMP/paths")" "-o prints the files written"
th_assert_eq 2 "$(wc -l <"$TH_TMP/out/availability.csv")" "availability.csv of web2"
th_assert_eq "vm,session,start,first,last,origin,definition,cycle,outcome,closed_by,t_request,t_migration_start,t_migration_end,downtime_ms,downtime_bound_ms,src_host,dst_host,summary_source
\"web2\",\"s5\",\"$(date -u -d "@$((R1 + 100))" +%FT%TZ)\",$((R1 + 100)),$((R1 + 199)),\"observed\",\"watch\",-1,\"success\",\"session-end\",,$((R1 + 160)).25,$((R1 + 170)).5,360,10,\"hv-c\",\"hv-d\",\"plugin\"
\"web2\",\"s6\",\"$(date -u -d "@$((R1 + 2000))" +%FT%TZ)\",$((R1 + 2000)),$((R1 + 2099)),\"observed\",\"watch\",-1,\"lost\",\"session-end\",,$((R1 + 2060)).25,$((R1 + 2070)).5,,,\"hv-d\",\"hv-c\",\"plugin\"
\"web2\",\"s7\",\"$(date -u -d "@$((R1 + 2500))" +%FT%TZ)\",$((R1 + 2500)),$((R1 + 2599)),\"run\",\"d1\",1,\"aborted\",\"session-end\",,$((R1 + 2560)).25,$((R1 + 2570)).5,,,\"hv-d\",\"hv-c\",\"plugin\"
\"web2\",\"s8\",\"$(date -u -d "@$((R1 + 3000))" +%FT%TZ)\",$((R1 + 3000)),$((R1 + 3099)),\"run\",\"d1\",1,,\"session-end\",,$((R1 + 3060)).25,$((R1 + 3070)).5,,,\"hv-d\",\"hv-c\",\"plugin\"" \
	"$(cat "$TH_TMP/out/sessions.csv")" "sessions.csv of web2"

# --- nothing to read ------------------------------------------------------------------------------
mkdir "$TH_TMP/empty"
rc=0
out=$(th_graph availability "$TH_TMP/empty" --csv 2>"$TH_TMP/err") || rc=$?
th_assert_eq 0 "$rc" "archive without the files: exit status"
th_assert_eq 'vm,period,period_start,hours,covered_s,outage_ms,availability_pct,outage_outside_ms,outages,outages_outside,migrations,origin_run,origin_observed,origin_unknown,success,failed,timeout,lost,aborted,other,downtime_known,downtime_total_ms,downtime_worst_ms,downtime_worst_bound_ms,downtime_worst_session' \
	"$out" "archive without the files: header only"
th_assert_match "$TH_TMP/empty/summaries.jsonl does not exist" "$(cat "$TH_TMP/err")" "missing summaries named"
th_assert_match "$TH_TMP/empty/availability.jsonl does not exist" "$(cat "$TH_TMP/err")" "missing tallies named"
th_assert_match "no availability figures in $TH_TMP/empty" "$(cat "$TH_TMP/err")" "empty selection said"
rc=0
th_graph availability "$A" --vm nosuch >/dev/null 2>&1 || rc=$?
th_assert_eq 0 "$rc" "unknown VM: empty table, exit 0"
rc=0
err=$(th_graph availability "$TH_TMP/nosuch" 2>&1) || rc=$?
th_assert_eq 2 "$rc" "missing archive: exit status"
th_assert_match "archive directory $TH_TMP/nosuch does not exist" "$err" "missing archive: message"
for bad in "--since 0" "--since 3x" "--since -5" "--period year" "--until yesterday-ish" "--older-than 1d"; do
	rc=0
	# shellcheck disable=SC2086 # option and value
	th_graph availability "$A" $bad >/dev/null 2>&1 || rc=$?
	th_assert_eq 1 "$rc" "availability $bad: usage error"
done

# --- the HTML report: an Availability section ----------------------------------------------------
FX_SUMMARY=$(fx_summary success 800 10 1.9 40 70 10) fx_session "$A" web1 c1 d1 1 "$((R1 + 300))" 100 40 "5:60:0"
th_graph report "$A" -o "$TH_TMP/report" >/dev/null 2>"$TH_TMP/err" ||
	th_fail "report failed: $(cat "$TH_TMP/err")"
html=$(cat "$TH_TMP/report/index.html")
th_assert_match '<h2 id="availability">Availability</h2>' "$html" "report: Availability section"
arow() { printf '%s\n' "$html" | grep "<tr id=\"avail-$1\">"; }
th_assert_match 'data-col="availability_pct">99.9167<.*data-col="covered">3:00:00<.*data-col="outage_ms">9000.0<.*data-col="outage_outside_ms">2500.0<.*data-col="migrations">4<.*data-col="origins">2 / 1 / 1<.*data-col="outcomes">2 / 1 / 1 / 0 / 0 / 0<.*data-col="downtime_total_ms">6450.5<.*data-col="downtime_worst_ms">5000.0 ± 10.0<' \
	"$(arow web1)" "report: web1 availability row"
th_assert_match 'data-col="availability_pct">–<' "$(arow web3)" "report: web3 unknown availability"
th_assert_match 'data-col="availability_pct">99.9900<' "$(arow web2)" "report: web2 availability"
th_assert_match "<td data-col=\"start\">$(stamp "$((O + 600))")</td><td data-col=\"origin\">run</td>.*badge success\">success<.*data-col=\"downtime_ms\">5000.0 ± 10.0<.*hv-a → hv-b" \
	"$(printf '%s\n' "$html" | grep '<tr id="tl-s1">')" "report: timeline row s1"
[ "$(printf '%s\n' "$html" | grep -c '<tr id="tl-')" -eq 8 ] || th_fail "report: expected 8 timeline rows"
# The inline SVG timeline: a dot per session, coloured by outcome (3 success, 1 failed).
th_assert_eq 8 "$(printf '%s\n' "$html" | grep -o '<circle ' | wc -l)" "report: timeline dots"
th_assert_eq 3 "$(printf '%s\n' "$html" | grep -o '<circle [^>]*fill="#1f7a3d"' | wc -l)" "report: success dots"
th_assert_eq 1 "$(printf '%s\n' "$html" | grep -o '<circle [^>]*fill="#b42323"' | wc -l)" "report: failed dots"
th_assert_eq 4 "$(wc -l <"$TH_TMP/report/csv/availability.csv")" "report: csv/availability.csv"
th_assert_eq 9 "$(wc -l <"$TH_TMP/report/csv/sessions.csv")" "report: csv/sessions.csv"
th_assert_match 'href="csv/availability.csv"' "$html" "report links availability.csv"
# The cycles table is still there.
th_assert_match '<tr id="row-c1">' "$html" "report: cycles table kept"

# Once every session file is pruned, the report still shows the availability.
rm "$A"/web1/c1.*
th_graph report "$A" -o "$TH_TMP/report2" >/dev/null 2>"$TH_TMP/err" ||
	th_fail "report without session files failed: $(cat "$TH_TMP/err")"
html=$(cat "$TH_TMP/report2/index.html")
th_assert_match 'data-col="availability_pct">99.9167<' "$(arow web1)" "report without session files: web1"
printf '%s\n' "$html" | grep -q '<tr id="row-' && th_fail "report without session files: a cycle row"
th_assert_match 'No session file in the archive' "$html" "report without session files says so"
exit 0
