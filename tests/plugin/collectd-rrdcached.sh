#!/bin/bash
# collectd-rrdcached.sh — with RRDCachedAddress the session archive is created and written
# through a real rrdcached: after a flush the files hold the exact values, and the daemon's
# cache (not the plugin) is what wrote them. The daemon starts only after the session closed:
# the plugin keeps the failed writes and retries until rrdcached is there. A 600 s session
# written through the daemon grows its RRD 128 -> 256 -> 512 -> 1024 rows (the daemon flushes the old
# file before building the new one from it) and keeps every second exactly.
# timeout: 120
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
# shellcheck source=tests/plugin/plugin-lib.sh
. "$top_srcdir/tests/plugin/plugin-lib.sh"
tp_require
th_require_cmd rrdcached rrdcached

d=$TH_TMP
port=$(th_free_port)
sock="$d/rrdcached.sock"
mkdir -p "$d/archive" "$d/journal"
printf '%s\n' "$TP_TOKEN" >"$d/token"
chmod 600 "$d/token"
tp_plugindir "$d/plugins" logfile
{
	tp_conf_base edge collectd "$d/plugins"
	cat <<CONF
LoadPlugin themis
<Plugin themis>
  Listen "127.0.0.1" "$port"
  TokenFile "$d/token"
  ArchiveDir "$d/archive"
  RRDCachedAddress "unix:$sock"
  ArchiveLag 30
  SessionGrace 1
</Plugin>
CONF
} >"$d/collectd.conf"
tp_start edge "$d/collectd.conf"
th_wait_for 20 tp_health "$port"

T0=$(($(date +%s) - 3000)) # inside AcceptPast (7 days by default)
S=cached.x1
tp_expect_post 200 "$port" /v1/markers \
	"{\"kind\":\"marker\",\"session\":\"$S\",\"vm\":\"vmc\",\"event\":\"session-start\",\"t\":$T0}" >/dev/null
batch=""
for i in $(seq 0 19); do
	batch="$batch${batch:+,}$(tp_second vmc s $((T0 + i)) $((80 + i)) "$((i + 1)).25")"
done
tp_expect_post 200 "$port" /v1/records "[$batch]" >/dev/null
tp_expect_post 200 "$port" /v1/markers \
	"{\"kind\":\"marker\",\"session\":\"$S\",\"vm\":\"vmc\",\"event\":\"session-end\",\"t\":$((T0 + 19)).5,\"summary\":{\"outcome\":\"failed\"}}" >/dev/null
errors() { tp_health_json "$port" | jq -e '.archive_errors > 0' >/dev/null; }
th_wait_for 30 errors
[ ! -e "$d/archive/vmc/$S.rrd" ] || th_fail "RRD written without rrdcached"
# The rows wait in the session's queue file (16-byte header, 136 bytes a row) for rrdcached,
# while the session itself goes on and closes.
queued() { [ "$(stat -c %s "$d/archive/vmc/$S.queue" 2>/dev/null)" = $((16 + 20 * 136)) ]; }
th_wait_for 10 queued

# A long write delay: nothing reaches the files until a flush, so the test sees the cache work.
rrdcached -g -F -w 3600 -z 1 -l "unix:$sock" -j "$d/journal" -p "$d/rrdcached.pid" \
	>"$d/rrdcached.log" 2>&1 &
cached_pid=$!
th_on_exit kill -KILL "$cached_pid"
th_wait_for 20 test -S "$sock"
json="$d/archive/vmc/$S.json"
closed() { [ "$(jq -r .closed_by "$json" 2>/dev/null)" = session-end ]; }
th_wait_for 30 closed
S2=cached.x2
T2=$((T0 + 1000))
tp_expect_post 200 "$port" /v1/markers \
	"{\"kind\":\"marker\",\"session\":\"$S2\",\"vm\":\"vmc\",\"event\":\"session-start\",\"t\":$T2}" >/dev/null
tp_post_seconds "$port" vmc s "$T2" $((T2 + 599)) 100
tp_expect_post 200 "$port" /v1/markers \
	"{\"kind\":\"marker\",\"session\":\"$S2\",\"vm\":\"vmc\",\"event\":\"session-end\",\"t\":$((T2 + 599)).5,\"summary\":{\"outcome\":\"success\"}}" >/dev/null
closed2() { [ "$(jq -r .closed_by "$d/archive/vmc/$S2.json" 2>/dev/null)" = session-end ]; }
th_wait_for 30 closed2
tp_stop "${TP_PID_edge:?}"

rrd="$d/archive/vmc/$S.rrd"
[ -f "$rrd" ] || th_fail "rrdcached did not create $rrd"
# Before a flush the file has only its creation state: the updates sit in the daemon's cache.
th_assert_eq "$((T0 - 1))" "$(rrdtool lastupdate "$rrd" | awk 'NR == 3 { sub(":", "", $1); print $1 }')" \
	"file untouched before the flush"
rrdtool flushcached --daemon "unix:$sock" "$rrd"
for i in $(seq 0 19); do
	tp_assert_fetch "$rrd" "$((T0 + i))" received "$((80 + i))"
	tp_assert_fetch "$rrd" "$((T0 + i))" rtt_avg "$((i + 1)).25"
done
rrd2="$d/archive/vmc/$S2.rrd"
rrdtool flushcached --daemon "unix:$sock" "$rrd2"
th_assert_eq 1024 "$(rrdtool info "$rrd2" | sed -n 's/^rra\[0\]\.rows = //p')" "grown rows"
for ds in received rtt_avg; do
	tp_expected "$T2" $((T2 + 599)) "$ds" >"$d/$ds.want"
	tp_assert_range "$rrd2" "$ds" "$d/$ds.want"
done
th_log "ok"
