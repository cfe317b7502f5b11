#!/bin/bash
# collectd-ingest.sh — a real collectd (-f) with the stock rrdtool plugin and themis: records,
# iperf and markers posted with curl end up in the stock RRD files and in the session archive
# with exact values and timestamps; bad token -> 401, malformed -> 400 naming the field,
# oversized -> 413, and none of the refused input is stored while everything accepted is. The
# session's definition parameters (session-start "params"), the hypervisor's markers (hv-status,
# hv-pause, hv-resume, posted after migration-end), the outage's per-direction windows and the
# summary's decomposition come back from the archive exactly; an hv marker opens no session.
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
tp_plugindir "$d/plugins" rrdtool logfile
{
	tp_conf_base edge collectd "$d/plugins" "PrintSeverity true"
	tp_conf_rrdtool
	cat <<CONF
LoadPlugin themis
<Plugin themis>
  Listen "127.0.0.1" "$port"
  TokenFile "$d/token"
  MaxBodySize 4096
  ArchiveDir "$d/archive"
  ArchiveLag 30
  SessionGrace 1
  DowntimeWarning 100
  DowntimeFailure 1000
  SessionTimeout 8
</Plugin>
CONF
} >"$d/collectd.conf"
# A bad block is refused by the real daemon, naming the option.
sed 's/^  SessionTimeout 8$/  SessionTimeout 8\n  Bogus 1/' "$d/collectd.conf" >"$d/bad.conf"
if LD_PRELOAD="${THEMIS_ASAN_PRELOAD:-}" "${THEMIS_COLLECTD:-collectd}" -T -C "$d/bad.conf" \
	>"$d/bad.log" 2>&1; then
	th_fail "collectd accepted an unknown themis option"
fi
th_assert_match 'themis plugin: unknown option "Bogus"' "$(cat "$d/bad.log" "$d/collectd-file.log" 2>/dev/null)" \
	"bad option named"

tp_start edge "$d/collectd.conf"
th_wait_for 20 tp_health "$port"

T0=$(($(date +%s) - 3600)) # inside AcceptPast (7 days by default)
S=ingest.20231114T221320Z.00c0ffee.c1
mk() { # mk EVENT T [EXTRA]
	printf '{"kind":"marker","session":"%s","definition":"ingest","cycle":1,"vm":"vm1","vm_id":42,' "$S"
	printf '"src_host":"h1","dst_host":"h2","event":"%s","t":%s%s}' "$1" "$2" "${3:-}"
}

# A session that never ends: closed by SessionTimeout, marked so, with a WARNING.
S2=ingest.timeout.c2
tp_expect_post 200 "$port" /v1/markers \
	"{\"kind\":\"marker\",\"session\":\"$S2\",\"vm\":\"vm2\",\"event\":\"session-start\",\"t\":$T0}" >/dev/null
tp_expect_post 200 "$port" /v1/records "[$(tp_second vm2 s "$T0" 77),$(tp_second vm2 s $((T0 + 1)) 78)]" >/dev/null

# Refused input first: none of it may be stored.
tp_expect_post 401 "$port" /v1/records "[$(tp_second vm1 s $((T0 + 100)) 1)]" wrong-token >/dev/null
body=$(tp_expect_post 400 "$port" /v1/records "[$(tp_second vm1 s $((T0 + 101)) 1),{\"kind\":\"second\",\"vm\":\"vm1\",\"stream\":\"s\",\"t\":\"x\"}]")
th_assert_eq '{"error":"records[1].t: expected an integer"}' "$body" "400 message"
body=$(tp_expect_post 400 "$port" /v1/records '[{"kind":"second",')
th_assert_match '^\{"error":"body: malformed JSON' "$body" "400 on broken JSON"
big="[$(tp_second vm1 s $((T0 + 102)) 1)"
for i in $(seq 1 40); do big="$big,$(tp_second vm1 s $((T0 + 102 + i)) 1)"; done
big="$big]"
body=$(tp_expect_post 413 "$port" /v1/records "$big")
th_assert_eq '{"error":"body: Content-Length 9882 is larger than the limit of 4096 bytes (MaxBodySize)"}' "$body" "413 message"

# ArchiveLag 30: nothing is final before the session closes, whatever order kinds arrive in.
# A session: start, seconds T0..T0+5 in two batches (the first re-sent), iperf, an outage, end.
params=',"params":{"interval_ms":10.000,"bandwidth":"100M","live":true,"cycles":3,"load":"dirty 64 MB/s wss 96 MiB","migration":{"max-bandwidth":"32M","downtime-limit":"300"},"description":"live, loaded"}'
tp_expect_post 200 "$port" /v1/markers "[$(mk session-start $T0.250000 "$params")]" >/dev/null
b1="[$(tp_second vm1 s $T0 100 1.25),$(tp_second vm1 s $((T0 + 1)) 90 2.5),$(tp_second vm1 s $((T0 + 2)) 0)]"
b2="[$(tp_second vm1 s $((T0 + 3)) 55),$(tp_second vm1 s $((T0 + 4)) 100),$(tp_second vm1 s $((T0 + 5)) 99)]"
th_assert_eq '{"accepted":3,"duplicates":0}' "$(tp_expect_post 200 "$port" /v1/records "$b1")" "batch 1"
th_assert_eq '{"accepted":0,"duplicates":3}' "$(tp_expect_post 200 "$port" /v1/records "$b1")" "batch 1 again"
th_assert_eq '{"accepted":3,"duplicates":0}' "$(tp_expect_post 200 "$port" /v1/records "$b2")" "batch 2"
windows="\"up_start\":$((T0 + 1)).900000,\"up_end\":$((T0 + 2)).500000,\"down_start\":$((T0 + 2)).500000,\"down_end\":$((T0 + 3)).450000"
outage="[{\"kind\":\"outage\",\"vm\":\"vm1\",\"stream\":\"s\",\"direction\":\"both\",\"start\":$((T0 + 1)).900000,\"end\":$((T0 + 3)).450000,\"duration_ms\":1550,\"bound_ms\":10,\"lost\":155,$windows}]"
tp_expect_post 200 "$port" /v1/records "$outage" >/dev/null
iperf="{\"start\":{\"timestamp\":{\"timesecs\":$T0}},\"intervals\":["
iperf="$iperf{\"sum\":{\"start\":0,\"end\":1,\"seconds\":1,\"bytes\":125000,\"bits_per_second\":1000000,\"jitter_ms\":0.5,\"lost_packets\":1,\"packets\":100,\"omitted\":false}},"
iperf="$iperf{\"sum\":{\"start\":1,\"end\":2,\"seconds\":1,\"bytes\":0,\"bits_per_second\":0,\"jitter_ms\":0.5,\"lost_packets\":0,\"packets\":0,\"omitted\":false}},"
iperf="$iperf{\"sum\":{\"start\":2,\"end\":3,\"seconds\":1,\"bytes\":62500,\"bits_per_second\":500000,\"jitter_ms\":0.75,\"lost_packets\":50,\"packets\":100,\"omitted\":false}}]}"
th_assert_eq '{"accepted":3,"duplicates":0}' \
	"$(tp_expect_post 200 "$port" "/v1/iperf?vm=vm1&stream=ip" "$iperf")" "iperf document"
tp_expect_post 200 "$port" /v1/markers "[$(mk migration-request $((T0 + 1)).100000)]" >/dev/null
tp_expect_post 200 "$port" /v1/markers "[$(mk migration-end $((T0 + 4)).000000 ',"outcome":"success"')]" >/dev/null
# The hypervisor's events, collected during the migration, come after migration-end with their
# own times; a malformed one is refused by name and stores nothing.
hv=',"hv_host":"h1","hv_source":"qmp","clock_bound_ms":0.000'
hv2=',"hv_host":"h2","hv_source":"qmp","clock_bound_ms":0.000'
body=$(tp_expect_post 400 "$port" /v1/markers "[$(mk hv-pause $((T0 + 1)).950125 ',"hv_host":"h1","hv_source":"ssh"')]")
th_assert_eq '{"error":"markers[0].hv_source: expected \"qmp\" or \"libvirt\""}' "$body" "400 on a bad hv_source"
th_assert_eq '{"accepted":3,"duplicates":0}' "$(tp_expect_post 200 "$port" /v1/markers \
	"[$(mk hv-status $((T0 + 1)).800000 ',"hv_status":"device"'"$hv"),$(mk hv-pause $((T0 + 1)).950125 "$hv"),$(mk hv-resume $((T0 + 3)).200250 "$hv2")]")" "hv markers"
# ... the same again are duplicates; one of an unknown session opens nothing
th_assert_eq '{"accepted":0,"duplicates":1}' "$(tp_expect_post 200 "$port" /v1/markers "[$(mk hv-pause $((T0 + 1)).950125 "$hv")]")" "hv marker again"
th_assert_eq '{"accepted":0,"duplicates":1}' "$(tp_expect_post 200 "$port" /v1/markers \
	"{\"kind\":\"marker\",\"session\":\"ingest.nohv.c9\",\"vm\":\"vm3\",\"event\":\"hv-pause\",\"t\":$((T0 + 2)).5$hv}")" "hv marker of no session"
decomp='"hv_pause":'$((T0 + 1))'.950125,"hv_resume":'$((T0 + 3))'.200250,"hv_paused_ms":1250.125,"pre_pause_ms":-50.125,"post_resume_ms":249.750,"decomp_bound_ms":10.000,"up_pre_pause_ms":-50.125,"up_post_resume_ms":-700.250,"down_pre_pause_ms":549.875,"down_post_resume_ms":249.750'
tp_expect_post 200 "$port" /v1/markers \
	"[$(mk session-end $((T0 + 5)).500000 ',"summary":{"outcome":"success","downtime_ms":1550,"downtime_bound_ms":10,"outage_total_ms":1550,"lost_up":60,"lost_down":95,"lost_unknown":0,"hv_downtime_ms":25,"delta_ms":1525,'"$decomp"'}')]" >/dev/null

json="$d/archive/vm1/$S.json"
closed() { [ "$(jq -r .closed_by "$json" 2>/dev/null)" = session-end ]; }
th_wait_for 30 closed
json2="$d/archive/vm2/$S2.json"
timed_out() { [ "$(jq -r .closed_by "$json2" 2>/dev/null)" = timeout ]; }
th_wait_for 30 timed_out
tp_stop "${TP_PID_edge:?}"

th_assert_eq "$((T0 + 1))" "$(jq .last "$json2")" "timed-out session last second"
# ... and gets the plugin's own summary over [its start, its last second]: 23 + 22 lost up.
th_assert_eq "plugin 0 45" "$(jq -r '[.summary_source, .summary.downtime_ms, .summary.lost_up] | join(" ")' "$json2")" \
	"timed-out session's summary"
tp_assert_fetch "$d/archive/vm2/$S2.rrd" "$((T0 + 1))" received 78
th_assert_match "Notification: severity = WARNING.*session $S2 of VM vm2 closed by timeout" \
	"$(cat "$d/collectd-file.log")" "timeout notification"

# Session archive: every second of the window, exact values, U where nothing was measured.
rrd="$d/archive/vm1/$S.rrd"
th_assert_eq "$T0" "$(jq -r .first "$json")" "archive first"
th_assert_eq "$((T0 + 5))" "$(jq -r .last "$json")" "archive last"
th_assert_eq "session-start migration-request hv-status hv-pause hv-resume migration-end session-end" \
	"$(jq -r '[.markers[].event] | join(" ")' "$json")" "archive markers, in time order"
# Exact text of the archive (jq would rewrite the numbers): the encoder's own output.
has() { # has TEXT WHAT
	grep -qF -- "$1" "$json" || th_fail "$2: the archive lacks $1: $(cat "$json")"
}
id='"session":"'$S'","definition":"ingest","cycle":1,"vm":"vm1","vm_id":42,"src_host":"h1","dst_host":"h2"'
has "{\"kind\":\"marker\",$id,\"event\":\"session-start\",\"t\":$T0.250000$params}," \
	"session-start with its params"
has "{\"kind\":\"marker\",$id,\"event\":\"hv-status\",\"t\":$((T0 + 1)).800000,\"hv_status\":\"device\"$hv},{\"kind\":\"marker\",$id,\"event\":\"hv-pause\",\"t\":$((T0 + 1)).950125$hv},{\"kind\":\"marker\",$id,\"event\":\"hv-resume\",\"t\":$((T0 + 3)).200250$hv2}," \
	"hv markers"
th_assert_eq 1 "$(jq '.outages | length' "$json")" "archive outages"
th_assert_eq 155 "$(jq '.outages[0].lost' "$json")" "outage lost"
has "\"lost\":155,$windows}]" "outage per-direction windows"
th_assert_eq 1550 "$(jq '.summary.downtime_ms' "$json")" "summary downtime"
has "\"delta_ms\":1525.000,$decomp}" "summary decomposition"
th_assert_eq 1550 "$(jq '.summary | -.pre_pause_ms + .hv_paused_ms + .post_resume_ms' "$json")" \
	"-pre_pause + paused + post_resume = downtime"
[ ! -e "$d/archive/vm3" ] || th_fail "an hv marker opened a session: $(ls -R "$d/archive/vm3")"
for t in 0 1 2 3 4 5; do
	want=$(printf '%s\n' 100 90 0 55 100 99 | sed -n "$((t + 1))p")
	tp_assert_fetch "$rrd" "$((T0 + t))" received "$want"
	tp_assert_fetch "$rrd" "$((T0 + t))" sent 100
done
tp_assert_fetch "$rrd" "$T0" rtt_avg 1.25
tp_assert_fetch "$rrd" "$((T0 + 1))" rtt_avg 2.5
tp_assert_fetch "$rrd" "$((T0 + 1))" lost_up 10
tp_assert_fetch "$rrd" "$T0" iperf_bps 1000000
tp_assert_fetch "$rrd" "$((T0 + 1))" iperf_bps 0
tp_assert_fetch "$rrd" "$((T0 + 2))" iperf_lost 50
tp_assert_fetch "$rrd" "$((T0 + 3))" iperf_bps nan
th_assert_eq 1 "$(rrdtool info "$rrd" | grep -c '^ds\[iperf_jitter\]\.type = "GAUGE"')" "archive DS"

# Stock rrdtool files: the session's values under its type_instance, exact per second.
probe="$d/rrd/edge/themis-vm1/themis_probe-$S.rrd"
[ -f "$probe" ] || th_fail "no $probe: $(find "$d/rrd" -type f)"
for t in 0 1 2 3 4 5; do
	want=$(printf '%s\n' 100 90 0 55 100 99 | sed -n "$((t + 1))p")
	tp_assert_fetch "$probe" "$((T0 + t))" received "$want"
done
tp_assert_fetch "$d/rrd/edge/themis-vm1/themis_rtt-$S.rrd" "$((T0 + 1))" avg 2.5
tp_assert_fetch "$d/rrd/edge/themis-vm1/themis_iperf-$S.rrd" "$((T0 + 2))" bps 500000
# Refused batches left nothing behind: no background file for vm1 at all.
[ ! -e "$d/rrd/edge/themis-vm1/themis_probe.rrd" ] || th_fail "refused records were stored"

# The session-end notification: downtime 1550 ms > DowntimeFailure 1000 ms -> FAILURE.
th_assert_match "Notification: severity = FAILURE.*session $S of VM vm1 ended: success, downtime 1550.000 ms" \
	"$(cat "$d/collectd-file.log")" "session-end notification"
th_log "ok"
