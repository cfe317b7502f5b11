#!/bin/bash
# trigger-lab.sh — themis-trigger against the lab's OpenNebula-compatible endpoint (themis-one,
# simulated backend): listings, full ping-pong cycles with the exact marker sequence, a failed
# migration reported with OpenNebula's error, a lost VM, a stuck migration ended by --timeout,
# SIGTERM closing the session as aborted, and every kind of setup error exiting 2.
# timeout: 240
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
# shellcheck source=tests/trigger/trigger-lib.sh
. "$top_srcdir/tests/trigger/trigger-lib.sh"
th_require_cmd jq jq

trig="$top_builddir/trigger/themis-trigger"
one="$top_builddir/lab/themis-one"
[ -x "$one" ] || th_error "$one not built (make -C lab)"
listening() { ss -Htln "sport = :$1" | grep -q .; }

port=$(th_free_port)
state="$TH_TMP/one"
# migrations take 800 ms; the LCM starts 400 ms after the request: the transient window
th_spawn one_pid "$one" --state "$state" --listen "127.0.0.1:$port" --auth oneadmin:s3cret \
	--hosts 2 --vms 1 --sim-time 800 --lcm-delay 400
th_wait_for 20 listening "$port"

printf 'oneadmin:s3cret\n' >"$TH_TMP/one_auth"
chmod 600 "$TH_TMP/one_auth"
export ONE_XMLRPC="http://127.0.0.1:$port/RPC2" ONE_AUTH="$TH_TMP/one_auth"

common=(--warmup 0 --cooldown 0 --grace 0 --poll-period 100)

one_pid=${one_pid:?}

# --- listings
out=$("$trig" list-hosts)
th_assert_eq "ID     NAME                     STATE
0      host0                    MONITORED
1      host1                    MONITORED" "$out" "list-hosts"
out=$("$trig" list-vms)
th_assert_eq "ID     NAME                     STATE            HOST             PREPARED
0      vm0                      RUNNING          host0            yes" "$out" "list-vms"

# --- two measured cycles, ping-pong, by name
j="$TH_TMP/markers.jsonl"
"$trig" run --vm vm0 --from host0 --to host1 --cycles 2 --ping-pong --markers "$j" \
	--definition lab_test "${common[@]}" --description 'Idle "vm0" & <lab>' \
	--load 'dirty 0 MB/s' --migration-param downtime-limit=300 \
	--migration-param max-bandwidth=32M --csv >"$TH_TMP/run1.csv" 2>"$TH_TMP/run1.err" ||
	th_fail "ping-pong run failed: $(cat "$TH_TMP/run1.err")"
# both session-starts carry the definition's params as given (migration in the order given);
# no --supervisor: no probe interval, no --bandwidth: no bandwidth
th_assert_eq '{"live":true,"cycles":2,"load":"dirty 0 MB/s","migration":{"downtime-limit":"300","max-bandwidth":"32M"},"description":"Idle \"vm0\" & <lab>"}
{"live":true,"cycles":2,"load":"dirty 0 MB/s","migration":{"downtime-limit":"300","max-bandwidth":"32M"},"description":"Idle \"vm0\" & <lab>"}' \
	"$(jq -c 'select(.event == "session-start") | .params' "$j")" "session-start params"
th_assert_eq 0 "$(jq -c 'select(.event != "session-start" and has("params"))' "$j" | wc -l)" \
	"params on session-start only"
th_assert_eq 10 "$(wc -l <"$j")" "markers written for two cycles"
th_assert_eq "session-start migration-request migration-start migration-end session-end session-start migration-request migration-start migration-end session-end" \
	"$(jq -r .event "$j" | tr '\n' ' ' | sed 's/ $//')" "marker sequence"
th_assert_eq "host0>host1 host0>host1 host0>host1 host0>host1 host0>host1 host1>host0 host1>host0 host1>host0 host1>host0 host1>host0" \
	"$(jq -r '"\(.src_host)>\(.dst_host)"' "$j" | tr '\n' ' ' | sed 's/ $//')" "directions"
th_assert_eq "1 1 1 1 1 2 2 2 2 2" "$(jq -r .cycle "$j" | tr '\n' ' ' | sed 's/ $//')" "cycle numbers"
th_assert_eq 2 "$(jq -r .session "$j" | sort -u | wc -l)" "one session per cycle"
jq -r .session "$j" | grep -Eqv '^lab_test\.[0-9]{8}T[0-9]{6}Z\.[0-9a-f]{8}\.c[12]$' &&
	th_fail "bad session id: $(jq -r .session "$j" | head -1)"
th_assert_eq "success success" "$(jq -r 'select(.event=="migration-end") | .outcome' "$j" | tr '\n' ' ' | sed 's/ $//')" "outcomes"
th_assert_eq "vm0 0" "$(jq -r '"\(.vm) \(.vm_id)"' "$j" | sort -u)" "vm name and id"
# times increase within a cycle; the request precedes OpenNebula's start by the LCM delay
jq -e -s '[.[].t] as $t | all(range(1; $t|length); $t[.] >= $t[. - 1])' "$j" >/dev/null ||
	th_fail "marker times not increasing"
gap=$(jq -s -r '[.[] | select(.cycle==1)] | (map(select(.event=="migration-start"))[0].t - map(select(.event=="migration-request"))[0].t)' "$j")
# at least the 400 ms LCM delay (the transient window is not taken for anything), at most a
# generous bound for a loaded machine
awk -v g="$gap" 'BEGIN { exit !(g >= 0.38 && g <= 2.0) }' ||
	th_fail "request→start gap $gap s: expected 0.4 s (LCM delay) plus polling"
# OpenNebula's own times are in the summary; no network figures without a supervisor
jq -e -s 'map(select(.event=="session-end"))[0].summary | (.one_stime > 0 and .one_rstime >= .one_stime and .downtime_ms == null and .lost_up == null)' "$j" >/dev/null ||
	th_fail "session-end summary: $(jq -c -s 'map(select(.event=="session-end"))[0].summary' "$j")"
th_assert_eq 3 "$(wc -l <"$TH_TMP/run1.csv")" "csv header + 2 rows"
th_assert_match '^1,lab_test\..*\.c1,"host0","host1",success,' "$(sed -n 2p "$TH_TMP/run1.csv")" "csv row 1"
th_assert_match '^2,lab_test\..*\.c2,"host1","host0",success,' "$(sed -n 3p "$TH_TMP/run1.csv")" "csv row 2"

# progress without a terminal: one plain line per phase change
th_assert_eq 2 "$(grep -c ': requested ' "$TH_TMP/run1.err")" "plain 'requested' lines (transient window seen)"
th_assert_eq 2 "$(grep -c ': migrating ' "$TH_TMP/run1.err")" "plain 'migrating' lines"
if grep -q "$(printf '\033')" "$TH_TMP/run1.err"; then th_fail "escape sequences without a terminal"; fi
# on a terminal: one status line rewritten in place
if command -v script >/dev/null 2>&1; then
	cmdline=$(printf '%q ' "$trig" run --vm vm0 --to host1 "${common[@]}")
	script -qfec "$cmdline 2>&1 >/dev/null" "$TH_TMP/tty.out" >/dev/null ||
		th_fail "run on a terminal failed: $(cat "$TH_TMP/tty.out")"
	grep -q "$(printf '\r\033\\[K')cycle 1/1 host0 -> host1: migrating" "$TH_TMP/tty.out" ||
		th_fail "no rewritten status line on a terminal: $(cat -v "$TH_TMP/tty.out")"
	[ "$(tr '\r' '\n' <"$TH_TMP/tty.out" | grep -c 'migrating [0-9.]* s')" -ge 3 ] ||
		th_fail "status line not updated while migrating: $(cat -v "$TH_TMP/tty.out")"
	"$trig" run --vm vm0 --to host0 "${common[@]}" >/dev/null 2>&1 || th_fail "moving vm0 back"
fi

# --- a failed migration: rolled back, OpenNebula's USER_TEMPLATE/ERROR is the message
echo fail >"$state/fault"
rc=0
"$trig" run --vm 0 --to host1 --markers "$TH_TMP/fail.jsonl" "${common[@]}" --json \
	>"$TH_TMP/fail.json" 2>"$TH_TMP/fail.err" || rc=$?
th_assert_eq 1 "$rc" "exit status of a failed cycle"
th_assert_eq failed "$(jq -r '.cycles[0].outcome' "$TH_TMP/fail.json")" "failed outcome"
th_assert_match 'MIGRATE: .*injected failure' "$(jq -r '.cycles[0].message' "$TH_TMP/fail.json")" "failure message"
th_assert_eq failed "$(jq -r 'select(.event=="migration-end") | .outcome' "$TH_TMP/fail.jsonl")" "migration-end outcome"
th_assert_match 'injected failure' "$(jq -r 'select(.event=="migration-end") | .message' "$TH_TMP/fail.jsonl")" "migration-end message"
th_assert_eq "0 0" "$(jq -r '"\(.aggregates.success_pct) \(.aggregates.succeeded)"' "$TH_TMP/fail.json")" "aggregates"
th_assert_eq "themis  vm0 0 1" "$(jq -r '"\(.definition) \(.description) \(.vm) \(.vm_id) \(.aggregates.cycles)"' "$TH_TMP/fail.json")" "JSON head"
out=$("$trig" list-vms)
th_assert_match 'vm0 +RUNNING +host0' "$out" "VM back on its source after the rollback"

# --- the VM lost by the hypervisor
echo lose >"$state/fault"
rc=0
"$trig" run --vm 0 --to host1 "${common[@]}" --json >"$TH_TMP/lose.json" 2>/dev/null || rc=$?
th_assert_eq 1 "$rc" "exit status of a lost VM"
th_assert_eq lost "$(jq -r '.cycles[0].outcome' "$TH_TMP/lose.json")" "lost outcome"
th_assert_match 'POWEROFF' "$(jq -r '.cycles[0].message' "$TH_TMP/lose.json")" "lost message"
# a VM that is not RUNNING is a setup error
rc=0
out=$("$trig" run --vm 0 --to host1 "${common[@]}" 2>&1) || rc=$?
th_assert_eq 2 "$rc" "run on a powered-off VM"
th_assert_match 'VM 0 \(vm0\) is POWEROFF, not RUNNING' "$out" "powered-off message"

# --- bad input and credentials: exit 2 with a message naming the problem
restart_one() {
	kill -KILL "$one_pid"
	wait "$one_pid" 2>/dev/null || true
	rm -rf "$state"
	port=$(th_free_port)
	th_spawn one_pid "$one" --state "$state" --listen "127.0.0.1:$port" --auth oneadmin:s3cret \
		--hosts 2 --vms 1 --sim-time 800 --lcm-delay 100
	th_wait_for 20 listening "$port"
	export ONE_XMLRPC="http://127.0.0.1:$port/RPC2"
}
restart_one
expect_setup_error() { # REGEX CMD...
	local re=$1 rc=0 out
	shift
	out=$("$@" 2>&1) || rc=$?
	th_assert_eq 2 "$rc" "exit status of: $*"
	th_assert_match "$re" "$out" "message of: $*"
}
printf 'oneadmin:wrong\n' >"$TH_TMP/bad_auth"
chmod 600 "$TH_TMP/bad_auth"
expect_setup_error "User couldn't be authenticated" env ONE_AUTH="$TH_TMP/bad_auth" "$trig" list-vms
chmod 644 "$TH_TMP/bad_auth"
expect_setup_error "auth file $TH_TMP/bad_auth is readable by everyone \\(mode 0644\\): refusing" \
	env ONE_AUTH="$TH_TMP/bad_auth" "$trig" list-vms
expect_setup_error "cannot read OpenNebula auth file $TH_TMP/none" env ONE_AUTH="$TH_TMP/none" "$trig" list-hosts
expect_setup_error 'cannot reach OpenNebula at http://127.0.0.1:1/RPC2' \
	"$trig" list-vms --one-xmlrpc http://127.0.0.1:1/RPC2
expect_setup_error 'no VM "nosuchvm"' "$trig" run --vm nosuchvm --to host1
expect_setup_error 'no host "host9"' "$trig" run --vm vm0 --to host9
expect_setup_error 'are the same host \(host0\)' "$trig" run --vm vm0 --to host0
expect_setup_error 'run needs --to HOST' "$trig" run --vm vm0
expect_setup_error '--cycles: "0" is not an integer number in \[1, 100000\]' "$trig" run --vm vm0 --to host1 --cycles 0
expect_setup_error 'unknown option --bogus' "$trig" run --bogus
expect_setup_error '--vm-addr "10.0.0.1;reboot" is not an address' "$trig" run --vm vm0 --to host1 --supervisor local --vm-addr '10.0.0.1;reboot'
expect_setup_error '--bandwidth needs --supervisor' "$trig" run --vm vm0 --to host1 --bandwidth 10M

# --- a config file gives the same definition
cat >"$TH_TMP/def.conf" <<CONF
# measurement definition
vm = vm0
to = host1
cycles = 1
definition = from_conf
warmup = 0
cooldown = 0
poll-period = 100
markers = $TH_TMP/conf.jsonl
CONF
"$trig" run --config "$TH_TMP/def.conf" --cold --json >"$TH_TMP/conf.json" 2>/dev/null || th_fail "config-file run failed"
th_assert_eq success "$(jq -r '.cycles[0].outcome' "$TH_TMP/conf.json")" "config-file run outcome"
th_assert_eq from_conf "$(jq -r .definition "$TH_TMP/conf.jsonl" | sort -u)" "definition from the config file"
# --cold after --config: a cold migration, and its params say so (nothing else was given)
th_assert_eq '{"live":false,"cycles":1}' \
	"$(jq -c 'select(.event == "session-start") | .params' "$TH_TMP/conf.jsonl")" "params of a --cold run"

# --- stuck in MIGRATE: --timeout ends the cycle, it never hangs
echo hang >"$state/fault"
rc=0
t0=$(date +%s%N)
"$trig" run --vm vm0 --to host0 --timeout 2 --markers "$TH_TMP/hang.jsonl" "${common[@]}" --json \
	>"$TH_TMP/hang.json" 2>/dev/null || rc=$?
t1=$(date +%s%N)
th_assert_eq 1 "$rc" "exit status of a stuck migration"
th_assert_eq timeout "$(jq -r '.cycles[0].outcome' "$TH_TMP/hang.json")" "timeout outcome"
th_assert_match "^still MIGRATE after [23] s \\(timeout 2 s\\)" "$(jq -r '.cycles[0].message' "$TH_TMP/hang.json")" "timeout message"
th_assert_eq "timeout timeout" "$(jq -r 'select(.event=="migration-end" or .event=="session-end") | .outcome' "$TH_TMP/hang.jsonl" | tr '\n' ' ' | sed 's/ $//')" "markers of a stuck migration"
[ $(((t1 - t0) / 1000000)) -lt 10000 ] || th_fail "stuck migration took $(((t1 - t0) / 1000000)) ms with --timeout 2"

# --- SIGTERM mid-migration: prompt exit, the session closes as aborted
restart_one
echo "slow 20000" >"$state/fault"
"$trig" run --vm vm0 --to host1 --markers "$TH_TMP/term.jsonl" "${common[@]}" \
	>"$TH_TMP/term.out" 2>"$TH_TMP/term.err" &
tpid=$!
th_on_exit kill -KILL "$tpid"
th_wait_for 20 grep -q migration-start "$TH_TMP/term.jsonl"
tt_sigterm_aborts "$tpid" 3000 "$TH_TMP/term.jsonl"
th_assert_match '^1 +host0 +host1 +aborted' "$(sed -n 2p "$TH_TMP/term.out")" "table row after SIGTERM"
th_log "all trigger/lab cases passed"
