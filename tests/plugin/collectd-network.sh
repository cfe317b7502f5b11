#!/bin/bash
# collectd-network.sh — two collectd instances on loopback: the edge loads themis and forwards
# with the network plugin, the central one stores with the stock rrdtool plugin. Session values
# arrive at the central under the session's identifier (type_instance = session id, since the
# network plugin carries no meta data), with exact values and timestamps.
# timeout: 120
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
# shellcheck source=tests/plugin/plugin-lib.sh
. "$top_srcdir/tests/plugin/plugin-lib.sh"
tp_require

d=$TH_TMP
http=$(th_free_port)
net=$(th_free_port)
printf '%s\n' "$TP_TOKEN" >"$d/token"
chmod 600 "$d/token"
tp_plugindir "$d/edge-plugins" network logfile
tp_plugindir "$d/central-plugins" network rrdtool logfile
{
	tp_conf_base edge edge "$d/edge-plugins"
	cat <<CONF
<LoadPlugin network>
  FlushInterval 1
</LoadPlugin>
<Plugin network>
  Server "127.0.0.1" "$net"
</Plugin>
LoadPlugin themis
<Plugin themis>
  Listen "127.0.0.1" "$http"
  TokenFile "$d/token"
  SessionGrace 1
</Plugin>
CONF
} >"$d/edge.conf"
{
	tp_conf_base central central "$d/central-plugins"
	cat <<CONF
LoadPlugin network
<Plugin network>
  Listen "127.0.0.1" "$net"
</Plugin>
CONF
	tp_conf_rrdtool
} >"$d/central.conf"
tp_start central "$d/central.conf"
tp_start edge "$d/edge.conf"
th_wait_for 20 tp_health "$http"

T0=$(($(date +%s) - 30))
S=net.20261125T000000Z.0badcafe.c3
tp_expect_post 200 "$http" /v1/markers \
	"{\"kind\":\"marker\",\"session\":\"$S\",\"vm\":\"vm9\",\"event\":\"session-start\",\"t\":$T0.1}" >/dev/null
batch=""
for i in 0 1 2 3 4 5 6 7 8 9; do
	batch="$batch${batch:+,}$(tp_second vm9 sup/vm9/7931 $((T0 + i)) $((90 + i)) "$i.5")"
done
th_assert_eq '{"accepted":10,"duplicates":0}' \
	"$(tp_expect_post 200 "$http" /v1/records "[$batch]")" "records accepted"
tp_expect_post 200 "$http" /v1/markers \
	"{\"kind\":\"marker\",\"session\":\"$S\",\"vm\":\"vm9\",\"event\":\"session-end\",\"t\":$((T0 + 9)).9,\"summary\":{\"outcome\":\"success\",\"downtime_ms\":42.5}}" >/dev/null

probe="$d/rrd/edge/themis-vm9/themis_probe-$S.rrd"
arrived() { [ "$(tp_fetch "$probe" "$((T0 + 9))" received)" = 99 ]; }
th_wait_for 30 arrived
# the summary value is dispatched when the session closes (SessionGrace after session-end)
summary="$d/rrd/edge/themis-vm9/themis_session-$S.rrd"
th_wait_for 30 test -f "$summary"
tp_stop "${TP_PID_edge:?}"
tp_stop "${TP_PID_central:?}"

for i in 0 1 2 3 4 5 6 7 8 9; do
	tp_assert_fetch "$probe" "$((T0 + i))" received "$((90 + i))"
	tp_assert_fetch "$probe" "$((T0 + i))" lost_up "$((10 - i))"
	tp_assert_fetch "$d/rrd/edge/themis-vm9/themis_rtt-$S.rrd" "$((T0 + i))" avg "$i.5"
done
tp_assert_fetch "$probe" "$((T0 + 10))" received nan
# The session summary travels too, under the same identifier scheme.
[ -f "$summary" ] ||
	th_fail "no session summary file at the central: $(find "$d/rrd" -type f)"
th_log "ok"
