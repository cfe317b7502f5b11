#!/bin/bash
# trigger-agents.sh — a full measured cycle with real agents: the lab endpoint (simulated
# migration of 3 s), a "VM" network namespace reached over a real sshd (reflector started and
# stopped over SSH), the prober on the supervisor, an injected 600 ms outage of the probes
# towards the VM during the migration, a hypervisor figure from --hv-command, and the plugin
# endpoint stopped during the migration and started again: markers queue and all arrive, in
# order, once it is back — without delaying the migration. The run authenticates its probes by
# default: a fresh key per run, mode 0600 on both ends while it lasts, gone afterwards; the
# plugin URL carries a query string with '&' that reaches the prober intact and runs nothing.
# Then SIGTERM mid-migration of a --no-auth run: agents without a key.
# timeout: 240
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
# shellcheck source=tests/trigger/trigger-lib.sh
. "$top_srcdir/tests/trigger/trigger-lib.sh"
th_require_root
th_require_cmd jq jq
th_require_cmd nft nftables
th_require_cmd /usr/sbin/sshd openssh-server
th_require_cmd ssh-keygen openssh-client

trig="$top_builddir/trigger/themis-trigger"
one="$top_builddir/lab/themis-one"
agent="$top_builddir/agent/themis-agent"
sink="$top_builddir/tests/trigger/markers-sink"
[ -x "$one" ] || th_error "$one not built (make -C lab)"
[ -x "$agent" ] || th_error "$agent not built (make -C agent)"

sup=$(th_netns_add sup)
vm=$(th_netns_add vm)
# th_netns_add ran in a subshell: register the removal here
th_on_exit th_netns_del "$sup"
th_on_exit th_netns_del "$vm"
th_netns_link "$sup" 10.91.0.1/24 "$vm" 10.91.0.2/24 >/dev/null
in_sup() { ip netns exec "$sup" "$@"; }
in_vm() { ip netns exec "$vm" "$@"; }
listening() { ip netns exec "$1" ss -Htln "sport = :$2" | grep -q .; }
# th_assert_between LOW HIGH VALUE WHAT
th_assert_between() {
	awk -v l="$1" -v h="$2" -v v="$3" 'BEGIN { exit !(v >= l && v <= h) }' ||
		th_fail "$4: expected between $1 and $2, got $3"
}

# sshd inside the VM namespace
mkdir -p /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$TH_TMP/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$TH_TMP/user_key"
cp "$TH_TMP/user_key.pub" "$TH_TMP/authorized_keys"
tt_sshd_config 2222 10.91.0.2 >"$TH_TMP/sshd_config"
th_spawn sshd_pid in_vm /usr/sbin/sshd -D -e -f "$TH_TMP/sshd_config"
th_wait_for 20 listening "$vm" 2222
printf '[10.91.0.2]:2222 %s\n' "$(cut -d' ' -f1,2 "$TH_TMP/host_key.pub")" >"$TH_TMP/known_hosts"

# the OpenNebula endpoint on the supervisor's loopback
th_spawn one_pid in_sup "$one" --state "$TH_TMP/one" --listen 127.0.0.1:2633 \
	--auth oneadmin:pw --hosts 2 --vms 1 --sim-time 3000 --lcm-delay 50 --guest-ip-base 10.91.0.2
th_wait_for 20 listening "$sup" 2633
printf 'oneadmin:pw\n' >"$TH_TMP/one_auth"
chmod 600 "$TH_TMP/one_auth"

# SSH refusals stop the run before any cycle (exit 2), naming host and file
run_setup() {
	in_sup env ONE_XMLRPC=http://127.0.0.1:2633/RPC2 ONE_AUTH="$TH_TMP/one_auth" \
		"$trig" run --vm vm0 --to host1 --supervisor local --vm-addr 10.91.0.2 \
		--vm-ssh-port 2222 --agent-path "$agent" --remote-dir "$TH_TMP" "$@"
}
: >"$TH_TMP/empty_known_hosts"
rc=0
out=$(run_setup --ssh-key "$TH_TMP/user_key" --known-hosts "$TH_TMP/empty_known_hosts" 2>&1) || rc=$?
th_assert_eq 2 "$rc" "exit status with an unknown host key"
th_assert_match "VM vm0: ssh 10.91.0.2:2222: host key unknown — not in $TH_TMP/empty_known_hosts; refusing" "$out" "unknown host key message"
ssh-keygen -q -t ed25519 -N '' -f "$TH_TMP/stranger_key"
rc=0
out=$(run_setup --ssh-key "$TH_TMP/stranger_key" --known-hosts "$TH_TMP/known_hosts" 2>&1) || rc=$?
th_assert_eq 2 "$rc" "exit status with an unauthorized key"
th_assert_match "ssh root@10.91.0.2:2222: key $TH_TMP/stranger_key refused" "$out" "unauthorized key message"
rc=0
out=$(run_setup --ssh-key "$TH_TMP/user_key" --known-hosts "$TH_TMP/known_hosts" --agent-path /nonexistent/themis-agent 2>&1) || rc=$?
th_assert_eq 2 "$rc" "exit status without an agent on the VM"
th_assert_match "VM vm0 \(10.91.0.2\): no executable agent at /nonexistent/themis-agent" "$out" "missing agent message"
[ ! -e "$TH_TMP/markers.jsonl" ] || th_fail "markers written by a run that never started"
# a reflector that cannot start (its port taken on the VM by a keyless one): the cycle ends with
# the reflector's own message, and the run's key files are removed all the same
# (ip netns exec execs the agent: $! is its pid)
th_spawn blocker_pid ip netns exec "$vm" "$agent" reflect --listen 0.0.0.0:7300
th_wait_for 10 sh -c "ip netns exec '$vm' ss -Huln 'sport = :7300' | grep -q ."
rc=0
out=$(run_setup --ssh-key "$TH_TMP/user_key" --known-hosts "$TH_TMP/known_hosts" --warmup 0 2>&1) || rc=$?
th_assert_eq 1 "$rc" "exit status when the reflector cannot start"
th_assert_match "themis-trigger: cycle 1: the reflector on VM vm0 did not start: themis-agent reflect: --listen 0\.0\.0\.0:7300: Address already in use" \
	"$out" "message when the reflector cannot start"
if [ -e "$TH_TMP/themis-reflect.vm0.key" ] || [ -e "$TH_TMP/themis-probe.vm0.key" ]; then
	th_fail "key files left after a cycle that could not start its reflector"
fi
kill "${blocker_pid:?}"
wait "$blocker_pid" 2>/dev/null || true

# the plugin stand-in: up at the start, stopped during the migration, started again after it
th_spawn sink1_pid ip netns exec "$sup" "$sink" 8089 "$TH_TMP/sink.out"
sink1_pid=${sink1_pid:?}
th_wait_for 20 listening "$sup" 8089

# the trigger, in the background. The VM's address comes from OpenNebula (NIC/IP), its agent
# from another path than the supervisor's.
mkdir "$TH_TMP/vm-bin"
cp "$agent" "$TH_TMP/vm-bin/themis-agent"
j="$TH_TMP/markers.jsonl"
plugin_url='http://127.0.0.1:8089/?run=agents&a=1&b=2&/usr/bin/id&'
in_sup env ONE_XMLRPC=http://127.0.0.1:2633/RPC2 ONE_AUTH="$TH_TMP/one_auth" \
	"$trig" run --vm vm0 --to host1 --definition agents --markers "$j" \
	--supervisor local --vm-ssh-port 2222 --vm-user root \
	--ssh-key "$TH_TMP/user_key" --known-hosts "$TH_TMP/known_hosts" \
	--agent-path "$agent" --vm-agent-path "$TH_TMP/vm-bin/themis-agent" \
	--remote-dir "$TH_TMP" --interval 10 \
	--warmup 1 --cooldown 2 --grace 1 --poll-period 100 \
	--plugin-url "$plugin_url" --bandwidth 1M --cycles 1 --description 'agents: 600 ms drop' \
	--load 'iperf3 1M' --migration-param max-bandwidth=32M \
	--hv-command 'echo "vm {vm} on {dst}: downtime_ms=15 total_ms=518"' --hv-where local \
	--json >"$TH_TMP/run.json" 2>"$TH_TMP/run.err" &
tpid=$!
th_on_exit kill -KILL "$tpid"

# the first markers reach the plugin; then it goes down
th_wait_for 30 grep -q migration-request "$TH_TMP/sink.out"
kill -TERM "$sink1_pid"
wait "$sink1_pid" 2>/dev/null || true
# while OpenNebula says MIGRATE: drop the probes towards the VM for 600 ms
th_wait_for 30 grep -q migration-start "$j"
# (meanwhile: both agents hold the run's key, a file of mode 0600 at each end)
kv="$TH_TMP/themis-reflect.vm0.key" ks="$TH_TMP/themis-probe.vm0.key"
th_assert_eq "600 32 600 32" "$(stat -c '%a %s' "$kv" "$ks" | tr '\n' ' ' | sed 's/ $//')" "key files (mode, bytes) during the run"
cmp -s "$kv" "$ks" || th_fail "the VM and the supervisor hold different keys"
# agent_args PREFIX: the arguments of the agent process whose command line starts with PREFIX
agent_args() {
	local p
	for p in $(ip netns pids "$vm") $(ip netns pids "$sup"); do
		case "$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)" in
		"$1"*) tr '\0' ' ' <"/proc/$p/cmdline" | sed 's/ $//' && return 0 ;;
		esac
	done
	return 1
}
th_assert_eq "$TH_TMP/vm-bin/themis-agent reflect --listen 0.0.0.0:7300 --key-file $kv" \
	"$(agent_args "$TH_TMP/vm-bin/themis-agent reflect")" "reflector command line"
# the query string reached the prober as one argument: the shell split nothing, ran nothing
probe_args=$(agent_args "$agent probe")
th_assert_match " --report http://127\.0\.0\.1:8089/v1/records\?run=agents&a=1&b=2&/usr/bin/id& --key-file $ks\$" \
	"$probe_args" "prober command line"
th_assert_eq "themis-agent reflect: listening on 0.0.0.0:7300 (authenticated)" \
	"$(head -n 1 "$TH_TMP/themis-reflect.vm0.log")" "reflector log"
in_vm nft add table inet thdrop
in_vm nft add chain inet thdrop in '{ type filter hook input priority 0; }'
in_vm nft add rule inet thdrop in udp dport 7300 drop
sleep 0.6
in_vm nft delete table inet thdrop
# migration-end is written while the plugin is down; the plugin comes back afterwards
th_wait_for 30 grep -q migration-end "$j"
grep -q migration-end "$TH_TMP/sink.out" && th_fail "migration-end reached a stopped plugin"
th_spawn sink2_pid ip netns exec "$sup" "$sink" 8089 "$TH_TMP/sink.out"
rc=0
wait "$tpid" || rc=$?
[ "$rc" -eq 0 ] || th_fail "run exited $rc: $(cat "$TH_TMP/run.err")"

# the agents are gone: no pid files, no processes of this run, no key files
[ ! -e "$kv" ] || th_fail "key file left on the VM"
[ ! -e "$ks" ] || th_fail "key file left on the supervisor"
th_assert_eq "themis-trigger: probes authenticated with a fresh key ($kv on VM vm0, $ks on the supervisor)" \
	"$(grep 'probes authenticated' "$TH_TMP/run.err")" "trigger's note on the key"
[ ! -e "$TH_TMP/themis-probe.vm0.pid" ] || th_fail "prober pid file left"
[ ! -e "$TH_TMP/themis-reflect.vm0.pid" ] || th_fail "reflector pid file left"
for p in $(ip netns pids "$vm") $(ip netns pids "$sup"); do
	case "$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)" in
	"$agent"* | "$TH_TMP/vm-bin/themis-agent"*) th_fail "agent still running: $(tr '\0' ' ' <"/proc/$p/cmdline")" ;;
	esac
done

s=$(jq -c '.cycles[0].summary' "$TH_TMP/run.json")
th_log "summary: $s"
th_assert_eq success "$(jq -r .outcome <<<"$s")" "outcome"
# the drop lasts 600 ms plus the start of the second nft process: never less, a little more
th_assert_between 590 900 "$(jq -r .downtime_ms <<<"$s")" "network downtime (ms) of a 600 ms drop"
th_assert_between 58 90 "$(jq -r .lost_up <<<"$s")" "probes lost towards the VM at 10 ms"
# the downtime is one outage of consecutive probes: lost × interval within one interval
th_assert_near "$(jq -r '.lost_up * 10' <<<"$s")" "$(jq -r .downtime_ms <<<"$s")" 20 "downtime vs lost probes"
th_assert_eq 0 "$(jq -r .lost_down <<<"$s")" "probes lost from the VM"
# the records and markers went to the URL with its query string
grep -qx '/v1/records run=agents a=1 b=2 /usr/bin/id=' "$TH_TMP/sink.out.query" ||
	th_fail "no records request with the query string: $(sort -u "$TH_TMP/sink.out.query")"
grep -qx '/v1/markers run=agents a=1 b=2 /usr/bin/id=' "$TH_TMP/sink.out.query" ||
	th_fail "no markers request with the query string: $(sort -u "$TH_TMP/sink.out.query")"
th_assert_eq "15 518" "$(jq -r '"\(.hv_downtime_ms) \(.hv_total_ms)"' <<<"$s")" "hypervisor figures"
th_assert_near "$(jq -r '.downtime_ms - 15' <<<"$s")" "$(jq -r .delta_ms <<<"$s")" 0.001 "delta = network - hypervisor"
jq -e '.one_stime > 0 and .one_rstime >= .one_stime and .one_duration_s >= 2' <<<"$s" >/dev/null ||
	th_fail "OpenNebula times in the summary: $s"

# the journal and the plugin saw the same five markers, in order, once each
th_assert_eq "session-start migration-request migration-start migration-end session-end" \
	"$(jq -r .event "$j" | tr '\n' ' ' | sed 's/ $//')" "journal"
sink2_pid=${sink2_pid:?}
th_wait_for 10 grep -q session-end "$TH_TMP/sink.out"
jq -c '.' "$j" >"$TH_TMP/journal.norm"
# at-least-once delivery: a batch whose reply was lost may arrive twice; order is kept
jq -c '.[]' "$TH_TMP/sink.out" | awk '!seen[$0]++' >"$TH_TMP/sink.norm"
diff "$TH_TMP/journal.norm" "$TH_TMP/sink.norm" >&2 || th_fail "markers at the plugin differ from the journal"
# the session-start's params: the options of the run, the same in the journal and at the plugin
th_assert_eq '{"interval_ms":10,"bandwidth":"1M","live":true,"cycles":1,"load":"iperf3 1M","migration":{"max-bandwidth":"32M"},"description":"agents: 600 ms drop"}' \
	"$(jq -c 'select(.event == "session-start") | .params' "$TH_TMP/sink.norm")" "session-start params"
grep -q 'plugin unreachable' "$TH_TMP/run.err" || th_fail "no warning while the plugin was down: $(cat "$TH_TMP/run.err")"
grep -q 'plugin reachable again' "$TH_TMP/run.err" || th_fail "no notice when the plugin came back: $(cat "$TH_TMP/run.err")"
# the migration itself was not held up by the plugin: request → end within the 3 s simulation
dur=$(jq -s -r '(map(select(.event=="migration-end"))[0].t - map(select(.event=="migration-request"))[0].t)' "$j")
th_assert_between 2.95 4.5 "$dur" "request→end seconds with the plugin down (3 s migration)"
# the --bandwidth load ran through themis-agent iperf and reported to the plugin
th_wait_for 10 test -s "$TH_TMP/sink.out.records"
n_iperf=$(jq -c 'if type == "array" then .[] else . end | select(.kind == "iperf")' "$TH_TMP/sink.out.records" | wc -l)
[ "$n_iperf" -ge 3 ] || th_fail "expected iperf records from the --bandwidth load, got $n_iperf"
bps=$(jq -s -r '[.[] | if type == "array" then .[] else . end | select(.kind == "iperf" and .bytes > 0)] | (map(.bits_per_second) | add / length)' "$TH_TMP/sink.out.records")
th_assert_near 1000000 "$bps" 250000 "iperf load rate (bit/s)"
if [ -e "$TH_TMP/themis-iperf.vm0.pid" ] || [ -e "$TH_TMP/themis-iperfd.vm0.pid" ]; then
	th_fail "iperf pid files left"
fi
for p in $(ip netns pids "$vm") $(ip netns pids "$sup"); do
	[ "$(cat "/proc/$p/comm" 2>/dev/null)" != iperf3 ] || th_fail "iperf3 still running: $(tr '\0' ' ' <"/proc/$p/cmdline")"
done
# SIGTERM in the middle of a measured --no-auth migration: agents (without a key) stopped,
# session closed as aborted
echo "slow 20000" >"$TH_TMP/one/fault"
# (ip netns exec and env exec the trigger: $! is its pid)
ip netns exec "$sup" env ONE_XMLRPC=http://127.0.0.1:2633/RPC2 ONE_AUTH="$TH_TMP/one_auth" \
	"$trig" run --vm vm0 --to host0 --definition agents --markers "$TH_TMP/term.jsonl" \
	--supervisor local --vm-addr 10.91.0.2 --vm-ssh-port 2222 \
	--ssh-key "$TH_TMP/user_key" --known-hosts "$TH_TMP/known_hosts" \
	--agent-path "$agent" --remote-dir "$TH_TMP" --warmup 0 --poll-period 100 --no-auth \
	>"$TH_TMP/term.out" 2>"$TH_TMP/term.err" &
tpid=$!
th_wait_for 30 grep -q migration-start "$TH_TMP/term.jsonl"
[ -e "$TH_TMP/themis-probe.vm0.pid" ] || th_fail "no prober running during the migration"
th_assert_eq "themis-agent reflect: listening on 0.0.0.0:7300" \
	"$(head -n 1 "$TH_TMP/themis-reflect.vm0.log")" "reflector log with --no-auth"
th_assert_match "^$agent probe --target 10\.91\.0\.2:7300 --vm vm0 --interval 10 --report [^ ]*\.jsonl\$" \
	"$(agent_args "$agent probe")" "prober command line with --no-auth"
if [ -e "$kv" ] || [ -e "$ks" ]; then th_fail "key files with --no-auth"; fi
grep -q 'probes authenticated' "$TH_TMP/term.err" && th_fail "--no-auth run says it authenticates"
# no --bandwidth: no bandwidth key; the default interval (10 ms) and one planned cycle
th_assert_eq '{"interval_ms":10,"live":true,"cycles":1}' \
	"$(jq -c 'select(.event == "session-start") | .params' "$TH_TMP/term.jsonl")" "params without --bandwidth"
tt_sigterm_aborts "$tpid" 8000 "$TH_TMP/term.jsonl"
if [ -e "$TH_TMP/themis-probe.vm0.pid" ] || [ -e "$TH_TMP/themis-reflect.vm0.pid" ]; then
	th_fail "agent pid files left after SIGTERM"
fi
for p in $(ip netns pids "$vm") $(ip netns pids "$sup"); do
	case "$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)" in
	"$agent"*) th_fail "agent still running after SIGTERM: $(tr '\0' ' ' <"/proc/$p/cmdline")" ;;
	esac
done
th_log "all trigger/agent cases passed"
