#!/bin/bash
# collectd-iperf.sh — the output of a real `iperf3 --json` run (UDP, reverse, so jitter and
# loss are in the client's document) posted to /v1/iperf: each interval lands at its epoch
# second in the stock rrdtool file with the document's own bits/s, packets and jitter.
# timeout: 120
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
# shellcheck source=tests/plugin/plugin-lib.sh
. "$top_srcdir/tests/plugin/plugin-lib.sh"
tp_require
th_require_cmd iperf3 iperf3

d=$TH_TMP
port=$(th_free_port)
iport=$(th_free_port)
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
</Plugin>
CONF
} >"$d/collectd.conf"
tp_start edge "$d/collectd.conf"
th_wait_for 20 tp_health "$port"

iperf3 -s -1 -B 127.0.0.1 -p "$iport" >"$d/iperf-server.log" 2>&1 &
th_on_exit kill -KILL "$!"
# The one-off server takes exactly one test: wait until it listens instead of probing it.
listening() { ss -Hln "sport = :$iport" | grep -q .; }
th_wait_for 10 listening
iperf3 -c 127.0.0.1 -p "$iport" -u -R -b 1M -t 3 --json >"$d/iperf.json" ||
	th_fail "iperf3 failed: $(cat "$d/iperf.json")"
n=$(jq '.intervals | length' "$d/iperf.json")
[ "$n" -ge 3 ] || th_fail "iperf3 gave $n intervals"
th_assert_eq "{\"accepted\":$n,\"duplicates\":0}" \
	"$(tp_expect_post 200 "$port" "/v1/iperf?vm=vmi&stream=udp1" "$(cat "$d/iperf.json")")" \
	"iperf document accepted"
th_assert_eq "{\"accepted\":0,\"duplicates\":$n}" \
	"$(tp_expect_post 200 "$port" "/v1/iperf?vm=vmi&stream=udp1" "$(cat "$d/iperf.json")")" \
	"the same document again"
tp_stop "${TP_PID_edge:?}"

rrd="$d/rrd/edge/themis-vmi/themis_iperf.rrd"
[ -f "$rrd" ] || th_fail "no $rrd: $(find "$d/rrd" -type f)"
ts=$(jq '.start.timestamp.timesecs' "$d/iperf.json")
for ((i = 0; i < n; i++)); do
	read -r start bps packets jitter < <(jq -r ".intervals[$i].sum | \"\\(.start) \\(.bits_per_second) \\(.packets) \\(.jitter_ms)\"" "$d/iperf.json")
	t=$(awk -v ts="$ts" -v s="$start" 'BEGIN { printf "%d", ts + int(s + 0.5) }')
	# rrdtool fetch prints 11 significant digits
	th_assert_near "$bps" "$(tp_fetch "$rrd" "$t" bps)" 0.01 "interval $i bits/s at $t"
	th_assert_eq "$packets" "$(tp_fetch "$rrd" "$t" packets)" "interval $i packets at $t"
	th_assert_near "$jitter" "$(tp_fetch "$rrd" "$t" jitter)" 0.000001 "interval $i jitter at $t"
done
th_log "ok: $n intervals"
