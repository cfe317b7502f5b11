#!/bin/bash
# trigger-background.sh — `themis-trigger run --probe background`: no agent is started; a real
# collectd whose themis plugin probes the VM on its own (a <Target> named as the OpenNebula VM,
# against a real `themis-agent reflect`) measures the migration. The reflector is paused for
# 800 ms while OpenNebula (the lab endpoint, simulated migration of 2 s) says MIGRATE: the
# session's archive must carry the plugin's own summary with that outage, the run's markers say
# origin run, and the trigger's table says where the network figures are. The session file
# holds the definition's params as given, and `themis-graph compare` shows them.
# timeout: 120
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
# shellcheck source=tests/plugin/plugin-lib.sh
. "$top_srcdir/tests/plugin/plugin-lib.sh"
tp_require
th_require_cmd jq jq
trig="$top_builddir/trigger/themis-trigger"
one="$top_builddir/lab/themis-one"
agent="$top_builddir/agent/themis-agent"
[ -x "$one" ] || th_error "$one not built (make -C lab)"
[ -x "$agent" ] || th_error "$agent not built (make -C agent)"
listening() { ss -Htln "sport = :$1" | grep -q .; }

d=$TH_TMP
oport=$(th_free_port)
th_spawn one_pid "$one" --state "$d/one" --listen "127.0.0.1:$oport" --auth oneadmin:pw \
	--hosts 2 --vms 1 --sim-time 2000 --lcm-delay 100
th_wait_for 20 listening "$oport"
printf 'oneadmin:pw\n' >"$d/one_auth"
chmod 600 "$d/one_auth"
export ONE_XMLRPC="http://127.0.0.1:$oport/RPC2" ONE_AUTH="$d/one_auth"

rport=$(th_free_port)
"$agent" reflect --listen "127.0.0.1:$rport" >"$d/reflect.log" 2>&1 &
refl_pid=$!
th_on_exit kill -KILL "$refl_pid"

port=$(th_free_port)
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
  SessionGrace 1
  <Target "vm0">
    Address "127.0.0.1" "$rport"
    Interval 0.01
    LossTimeout 0.2
  </Target>
</Plugin>
CONF
} >"$d/collectd.conf"
tp_start edge "$d/collectd.conf"
tp_wait_health "$port" edge

# refused without the plugin, and with agents asked for
rc=0
out=$("$trig" run --vm vm0 --to host1 --probe background 2>&1) || rc=$?
th_assert_eq 2 "$rc" "background without --plugin-url"
th_assert_match 'probe background needs --plugin-url' "$out" "its message"

j="$d/markers.jsonl"
"$trig" run --vm vm0 --to host1 --probe background --plugin-url "http://127.0.0.1:$port" \
	--token-file "$d/token" --markers "$j" --warmup 2 --cooldown 2 --grace 1 \
	--poll-period 100 --definition bg_test --description 'reflector paused <800 ms>' \
	--load idle --migration-param downtime-limit=300 --remote-dir "$d/remote" \
	>"$d/run.out" 2>"$d/run.err" &
tpid=$!
th_on_exit kill -KILL "$tpid"
th_wait_for 30 grep -q migration-start "$j"
kill -STOP "$refl_pid"
sleep 0.8
kill -CONT "$refl_pid"
rc=0
wait "$tpid" || rc=$?
[ "$rc" -eq 0 ] || th_fail "run exited $rc: $(cat "$d/run.err")"
grep -q "network figures: measured by the plugin's background prober" "$d/run.out" ||
	th_fail "the table does not say where the figures are: $(cat "$d/run.out")"
# no agent was started: no pid file in the run's own remote directory, no prober of the trigger's
compgen -G "$d/remote/themis-*.pid" >/dev/null && th_fail "pid files of agents: $(ls "$d"/remote/themis-*.pid)"
th_assert_eq run "$(jq -r .origin "$j" | sort -u)" "origin of the run's markers"

s=$(jq -r 'select(.event == "session-end") | .session' "$j")
f="$d/archive/vm0/$s.json"
closed() { [ "$(jq -r .closed_by "$f" 2>/dev/null)" = session-end ]; }
th_wait_for 20 closed
th_log "summary: $(jq -c .summary "$f")"
th_assert_eq plugin "$(jq -r .summary_source "$f")" "the plugin summarised the run"
dt=$(jq -r .summary.downtime_ms "$f")
# the pause lasts 800 ms plus the signals' latency; the plugin's own outage record says so
awk -v v="$dt" 'BEGIN { exit !(v >= 780 && v <= 1100) }' || th_fail "downtime $dt ms for an 800 ms pause"
th_assert_eq "$(jq -r '[.outages[].duration_ms] | max' "$f")" "$dt" "downtime = the longest outage"
# probes older than LossTimeout (200 ms) when the reflector resumes are lost, the queued rest
# is echoed late: 60 of the 80 at 10 ms
jq -e '.summary.lost_up >= 50 and .summary.lost_up <= 85 and .summary.lost_down == 0' "$f" >/dev/null ||
	th_fail "lost probes: $(jq -c .summary "$f")"
th_assert_eq success "$(jq -r .summary.outcome "$f")" "outcome"
grep -q "\"session\":\"$s\"" "$d/archive/summaries.jsonl" || th_fail "no summaries line for $s"
# the definition's params reach the archive's session file with the session-start marker
# (--probe background: the interval is the plugin's, so none), and compare shows them
th_assert_eq '{"live":true,"cycles":1,"load":"idle","migration":{"downtime-limit":"300"},"description":"reflector paused <800 ms>"}' \
	"$(jq -c '.markers[] | select(.event == "session-start") | .params' "$f")" "params in $s.json"
export THEMIS_GRAPH_LIBDIR="$top_srcdir/rrd-graphs"
"$top_builddir/rrd-graphs/themis-graph" compare "$d/archive" --definition bg_test \
	--out "$d/compare" --csv "$d/defs.csv" >/dev/null 2>"$d/compare.err" ||
	th_fail "compare failed: $(cat "$d/compare.err")"
th_log "compare: $(sed -n 2p "$d/defs.csv")"
th_assert_match '^"bg_test","reflector paused <800 ms>",,,true,1,"idle","downtime-limit=300",1,1,0,1,' \
	"$(sed -n 2p "$d/defs.csv")" "compare: the definition's row"
grep -q '<td data-col="description">reflector paused &lt;800 ms&gt;</td>' "$d/compare/index.html" ||
	th_fail "compare's page lacks the description"
tp_stop "${TP_PID_edge:?}"
