#!/bin/bash
# lab-lifecycle.sh — themis-lab up is idempotent and recovers from its own crash; down removes
# everything also after a crash of up, and can run again. Bad options are refused by name. The
# lab publishes oned's events on 10.77.0.1:2101: a pyzmq subscriber in the management namespace
# sees the live migration the scheduler starts.
# timeout: 600
: "${top_srcdir:?run through make check}"
# shellcheck source=../common/lib.sh
. "$top_srcdir/tests/common/lib.sh"
th_require_root
th_require_cmd qemu-system-x86_64 qemu-system-x86
[ -x "$top_builddir/agent/themis-agent" ] || th_error "agent/themis-agent not built"
PY=${THEMIS_PYTHON:-/usr/bin/python3}
"$PY" -c 'import zmq' 2>/dev/null || th_error "$PY cannot import zmq: install python3-zmq"

lab="$top_builddir/lab/themis-lab"
export THEMIS_LAB_DIR="$TH_TMP/lab" THEMIS_LAB_PREFIX="$TH_TEST_ID-lab" THEMIS_LAB_ACCEL=tcg
th_on_exit "$lab" down
# shellcheck source=lab-diag.sh
. "$top_srcdir/tests/lab/lab-diag.sh"
th_on_fail lab_diag

nothing_left() {
	if ip netns list | grep -q "^$THEMIS_LAB_PREFIX-"; then th_fail "$1: namespaces left: $(ip netns list | tr '\n' ' ')"; fi
	[ ! -e "$THEMIS_LAB_DIR" ] || th_fail "$1: lab directory left"
	if pgrep -f "$THEMIS_LAB_DIR" >/dev/null; then th_fail "$1: processes left: $(pgrep -af "$THEMIS_LAB_DIR")"; fi
	return 0
}
qemu_running() { compgen -G "$THEMIS_LAB_DIR/run/vm*.host*.pid" >/dev/null; }

# refused options name the problem
out=$("$lab" up --hosts 1 2>&1) && th_fail "up --hosts 1 accepted"
th_assert_match 'hosts 1: a number from 2 to 20' "$out" "--hosts 1 message"
out=$("$lab" up --accel warp 2>&1) && th_fail "up --accel warp accepted"
th_assert_match 'accel warp: use auto, tcg or kvm' "$out" "--accel message"
out=$("$lab" migrate-info vm0 2>&1) && th_fail "migrate-info on a down lab succeeded"
th_assert_match 'the lab is down' "$out" "migrate-info message"
"$lab" status >/dev/null && th_fail "status says up before up"

# crash of up once a guest runs: down removes all of it
"$lab" up --hosts 3 --vms 2 >"$TH_TMP/up1.log" 2>&1 &
up=$!
th_wait_for 120 qemu_running
kill -KILL "$up"
wait "$up" 2>/dev/null || true
ip netns list | grep -q "^$THEMIS_LAB_PREFIX-host2" || th_fail "crash came before the namespaces existed"
"$lab" down
nothing_left "down after a crashed up"

# crash again, then up itself cleans the leftovers and comes up
"$lab" up --hosts 2 --vms 1 >"$TH_TMP/up2.log" 2>&1 &
up=$!
th_wait_for 120 qemu_running
kill -KILL "$up"
wait "$up" 2>/dev/null || true
"$lab" up --hosts 2 --vms 1
"$lab" status >"$TH_TMP/status" || th_fail "status after recovery: $(cat "$TH_TMP/status")"
th_assert_eq 2 "$(ip netns list | grep -c "^$THEMIS_LAB_PREFIX-host")" "host namespaces"
th_assert_eq 1 "$(pgrep -fc "^qemu-system-x86_64 .*$THEMIS_LAB_DIR/initrd.gz")" "QEMU processes"

# events: announced, exported, and published for a migration the scheduler starts
th_assert_match "^events: tcp://10.77.0.1:2101 in namespace $THEMIS_LAB_PREFIX-mgmt$" \
	"$(grep '^events:' "$TH_TMP/status")" "status events line"
# shellcheck disable=SC2016 # expanded inside the lab namespace
th_assert_eq tcp://10.77.0.1:2101 "$("$lab" exec -- sh -c 'echo "$THEMIS_ONE_EVENTS"')" "THEMIS_ONE_EVENTS"
sub=''
th_spawn sub "$lab" exec -- "$PY" "$top_srcdir/tests/lab/hook-sub.py" tcp://10.77.0.1:2101 "$TH_TMP/ev" 4 240
th_wait_for 20 test -f "$TH_TMP/ev/ready"
out=$("$lab" scheduler --every 1 --vm vm0 --count 1) || th_fail "scheduler: $out"
th_assert_match '^[0-9T:Z-]+ migrate vm0 \(0\) host0 -> host1: accepted$' "$out" "scheduler line"
wait "$sub" || th_fail "subscriber: $(cat "$TH_TMP/spawn.sub.log")"
th_assert_eq "$(printf '%s\n' '|EVENT VM 0/ACTIVE/MIGRATE |' '|EVENT STATE VM/ACTIVE/MIGRATE/0 |' \
	'|EVENT VM 0/ACTIVE/RUNNING |' '|EVENT STATE VM/ACTIVE/RUNNING/0 |')" "$(cat "$TH_TMP/ev/keys")" "event keys"
th_assert_match '<REMOTE_HOST>host1</REMOTE_HOST>' "$(cat "$TH_TMP/ev/003.xml")" "RUNNING on host1"

# up again is a no-op; up with other numbers is refused
t0=$(date +%s)
out=$("$lab" up --hosts 2 --vms 1 2>&1)
th_assert_match 'already up \(2 hosts, 1 VMs\)' "$out" "second up"
[ $(($(date +%s) - t0)) -le 5 ] || th_fail "second up took $(($(date +%s) - t0)) s"
out=$("$lab" up --hosts 3 2>&1) && th_fail "up with other numbers accepted"
th_assert_match 'is up in .*: run themis-lab down first' "$out" "other numbers message"

"$lab" down
nothing_left "down"
"$lab" down
nothing_left "second down"
