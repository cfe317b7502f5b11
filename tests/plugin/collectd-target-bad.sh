#!/bin/bash
# collectd-target-bad.sh — a <Target> whose name does not resolve, next to a healthy one: the bad
# one is retried on its own every 30 s (one warning), the healthy one is never rebuilt, so across
# the retries every one of its seconds is complete (no gap, no truncated second, no outage).
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
  <Target "vmbad">
    Address "no-such-host.invalid" "$rport"
  </Target>
  <Target "vmt">
    Address "127.0.0.1" "$rport"
    Interval 0.01
    LossTimeout 0.5
  </Target>
</Plugin>
CONF
} >"$d/collectd.conf"
"$agent" reflect --listen "127.0.0.1:$rport" >>"$d/reflect.log" 2>&1 &
th_on_exit kill -KILL "$!"
tp_start edge "$d/collectd.conf"
th_wait_for 20 tp_health "$port"

rrd="$d/rrd/edge/themis-vmt/themis_probe.rrd"
last_update() { rrdtool lastupdate "$rrd" 2>/dev/null | awk 'NR == 3 { sub(":", "", $1); print $1 }'; }
reached() { [ -f "$rrd" ] && [ "$(last_update)" -ge "$1" ]; }
start=$(date +%s)
th_wait_for 30 reached "$((start + 2))"
# past two retries of the bad target (at 30 s and 60 s after the start)
th_wait_for 90 reached "$((start + 65))"
tp_stop "${TP_PID_edge:?}"

rrdtool fetch "$rrd" AVERAGE -r 1 -s "$((start - 5))" -e "$((start + 65))" >"$d/fetch"
first=$(awk -F: '$2 !~ /nan/ && $1 ~ /^[0-9]+$/ { print $1; exit }' "$d/fetch")
[ -n "$first" ] || th_fail "no probe data in $rrd"
for ((t = first + 1; t <= start + 64; t++)); do
	read -r sent recv <<<"$(awk -v ts="$t:" '$1 == ts { printf "%.10g %.10g\n", $2, $3 }' "$d/fetch")"
	# a starved prober may skip a few probes (slips), never a whole part of a second
	if ! [[ "${sent:-}" =~ ^[0-9]+$ ]] || [ "$sent" -lt 90 ]; then
		th_fail "healthy target, second $t: sent '${sent:-}' (a rebuild?)"
	fi
	th_assert_eq "$sent" "$recv" "healthy target, second $t: received"
done
outages=("$d/rrd/edge/themis-vmt/"themis_outage*.rrd)
[ ! -e "${outages[0]}" ] || th_fail "an outage was recorded for the healthy target: ${outages[*]}"
log="$TH_TMP/collectd-file.log"
th_assert_eq 1 "$(grep -c 'Target vmbad: .*retrying every 30 s' "$log")" "one warning for the bad target"
th_log "ok: $((start + 64 - first)) complete seconds of the healthy target across the retries"
