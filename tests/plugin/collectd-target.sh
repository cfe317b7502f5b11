#!/bin/bash
# collectd-target.sh — a <Target> block makes collectd probe a real `themis-agent reflect`
# itself (background tracking, no session): every full second reads ~100 sent, all received, at
# a 10 ms interval; while the reflector is down the seconds read 0 received and an outage is
# recorded; the plugin never gives up, so once the reflector is back the seconds are full again.
# timeout: 120
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
# shellcheck source=tests/plugin/plugin-lib.sh
. "$top_srcdir/tests/plugin/plugin-lib.sh"
tp_require
agent="$top_builddir/agent/themis-agent"
[ -x "$agent" ] || th_skip "$agent not built"

d=$TH_TMP
port=$(th_free_port)
rport=$(th_free_port)
tp_plugindir "$d/plugins" rrdtool logfile
{
	tp_conf_base edge collectd "$d/plugins"
	tp_conf_rrdtool
	cat <<CONF
LoadPlugin themis
<Plugin themis>
  Listen "127.0.0.1" "$port"
  <Target "vmt">
    Address "127.0.0.1" "$rport"
    Interval 0.01
    LossTimeout 0.5
  </Target>
</Plugin>
CONF
} >"$d/collectd.conf"
reflect() {
	"$agent" reflect --listen "127.0.0.1:$rport" >>"$d/reflect.log" 2>&1 &
	refl_pid=$!
	th_on_exit kill -KILL "$refl_pid"
}
reflect
tp_start edge "$d/collectd.conf"
th_wait_for 20 tp_health "$port"

rrd="$d/rrd/edge/themis-vmt/themis_probe.rrd"
last_update() { rrdtool lastupdate "$rrd" 2>/dev/null | awk 'NR == 3 { sub(":", "", $1); print $1 }'; }
reached() { [ -f "$rrd" ] && [ "$(last_update)" -ge "$1" ]; }
start=$(date +%s)
th_wait_for 30 reached "$((start + 4))"
kill -KILL "$refl_pid"
wait "$refl_pid" 2>/dev/null || true
down=$(date +%s)
sleep 3.5
reflect
up=$(date +%s)
th_wait_for 30 reached "$((up + 4))"
tp_stop "${TP_PID_edge:?}"

rrdtool fetch "$rrd" AVERAGE -r 1 -s "$((start - 5))" -e "$((up + 4))" >"$d/fetch"
row() { awk -v ts="$1:" '$1 == ts { printf "%.10g %.10g\n", $2, $3 }' "$d/fetch"; }
first=$(awk -F: '$2 !~ /nan/ && $1 ~ /^[0-9]+$/ { print $1; exit }' "$d/fetch")
[ -n "$first" ] || th_fail "no probe data in $rrd"
# check T WANT_RECEIVED(all|0) WHAT: the prober schedules 100 probes a second; a starved
# prober may skip a few (counted as slips, not as sent), so sent is at least 90.
check() {
	local sent recv
	read -r sent recv <<<"$(row "$1")"
	if ! [[ "${sent:-}" =~ ^[0-9]+$ ]] || [ "$sent" -lt 90 ] || [ "$sent" -gt 100 ]; then
		th_fail "second $1 $3: sent '${sent:-}'"
	fi
	if [ "$2" = all ]; then
		th_assert_eq "$sent" "$recv" "second $1 $3: received"
	else
		th_assert_eq 0 "$recv" "second $1 $3: received"
	fi
}
for ((t = first + 1; t < down - 1; t++)); do
	check "$t" all "before the reflector went down"
done
for ((t = down + 1; t < up - 1; t++)); do
	check "$t" 0 "while the reflector was down"
done
for ((t = up + 2; t <= up + 4; t++)); do
	check "$t" all "after the reflector came back"
done
outages=("$d/rrd/edge/themis-vmt/"themis_outage*.rrd)
[ -e "${outages[0]}" ] || th_fail "no outage recorded: $(ls "$d/rrd/edge/themis-vmt/")"
th_log "ok: probed from $first, down $down..$up"
