#!/bin/bash
# collectd-archive-full.sh — ArchiveDir on a 4 MiB tmpfs (mounted in a private mount namespace
# of this test, gone with it) filled up mid-session: the plugin pauses the archive with one
# ERROR and one FAILURE notification, health says so, collectd keeps dispatching (the stock
# rrdtool files on the real disk keep growing) and every request is answered; once space is
# freed the archive resumes (OKAY notification) and holds every second of the session exactly
# once, the RRD grown from 128 to 512 rows on the way. The session straddles an hour: the
# availability line of the first hour, due while the disk is full, waits and is written after.
# timeout: 150
if [ -z "${TP_MOUNT_NS:-}" ]; then
	if [ "$(id -u)" -ne 0 ] || ! command -v unshare >/dev/null 2>&1; then
		echo "collectd-archive-full: SKIP: needs root and unshare (private tmpfs)" >&2
		exit 77
	fi
	TP_MOUNT_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
# shellcheck source=tests/plugin/plugin-lib.sh
. "$top_srcdir/tests/plugin/plugin-lib.sh"
tp_require

port=$(th_free_port)
d=$TH_TMP
a="$d/archive"
mkdir -p "$a"
mount -t tmpfs -o size=4m,mode=0755 themis-test "$a"
th_on_exit umount -l "$a"
printf '%s\n' "$TP_TOKEN" >"$d/token"
chmod 600 "$d/token"
tp_plugindir "$d/plugins" rrdtool logfile
{
	tp_conf_base edge collectd "$d/plugins" "PrintSeverity true"
	tp_conf_rrdtool
	cat <<CONF
LoadPlugin themis
<Plugin themis>
  Listen "127.0.0.1" "$port"
  TokenFile "$d/token"
  ArchiveDir "$a"
  MinFreeSpace "1M"
  ArchiveLag 2
  SessionGrace 1
</Plugin>
CONF
} >"$d/collectd.conf"
tp_start edge "$d/collectd.conf"
th_wait_for 20 tp_health "$port"

# inside AcceptPast, 150 s before an hour H: the records of H close the hour before while full
H=$(((($(date +%s) - 1800) / 3600) * 3600))
T0=$((H - 150))
S=full.x1
mk() { # mk EVENT T (a session-end carries a summary)
	printf '{"kind":"marker","session":"%s","vm":"vmf","event":"%s","t":%s%s}' "$S" "$1" "$2" \
		"$([ "$1" != session-end ] || printf ',"summary":{"outcome":"success"}')"
}
health() { tp_health_json "$port" | jq -r "$1"; }
rrd="$a/vmf/$S.rrd"
stock="$d/rrd/edge/themis-vmf/themis_probe-$S.rrd"
last_is() { [ "$(rrdtool last "$1" 2>/dev/null)" = "$2" ]; }

tp_expect_post 200 "$port" /v1/markers "[$(mk session-start "$T0")]" >/dev/null
tp_post_seconds "$port" vmf s "$T0" $((T0 + 9)) 10
th_wait_for 20 last_is "$rrd" $((T0 + 9))
th_assert_eq 0 "$(health .archive_paused)" "paused before the disk is full"

# Fill the tmpfs: free space drops below MinFreeSpace (1 MiB), to nothing.
dd if=/dev/zero of="$a/filler" bs=64k >/dev/null 2>&1 || true
th_assert_eq 0 "$(df -B1 --output=avail "$a" | tail -n 1 | tr -d ' ')" "tmpfs full"
# 290 more seconds (the RRD will need 300 rows): every request is answered and dispatched.
tp_post_seconds "$port" vmf s $((T0 + 10)) $((T0 + 299)) 100
paused() { [ "$(health .archive_paused)" = 1 ]; }
th_wait_for 20 paused
th_wait_for 20 last_is "$stock" $((T0 + 299))
th_assert_eq 1 "$(health .archive_low_space)" "pauses counted"
th_assert_eq 0 "$(health .archive_dropped)" "nothing dropped"
waiting=$(health .archive_waiting)
[ "$waiting" -gt 0 ] || th_fail "no archive write waiting while paused (health: $(health .))"
th_assert_eq $((T0 + 9)) "$(rrdtool last "$rrd")" "archive untouched while paused"
sleep 6 # one more retry round while still full: still one ERROR, one notification
log=$(cat "$d/collectd-file.log")
th_assert_eq 1 "$(grep -c 'themis plugin: archive paused: ArchiveDir .* bytes free' <<<"$log")" \
	"one ERROR for the pause"
th_assert_eq 1 "$(grep -c 'Notification: severity = FAILURE.*archive paused' <<<"$log")" \
	"one FAILURE notification"
th_assert_eq 1 "$(grep -c '\[error\]' <<<"$log")" "ERROR lines while paused (no other write complains)"

# Space returns: the archive resumes by itself and catches up.
rm -f "$a/filler"
resumed() { [ "$(health .archive_paused)" = 0 ] && [ "$(health .archive_waiting)" = 0 ]; }
th_wait_for 20 resumed
th_assert_match 'Notification: severity = OKAY.*archive resumed' "$(cat "$d/collectd-file.log")" \
	"OKAY notification"
tp_post_seconds "$port" vmf s $((T0 + 300)) $((T0 + 319)) 20
tp_expect_post 200 "$port" /v1/markers "[$(mk session-end $((T0 + 319)).5)]" >/dev/null
closed() { [ "$(jq -r .closed_by "$a/vmf/$S.json" 2>/dev/null)" = session-end ]; }
th_wait_for 30 closed
th_assert_eq 0 "$(health .archive_errors)" "archive errors"
th_assert_eq 1 "$(health .archive_low_space)" "pauses counted at the end"
tp_stop "${TP_PID_edge:?}"

# Every second exactly once with its exact values: in the session archive and the stock file.
# grown from 128 rows to fit the 320 seconds, at most twice what they need
rows=$(rrdtool info "$rrd" | sed -n 's/^rra\[0\]\.rows = //p')
if [ "$rows" -lt 320 ] || [ "$rows" -gt 640 ]; then th_fail "grown rows: $rows, expected 320..640"; fi
for ds in received rtt_avg; do
	tp_expected "$T0" $((T0 + 319)) "$ds" >"$d/$ds.want"
	tp_assert_range "$rrd" "$ds" "$d/$ds.want"
done
tp_expected "$T0" $((T0 + 319)) received >"$d/stock.want"
tp_assert_range "$stock" received "$d/stock.want"
th_assert_eq $((T0 + 319)) "$(jq .last "$a/vmf/$S.json")" "session last"
# the hour before H (150 s covered), closed while the disk was full, and H (170 s, at shutdown)
th_assert_eq "$((H - 3600)) 150
$H 170" "$(jq -s -r 'map(select(.vm == "vmf")) | group_by(.hour)[] | "\(.[0].hour) \(map(.covered_s) | add)"' "$a/availability.jsonl")" \
	"availability lines kept through the full disk"
th_assert_eq 1 "$(jq -r 'select(.session == "'"$S"'") | .session' "$a/summaries.jsonl" | wc -l)" "summaries line"
# The dispatch marks, held back while the disk was full, were written once it had space.
th_assert_eq $((T0 + 319)) "$(jq -r 'select(.vm == "vmf" and .kind == "second") | .t' "$a/dispatched.state")" \
	"dispatch mark of the session's stream"
th_log "ok"
