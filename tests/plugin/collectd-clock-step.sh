#!/bin/bash
# collectd-clock-step.sh — the wall clock of a running collectd steps +5 s, then back -5 s
# (libfaketime with a timestamp file changed mid-run; monotonic time is left alone, the
# machine's clock is never touched). collectd runs the plugin with a <Target> probing a real
# `themis-agent reflect` while an agent-like loop posts one record per 0.2 s. Every POST is
# still answered 200 within 2 s (no wait of the plugin runs on the wall clock). The prober
# logs each step through collectd and re-anchors its records to the new clock: in the stock
# rrdtool file of the target the seconds go on one row per second, full (every probe sent is
# answered), except for the 4 seconds skipped once by the +5 s step; after the -5 s step the
# newest row is again at most the clock's current second; no outage is recorded. The posted
# records are all stored with their exact values.
# Every check is run and the failures reported together at the end.
# timeout: 120
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
# shellcheck source=tests/plugin/plugin-lib.sh
. "$top_srcdir/tests/plugin/plugin-lib.sh"
tp_require
FAKETIME_LIB=
for f in /usr/lib/*/faketime/libfaketimeMT.so.1 /usr/lib/faketime/libfaketimeMT.so.1; do
	[ -e "$f" ] && FAKETIME_LIB=$f
done
[ -n "$FAKETIME_LIB" ] || th_skip "libfaketime not installed (Debian package faketime)"
# collectd is not instrumented: a sanitizer build preloads the ASan runtime into it, and that
# runtime and libfaketime preloaded together deadlock at process start (any program, here).
[ -z "${THEMIS_ASAN_PRELOAD:-}" ] ||
	th_skip "libfaketime and the preloaded ASan runtime deadlock at start; run in the normal build"
agent="$top_builddir/agent/themis-agent"
[ -x "$agent" ] || th_error "themis-agent not built: $agent"

d=$TH_TMP
port=$(th_free_port)
rport=$(th_free_port)
printf '%s\n' "$TP_TOKEN" >"$d/token"
chmod 600 "$d/token"
tp_plugindir "$d/plugins" rrdtool logfile
{
	tp_conf_base edge collectd "$d/plugins"
	tp_conf_rrdtool
	cat <<CONF
LoadPlugin themis
<Plugin themis>
  Listen "127.0.0.1" "$port"
  TokenFile "$d/token"
  <Target "vmt">
    Address "127.0.0.1" "$rport"
    Interval 0.01
    LossTimeout 0.5
  </Target>
</Plugin>
CONF
} >"$d/collectd.conf"
"$agent" reflect --listen "127.0.0.1:$rport" >"$d/reflect.log" 2>&1 &
th_on_exit kill -KILL "$!"
th_wait_for 5 grep -q listening "$d/reflect.log"

# collectd alone sees the faked clock (in a sanitizer build the ASan runtime must come first).
# set_clock OFFSET: replaced atomically (FAKETIME_NO_CACHE reads the file at every call: a read
# between a truncation and a write would see no offset at all).
set_clock() {
	printf '%s\n' "$1" >"$d/faketime.new"
	mv "$d/faketime.new" "$d/faketime"
}
set_clock +0
export FAKETIME_TIMESTAMP_FILE="$d/faketime" FAKETIME_NO_CACHE=1 FAKETIME_DONT_FAKE_MONOTONIC=1
THEMIS_ASAN_PRELOAD="${THEMIS_ASAN_PRELOAD:+$THEMIS_ASAN_PRELOAD }$FAKETIME_LIB" \
	tp_start edge "$d/collectd.conf"
tp_wait_health "$port" edge
rrd="$d/rrd/edge/themis-vmt/themis_probe.rrd"
reached() { [ "$(tp_lastupdate "$rrd")" -ge "$1" ] 2>/dev/null; }
start=$(date +%s)
th_wait_for 30 reached "$((start + 3))"

# poster: one background record of VM vmp per 0.2 s until $d/poster.stop exists; each request
# is logged as "<i> <status> <seconds>" in $d/requests.
T0=$(($(date +%s) - 600))
recv_at() { printf '%s\n' "$((50 + ($1 * 7) % 50))"; }
poster() {
	local i out
	for ((i = 0; i < 1000; i++)); do
		[ ! -e "$d/poster.stop" ] || return 0
		out=$(curl -sS -o /dev/null -m 10 -w '%{http_code} %{time_total}' -X POST \
			-H "Authorization: Bearer $TP_TOKEN" \
			--data-binary "[$(tp_second vmp sup/vmp/7931 $((T0 + i)) "$(recv_at "$i")")]" \
			"http://127.0.0.1:$port/v1/records" 2>/dev/null) || true
		printf '%s %s\n' "$i" "${out:-000 -}" >>"$d/requests"
		sleep 0.2
	done
}
: >"$d/requests"
poster &
poster_pid=$!
th_on_exit kill "$poster_pid"
sleep 2
ta=$EPOCHREALTIME
set_clock +5
th_log "clock +5 s at $ta"
sleep 8
lb=$(tp_lastupdate "$rrd")
tb=$EPOCHREALTIME
set_clock +0
th_log "clock back -5 s at $tb"
sleep 8
last=$(tp_lastupdate "$rrd")
tc=$EPOCHREALTIME
touch "$d/poster.stop"
wait "$poster_pid" || true
tp_stop "${TP_PID_edge:?}"

# --- POSTs: all 200 within 2 s, all stored with their exact values.
awk '$2 != 200 || $3 >= 2' "$d/requests" >"$d/slow"
[ ! -s "$d/slow" ] ||
	th_fail_later "$(wc -l <"$d/slow") of $(wc -l <"$d/requests") POSTs not answered 200 within" \
		"2 s (i status seconds): $(head -n 5 "$d/slow" | paste -sd ',')"
n=$(wc -l <"$d/requests")
th_log "POSTs: $n, slowest $(sort -k3 -g "$d/requests" | tail -n 1)"
rrdtool fetch "$d/rrd/edge/themis-vmp/themis_probe.rrd" AVERAGE -r 1 -s "$((T0 - 1))" \
	-e "$((T0 + n - 1))" >"$d/fetch.vmp" 2>&1 || true
bad=$(awk -v t0="$T0" -v n="$n" '$1 ~ /:$/ { t = $1; sub(":", "", t); i = t - t0
		if (i >= 0 && i < n) { got[i] = sprintf("%.10g %.10g", $2, $3) } }
	END { for (i = 0; i < n; i++)
		if (got[i] != "100 " 50 + (i * 7) % 50) printf " T0+%d(%s)", i, got[i] }' "$d/fetch.vmp")
[ -z "$bad" ] ||
	th_fail_later "posted records not stored exactly (sent received):$(printf '%s' "$bad" | cut -c1-300)"

# --- The steps, as the plugin logged them.
steps=$(sed -n 's/.*wall clock stepped by \([-+0-9.]*\) s.*/\1/p' "$d/collectd-file.log" |
	paste -sd ' ')
th_log "steps logged: ${steps:-none}"
[[ "$steps" =~ ^\+(5\.00|4\.99)[0-9]\ -(5\.00|4\.99)[0-9]$ ]] ||
	th_fail_later "collectd's log names the steps '${steps:-}' (want '+5.000 -5.000' within 0.01)"

# --- The target's seconds. Around each step one second is cut short: at +5 s the prober's
# second r ends where the step is seen and the rest of that real second is second r+5 (partial,
# and hidden in the stock file: its update comes more than the 2 s heartbeat after r's), so the
# file shows r, then r+1..r+5 unknown (r+1..r+6 if the step fell on a second's boundary), then
# full seconds; at -5 s the second being probed is cut short and the faked clock goes through
# its next 5 seconds again (their records are duplicates). Every other second is full (sent
# 90..100: a starved prober may skip a few probes), and every probe sent is answered.
rrdtool fetch "$rrd" AVERAGE -r 1 -s "$((start - 5))" -e "${last:-$start}" >"$d/fetch.vmt"
first=$(awk -F: '$2 !~ /nan/ && $1 ~ /^[0-9]+$/ { print $1; exit }' "$d/fetch.vmt")
[ -n "$first" ] || th_fail "no probe data in $rrd"
verdict=$(awk -v first="$first" -v ta="${ta%.*}" -v tb="${tb%.*}" '
	$1 ~ /:$/ { t = $1; sub(":", "", t); if (t <= first) next
		if ($2 ~ /nan/) { if (gap == 0) gstart = t; gap++; next }
		if (gap > 0) { gaps = gaps " " gstart "+" gap; ngaps++; glen = gap; gfirst = gstart }
		gap = 0
		s = $2 + 0; r = $3 + 0; sent[t] = s
		if (s != r) bad = bad sprintf(" %d(%g sent, %g received)", t, s, r)
		if (s < 90 || s > 100) { partial[t] = 1; np++ }
		rows++ }
	END {
		if (ngaps != 1 || (glen != 5 && glen != 6) || gfirst < ta || gfirst > ta + 4)
			printf "unknown seconds (first+count):%s, want one run of 5 or 6 from %d..%d; ", gaps, ta, ta + 4
		back = 0
		for (t in partial) {
			if (t == gfirst - 1) continue
			if (t >= tb + 2 && t <= tb + 7 && !back++) continue
			bad = bad sprintf(" %d(%g sent)", t, sent[t])
		}
		if (bad != "") printf "seconds not full:%s; ", substr(bad, 1, 300)
		printf "%d rows", rows }' "$d/fetch.vmt")
th_log "target $first..$last: $verdict"
[[ "$verdict" == [0-9]*" rows" ]] || th_fail_later "target's stock file: $verdict"
# While the clock is 5 s ahead the records follow it: the newest row just before the step back
# is within 3 s of the faked clock, not of the real one.
if [ "${lb:-0}" -gt $((${tb%.*} + 5)) ] || [ "${lb:-0}" -lt $((${tb%.*} + 2)) ]; then
	th_fail_later "newest row of the target at ${lb:-none} just before the step back, faked" \
		"clock at $tb + 5 (want a second within its last 3)"
fi
# After the -5 s step the records are back on the clock: the newest row is not in its future.
if [ "${last:-0}" -gt "${tc%.*}" ] || [ "${last:-0}" -lt $((${tc%.*} - 3)) ]; then
	th_fail_later "newest row of the target at $last, clock at $tc (want a second within the last 3)"
fi
outages=$(find "$d/rrd/edge/themis-vmt" -name 'themis_outage*' | wc -l)
[ "$outages" -eq 0 ] ||
	th_fail_later "$outages outage file(s) recorded: $(ls "$d/rrd/edge/themis-vmt")"
th_check_failures
th_log "ok: steps $steps, every POST within 2 s, target rows $first..$last"
