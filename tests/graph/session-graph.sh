#!/bin/bash
# session-graph.sh — `themis-graph session` draws the panels a session has (loss, RTT, iperf
# only when present) at the expected size, with the loss bars, the migration window and the
# iperf area in their colours exactly when the data calls for them; `csv` exports the exact
# per-second values; missing archive, unknown session and session without data exit 2 with a
# message naming them; usage errors exit 1.
# timeout: 120
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
# shellcheck source=tests/graph/fixture.sh
. "$top_srcdir/tests/graph/fixture.sh"
th_require_cmd jq jq
th_require_cmd identify imagemagick

A="$TH_TMP/archive"
FX_SUMMARY=$(fx_summary success 1234.5 10 2.1 45 120 30) \
	fx_session "$A" web1 lossy_iperf def 1 1700000000 120 40 "5:50:0 6:100:0 7:20:30" yes
fx_session "$A" web1 lossy def 2 1700005000 90 30 "5:60:0"
fx_session "$A" web1 clean def 3 1700009000 90 30 ""

# colour_pixels PNG HEX: how many pixels of that exact colour the image has.
colour_pixels() {
	convert "$1" -format %c histogram:info:- | awk -v c="#$2" 'toupper($3) == c { n += $1 } END { print n + 0 }'
}

size=$(th_graph session "$A" lossy_iperf -o "$TH_TMP/a.png")
th_assert_eq 960x660 "$size" "three panels: printed size"
th_assert_eq 960x660 "$(identify -format '%wx%h' "$TH_TMP/a.png")" "three panels: PNG size"
a_colours=$(for c in D62728 1F6FB4 FBE3C4 6BB38A; do colour_pixels "$TH_TMP/a.png" "$c"; done)

size=$(th_graph session "$A" lossy -o "$TH_TMP/b.png")
th_assert_eq 960x490 "$size" "no iperf data: two panels"

size=$(th_graph session "$A" clean -o "$TH_TMP/c.png" -w 700)
th_assert_eq 700x490 "$size" "width option"
# In the clean session the loss colours appear only in the legend swatches.
swatch=$(colour_pixels "$TH_TMP/c.png" D62728)
th_assert_eq "$swatch" "$(colour_pixels "$TH_TMP/c.png" 1F6FB4)" "clean session: swatches only"
{ [ "$swatch" -gt 0 ] && [ "$swatch" -lt 100 ]; } || th_fail "clean session: $swatch red pixels, expected a legend swatch"
th_assert_eq 0 "$(colour_pixels "$TH_TMP/b.png" 6BB38A)" "no iperf area without iperf data"
th_assert_eq "$swatch" "$(colour_pixels "$TH_TMP/b.png" 1F6FB4)" "no down loss drawn when none was lost"
[ "$(colour_pixels "$TH_TMP/b.png" D62728)" -gt $((swatch * 4)) ] || th_fail "lossy: up loss not drawn"
[ "$(colour_pixels "$TH_TMP/c.png" FBE3C4)" -gt 100 ] || th_fail "clean: migration window not shaded"
[ "$(identify -format '%k' "$TH_TMP/c.png")" -ge 10 ] || th_fail "clean: image nearly blank"
# lossy_iperf: up and down loss bars, the window and the iperf area, each well beyond a swatch.
for n in $a_colours; do
	[ "$n" -gt $((swatch * 4)) ] || th_fail "lossy_iperf: colour counts ${a_colours//$'\n'/ }: one is only a swatch"
done

# Default output name: SESSION.png in the current directory.
(cd "$TH_TMP" && th_graph session "$A" clean >/dev/null)
[ -s "$TH_TMP/clean.png" ] || th_fail "default output clean.png missing"

# An archive path with a colon (rrdtool's field separator) works the same.
mkdir -p "$TH_TMP/arch:2"
cp -r "$A/web1" "$TH_TMP/arch:2/"
th_assert_eq 960x490 "$(th_graph session "$TH_TMP/arch:2" lossy -o "$TH_TMP/colon.png")" "colon in the path"
th_assert_match '^5,50,60,' "$(th_graph xport "$TH_TMP/arch:2" --vm web1 --before 0 --after 5 | tail -n 1)" \
	"colon in the path: xport"

# Per-second CSV: a header, one line per second, exact values (offset 7 from migration-start
# at 1700000040: 20 up + 30 down lost, RTT avg 1.007, iperf blackout).
csv=$(th_graph csv "$A" lossy_iperf)
th_assert_eq 'time,sent,received,lost_up,lost_down,lost_unknown,late,dup,rtt_min,rtt_avg,rtt_max,jitter,max_gap,iperf_bps,iperf_lost,iperf_packets,iperf_jitter' \
	"$(printf '%s\n' "$csv" | head -n 1)" "CSV header"
th_assert_eq 121 "$(printf '%s\n' "$csv" | wc -l)" "CSV lines"
th_assert_eq '1700000047,100,50,20,30,0,0,0,0.5,1.007,2,0.1,500,0,0,80000,0.05' \
	"$(printf '%s\n' "$csv" | grep '^1700000047,')" "CSV values at a lossy second"
th_assert_eq '1700000000,100,100,0,0,0,0,0,0.5,0.96,2,0.1,10,900000000,0,80000,0.05' \
	"$(printf '%s\n' "$csv" | sed -n 2p)" "CSV first second"
th_assert_match '^1700000119,' "$(printf '%s\n' "$csv" | tail -n 1)" "CSV last second"

# expect_error STATUS REGEX ARGS...: themis-graph fails with STATUS and a matching message.
expect_error() {
	local want=$1 re=$2 rc=0 err
	shift 2
	err=$(th_graph "$@" 2>&1 >/dev/null) || rc=$?
	th_assert_eq "$want" "$rc" "exit status of: themis-graph $*"
	th_assert_match "$re" "$err" "message of: themis-graph $*"
}
expect_error 2 "archive directory $TH_TMP/nowhere does not exist" session "$TH_TMP/nowhere" clean -o "$TH_TMP/x.png"
expect_error 2 "unknown session nosuch: no $A/\*/nosuch.json" session "$A" nosuch -o "$TH_TMP/x.png"
expect_error 2 "unknown session 'a/b'" session "$A" a/b -o "$TH_TMP/x.png"
# A summary file without its RRD, and an RRD that never received a sample.
cp "$A/web1/clean.json" "$A/web1/norrd.json"
expect_error 2 "session norrd has no data: no per-second record \(markers only\), $A/web1/norrd.rrd does not exist" session "$A" norrd -o "$TH_TMP/x.png"
expect_error 2 "session norrd has no data: no per-second record" csv "$A" norrd
cp "$A/web1/clean.json" "$A/web1/empty.json"
"$TH_RRDTOOL_BIN" create "$A/web1/empty.rrd" --step 1 --start 1700008999 DS:sent:GAUGE:2:0:U \
	DS:received:GAUGE:2:0:U RRA:AVERAGE:0.5:1:200
expect_error 2 "session empty has no data: no probe counts in $A/web1/empty.rrd" session "$A" empty -o "$TH_TMP/x.png"
expect_error 2 "session empty has no data" csv "$A" empty
[ ! -e "$TH_TMP/x.png" ] || th_fail "a failed run left $TH_TMP/x.png"
printf '{"session": "broken", ' >"$A/web1/broken.json"
expect_error 2 "session broken: $A/web1/broken.json is not a valid session file" session "$A" broken -o "$TH_TMP/x.png"
expect_error 1 "unknown command 'draw'" draw "$A"
expect_error 1 "width 50: at least 300 pixels" session "$A" clean -w 50
expect_error 1 "unknown option '--bogus'" session "$A" clean --bogus
expect_error 1 "session needs ARCHIVE_DIR and SESSION" session "$A"
expect_error 1 "'wide' is not a number" session "$A" clean -w wide
th_graph --help | grep -q '^usage: themis-graph session' || th_fail "--help prints the usage"
