#!/bin/bash
# collectd-history.sh — a real collectd with themis: 3 minutes of probe records with an outage,
# then the four markers of an observed session (origin observed) whose session-start lies 90 s
# back and whose session-end carries no network figures. The session takes the kept history
# over: its RRD holds rows from its first second, its JSON summary is the plugin's own
# ("summary_source":"plugin", downtime = the outage's), summaries.jsonl has its line,
# availability.jsonl appears at shutdown with every second of the VM counted once; after a
# restart ArchiveRetention removes an old closed session but keeps its summaries.jsonl line.
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
  SummaryGrace 1
  HistorySeconds 600
  HistoryMaxBytes 1048576
  ArchiveRetention 86400
</Plugin>
CONF
} >"$d/collectd.conf"
tp_start edge "$d/collectd.conf"
tp_wait_health "$port" edge

NOW=$(date +%s)
S=watch.observed.1
OLD=watch.old.1
mk() { # mk SESSION VM EVENT T [EXTRA]
	printf '{"kind":"marker","session":"%s","definition":"watch","cycle":-1,"vm":"%s","vm_id":12,' "$1" "$2"
	printf '"src_host":"h1","dst_host":"h2","event":"%s","t":%s,"origin":"observed"%s}' "$3" "$4" "${5:-}"
}
nulls='"downtime_ms":null,"downtime_bound_ms":null,"outage_total_ms":null,"lost_up":null,"lost_down":null,"lost_unknown":null'

# An old session, two days back (inside AcceptPast, beyond ArchiveRetention), closed.
T_OLD=$((NOW - 2 * 86400))
tp_expect_post 200 "$port" /v1/markers "[$(mk "$OLD" old session-start "$T_OLD")]" >/dev/null
tp_expect_post 200 "$port" /v1/records "[$(tp_second old s "$T_OLD" 100)]" >/dev/null
tp_expect_post 200 "$port" /v1/markers \
	"[$(mk "$OLD" old session-end $((T_OLD + 1)) ",\"summary\":{\"outcome\":\"success\",$nulls}")]" >/dev/null

# 3 minutes of records of vm1, NOW-180 .. NOW-1: probes lost up in NOW-59 .. NOW-57 (50, 50,
# 25) and one outage of 1500 ms, posted before any marker of its session.
batch=""
for ((t = NOW - 180; t < NOW; t++)); do
	recv=100
	case $((NOW - t)) in 59 | 58) recv=50 ;; 57) recv=75 ;; esac
	batch="$batch${batch:+,}$(tp_second vm1 s "$t" "$recv")"
	if [ $(((t - NOW) % 60)) -eq 59 ] || [ "$t" -eq $((NOW - 1)) ]; then
		tp_expect_post 200 "$port" /v1/records "[$batch]" >/dev/null
		batch=""
	fi
done
outage="{\"kind\":\"outage\",\"vm\":\"vm1\",\"stream\":\"s\",\"direction\":\"up\",\"start\":$((NOW - 59)).500000,\"end\":$((NOW - 57)).000000,\"duration_ms\":1500,\"bound_ms\":10,\"lost\":150}"
tp_expect_post 200 "$port" /v1/records "[$outage]" >/dev/null

# The observed session, all four markers at once: window [NOW-60, NOW-50 + 1].
tp_expect_post 200 "$port" /v1/markers "[$(mk "$S" vm1 session-start $((NOW - 90))),$(mk "$S" vm1 migration-start $((NOW - 60))),$(mk "$S" vm1 migration-end $((NOW - 50)) ',"outcome":"success"'),$(mk "$S" vm1 session-end $((NOW - 20)) ",\"outcome\":\"success\",\"summary\":{\"outcome\":\"success\",$nulls,\"one_stime\":$((NOW - 60)),\"one_rstime\":$((NOW - 50)),\"one_duration_s\":10}")]" >/dev/null

json="$d/archive/vm1/$S.json"
closed() { [ "$(jq -r .closed_by "$json" 2>/dev/null)" = session-end ]; }
th_wait_for 30 closed
th_assert_eq plugin "$(jq -r .summary_source "$json")" "summary_source"
th_assert_eq 1500 "$(jq .summary.downtime_ms "$json")" "downtime = the outage's duration"
th_assert_eq 10 "$(jq .summary.downtime_bound_ms "$json")" "downtime bound"
th_assert_eq 125 "$(jq .summary.lost_up "$json")" "lost up in the window"
th_assert_eq 0 "$(jq .summary.lost_down "$json")" "lost down in the window"
th_assert_eq 10 "$(jq .summary.one_duration_s "$json")" "OpenNebula's figures kept"
th_assert_eq null "$(jq .summary_plugin "$json")" "no second summary"
th_assert_eq 1 "$(jq '.outages | length' "$json")" "the outage taken over"
th_assert_eq $((NOW - 90)) "$(jq .first "$json")" "first second"
th_assert_eq $((NOW - 20)) "$(jq .last "$json")" "last second"
th_assert_match "session $S of VM vm1 ended: success, downtime 1500.000 ms" \
	"$(cat "$d/collectd-file.log")" "notification with the plugin's downtime"

sums="$d/archive/summaries.jsonl"
th_assert_eq 2 "$(wc -l <"$sums")" "summaries lines"
line=$(jq -c "select(.session == \"$S\")" "$sums")
th_assert_eq "observed plugin 1500 success $((NOW - 60)) 1" \
	"$(jq -r '[.origin, .summary_source, .summary.downtime_ms, .outcome, .t_migration_start, (.t_request == null | if . then 1 else 0 end)] | join(" ")' <<<"$line")" \
	"summaries line"
h=$(tp_health_json "$port")
th_assert_eq 0 "$(jq '.limits.HistoryMaxBytes' <<<"$h")" "no VM refused history"
th_assert_eq 187648 "$(jq .history_bytes <<<"$h")" "history of two VMs (93,824 bytes each)"
tp_stop "${TP_PID_edge:?}"

# The RRD, from the session's first second.
rrd="$d/archive/vm1/$S.rrd"
tp_assert_fetch "$rrd" $((NOW - 90)) received 100
tp_assert_fetch "$rrd" $((NOW - 59)) received 50
tp_assert_fetch "$rrd" $((NOW - 57)) lost_up 25
tp_assert_fetch "$rrd" $((NOW - 20)) received 100
tp_assert_fetch "$rrd" $((NOW - 91)) received nan

# availability.jsonl at shutdown: readers add up the lines of a VM and hour.
av="$d/archive/availability.jsonl"
[ -s "$av" ] || th_fail "no $av after shutdown"
th_assert_eq "180 1500 1500 1 1" \
	"$(jq -s -r '[.[] | select(.vm == "vm1")] | [(map(.covered_s) | add), (map(.outage_ms) | add), (map(.outage_ms_sessions) | add), (map(.outages) | add), (map(.outages_sessions) | add)] | join(" ")' "$av")" \
	"vm1 availability"
th_assert_eq 1 "$(jq -s '[.[] | select(.vm == "old") | .covered_s] | add' "$av")" "old VM's second"

# Restart: the retention pass at start removes the old closed session, never the lines.
[ -f "$d/archive/old/$OLD.json" ] || th_fail "old session not archived"
tp_start edge2 "$d/collectd.conf"
tp_wait_health "$port" edge2
gone() { [ ! -e "$d/archive/old/$OLD.json" ] && [ ! -e "$d/archive/old/$OLD.rrd" ]; }
th_wait_for 20 gone
[ -f "$json" ] || th_fail "the recent session was removed"
th_assert_eq 2 "$(wc -l <"$sums")" "summaries lines kept"
th_assert_match "removed 1 session" "$(cat "$d/collectd-file.log")" "retention logged"
tp_stop "${TP_PID_edge2:?}"
th_log "ok"
