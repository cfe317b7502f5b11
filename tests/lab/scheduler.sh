#!/bin/bash
# scheduler.sh — themis-lab scheduler migrates VMs on its own through any OpenNebula endpoint
# ($ONE_XMLRPC, $ONE_AUTH; here themis-one with the sim backend): one line per request, --vm
# ping-pongs one VM between the hosts, without --vm it takes the VMs in turn; every migration it
# starts is published as oned's events (a pyzmq subscriber counts them) and is in one.vm.info's
# history (read with Python's xmlrpc.client); a request the endpoint refuses is printed with
# OpenNebula's message and makes the exit status 1; bad options are refused by name.
# timeout: 120
: "${top_srcdir:?run through make check}"
# shellcheck source=../common/lib.sh
. "$top_srcdir/tests/common/lib.sh"
th_require_cmd curl curl
th_require_cmd xmllint libxml2-utils
PY=${THEMIS_PYTHON:-/usr/bin/python3}
"$PY" -c 'import zmq, xmlrpc.client' 2>/dev/null || th_error "$PY cannot import zmq: install python3-zmq"

lab="$top_builddir/lab/themis-lab"
port=$(th_free_port)
eport=$(th_free_port)
[ "$eport" != "$port" ] || eport=$((port + 1))
url="http://127.0.0.1:$port/RPC2"
events="tcp://127.0.0.1:$eport"
S="oneadmin:secret"
printf '%s\n' "$S" >"$TH_TMP/one_auth"
export ONE_XMLRPC="$url" ONE_AUTH="$TH_TMP/one_auth" THEMIS_LAB_DIR="$TH_TMP/nolab"
th_spawn one "$top_builddir/lab/themis-one" --listen "127.0.0.1:$port" --auth "$S" \
	--state "$TH_TMP/one" --backend sim --hosts 2 --vms 2 --sim-time 300 --lcm-delay 50 \
	--events "$events"
th_wait_for 10 curl -s -o /dev/null "$url"

py() { ONE_PY_DOC="$TH_TMP/doc" "$PY" "$top_srcdir/tests/lab/one-py.py" "$url" "$S" "$@" >/dev/null; }
x() { xmllint --xpath "$2" "$1"; }
stamp='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z'

# --- bad options
out=$("$lab" scheduler 2>&1) && th_fail "scheduler without --every accepted"
th_assert_match 'scheduler: --every S \(seconds > 0\) is required' "$out" "no --every"
out=$("$lab" scheduler --every 0 2>&1) && th_fail "--every 0 accepted"
th_assert_match 'scheduler: --every S \(seconds > 0\) is required' "$out" "--every 0"
out=$("$lab" scheduler --every 1 --count x 2>&1) && th_fail "--count x accepted"
th_assert_match 'count x: a number' "$out" "--count x"
out=$("$lab" scheduler --every 1 --count 1 --vm vm9 2>&1) && th_fail "--vm vm9 accepted"
th_assert_match 'no VM vm9 in one.vmpool.info' "$out" "--vm vm9"
out=$(env -u ONE_XMLRPC "$lab" scheduler --every 1 --count 1 2>&1) && th_fail "no endpoint accepted"
th_assert_match 'the lab is down .* and ONE_XMLRPC is not set' "$out" "no endpoint"

# --- vm1 three times: host1 -> host0 -> host1 -> host0, each migration seen as 4 events
sub=''
th_spawn sub "$PY" "$top_srcdir/tests/lab/hook-sub.py" "$events" "$TH_TMP/ev" 12 30
th_wait_for 10 test -f "$TH_TMP/ev/ready"
"$lab" scheduler --every 1 --vm vm1 --count 3 >"$TH_TMP/out" || th_fail "scheduler: $(cat "$TH_TMP/out")"
th_assert_eq 3 "$(wc -l <"$TH_TMP/out")" "lines of three requests"
th_assert_match "^$stamp migrate vm1 \(1\) host1 -> host0: accepted$" "$(sed -n 1p "$TH_TMP/out")" "request 1"
th_assert_match "^$stamp migrate vm1 \(1\) host0 -> host1: accepted$" "$(sed -n 2p "$TH_TMP/out")" "request 2"
th_assert_match "^$stamp migrate vm1 \(1\) host1 -> host0: accepted$" "$(sed -n 3p "$TH_TMP/out")" "request 3"
wait "$sub" || th_fail "subscriber: $(cat "$TH_TMP/spawn.sub.log")"
for _ in 1 2 3; do printf '%s\n' '|EVENT VM 1/ACTIVE/MIGRATE |' '|EVENT STATE VM/ACTIVE/MIGRATE/1 |' \
	'|EVENT VM 1/ACTIVE/RUNNING |' '|EVENT STATE VM/ACTIVE/RUNNING/1 |'; done >"$TH_TMP/expected"
diff -u "$TH_TMP/expected" "$TH_TMP/ev/keys" >&2 || th_fail "event keys of three migrations differ"
py one.vm.info i:1
th_assert_eq "4 1 0 1 0 2 2 2" "$(x "$TH_TMP/doc" 'concat(count(/VM/HISTORY_RECORDS/HISTORY), " ",
	/VM/HISTORY_RECORDS/HISTORY[1]/HID, " ", /VM/HISTORY_RECORDS/HISTORY[2]/HID, " ",
	/VM/HISTORY_RECORDS/HISTORY[3]/HID, " ", /VM/HISTORY_RECORDS/HISTORY[4]/HID, " ",
	/VM/HISTORY_RECORDS/HISTORY[1]/ACTION, " ", /VM/HISTORY_RECORDS/HISTORY[2]/ACTION, " ",
	/VM/HISTORY_RECORDS/HISTORY[3]/ACTION)')" "vm1 records: hosts and live-migrate actions"

# --- without --vm the VMs take turns (vm1 is on host0 now, like vm0)
"$lab" scheduler --every 1 --count 2 >"$TH_TMP/out" || th_fail "scheduler: $(cat "$TH_TMP/out")"
th_assert_match "^$stamp migrate vm0 \(0\) host0 -> host1: accepted$" "$(sed -n 1p "$TH_TMP/out")" "turn 1"
th_assert_match "^$stamp migrate vm1 \(1\) host0 -> host1: accepted$" "$(sed -n 2p "$TH_TMP/out")" "turn 2"
th_assert_eq 2 "$(wc -l <"$TH_TMP/out")" "lines of two requests"

# --- a slowed migration is still in MIGRATE at the next request: refused, exit status 1
sleep 1
echo "slow 2000" >"$TH_TMP/one/fault.0"
rc=0
"$lab" scheduler --every 0.5 --vm 0 --count 2 >"$TH_TMP/out" || rc=$?
th_assert_eq 1 "$rc" "exit status with a refused request"
th_assert_match "^$stamp migrate vm0 \(0\) host1 -> host0: accepted$" "$(sed -n 1p "$TH_TMP/out")" "slowed request"
th_assert_match "^$stamp migrate vm0 \(0\) host0 -> host1: refused: \[one.vm.migrate\] Migrate action is not available for state MIGRATE$" \
	"$(sed -n 2p "$TH_TMP/out")" "refused request"
th_log "all scheduler checks passed"
