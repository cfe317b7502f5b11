#!/bin/bash
# lab-lifecycle.sh — themis-lab up is idempotent and recovers from its own crash; down removes
# everything also after a crash of up, and can run again. Bad options are refused by name.
# timeout: 600
: "${top_srcdir:?run through make check}"
# shellcheck source=../common/lib.sh
. "$top_srcdir/tests/common/lib.sh"
th_require_root
th_require_cmd qemu-system-x86_64 qemu-system-x86
[ -x "$top_builddir/agent/themis-agent" ] || th_error "agent/themis-agent not built"

lab="$top_builddir/lab/themis-lab"
export THEMIS_LAB_DIR="$TH_TMP/lab" THEMIS_LAB_PREFIX="$TH_TEST_ID-lab" THEMIS_LAB_ACCEL=tcg
th_on_exit "$lab" down

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
