#!/bin/bash
# collectd-archive-size.sh — a real collectd keeps each session's archive in proportion to its
# data: a 10 s session's RRD is 39,440 bytes (128 rows), a session with markers only has its
# JSON and no RRD, and a 700 s session grows 128 -> 256 -> 512 -> 1024 rows while every second
# keeps its exact values.
# timeout: 120
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
# shellcheck source=tests/plugin/plugin-lib.sh
. "$top_srcdir/tests/plugin/plugin-lib.sh"
tp_require

port=$(th_free_port)
d=$TH_TMP
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
  ArchiveLag 2
  SessionGrace 1
  MinFreeSpace 1048576
</Plugin>
CONF
} >"$d/collectd.conf"
# A MinFreeSpace the plugin cannot read is refused by the real daemon, naming it.
sed 's/^  MinFreeSpace 1048576$/  MinFreeSpace "5MB"/' "$d/collectd.conf" >"$d/bad.conf"
if LD_PRELOAD="${THEMIS_ASAN_PRELOAD:-}" "${THEMIS_COLLECTD:-collectd}" -T -C "$d/bad.conf" \
	>"$d/bad.log" 2>&1; then
	th_fail "collectd accepted MinFreeSpace \"5MB\""
fi
th_assert_match 'themis plugin: MinFreeSpace "5MB": expected <n>% or <n> bytes' \
	"$(cat "$d/bad.log" "$d/collectd-file.log" 2>/dev/null)" "bad MinFreeSpace named"
tp_start edge "$d/collectd.conf"
th_wait_for 20 tp_health "$port"

T0=$(($(date +%s) - 3600)) # inside AcceptPast
mk() { # mk SESSION EVENT T (a session-end carries a summary)
	printf '{"kind":"marker","session":"%s","vm":"vms","event":"%s","t":%s%s}' "$1" "$2" "$3" \
		"$([ "$2" != session-end ] || printf ',"summary":{"outcome":"success"}')"
}
# A 10 s session, a session with markers only, and a 700 s session posted 100 s at a time.
tp_expect_post 200 "$port" /v1/markers "[$(mk size.short session-start "$T0")]" >/dev/null
tp_post_seconds "$port" vms s "$T0" $((T0 + 9)) 10
tp_expect_post 200 "$port" /v1/markers "[$(mk size.short session-end $((T0 + 9)).5)]" >/dev/null
T1=$((T0 + 100))
tp_expect_post 200 "$port" /v1/markers \
	"[$(mk size.empty session-start "$T1"),$(mk size.empty session-end $((T1 + 9)).5)]" >/dev/null
T2=$((T0 + 1000))
tp_expect_post 200 "$port" /v1/markers "[$(mk size.long session-start "$T2")]" >/dev/null
tp_post_seconds "$port" vms s "$T2" $((T2 + 699)) 100
tp_expect_post 200 "$port" /v1/markers "[$(mk size.long session-end $((T2 + 699)).5)]" >/dev/null

a="$d/archive/vms"
closed() { [ "$(jq -r .closed_by "$a/$1.json" 2>/dev/null)" = session-end ]; }
th_wait_for 30 closed size.short
th_wait_for 30 closed size.empty
th_wait_for 30 closed size.long
th_assert_eq 0 "$(tp_health_json "$port" | jq .archive_errors)" "archive errors"
tp_stop "${TP_PID_edge:?}"

rows() { rrdtool info "$1" | sed -n 's/^rra\[0\]\.rows = //p'; }
# 10 s: 6,672 bytes of headers + 128 rows x 16 sources x 2 RRAs x 8 bytes, under 100 KiB.
th_assert_eq 128 "$(rows "$a/size.short.rrd")" "short session rows"
th_assert_eq 39440 "$(stat -c %s "$a/size.short.rrd")" "short session bytes"
tp_expected "$T0" $((T0 + 9)) received >"$d/short.want"
tp_assert_range "$a/size.short.rrd" received "$d/short.want"

# Markers only: the JSON with both markers, no RRD, no .pending.
[ ! -e "$a/size.empty.rrd" ] || th_fail "a session without records got an RRD"
[ ! -e "$a/size.empty.pending" ] || th_fail "a session without records kept a .pending file"
th_assert_eq 2 "$(jq '.markers | length' "$a/size.empty.json")" "markers-only session markers"

# 700 s: three doublings, every second exact (received and rtt_avg), no temporary file left.
th_assert_eq 1024 "$(rows "$a/size.long.rrd")" "long session rows"
th_assert_eq 268816 "$(stat -c %s "$a/size.long.rrd")" "long session bytes"
for ds in received rtt_avg; do
	tp_expected "$T2" $((T2 + 699)) "$ds" >"$d/long-$ds.want"
	tp_assert_range "$a/size.long.rrd" "$ds" "$d/long-$ds.want"
done
th_assert_eq "$((T2 + 699))" "$(jq .last "$a/size.long.json")" "long session last"
[ -z "$(find "$a" -name '*.grow')" ] || th_fail "temporary files left: $(find "$a" -name '*.grow')"
th_log "ok"
