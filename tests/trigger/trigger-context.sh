#!/bin/bash
# trigger-context.sh — a VM whose OpenNebula context starts its reflector (THEMIS_TYPE=VM,
# THEMIS_REFLECT_PORT, THEMIS_REFLECT_KEY in TEMPLATE/CONTEXT): the lab endpoint behind
# one-context-proxy shows the variables, context/themis-context starts the reflector in a "VM"
# network namespace that has no sshd at all. The run must start nothing over SSH (it could not),
# install the context's key as the prober's key, probe the context's port and measure; refused
# cases: a keyless context without --no-auth, a bad port, a context reflector that does not
# answer. --no-context goes back to SSH (and fails here for want of an sshd).
# timeout: 120
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
th_require_root
th_require_cmd jq jq
th_require_cmd openssl openssl

trig="$top_builddir/trigger/themis-trigger"
one="$top_builddir/lab/themis-one"
agent="$top_builddir/agent/themis-agent"
proxy="$top_builddir/tests/trigger/one-context-proxy"
[ -x "$one" ] || th_error "$one not built (make -C lab)"
[ -x "$agent" ] || th_error "$agent not built (make -C agent)"

sup=$(th_netns_add sup)
vm=$(th_netns_add vm)
th_on_exit th_netns_del "$sup"
th_on_exit th_netns_del "$vm"
th_netns_link "$sup" 10.92.0.1/24 "$vm" 10.92.0.2/24 >/dev/null
listening() { ip netns exec "$1" ss -Htln "sport = :$2" | grep -q .; }

th_spawn one_pid ip netns exec "$sup" "$one" --state "$TH_TMP/one" --listen 127.0.0.1:2633 \
	--auth oneadmin:pw --hosts 2 --vms 1 --sim-time 1000 --lcm-delay 50 --guest-ip-base 10.92.0.2
th_wait_for 20 listening "$sup" 2633
th_spawn proxy_pid ip netns exec "$sup" "$proxy" 2634 http://127.0.0.1:2633/RPC2 "$TH_TMP/context.xml"
th_wait_for 20 listening "$sup" 2634
printf 'oneadmin:pw\n' >"$TH_TMP/one_auth"
chmod 600 "$TH_TMP/one_auth"

# the guest: its context starts the reflector (a themis-reflector shim over themis-agent)
key=$(openssl rand -hex 32)
mkdir "$TH_TMP/bin" "$TH_TMP/guest"
printf '#!/bin/sh\nexec %s reflect "$@"\n' "$agent" >"$TH_TMP/bin/themis-reflector"
chmod +x "$TH_TMP/bin/themis-reflector"
guest_stop() { [ -s "$TH_TMP/guest/run/themis-reflector.pid" ] && kill "$(cat "$TH_TMP/guest/run/themis-reflector.pid")" 2>/dev/null; return 0; }
th_on_exit guest_stop
ip netns exec "$vm" env -i PATH="$TH_TMP/bin:$PATH" THEMIS_CONTEXT_ROOT="$TH_TMP/guest" \
	THEMIS_TYPE=VM THEMIS_REFLECT_PORT=7311 THEMIS_REFLECT_KEY="$key" \
	sh "$top_srcdir/context/themis-context"
printf '<THEMIS_REFLECT_KEY><![CDATA[%s]]></THEMIS_REFLECT_KEY><THEMIS_REFLECT_PORT><![CDATA[7311]]></THEMIS_REFLECT_PORT><THEMIS_TYPE><![CDATA[VM]]></THEMIS_TYPE>\n' \
	"$key" >"$TH_TMP/context.xml"

run() {
	ip netns exec "$sup" env ONE_XMLRPC=http://127.0.0.1:2634/RPC2 ONE_AUTH="$TH_TMP/one_auth" \
		"$trig" run --vm vm0 --to host1 --supervisor local --vm-ssh-port 2222 \
		--agent-path "$agent" --remote-dir "$TH_TMP" --interval 10 --poll-period 100 "$@"
}

# the measured run: nothing over SSH (there is no sshd on the VM), the context's key and port
rc=0
run --definition ctx --markers "$TH_TMP/m.jsonl" --warmup 1 --cooldown 1 --grace 1 --json \
	>"$TH_TMP/run.json" 2>"$TH_TMP/run.err" || rc=$?
[ "$rc" -eq 0 ] || th_fail "run exited $rc: $(cat "$TH_TMP/run.err")"
th_assert_eq "themis-trigger: VM vm0: reflector started by context (THEMIS_TYPE=VM): nothing started on the VM over SSH; probing UDP port 7311 (context THEMIS_REFLECT_PORT, overrides --reflect-port)" \
	"$(grep 'started by context' "$TH_TMP/run.err" | grep -v checking)" "trigger's note on the context"
th_assert_eq "themis-trigger: probes authenticated with the key of VM vm0's context (THEMIS_REFLECT_KEY, $TH_TMP/themis-probe.vm0.key on the supervisor)" \
	"$(grep 'probes authenticated' "$TH_TMP/run.err")" "trigger's note on the key"
grep -q 'ssh' "$TH_TMP/run.err" && th_fail "the run spoke of SSH: $(cat "$TH_TMP/run.err")"
[ ! -e "$TH_TMP/themis-reflect.vm0.key" ] || th_fail "a reflector key was installed for the VM"
[ ! -e "$TH_TMP/themis-reflect.vm0.pid" ] || th_fail "a reflector was started for the VM"
[ ! -e "$TH_TMP/themis-probe.vm0.key" ] || th_fail "the prober's key file was left"
s=$(jq -c '.cycles[0].summary' "$TH_TMP/run.json")
th_log "summary: $s"
th_assert_eq success "$(jq -r .outcome <<<"$s")" "outcome"
th_assert_eq "0 0 0" "$(jq -r '"\(.downtime_ms) \(.lost_up) \(.lost_down)"' <<<"$s")" "downtime, probes lost (no outage injected)"
# the guest's reflector answered the keyed probes and still runs (the run never stops it)
pid=$(cat "$TH_TMP/guest/run/themis-reflector.pid")
kill -0 "$pid" || th_fail "the context's reflector is gone after the run"
th_assert_eq "themis-agent reflect: listening on 0.0.0.0:7311 (authenticated)" \
	"$(head -n 1 "$TH_TMP/guest/var/log/themis-reflector.log")" "guest reflector log"
th_assert_eq "session-start migration-request migration-start migration-end session-end" \
	"$(jq -r .event "$TH_TMP/m.jsonl" | tr '\n' ' ' | sed 's/ $//')" "markers"

# a keyless context is refused unless --no-auth
printf '<THEMIS_TYPE>VM</THEMIS_TYPE><THEMIS_REFLECT_PORT>7311</THEMIS_REFLECT_PORT>\n' >"$TH_TMP/context.xml"
rc=0
out=$(run --to host0 2>&1) || rc=$?
th_assert_eq 2 "$rc" "exit status with a keyless context"
th_assert_match "VM vm0 \(0\): its context starts a keyless reflector \(THEMIS_TYPE=VM without THEMIS_REFLECT_KEY\): set THEMIS_REFLECT_KEY in the VM template, or give --no-auth" \
	"$out" "keyless context message"
# a bad port in the context
printf '<THEMIS_TYPE>VM</THEMIS_TYPE><THEMIS_REFLECT_PORT>73110</THEMIS_REFLECT_PORT><THEMIS_REFLECT_KEY>%s</THEMIS_REFLECT_KEY>\n' "$key" >"$TH_TMP/context.xml"
rc=0
out=$(run --to host0 2>&1) || rc=$?
th_assert_eq 2 "$rc" "exit status with a bad context port"
th_assert_match 'VM vm0 \(0\): context THEMIS_REFLECT_PORT "73110" is not a UDP port \(digits, 1\.\.65535\)' "$out" "bad port message"
# the context's reflector does not answer (the guest's is stopped): bounded, named, no migration
printf '<THEMIS_TYPE>VM</THEMIS_TYPE><THEMIS_REFLECT_PORT>7311</THEMIS_REFLECT_PORT><THEMIS_REFLECT_KEY>%s</THEMIS_REFLECT_KEY>\n' "$key" >"$TH_TMP/context.xml"
kill "$pid"
rc=0
t0=$(date +%s)
out=$(run --to host0 --markers "$TH_TMP/dead.jsonl" 2>&1) || rc=$?
t1=$(date +%s)
th_assert_eq 2 "$rc" "exit status when the context's reflector is silent"
th_assert_match "themis-trigger: VM vm0: the reflector started by context \(THEMIS_TYPE=VM\) does not answer at 10\.92\.0\.2 UDP port 7311 within 10 s \(keyed probes\)" \
	"$out" "silent reflector message"
[ $((t1 - t0)) -le 20 ] || th_fail "the check took $((t1 - t0)) s"
[ ! -s "$TH_TMP/dead.jsonl" ] || th_fail "markers written although the reflector never answered"
[ ! -e "$TH_TMP/themis-probe.vm0.key" ] || th_fail "the prober's key file was left after the failed check"
[ ! -e "$TH_TMP/themis-probe.vm0.pid" ] || th_fail "the check's prober was left running"
# --no-context: the old way, over SSH (no sshd here: refused before any cycle)
rc=0
out=$(run --to host0 --no-context --ssh-timeout 3 2>&1) || rc=$?
th_assert_eq 2 "$rc" "exit status with --no-context and no sshd"
th_assert_match "VM vm0: ssh: cannot connect to 10\.92\.0\.2:2222: Connection refused" "$out" "--no-context goes over SSH"
th_log "all trigger/context cases passed"
