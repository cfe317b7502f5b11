#!/bin/bash
# hook-events.sh — themis-one --events publishes oned's hook-manager events, checked with clients
# nobody here wrote: Python's xmlrpc.client reads one.vm.info, one.vmpool.info and
# one.hostpool.info and starts the migrations, a pyzmq subscriber (prefixes "EVENT STATE VM/" and
# "EVENT VM ") receives both keys of every state change with the VM's ID, each payload the base64
# of a HOOK_MESSAGE that validates against hook-message-state.xsd (xmllint --schema), whose
# RESOURCE_ID, STATE and LCM_STATE match the key and whose <VM> is one.vm.info's document with the
# new history record. Live migration: MIGRATE, RUNNING. A failure injected with themis-lab fault:
# MIGRATE, RUNNING with the 3-record rollback and USER_TEMPLATE/ERROR. A loss: MIGRATE, RUNNING,
# POWEROFF; resume: BOOT_POWEROFF, RUNNING.
# timeout: 120
: "${top_srcdir:?run through make check}"
# shellcheck source=../common/lib.sh
. "$top_srcdir/tests/common/lib.sh"
th_require_cmd curl curl
th_require_cmd xmllint libxml2-utils
PY=${THEMIS_PYTHON:-/usr/bin/python3}
"$PY" -c 'import zmq, xmlrpc.client' 2>/dev/null || th_error "$PY cannot import zmq: install python3-zmq"

xsd="$top_srcdir/tests/lab/hook-message-state.xsd"
port=$(th_free_port)
eport=$(th_free_port)
[ "$eport" != "$port" ] || eport=$((port + 1))
url="http://127.0.0.1:$port/RPC2"
events="tcp://127.0.0.1:$eport"
S="oneadmin:secret"
# a lab directory of its own, so that themis-lab fault writes where this endpoint reads
export THEMIS_LAB_DIR="$TH_TMP/lab"
mkdir -p "$THEMIS_LAB_DIR/one"
printf 'PREFIX=%s\nHOSTS=3\nVMS=2\n' "$TH_TEST_ID" >"$THEMIS_LAB_DIR/config"
th_spawn one "$top_builddir/lab/themis-one" --listen "127.0.0.1:$port" --auth "$S" \
	--state "$THEMIS_LAB_DIR/one" --backend sim --hosts 3 --vms 2 --sim-time 1200 \
	--lcm-delay 200 --events "$events" --verbose
th_wait_for 10 curl -s -o /dev/null "$url"

# py METHOD ARG...: Python's xmlrpc.client; the document of an info call lands in $TH_TMP/doc
py() { ONE_PY_DOC="$TH_TMP/doc" "$PY" "$top_srcdir/tests/lab/one-py.py" "$url" "$S" "$@"; }
x() { xmllint --xpath "$2" "$1"; }
# sub NAME COUNT: a subscriber taking COUNT messages into $TH_TMP/NAME; waits until it listens
sub() {
	th_spawn "sub_$1" "$PY" "$top_srcdir/tests/lab/hook-sub.py" "$events" "$TH_TMP/$1" "$2" 30
	th_wait_for 10 test -f "$TH_TMP/$1/ready"
}
sub_wait() { # sub_wait NAME: the subscriber NAME got all its messages
	local pid="sub_$1"
	wait "${!pid}" || th_fail "subscriber $1: $(cat "$TH_TMP/spawn.sub_$1.log")"
}
keys_are() { # keys_are NAME KEY... (without the trailing space: it is added)
	local k
	for k in "${@:2}"; do printf '|%s |\n' "$k"; done >"$TH_TMP/$1.expected"
	diff -u "$TH_TMP/$1.expected" "$TH_TMP/$1/keys" >&2 || th_fail "$1: keys differ"
}
# event NAME N ID STATE LCM STATE_NUM LCM_NUM: message N is valid and says what its key says
event() {
	local f
	f="$TH_TMP/$1/$(printf '%03d' "$2").xml"
	xmllint --noout --schema "$xsd" "$f" 2>"$TH_TMP/xmllint.log" ||
		th_fail "$1 message $2 does not validate: $(cat "$TH_TMP/xmllint.log")"
	th_assert_eq "STATE VM $3 $4 $5" "$(x "$f" 'concat(/HOOK_MESSAGE/HOOK_TYPE, " ",
		/HOOK_MESSAGE/HOOK_OBJECT, " ", /HOOK_MESSAGE/RESOURCE_ID, " ", /HOOK_MESSAGE/STATE,
		" ", /HOOK_MESSAGE/LCM_STATE)')" "$1 message $2 head"
	th_assert_eq "$3 $6 $7" "$(x "$f" 'concat(/HOOK_MESSAGE/VM/ID, " ", /HOOK_MESSAGE/VM/STATE,
		" ", /HOOK_MESSAGE/VM/LCM_STATE)')" "$1 message $2 VM"
}
# both messages of one change carry the same payload
same() { cmp -s "$TH_TMP/$1/$2.xml" "$TH_TMP/$1/$3.xml" || th_fail "$1: payloads $2 and $3 differ"; }
hist() { x "$1" "string(/HOOK_MESSAGE/VM/HISTORY_RECORDS/HISTORY[SEQ=$2]/$3)"; }
nhist() { x "$1" 'count(/HOOK_MESSAGE/VM/HISTORY_RECORDS/HISTORY)'; }

# --- the three read methods through xmlrpc.client
out=$(py one.hostpool.info)
th_assert_eq 1 "$(head -n 1 <<<"$out")" "hostpool.info success"
th_assert_eq 3 "$(x "$TH_TMP/doc" 'count(/HOST_POOL/HOST)')" "hosts"
th_assert_eq "0 1 0" "$(x "$TH_TMP/doc" 'concat(/HOST_POOL/HOST[NAME="host0"]/VMS, " ",
	/HOST_POOL/HOST[NAME="host1"]/VMS, " ", count(/HOST_POOL/HOST[NAME="host2"]/VMS/ID))')" \
	"VM IDs on host0, host1, VMs on host2"
out=$(py one.vmpool.info i:-2 i:-1 i:-1 i:-1)
th_assert_eq 1 "$(head -n 1 <<<"$out")" "vmpool.info success"
th_assert_eq "vm0 0 vm1 1" "$(x "$TH_TMP/doc" 'concat(/VM_POOL/VM[1]/NAME, " ",
	/VM_POOL/VM[1]/HISTORY_RECORDS/HISTORY/HID, " ", /VM_POOL/VM[2]/NAME, " ",
	/VM_POOL/VM[2]/HISTORY_RECORDS/HISTORY/HID)')" "vmpool names and hosts"
out=$(py one.vm.info i:0)
th_assert_eq 1 "$(head -n 1 <<<"$out")" "vm.info success"
th_assert_eq "3 3 1" "$(x "$TH_TMP/doc" 'concat(/VM/STATE, " ", /VM/LCM_STATE, " ",
	count(/VM/HISTORY_RECORDS/HISTORY))')" "vm0 before"
out=$(py one.vm.info i:7)
th_assert_eq $'0\n[one.vm.info] Error getting virtual machine [7].\n1024\n7\n-1' "$out" \
	"vm.info failure array (with its i8)"

# --- live migration of vm0 host0 -> host1, started by xmlrpc.client
sub live 4
th_assert_eq $'1\n0\n0' "$(py one.vm.migrate i:0 i:1 b:1)" "migrate answer"
sub_wait live
keys_are live "EVENT VM 0/ACTIVE/MIGRATE" "EVENT STATE VM/ACTIVE/MIGRATE/0" \
	"EVENT VM 0/ACTIVE/RUNNING" "EVENT STATE VM/ACTIVE/RUNNING/0"
event live 1 0 ACTIVE MIGRATE 3 4
event live 2 0 ACTIVE MIGRATE 3 4
event live 3 0 ACTIVE RUNNING 3 3
event live 4 0 ACTIVE RUNNING 3 3
same live 001 002
same live 003 004
f="$TH_TMP/live/001.xml"
th_assert_eq 2 "$(nhist "$f")" "MIGRATE: records"
th_assert_eq "1 0" "$(hist "$f" 1 HID) $(hist "$f" 1 RSTIME)" "MIGRATE: new record on host1, not running yet"
t0=$(hist "$f" 1 STIME)
[ "$t0" -gt 0 ] || th_fail "MIGRATE: new record without STIME"
th_assert_eq 2 "$(hist "$f" 0 ACTION)" "MIGRATE: source record ACTION live-migrate"
th_assert_eq host1 "$(x "$f" 'string(/HOOK_MESSAGE/REMOTE_HOST)')" "MIGRATE: REMOTE_HOST"
f="$TH_TMP/live/003.xml"
th_assert_eq 2 "$(nhist "$f")" "RUNNING: records"
t1=$(hist "$f" 1 RSTIME)
th_assert_near 1 "$((t1 - t0))" 1 "RUNNING: migration seconds (RSTIME - STIME)"
th_assert_eq "$t1 $t1 0" "$(hist "$f" 0 ETIME) $(hist "$f" 0 RETIME) $(hist "$f" 1 ETIME)" \
	"RUNNING: source closed at RSTIME, new record open"
# the RUNNING payload is exactly the hook message around one.vm.info's document
py one.vm.info i:0 >/dev/null
th_assert_eq "<HOOK_MESSAGE><HOOK_TYPE>STATE</HOOK_TYPE><HOOK_OBJECT>VM</HOOK_OBJECT><STATE>ACTIVE</STATE><LCM_STATE>RUNNING</LCM_STATE><RESOURCE_ID>0</RESOURCE_ID><REMOTE_HOST>host1</REMOTE_HOST>$(cat "$TH_TMP/doc")</HOOK_MESSAGE>" \
	"$(cat "$f")" "RUNNING payload = HOOK_MESSAGE around one.vm.info"

# --- failure injected for the next migration of vm1, started by xmlrpc.client: rollback
"$top_builddir/lab/themis-lab" fault vm1 fail
sub fail 4
th_assert_eq $'1\n1\n0' "$(py one.vm.migrate i:1 i:2 b:1 b:0 i:-1 i:0)" "migrate vm1 answer"
sub_wait fail
keys_are fail "EVENT VM 1/ACTIVE/MIGRATE" "EVENT STATE VM/ACTIVE/MIGRATE/1" \
	"EVENT VM 1/ACTIVE/RUNNING" "EVENT STATE VM/ACTIVE/RUNNING/1"
for i in 1 2; do event fail "$i" 1 ACTIVE MIGRATE 3 4; done
for i in 3 4; do event fail "$i" 1 ACTIVE RUNNING 3 3; done
same fail 003 004
f="$TH_TMP/fail/003.xml"
th_assert_eq 3 "$(nhist "$f")" "rollback: records"
te=$(hist "$f" 1 ETIME)
[ "$te" -gt 0 ] || th_fail "rollback: failed record not closed"
th_assert_eq "2 0" "$(hist "$f" 1 HID) $(hist "$f" 1 RSTIME)" "rollback: failed record on host2 never ran"
th_assert_eq "$te $te" "$(hist "$f" 0 ETIME) $(hist "$f" 0 RETIME)" "rollback: source record closed"
th_assert_eq "1 $te $te 0" "$(hist "$f" 2 HID) $(hist "$f" 2 STIME) $(hist "$f" 2 RSTIME) $(hist "$f" 2 ETIME)" \
	"rollback: copy of the source record running"
th_assert_eq host1 "$(x "$f" 'string(/HOOK_MESSAGE/REMOTE_HOST)')" "rollback: REMOTE_HOST"
th_assert_match '^[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} [0-9]{4}: MIGRATE: sim: injected failure migrating vm1 from host1 to host2$' \
	"$(x "$f" 'string(/HOOK_MESSAGE/VM/USER_TEMPLATE/ERROR)')" "rollback: USER_TEMPLATE/ERROR"
[ ! -e "$THEMIS_LAB_DIR/one/fault.1" ] || th_fail "fault not consumed"

# --- loss, then resume
"$top_builddir/lab/themis-lab" fault vm1 lose
sub lose 10
th_assert_eq $'1\n1\n0' "$(py one.vm.migrate i:1 i:0 b:1)" "migrate vm1 to host0 answer"
lines() { [ "$(wc -l <"$TH_TMP/lose/keys")" -ge "$1" ]; }
th_wait_for 15 lines 6
th_assert_eq $'1\n1\n0' "$(py one.vm.action s:resume i:1)" "resume answer"
sub_wait lose
keys_are lose "EVENT VM 1/ACTIVE/MIGRATE" "EVENT STATE VM/ACTIVE/MIGRATE/1" \
	"EVENT VM 1/ACTIVE/RUNNING" "EVENT STATE VM/ACTIVE/RUNNING/1" \
	"EVENT VM 1/POWEROFF/LCM_INIT" "EVENT STATE VM/POWEROFF/LCM_INIT/1" \
	"EVENT VM 1/ACTIVE/BOOT_POWEROFF" "EVENT STATE VM/ACTIVE/BOOT_POWEROFF/1" \
	"EVENT VM 1/ACTIVE/RUNNING" "EVENT STATE VM/ACTIVE/RUNNING/1"
event lose 1 1 ACTIVE MIGRATE 3 4
event lose 3 1 ACTIVE RUNNING 3 3
event lose 5 1 POWEROFF LCM_INIT 8 0
event lose 6 1 POWEROFF LCM_INIT 8 0
event lose 7 1 ACTIVE BOOT_POWEROFF 3 20
event lose 9 1 ACTIVE RUNNING 3 3
th_assert_match 'MIGRATE: sim: injected loss of vm1 during migration to host0$' \
	"$(x "$TH_TMP/lose/005.xml" 'string(/HOOK_MESSAGE/VM/USER_TEMPLATE/ERROR)')" "loss: ERROR"
th_log "all event checks passed"
