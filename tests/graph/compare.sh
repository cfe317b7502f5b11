#!/bin/bash
# compare.sh — `themis-graph compare` on two definitions built here with known downtimes: the
# per-definition and per-cycle CSV byte for byte, the table's figures, both descriptions
# escaped in the page, the overlay's and the distribution's SVG element positions for known
# times (xmllint), negative tick labels; an unknown definition and an empty archive exit 2 with
# a message naming them.
# timeout: 120
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
# shellcheck source=tests/graph/fixture.sh
. "$top_srcdir/tests/graph/fixture.sh"
th_require_cmd jq jq
th_require_cmd xmllint libxml2-utils

A="$TH_TMP/archive"
R="$TH_TMP/compare"

# cmp_session VM SESSION DEF CYCLE T0 OUTCOME PARAMS MESSAGE PAUSE_MS DOWN_START DOWN_END
#   HV_PAUSED HV_DOWNTIME: a session as the plugin archives it (fx_session), then its markers
#   given the definition's params on session-start (PARAMS, JSON or null; MESSAGE: the
#   session-start marker's message), hv-pause at migration-start + PAUSE_MS (none when empty)
#   and hv-resume HV_PAUSED ms later, one outage from DOWN_START to DOWN_END ms after hv-pause,
#   and the summary. A failed cycle: no outage, no hv markers, the migration-end message.
cmp_session() {
	local vm=$1 s=$2 def=$3 cycle=$4 t0=$5 outcome=$6 params=$7 msg=$8 pause=$9
	local ds=${10} de=${11} hvp=${12} hvd=${13}
	FX_OUTCOME=$outcome fx_session "$A" "$vm" "$s" "$def" "$cycle" "$t0" 60 20 "1:50:0"
	jq --argjson params "$params" --arg msg "$msg" --arg outcome "$outcome" \
		--arg pause "$pause" --arg ds "$ds" --arg de "$de" --arg hvp "$hvp" --arg hvd "$hvd" '
		([.markers[] | select(.event == "migration-start") | .t] | first) as $ms
		| (.markers[0] | {kind, session, definition, cycle, vm, vm_id, src_host, dst_host}) as $base
		| .markers |= map(if .event == "session-start" then
				. + (if $params == null then {} else {params: $params} end)
				+ (if $msg == "" then {} else {message: $msg} end)
			elif .event == "migration-end" and $outcome != "success" then
				. + {message: "Error: migrate failed: host hv-b refused"}
			else . end)
		| if $pause == "" then
			.summary = {outcome: $outcome, lost_up: 0, lost_down: 0, lost_unknown: 0}
		  else
			($ms + ($pause | tonumber) / 1000) as $p
			| ($ds | tonumber) as $a | ($de | tonumber) as $b
			| .markers |= (.[0:4] + [$base + {event: "hv-pause", t: $p, hv_host: "hv-a",
				hv_source: "qmp", clock_bound_ms: 0}, $base + {event: "hv-resume",
				t: ($p + ($hvp | tonumber) / 1000), hv_host: "hv-b", hv_source: "qmp",
				clock_bound_ms: 0}] + .[4:])
			| .outages = [{kind: "outage", vm: .vm, stream: "sup/\(.vm)/7300",
				direction: "both", start: ($p + $a / 1000), end: ($p + $b / 1000),
				duration_ms: ($b - $a), bound_ms: 5, lost: (($b - $a) / 10)}]
			| .summary = {outcome: $outcome, downtime_ms: ($b - $a), downtime_bound_ms: 5,
				outage_total_ms: ($b - $a), lost_up: (($b - $a) / 10), lost_down: 0,
				lost_unknown: 0, hv_downtime_ms: ($hvd | tonumber),
				delta_ms: ($b - $a - ($hvd | tonumber)), hv_paused_ms: ($hvp | tonumber),
				pre_pause_ms: $a, post_resume_ms: ($b - ($hvp | tonumber))}
		  end
		| .markers[-1].summary = .summary' "$A/$vm/$s.json" >"$TH_TMP/s.json"
	mv "$TH_TMP/s.json" "$A/$vm/$s.json"
}

PA='{"interval_ms":10,"live":true,"cycles":3,"load":"dirty 0 MB/s","migration":{"max-bandwidth":"32M","downtime-limit":"300"},"description":"Idle <guest> & \"live\""}'
PB='{"interval_ms":5,"bandwidth":"100M","live":false,"cycles":4,"load":"dirty 64 MB/s wss 96 MiB"}'
# slow-10: downtimes 100, 140, 120 ms around hv-pause; hypervisor paused 50, 60, 70 ms.
cmp_session web1 a1 slow-10 1 1700000000 success "$PA" '' 2000 -20 80 50 40
cmp_session web1 a2 slow-10 2 1700001000 success "$PA" '' 2000 -40 100 60 50
cmp_session web1 a3 slow-10 3 1700002000 success "$PA" '' 2000 -10 110 70 60
# load-64 (its description only as the session-start message, as older triggers wrote it):
# downtimes 300, 500, 400 ms; one failed cycle.
cmp_session web2 b1 load-64 1 1700000000 success "$PB" 'Dirty 64 MB/s <wss>' 3000 -50 250 250 200
cmp_session web2 b2 load-64 2 1700001000 success "$PB" 'Dirty 64 MB/s <wss>' 3000 -60 440 450 400
cmp_session web2 b3 load-64 3 1700002000 success "$PB" 'Dirty 64 MB/s <wss>' 3000 -40 360 350 300
cmp_session web2 b4 load-64 4 1700003000 failed "$PB" 'Dirty 64 MB/s <wss>' '' '' '' '' ''
# A third definition, not asked for: left out.
cmp_session web3 z1 other 1 1700000000 success "$PB" '' 3000 -5 5 5 5

th_graph compare "$A" --definition slow-10 --definition load-64 --out "$R" --csv "$TH_TMP/defs.csv" \
	>"$TH_TMP/out" 2>"$TH_TMP/err" || th_fail "compare failed: $(cat "$TH_TMP/err")"
th_assert_eq "$R/index.html" "$(cat "$TH_TMP/out")" "compare prints the page's path"
th_assert_eq '' "$(cat "$TH_TMP/err")" "compare is quiet"

# Medians (120, 400), nearest-rank p90 (140, 500), max, hypervisor paused median (60, 350) and
# Δ median (60, 100) over the successful cycles.
expected_defs='definition,description,interval_ms,bandwidth,live,cycles_planned,load,migration,cycles,success,failed,downtime_n,downtime_median_ms,downtime_p90_ms,downtime_max_ms,hv_paused_median_ms,delta_median_ms
"slow-10","Idle <guest> & ""live""",10,,true,3,"dirty 0 MB/s","max-bandwidth=32M;downtime-limit=300",3,3,0,3,120,140,140,60,60
"load-64","Dirty 64 MB/s <wss>",5,"100M",false,4,"dirty 64 MB/s wss 96 MiB",,4,3,1,3,400,500,500,350,100'
th_assert_eq "$expected_defs" "$(cat "$R/definitions.csv")" "definitions.csv"
cmp -s "$R/definitions.csv" "$TH_TMP/defs.csv" || th_fail "--csv FILE differs from DIR/definitions.csv"
th_assert_eq "$expected_defs" "$(th_graph compare "$A" --definition slow-10 --definition load-64 --csv -)" "--csv -"
th_assert_eq 'definition,session,vm,cycle,outcome,downtime_ms,downtime_bound_ms,hv_paused_ms,hv_downtime_ms,delta_ms,align,outage_start_ms,outage_end_ms,message
"slow-10","a1","web1",1,"success",100,5,50,40,60,"hv-pause",-20,80,
"slow-10","a2","web1",2,"success",140,5,60,50,90,"hv-pause",-40,100,
"slow-10","a3","web1",3,"success",120,5,70,60,60,"hv-pause",-10,110,
"load-64","b1","web2",1,"success",300,5,250,200,100,"hv-pause",-50,250,
"load-64","b2","web2",2,"success",500,5,450,400,100,"hv-pause",-60,440,
"load-64","b3","web2",3,"success",400,5,350,300,100,"hv-pause",-40,360,
"load-64","b4","web2",4,"failed",,,,,,,,,"Error: migrate failed: host hv-b refused"' \
	"$(cat "$R/cycles.csv")" "cycles.csv"
# The exact bytes: a final newline and nothing else.
[ "$(tail -c 1 "$R/definitions.csv" | od -An -c | tr -d ' ')" = '\n' ] || th_fail "definitions.csv does not end with a newline"

html=$(cat "$R/index.html")
row() { printf '%s\n' "$html" | grep "<tr id=\"def-$1\">"; }
th_assert_eq '<tr id="def-slow-10"><td data-col="definition"><span class="swatch" style="background:#1f77b4"></span>slow-10</td><td data-col="description">Idle &lt;guest&gt; &amp; &quot;live&quot;</td><td class="num" data-col="interval_ms">10</td><td data-col="bandwidth">–</td><td data-col="live">live</td><td class="num" data-col="cycles_planned">3</td><td data-col="load">dirty 0 MB/s</td><td data-col="migration">max-bandwidth=32M, downtime-limit=300</td><td class="num" data-col="cycles">3</td><td class="num" data-col="success">3</td><td class="num" data-col="failed">0</td><td class="num" data-col="downtime_median_ms">120.0</td><td class="num" data-col="downtime_p90_ms">140.0</td><td class="num" data-col="downtime_max_ms">140.0</td><td class="num" data-col="hv_paused_median_ms">60.0</td><td class="num" data-col="delta_median_ms">+60.0</td></tr>' \
	"$(row slow-10)" "table row slow-10"
th_assert_match 'data-col="description">Dirty 64 MB/s &lt;wss&gt;<.*data-col="bandwidth">100M<.*data-col="live">cold<.*data-col="failed">1<.*data-col="downtime_median_ms">400.0<.*data-col="downtime_p90_ms">500.0<.*data-col="hv_paused_median_ms">350.0<.*data-col="delta_median_ms">\+100.0<' \
	"$(row load-64)" "table row load-64"
th_assert_match '<td data-col="message">Error: migrate failed: host hv-b refused</td>' \
	"$(printf '%s\n' "$html" | grep '<tr id="cycle-b4">')" "failed cycle's message"
printf '%s\n' "$html" | grep -q '"def-other"\|cycle-z1' && th_fail "definition other leaked into the comparison"
printf '%s\n' "$html" | grep -q '<guest>\|<wss>' && th_fail "a description reached the page unescaped"
printf '%s\n' "$html" | grep -Eiq '<script|<link|<img|src=|url\(' && th_fail "index.html has an external asset or script"

# The overlay: axis -100..+500 ms over 750 px from x = 190 (1.25 px per ms), so x = 190 +
# (t + 100) * 1.25; lanes of 16 px from y = 14, a 10 px gap after each definition.
printf '%s\n' "$html" | grep -o '<svg id="overlay".*</svg>' >"$TH_TMP/overlay.svg"
printf '%s\n' "$html" | grep -o '<svg id="distribution".*</svg>' >"$TH_TMP/dist.svg"
x() { xmllint --xpath "$2" "$TH_TMP/$1.svg" || th_fail "xpath $2 on $1.svg"; }
th_assert_eq '290 17 125 #1f77b4' "$(x overlay 'concat(string(//rect[@data-session="a1"]/@x), " ", string(//rect[@data-session="a1"]/@y), " ", string(//rect[@data-session="a1"]/@width), " ", string(//rect[@data-session="a1"]/@fill))')" "overlay: outage of a1 (-20..+80 ms)"
th_assert_eq '240 91 625 #ff7f0e' "$(x overlay 'concat(string(//rect[@data-session="b2"]/@x), " ", string(//rect[@data-session="b2"]/@y), " ", string(//rect[@data-session="b2"]/@width), " ", string(//rect[@data-session="b2"]/@fill))')" "overlay: outage of b2 (-60..+440 ms)"
th_assert_eq '315 877.5 390' "$(x overlay 'concat(string(//line[@class="anchor"]/@x1), " ", string(//line[@class="mark hv-resume"][@data-session="b2"]/@x1), " ", string(//line[@class="mark hv-resume"][@data-session="a2"]/@x1))')" "overlay: anchor and hv-resume ticks"
th_assert_eq 6 "$(x overlay 'count(//rect[@class="outage"])')" "overlay: one outage per successful cycle"
th_assert_eq '-100 0 +100 +500' "$(x overlay 'concat(//text[@class="tick"][1], " ", //text[@class="tick"][2], " ", //text[@class="tick"][3], " ", //text[@class="tick"][7])')" "overlay: tick labels"
th_assert_eq '190 940' "$(x overlay 'concat(string(//text[@class="tick"][1]/@x), " ", string(//text[@class="tick"][7]/@x))')" "overlay: tick positions"
th_assert_match 'ms after hv-pause' "$(x overlay 'string(//text[@class="axis-title"])')" "overlay: axis title"
# The distribution: axis 0..600 ms over 750 px, x = 190 + t * 1.25.
th_assert_eq '315 340 365 565 690 815' "$(x dist 'concat((//circle)[1]/@cx, " ", (//circle)[2]/@cx, " ", (//circle)[3]/@cx, " ", (//circle)[4]/@cx, " ", (//circle)[5]/@cx, " ", (//circle)[6]/@cx)')" "distribution: dots (sorted downtimes)"
th_assert_eq '340 690 815' "$(x dist 'concat(//g[@data-def="slow-10"]/line[@class="median"]/@x1, " ", //g[@data-def="load-64"]/line[@class="median"]/@x1, " ", //g[@data-def="load-64"]/line[@class="p90"]/@x1)')" "distribution: median and p90"

# Aligned on migration-start: hv-pause is 2 s (slow-10) and 3 s (load-64) later.
th_graph compare "$A" --definition slow-10 --definition load-64 --align migration-start --out "$R/ms" >/dev/null
th_assert_match '"a1","web1",1,"success",100,5,50,40,60,"migration-start",1980,2080,' "$(cat "$R/ms/cycles.csv")" "aligned on migration-start"

# Bad input.
rc=0
th_graph compare "$A" --definition slow-10 --definition nosuch --out "$R/x" >/dev/null 2>"$TH_TMP/err" || rc=$?
th_assert_eq 2 "$rc" "unknown definition: exit status"
th_assert_eq "themis-graph: unknown definition nosuch: no session of it in $A (definitions there: load-64 other slow-10)" \
	"$(cat "$TH_TMP/err")" "unknown definition: message"
[ ! -e "$R/x" ] || th_fail "an output directory was made for an unknown definition"
mkdir -p "$TH_TMP/empty"
rc=0
th_graph compare "$TH_TMP/empty" --definition slow-10 --csv - >/dev/null 2>"$TH_TMP/err" || rc=$?
th_assert_eq 2 "$rc" "empty archive: exit status"
th_assert_eq "themis-graph: no session in $TH_TMP/empty: nothing to compare" "$(cat "$TH_TMP/err")" "empty archive: message"
rc=0
th_graph compare "$A" --definition slow-10 >/dev/null 2>"$TH_TMP/err" || rc=$?
th_assert_eq 1 "$rc" "no output named: exit status"
th_assert_match 'compare: needs --out DIR and/or --csv FILE' "$(cat "$TH_TMP/err")" "no output named: message"
exit 0
