#!/bin/bash
# timeline.sh — the report's millisecond timelines (rrd-graphs/timeline.jq) against archives
# with hand-written hv-pause/hv-resume/hv-status markers, outages with their bound and
# per-direction windows, definition parameters and OpenNebula's messages (the archive's shape,
# DESIGN §5.1–§5.3): every position read back from the SVG with xmllint equals the one the scale
# gives for the known times, tick labels (negative ones with a true minus) sit at their ms, the
# aligned view has one row per cycle, `session`/`overlay -o FILE.svg` write the same drawings,
# the description and the messages are HTML-escaped, and a
# real headless Chromium draws the outage bar and the pause band where the SVG says.
# timeout: 240
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
# shellcheck source=tests/graph/fixture.sh
. "$top_srcdir/tests/graph/fixture.sh"
th_require_cmd jq jq
th_require_cmd xmllint libxml2-utils
th_require_cmd convert imagemagick
th_require_cmd chromium chromium

A="$TH_TMP/archive"
R="$TH_TMP/report"
M=$'\u2212' # the minus sign of the labels

# Cycle 1: migration-start at 40.5, the guest paused 41.800 → 41.920 (the reference), a 300 ms
# outage 41.750 → 42.050 ± 10 ms, up lost over the whole outage, down 41.780 → 42.000.
fx_session "$A" web1 h1 d1 1 1700000000 120 40 "1:20:10 2:10:12"
fx_hv_patch "$A/web1/h1.json" '[
	{"event": "session-start", "t": 1700000000.25},
	{"event": "migration-request", "t": 1700000040.1},
	{"event": "migration-start", "t": 1700000040.5},
	{"event": "migration-end", "t": 1700000042.3, "outcome": "success"},
	{"event": "hv-status", "t": 1700000040.52, "hv_status": "active", "hv_host": "hv-a", "hv_source": "qmp", "clock_bound_ms": 0},
	{"event": "hv-pause", "t": 1700000041.8, "hv_host": "hv-a", "hv_source": "qmp", "clock_bound_ms": 0},
	{"event": "hv-resume", "t": 1700000041.92, "hv_host": "hv-b", "hv_source": "qmp", "clock_bound_ms": 0},
	{"event": "hv-status", "t": 1700000041.95, "hv_status": "completed", "hv_host": "hv-a", "hv_source": "qmp", "clock_bound_ms": 0},
	{"event": "session-end", "t": 1700000119.5}]' '[
	{"direction": "both", "start": 1700000041.75, "end": 1700000042.05, "duration_ms": 300,
	 "bound_ms": 10, "lost": 30, "up_start": 1700000041.75, "up_end": 1700000042.05,
	 "down_start": 1700000041.78, "down_end": 1700000042.0}]' \
	'{"outcome": "success", "downtime_ms": 300, "downtime_bound_ms": 10, "lost_up": 30, "lost_down": 22,
	  "hv_pause": 1700000041.8, "hv_resume": 1700000041.92, "hv_paused_ms": 120, "pre_pause_ms": -50,
	  "post_resume_ms": 130, "decomp_bound_ms": 10}' \
	'{"interval_ms": 10, "live": true, "cycles": 3, "description": "idle guest <b>baseline</b> & co"}'
# Cycle 2 failed, no hypervisor events (aligned on migration-start 3040.5): an up outage of
# 250 ms ± 5 from +250 ms, no per-direction windows; OpenNebula's message has markup.
fx_session "$A" web1 h2 d1 2 1700003000 100 40 "1:25:0"
fx_hv_patch "$A/web1/h2.json" '[
	{"event": "session-start", "t": 1700003000.25},
	{"event": "migration-request", "t": 1700003040.1},
	{"event": "migration-start", "t": 1700003040.5},
	{"event": "migration-end", "t": 1700003043.0, "outcome": "failed",
	 "message": "<script>alert(\"x\")</script> & host down"},
	{"event": "session-end", "t": 1700003099.5}]' '[
	{"direction": "up", "start": 1700003040.75, "end": 1700003041.0, "duration_ms": 250,
	 "bound_ms": 5, "lost": 25}]' '{"outcome": "failed", "lost_up": 25, "lost_down": 0}'
# Cycle 3: paused 200 ms from 6041.0, outage −100 → +400 ms.
fx_session "$A" web1 h3 d1 3 1700006000 100 40 "1:50:0"
fx_hv_patch "$A/web1/h3.json" '[
	{"event": "session-start", "t": 1700006000.25},
	{"event": "migration-start", "t": 1700006040.5},
	{"event": "hv-pause", "t": 1700006041.0, "hv_host": "hv-a", "hv_source": "libvirt"},
	{"event": "hv-resume", "t": 1700006041.2, "hv_host": "hv-b", "hv_source": "libvirt"},
	{"event": "migration-end", "t": 1700006041.9, "outcome": "success"},
	{"event": "session-end", "t": 1700006099.5}]' '[
	{"direction": "both", "start": 1700006040.9, "end": 1700006041.4, "duration_ms": 500,
	 "bound_ms": 0, "lost": 50}]' '{"outcome": "success", "downtime_ms": 500}'

th_graph report "$A" -o "$R" >/dev/null 2>"$TH_TMP/err" || th_fail "report failed: $(cat "$TH_TMP/err")"
html=$(cat "$R/index.html")

# svg_of SESSION FILE: the session's inline timeline, as a file of its own.
svg_of() {
	printf '%s\n' "$html" | grep "id=\"s-$1\"" |
		sed -e "s/.*<div class=\"ms-timeline\" id=\"ms-$1\">//" -e 's|</div></figure>$||' >"$2"
	xmllint --noout "$2" || th_fail "timeline of $1 is not well-formed XML"
}
# xp FILE XPATH: the string value of XPATH.
xp() { xmllint --xpath "string($2)" "$1"; }
el() { printf "//*[local-name()='%s'][@class='%s']" "$1" "$2"; }
# x_of LO HI MS: the scale of timeline.jq (plot from 140 to 900 px), one decimal, half away
# from zero.
x_of() { awk -v lo="$1" -v hi="$2" -v ms="$3" 'BEGIN { v = (140 + (ms - lo) / (hi - lo) * 760) * 10
	r = (v < 0) ? -int(-v + 0.5) : int(v + 0.5); printf "%g\n", r / 10 }'; }
sub1() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%g\n", int((a - b) * 10 + (a > b ? 0.5 : -0.5)) / 10 }'; }

# Cycle 1, aligned on hv-pause: events from −1700 ms (request) to +500 ms (migration-end), so
# the axis runs from −2200 to +1000 ms; a 500 ms step.
S1="$TH_TMP/h1.svg"
svg_of h1 "$S1"
th_assert_eq hv-pause "$(xp "$S1" '/*/@data-ref')" "h1 reference"
th_assert_eq -2200 "$(xp "$S1" '/*/@data-lo-ms')" "h1 axis start"
th_assert_eq 1000 "$(xp "$S1" '/*/@data-hi-ms')" "h1 axis end"
x() { x_of -2200 1000 "$1"; }
th_assert_eq 662.5 "$(x 0)" "scale: hv-pause at 662.5 px"
th_assert_eq "$(x 0)" "$(xp "$S1" "$(el rect hv-band)/@x")" "h1 pause x"
th_assert_eq "$(sub1 "$(x 120)" "$(x 0)")" "$(xp "$S1" "$(el rect hv-band)/@width")" "h1 pause → resume width"
th_assert_eq "$(x 0)" "$(xp "$S1" "//*[@data-event='hv-pause']/*[local-name()='line']/@x1")" "h1 hv-pause tick"
th_assert_eq "$(x 120)" "$(xp "$S1" "//*[@data-event='hv-resume']/*[local-name()='line']/@x1")" "h1 hv-resume tick"
th_assert_eq "$(x -1300)" "$(xp "$S1" "//*[@data-event='migration-start']/*[local-name()='line']/@x1")" "h1 migration-start tick"
th_assert_eq "$(x -1700)" "$(xp "$S1" "//*[@data-event='migration-request']/*[local-name()='line']/@x1")" "h1 migration-request tick"
th_assert_eq "$(x 500)" "$(xp "$S1" "//*[@data-event='migration-end']/*[local-name()='line']/@x1")" "h1 migration-end tick"
th_assert_eq 650.6 "$(x -50)" "scale: outage start at 650.6 px"
th_assert_eq "$(x -50)" "$(xp "$S1" "$(el rect outage)/@x")" "h1 outage x"
th_assert_eq "$(sub1 "$(x 250)" "$(x -50)")" "$(xp "$S1" "$(el rect outage)/@width")" "h1 outage width"
# The bound: ± 10 ms shading at both ends.
th_assert_eq "$(x -60) $(sub1 "$(x -40)" "$(x -60)") $(x 240) $(sub1 "$(x 260)" "$(x 240)")" \
	"$(xp "$S1" "($(el rect outage-bound))[1]/@x") $(xp "$S1" "($(el rect outage-bound))[1]/@width") $(xp "$S1" "($(el rect outage-bound))[2]/@x") $(xp "$S1" "($(el rect outage-bound))[2]/@width")" \
	"h1 bound shading"
th_assert_eq "$(x -50) $(sub1 "$(x 250)" "$(x -50)")" "$(xp "$S1" "$(el rect win-up)/@x") $(xp "$S1" "$(el rect win-up)/@width")" "h1 up window"
th_assert_eq "$(x -20) $(sub1 "$(x 200)" "$(x -20)")" "$(xp "$S1" "$(el rect win-down)/@x") $(xp "$S1" "$(el rect win-down)/@width")" "h1 down window"
# Tick labels and their places.
ticks=''
n=$(xp "$S1" "count($(el text tick))")
for i in $(seq 1 "$n"); do
	ticks+="$(xp "$S1" "($(el text tick))[$i]")@$(xp "$S1" "($(el text tick))[$i]/@x") "
done
th_assert_eq "${M}2000 ms@$(x -2000) ${M}1500 ms@$(x -1500) ${M}1000 ms@$(x -1000) ${M}500 ms@$(x -500) 0 ms@$(x 0) +500 ms@$(x 500) +1000 ms@$(x 1000) " \
	"$ticks" "h1 tick labels"
# Labels on the elements, no legend needed.
labels=$(xmllint --xpath "//*[local-name()='text']/text()" "$S1" | tr '\n' '|')
for want in 'paused 120.0 ms' 'outage 300.0 ms ± 10.0' 'up · 30 lost' 'down · 22 lost' 'hv active' \
	'hv completed' 'migration-end (success)' 'hv-pause' 'hv-resume' 'migrating 1800.0 ms' \
	"off the axis: session-start ${M}41.550 s, session-end +77.700 s"; do
	case $labels in *"$want"*) ;; *) th_fail "h1 timeline lacks the label '$want': $labels" ;; esac
done

# Cycle 2, no hv-pause: aligned on migration-start, from −900 to +3000 ms, 500 ms steps; the
# up outage (no per-direction windows) fills the up row from its direction.
S2="$TH_TMP/h2.svg"
svg_of h2 "$S2"
th_assert_eq "migration-start -900 3000" \
	"$(xp "$S2" '/*/@data-ref') $(xp "$S2" '/*/@data-lo-ms') $(xp "$S2" '/*/@data-hi-ms')" "h2 reference and axis"
th_assert_eq "$(x_of -900 3000 250) $(sub1 "$(x_of -900 3000 500)" "$(x_of -900 3000 250)")" \
	"$(xp "$S2" "$(el rect outage)/@x") $(xp "$S2" "$(el rect outage)/@width")" "h2 outage"
th_assert_eq "$(x_of -900 3000 250)" "$(xp "$S2" "$(el rect win-up)/@x")" "h2 up row from the direction"
th_assert_eq 0 "$(xp "$S2" "count($(el rect win-down))")" "h2 no down window"
th_assert_eq 0 "$(xp "$S2" "count($(el rect hv-band))")" "h2 no pause band"
th_assert_eq "${M}500 ms@$(x_of -900 3000 -500)" \
	"$(xp "$S2" "($(el text tick))[1]")@$(xp "$S2" "($(el text tick))[1]/@x")" "h2 first tick"

# The aligned view of definition d1: one row per cycle; events from −100 to +500 ms over the
# three cycles give an axis from −600 to +1000 ms in 200 ms steps.
O="$TH_TMP/overlay.svg"
printf '%s\n' "$html" | grep -o '<svg xmlns="http://www.w3.org/2000/svg" class="ms-overlay".*</svg>' |
	sed 's|</svg>.*|</svg>|' >"$O"
xmllint --noout "$O" || th_fail "aligned view is not well-formed XML"
th_assert_eq "-600 1000" "$(xp "$O" '/*/@data-lo-ms') $(xp "$O" '/*/@data-hi-ms')" "aligned view axis"
th_assert_eq "h1:hv-pause h2:migration-start h3:hv-pause" \
	"$(for i in 1 2 3; do printf '%s:%s ' "$(xp "$O" "(//*[@class='cycle'])[$i]/@data-session")" \
		"$(xp "$O" "(//*[@class='cycle'])[$i]/@data-ref")"; done | sed 's/ $//')" "aligned view rows"
row() { printf "(//*[@class='cycle'])[%s]" "$1"; }
th_assert_eq "$(x_of -600 1000 -100) $(sub1 "$(x_of -600 1000 400)" "$(x_of -600 1000 -100)")" \
	"$(xp "$O" "$(row 3)/*[@class='outage']/@x") $(xp "$O" "$(row 3)/*[@class='outage']/@width")" "aligned h3 outage"
th_assert_eq "$(x_of -600 1000 0) $(sub1 "$(x_of -600 1000 120)" "$(x_of -600 1000 0)")" \
	"$(xp "$O" "$(row 1)/*[@class='hv-band']/@x") $(xp "$O" "$(row 1)/*[@class='hv-band']/@width")" "aligned h1 pause band"
th_assert_eq "$(x_of -600 1000 250)" "$(xp "$O" "$(row 2)/*[@class='outage']/@x")" "aligned h2 outage"
ticks=''
n=$(xp "$O" "count($(el text tick))")
for i in $(seq 1 "$n"); do ticks+="$(xp "$O" "($(el text tick))[$i]") "; done
th_assert_eq "${M}600 ms ${M}400 ms ${M}200 ms 0 ms +200 ms +400 ms +600 ms +800 ms +1000 ms " "$ticks" "aligned view labels"

# The same drawings on the command line: session/overlay -o FILE.svg.
th_assert_eq 960x268 "$(th_graph session "$A" h1 -o "$TH_TMP/cli-h1.svg")" "session -o .svg size"
th_assert_eq "$(cat "$S1")" "$(cat "$TH_TMP/cli-h1.svg")" "session -o .svg is the report's timeline"
th_graph overlay "$A" --vm web1 -o "$TH_TMP/cli-ov.svg" >/dev/null
th_assert_eq "$(cat "$O")" "$(cat "$TH_TMP/cli-ov.svg")" "overlay -o .svg is the report's aligned view"
jq '.markers = [.markers[] | select(.event == "session-start" or .event == "session-end")]' \
	"$A/web1/h3.json" >"$TH_TMP/h3.json"
mkdir -p "$TH_TMP/nomark/web1"
cp "$TH_TMP/h3.json" "$TH_TMP/nomark/web1/h3.json"
rc=0
err=$(th_graph session "$TH_TMP/nomark" h3 -o "$TH_TMP/x.svg" 2>&1) || rc=$?
th_assert_eq "2:themis-graph: session h3 has neither an hv-pause nor a migration-start marker" "$rc:$err" \
	"session without a reference"

# The description and OpenNebula's message, escaped; no markup of the archive gets through.
th_assert_match '<dt data-definition="d1">d1</dt><dd class="description">idle guest &lt;b&gt;baseline&lt;/b&gt; &amp; co</dd>' \
	"$html" "definition's description"
th_assert_match '<li id="msg-h2"><a href="#s-h2">cycle 2 · h2</a> <span class="badge failed">failed</span> <q class="one-message">&lt;script&gt;alert\(&quot;x&quot;\)&lt;/script&gt; &amp; host down</q></li>' \
	"$html" "failed cycle's message"
th_assert_match '<p class="one-message">OpenNebula: <q>&lt;script&gt;alert' "$(printf '%s\n' "$html" | grep 'id="s-h2"')" "message in the session"
printf '%s\n' "$html" | grep -qi '<script\|<b>' && th_fail "markup from the archive reached the page"
printf '%s\n' "$html" | grep -q 'id="msg-h1"\|id="msg-h3"' && th_fail "a successful cycle listed with the failures"

# A real browser, on a report of cycle 1 alone: the pause band (#0e4d64, the only thing of that
# colour) and, 30 px below it, the outage bar (#d62728) are drawn with the sizes and the gap of
# the SVG.
mkdir -p "$TH_TMP/one/web1"
cp "$A"/web1/h1.* "$TH_TMP/one/web1/"
th_graph report "$TH_TMP/one" -o "$TH_TMP/r1" >/dev/null 2>"$TH_TMP/err" || th_fail "report failed: $(cat "$TH_TMP/err")"
profile=$(mktemp -d "$TH_TMP/chromium.XXXXXX")
timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
	--disable-background-networking --disable-component-update --disable-sync \
	--user-data-dir="$profile" --hide-scrollbars --window-size=1200,2600 \
	--screenshot="$TH_TMP/shot.png" "file://$TH_TMP/r1/index.html" >"$TH_TMP/chromium.log" 2>&1 ||
	th_fail "chromium failed: $(tail -n 5 "$TH_TMP/chromium.log")"
cp "$TH_TMP/shot.png" "${top_builddir:?}/tests/graph/timeline-screenshot.png" 2>/dev/null || true
th_assert_eq 1200x2600 "$(identify -format '%wx%h' "$TH_TMP/shot.png")" "screenshot size"
# box PNG COLOUR: "W H X Y" of the pixels within 2 % of COLOUR.
box() {
	convert "$1" -fuzz 2% -fill black -opaque "$2" -fill white +opaque black -negate -trim \
		-format '%w %h %X %Y' info: 2>/dev/null | tr -d '+'
}
read -r bw bh bx by <<<"$(box "$TH_TMP/shot.png" '#0e4d64')"
[ "${bh:-0}" -eq 22 ] || th_fail "pause band: expected 22 px high in the screenshot, got ${bh:-none} (box $bw $bh $bx $by)"
# 28.5 px wide in the SVG: 28 to 30 device pixels.
if [ "$bw" -lt 28 ] || [ "$bw" -gt 30 ]; then th_fail "pause band: expected about 28.5 px wide, got $bw"; fi
# The outage bar, in the 200 × 22 px window 30 px below the band: 71.3 px wide, 12 px to its left.
convert "$TH_TMP/shot.png" -crop "200x22+$((bx - 50))+$((by + 30))" +repage "$TH_TMP/bar.png"
read -r ow oh ox _ <<<"$(box "$TH_TMP/bar.png" '#d62728')"
[ "${oh:-0}" -eq 22 ] || th_fail "outage bar: expected 22 px high, got ${oh:-none}"
if [ "$ow" -lt 70 ] || [ "$ow" -gt 73 ]; then th_fail "outage bar: expected about 71.3 px wide, got $ow"; fi
ox=$((ox + bx - 50))
if [ $((bx - ox)) -lt 11 ] || [ $((bx - ox)) -gt 13 ]; then
	th_fail "outage bar starts $((bx - ox)) px left of the pause, expected about 11.9 (50 ms)"
fi
# The pixel in the middle of the bar has the outage colour.
mid=$(convert "$TH_TMP/shot.png" -crop "1x1+$((ox + 35))+$((by + 41))" -depth 8 -format '%[hex:p{0,0}]' info:)
th_assert_eq D62728 "${mid:0:6}" "outage bar colour at its middle"
th_log "pause band ${bw}x$bh at $bx,$by; outage bar ${ow}x$oh at $ox,$((by + 30))"
