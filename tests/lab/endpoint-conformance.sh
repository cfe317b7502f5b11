#!/bin/bash
# endpoint-conformance.sh — themis-one (sim backend) answers every method like oned: success
# and failure arrays, faults for arity/type/unknown method, the transient window after
# one.vm.migrate, MIGRATE, success records, the 3-record rollback with USER_TEMPLATE/ERROR, a
# hung migration that only recover ends, a lost VM and resume, a slowed migration.
# timeout: 180
: "${top_srcdir:?run through make check}"
# shellcheck source=../common/lib.sh
. "$top_srcdir/tests/common/lib.sh"
# shellcheck source=rpc.sh
. "$top_srcdir/tests/lab/rpc.sh"
th_require_cmd curl curl

port=$(th_free_port)
url="http://127.0.0.1:$port/RPC2"
st="$TH_TMP/state"
S="s:oneadmin:secret"
th_spawn one "$top_builddir/lab/themis-one" --listen "127.0.0.1:$port" --auth oneadmin:secret \
	--state "$st" --backend sim --hosts 3 --vms 2 --sim-time 2000 --lcm-delay 1500 --verbose
th_wait_for 10 curl -s -o /dev/null "$url"

ok_int() { printf '<array><data><value><boolean>1</boolean></value><value><i4>%s</i4></value><value><i4>0</i4></value></data></array>' "$1"; }
fail_arr() { printf '<array><data><value><boolean>0</boolean></value><value><string>%s</string></value><value><i4>%s</i4></value><value><i4>%s</i4></value><value><i8>-1</i8></value></data></array>' "$1" "$2" "$3"; }
fault() { printf '<fault><value><struct><member><name>faultCode</name><value><i4>%s</i4></value></member><member><name>faultString</name><value><string>%s</string></value></member></struct></value></fault>' "$1" "$2"; }
expect() { # expect WHAT RESPONSE FRAGMENT
	case $2 in *"$3"*) ;; *) th_fail "$1: expected $3 in $2" ;; esac
}
vm() { one_doc "$(one_call "$url" one.vm.info "$S" "i:$1")"; }
lcm_is() { [ "$(one_field "$(vm "$1")" LCM_STATE)" = "$2" ]; }
state_is() { [ "$(one_field "$(vm "$1")" STATE)" = "$2" ]; }

# --- every method, success shapes
r=$(one_call "$url" one.system.version "$S")
expect version "$r" '<array><data><value><boolean>1</boolean></value><value><string>6.10.0</string></value><value><i4>0</i4></value></data></array>'
d=$(vm 0)
th_assert_eq 3 "$(one_field "$d" STATE)" "vm0 STATE"
th_assert_eq 3 "$(one_field "$d" LCM_STATE)" "vm0 LCM_STATE"
th_assert_eq host0 "$(one_hist "$d" 0 HOSTNAME)" "vm0 first host"
th_assert_eq 0 "$(one_hist "$d" 0 ETIME)" "vm0 record 0 open"
d=$(one_doc "$(one_call "$url" one.vm.info "$S" i:1 b:0)")
th_assert_eq host1 "$(one_hist "$d" 0 HOSTNAME)" "vm1 first host (decrypt flag accepted)"
d=$(one_doc "$(one_call "$url" one.vmpool.info "$S" i:-2 i:-1 i:-1 i:-1)")
expect vmpool "$d" '<VM_POOL><VM><ID>0</ID>'
expect vmpool "$d" '<NAME>vm1</NAME>'
d=$(one_doc "$(one_call "$url" one.vmpool.info "$S" i:-2 i:1 i:-1 i:-1)")
case $d in *'<NAME>vm0</NAME>'*) th_fail "vmpool range 1..: vm0 listed" ;; esac
d=$(one_doc "$(one_call "$url" one.hostpool.info "$S")")
expect hostpool "$d" '<HOST><ID>2</ID><NAME>host2</NAME><STATE>2</STATE>'
d=$(one_doc "$(one_call "$url" one.host.info "$S" i:1)")
expect host.info "$d" '<VMS><ID>1</ID></VMS>'

# --- error arrays
for m in one.system.version one.hostpool.info; do
	r=$(one_call "$url" "$m" s:oneadmin:wrong)
	expect "$m bad password" "$r" "$(fail_arr "[$m] User couldn't be authenticated, aborting call." 256 -1)"
done
r=$(one_call "$url" one.vm.info s:nobody:secret i:0)
expect "wrong user" "$r" "$(fail_arr "[one.vm.info] User couldn't be authenticated, aborting call." 256 -1)"
r=$(one_call "$url" one.vm.info "$S" i:7)
expect "vm.info missing" "$r" "$(fail_arr '[one.vm.info] Error getting virtual machine [7].' 1024 7)"
r=$(one_call "$url" one.host.info "$S" i:9)
expect "host.info missing" "$r" "$(fail_arr '[one.host.info] Error getting host [9].' 1024 9)"
r=$(one_call "$url" one.vmpool.info "$S" i:-5 i:-1 i:-1 i:-1)
expect "vmpool filter" "$r" "$(fail_arr '[one.vmpool.info] Incorrect filter_flag' 4096 -1)"
r=$(one_call "$url" one.vmpool.info "$S" i:-2 i:-1 i:-1 i:12)
expect "vmpool state" "$r" "$(fail_arr '[one.vmpool.info] Incorrect filter_flag, state' 4096 -1)"
r=$(one_call "$url" one.vm.migrate "$S" i:0 i:9 b:1)
expect "migrate unknown host" "$r" "$(fail_arr '[one.vm.migrate] Error getting host [9].' 1024 9)"
r=$(one_call "$url" one.vm.migrate "$S" i:9 i:1 b:1)
expect "migrate unknown vm" "$r" "$(fail_arr '[one.vm.migrate] Error getting virtual machine [9].' 1024 9)"
r=$(one_call "$url" one.vm.migrate "$S" i:0 i:1 b:1 b:0 i:4)
expect "migrate unknown ds" "$r" "$(fail_arr '[one.vm.migrate] Error getting datastore [4].' 1024 4)"
r=$(one_call "$url" one.vm.migrate "$S" i:0 i:0 b:1)
expect "migrate same host" "$r" "$(fail_arr '[one.vm.migrate] VM is already running on host [0]' 2048 -1)"
r=$(one_call "$url" one.vm.action "$S" s:dance i:0)
expect "action unknown" "$r" "$(fail_arr '[one.vm.action] Action "dance" is not supported' 2048 -1)"
r=$(one_call "$url" one.vm.action "$S" s:resume i:0)
expect "resume running" "$r" "$(fail_arr '[one.vm.action] Error performing action "resume": This action is not available for state RUNNING' 2048 -1)"
r=$(one_call "$url" one.vm.recover "$S" i:0 i:1)
expect "recover running" "$r" "$(fail_arr '[one.vm.recover] Recover action is not available for state RUNNING' 2048 -1)"

# --- XML-RPC faults: arity, types, unknown methods (authentication comes first)
r=$(one_call "$url" one.vm.info "$S")
expect "vm.info arity" "$r" "$(fault -501 'Not enough parameters')"
r=$(one_call "$url" one.vm.migrate "$S" i:0 i:1)
expect "migrate arity" "$r" "$(fault -501 'Not enough parameters')"
r=$(one_call "$url" one.vm.migrate "$S" i:0 i:1 i:1)
expect "migrate live as int" "$r" "$(fault -501 'Parameter that is supposed to be boolean is not')"
r=$(one_call "$url" one.vm.migrate "$S" i:0 i:1 b:1 i:0)
expect "migrate enforce as int" "$r" "$(fault -501 'Parameter that is supposed to be boolean is not')"
r=$(one_call "$url" one.vm.info "$S" s:0)
expect "vm.info id as string" "$r" "$(fault -501 'Parameter that is supposed to be integer is not')"
r=$(one_call "$url" one.vm.info "$S" I:0)
expect "vm.info id as i8" "$r" "$(fault -501 'Parameter that is supposed to be integer is not')"
r=$(one_call "$url" one.vm.action "$S" i:0 s:resume)
expect "action order" "$r" "$(fault -501 'Parameter that is supposed to be a string is not')"
r=$(one_call "$url" one.system.version i:1)
expect "session as int" "$r" "$(fault -501 'Parameter that is supposed to be a string is not')"
r=$(one_call "$url" one.vm.undefined "$S")
expect "unknown method" "$r" "<fault><value><struct><member><name>faultCode</name><value><i4>-506</i4></value>"
r=$(one_call "$url" one.vm.info "$S" i:0 b:0 s:extra)
expect "extra parameters ignored" "$r" '<boolean>1</boolean>'

# --- live migration: transient window, MIGRATE, success
r=$(one_call "$url" one.vm.migrate "$S" i:0 i:1 b:1)
expect "migrate accepted" "$r" "$(ok_int 0)"
d=$(vm 0)
th_assert_eq 3 "$(one_field "$d" LCM_STATE)" "transient window LCM_STATE"
th_assert_eq 1 "$(one_hist "$d" 1 HID)" "transient window: record 1 on the target"
th_assert_eq 0 "$(one_hist "$d" 1 STIME)" "transient window: STIME 0"
r=$(one_call "$url" one.vm.migrate "$S" i:0 i:2 b:1)
expect "migrate in window" "$r" "$(fail_arr '[one.vm.migrate] Migrate action is not available for state RUNNING' 2048 -1)"
th_wait_for 10 lcm_is 0 4
d=$(vm 0)
th_assert_eq 2 "$(one_hist "$d" 0 ACTION)" "record 0 ACTION live-migrate"
th_assert_eq 0 "$(one_hist "$d" 0 UID)" "record 0 UID of the requester"
th_assert_match '^[0-9]+$' "$(one_hist "$d" 0 REQUEST_ID)" "record 0 REQUEST_ID"
th_assert_eq -1 "$(one_hist "$d" 1 REQUEST_ID)" "record 1 REQUEST_ID"
stime=$(one_hist "$d" 1 STIME)
[ "$stime" -gt 0 ] || th_fail "MIGRATE without STIME"
r=$(one_call "$url" one.vm.migrate "$S" i:0 i:2 b:1 b:0 i:-1 i:0)
expect "migrate during MIGRATE" "$r" "$(fail_arr '[one.vm.migrate] Migrate action is not available for state MIGRATE' 2048 -1)"
th_wait_for 10 lcm_is 0 3
d=$(vm 0)
rstime=$(one_hist "$d" 1 RSTIME)
th_assert_eq "$rstime" "$(one_hist "$d" 0 ETIME)" "record 0 ETIME = record 1 RSTIME"
th_assert_eq "$rstime" "$(one_hist "$d" 0 RETIME)" "record 0 RETIME = record 1 RSTIME"
th_assert_eq 0 "$(one_hist "$d" 1 ETIME)" "record 1 open"
th_assert_near 2 "$((rstime - stime))" 1 "migration seconds"
d=$(one_doc "$(one_call "$url" one.host.info "$S" i:1)")
expect "host1 lists both VMs" "$d" '<VMS><ID>0</ID><ID>1</ID></VMS>'

# --- injected failure: 3-record rollback and USER_TEMPLATE/ERROR (7 parameters)
echo fail >"$st/fault"
r=$(one_call "$url" one.vm.migrate "$S" i:0 i:0 b:1 b:0 i:-1 i:0)
expect "migrate back" "$r" "$(ok_int 0)"
th_wait_for 10 lcm_is 0 4
th_wait_for 10 lcm_is 0 3
d=$(vm 0)
t1=$(one_hist "$d" 2 ETIME)
[ "$t1" -gt 0 ] || th_fail "failed record not closed"
th_assert_eq 0 "$(one_hist "$d" 2 RSTIME)" "failed record never ran"
th_assert_eq "$t1" "$(one_hist "$d" 1 ETIME)" "source record closed at failure"
th_assert_eq "$t1" "$(one_hist "$d" 1 RETIME)" "source record RETIME at failure"
th_assert_eq 1 "$(one_hist "$d" 3 HID)" "rollback record on the source"
th_assert_eq "$t1" "$(one_hist "$d" 3 STIME)" "rollback record STIME"
th_assert_eq "$t1" "$(one_hist "$d" 3 RSTIME)" "rollback record RSTIME"
th_assert_eq 0 "$(one_hist "$d" 3 ETIME)" "rollback record open"
th_assert_match '<USER_TEMPLATE><ERROR><!\[CDATA\[[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} [0-9]{4}: MIGRATE: sim: injected failure migrating vm0 from host1 to host0\]\]></ERROR><THEMIS_TYPE><!\[CDATA\[VM\]\]></THEMIS_TYPE></USER_TEMPLATE>' "$d" "USER_TEMPLATE/ERROR"
[ ! -e "$st/fault" ] || th_fail "fault file not consumed"

# --- hang: MIGRATE outlasts a client timeout; recover(failure) rolls back
echo hang >"$st/fault.1"
r=$(one_call "$url" one.vm.migrate "$S" i:1 i:2 b:1)
expect "migrate vm1" "$r" "$(ok_int 1)"
th_wait_for 10 lcm_is 1 4
deadline=$(($(date +%s) + 5))
while [ "$(date +%s)" -lt "$deadline" ]; do
	lcm_is 1 4 || th_fail "hung migration left MIGRATE on its own"
	sleep 0.5
done
r=$(one_call "$url" one.vm.recover "$S" i:1 i:0)
expect "recover failure" "$r" "$(ok_int 1)"
d=$(vm 1)
th_assert_eq 3 "$(one_field "$d" LCM_STATE)" "after recover LCM"
th_assert_eq 1 "$(one_hist "$d" 2 HID)" "recover rollback record on the source"
th_assert_eq 0 "$(one_hist "$d" 1 RSTIME)" "recovered record never ran"

# --- lose: POWEROFF, then resume boots it again
echo lose >"$st/fault"
r=$(one_call "$url" one.vm.migrate "$S" i:1 i:0 b:1)
expect "migrate vm1 again" "$r" "$(ok_int 1)"
th_wait_for 15 state_is 1 8
d=$(vm 1)
th_assert_eq 0 "$(one_field "$d" LCM_STATE)" "lost VM LCM"
expect "lost VM error" "$d" 'MIGRATE: sim: injected loss of vm1 during migration to host0'
r=$(one_call "$url" one.vm.migrate "$S" i:1 i:2 b:1)
expect "migrate poweroff" "$r" "$(fail_arr '[one.vm.migrate] Migrate action is not available for state POWEROFF' 2048 -1)"
r=$(one_call "$url" one.vm.action "$S" s:resume i:1)
expect "resume" "$r" "$(ok_int 1)"
th_wait_for 10 lcm_is 1 3
th_assert_eq 3 "$(one_field "$(vm 1)" STATE)" "resumed STATE"

# --- slow: the migration takes 2 s longer
echo "slow 2000" >"$st/fault.0"
r=$(one_call "$url" one.vm.migrate "$S" i:0 i:2 b:1)
th_wait_for 10 lcm_is 0 4
th_wait_for 15 lcm_is 0 3
d=$(vm 0)
dur=$(($(one_hist "$d" 4 RSTIME) - $(one_hist "$d" 4 STIME)))
th_assert_near 4 "$dur" 1 "slowed migration seconds"
# --- cold migration (live false): SAVE_MIGRATE, then RUNNING with ACTION 1 on the source record
r=$(one_call "$url" one.vm.migrate "$S" i:1 i:2 b:0 b:0 i:-1 i:0)
expect "cold migrate" "$r" "$(ok_int 1)"
th_wait_for 10 lcm_is 1 7
d=$(vm 1)
n=$(($(printf '%s' "$d" | grep -o '<HISTORY>' | wc -l) - 1))
th_assert_eq 1 "$(one_hist "$d" $((n - 1)) ACTION)" "cold: source record ACTION migrate"
th_assert_eq 1 "$(one_hist "$d" "$n" ACTION)" "cold: target record ACTION migrate"
th_wait_for 10 lcm_is 1 3
d=$(vm 1)
th_assert_eq 2 "$(one_hist "$d" "$n" HID)" "cold: target host"
th_assert_eq 0 "$(one_hist "$d" "$n" ACTION)" "cold: target ACTION cleared after boot"
[ "$(one_hist "$d" "$n" PSTIME)" -gt 0 ] || th_fail "cold: no PSTIME"
th_assert_eq "$(one_hist "$d" "$n" PETIME)" "$(one_hist "$d" "$n" RSTIME)" "cold: PETIME = RSTIME"
th_assert_eq "$(one_hist "$d" "$n" PSTIME)" "$(one_hist "$d" $((n - 1)) ETIME)" "cold: source closed at save"
th_log "all endpoint checks passed"
