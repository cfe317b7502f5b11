#!/bin/bash
# trigger-watch.sh — `themis-trigger watch` against the lab's OpenNebula-compatible endpoint
# (themis-one, simulated backend) and a real collectd with the themis plugin: migrations started
# by another XML-RPC client become closed sessions in the plugin's archive (four markers, origin
# observed, params {"live":true} from the history ACTION) — success, a failure with OpenNebula's ERROR, and one the watcher only learns of by a
# later poll (frozen meanwhile: all four markers at once). Then the event path alone (--poll 0):
# oned-shaped hook events published on ZeroMQ by a stand-in publisher, every state sent twice
# under both keys, with malformed and oversized messages among them: one session, the junk
# skipped and counted. Last, by default only VMs with THEMIS_TYPE=VM are watched, and `run`
# refuses a VM without it unless --force (vm1 is left unprepared).
# timeout: 200
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
# shellcheck source=tests/plugin/plugin-lib.sh
. "$top_srcdir/tests/plugin/plugin-lib.sh"
tp_require
th_require_cmd python3 python3

trig="$top_builddir/trigger/themis-trigger"
one="$top_builddir/lab/themis-one"
pub="$top_builddir/tests/trigger/hook-pub"
[ -x "$one" ] || th_error "$one not built (make -C lab)"
[ -x "$pub" ] || th_error "$pub not built (make -C tests/trigger check)"
listening() { ss -Htln "sport = :$1" | grep -q .; }

port=$(th_free_port)
state="$TH_TMP/one"
th_spawn one_pid "$one" --state "$state" --listen "127.0.0.1:$port" --auth oneadmin:s3cret \
	--hosts 2 --vms 2 --sim-time 1500 --lcm-delay 200 --unprepared 1
th_wait_for 20 listening "$port"
printf 'oneadmin:s3cret\n' >"$TH_TMP/one_auth"
chmod 600 "$TH_TMP/one_auth"
export ONE_XMLRPC="http://127.0.0.1:$port/RPC2" ONE_AUTH="$TH_TMP/one_auth"

# migrate VM HOST: one.vm.migrate from a client that is not themis-trigger
migrate() {
	python3 -c 'import sys, xmlrpc.client as x
r = x.ServerProxy(sys.argv[1]).one.vm.migrate("oneadmin:s3cret", int(sys.argv[2]), int(sys.argv[3]), True, False, -1, 0)
sys.exit(0 if r[0] else "migrate refused: %s" % r[1])' "$ONE_XMLRPC" "$1" "$2"
}
# finished VM HOST: RUNNING on HOST since a migration OpenNebula finished (RSTIME set)
finished() {
	python3 -c 'import re, sys, xmlrpc.client as x
d = x.ServerProxy(sys.argv[1]).one.vm.info("oneadmin:s3cret", int(sys.argv[2]))[1]
h = re.findall(r"<HISTORY>.*?</HISTORY>", d)[-1]
ok = "<LCM_STATE>3</LCM_STATE>" in d and "<HOSTNAME>%s</HOSTNAME>" % sys.argv[3] in h
sys.exit(0 if ok and not re.search(r"<RSTIME>0</RSTIME>", h) else 1)' "$ONE_XMLRPC" "$1" "$2"
}

# --- a real collectd with the plugin
cport=$(th_free_port)
printf '%s\n' "$TP_TOKEN" >"$TH_TMP/token"
chmod 600 "$TH_TMP/token"
tp_plugindir "$TH_TMP/plugins" logfile
{
	tp_conf_base edge collectd "$TH_TMP/plugins"
	cat <<CONF
LoadPlugin themis
<Plugin themis>
  Listen "127.0.0.1" "$cport"
  TokenFile "$TH_TMP/token"
  ArchiveDir "$TH_TMP/archive"
  SessionGrace 1
</Plugin>
CONF
} >"$TH_TMP/collectd.conf"
tp_start edge "$TH_TMP/collectd.conf"
tp_wait_health "$cport" edge

# --- the watcher: polls every second, no events
j="$TH_TMP/watch.jsonl"
"$trig" watch --all --events none --poll 1 --lead 5 --cooldown 1 --markers "$j" \
	--plugin-url "http://127.0.0.1:$cport" --token-file "$TH_TMP/token" \
	>"$TH_TMP/watch.out" 2>"$TH_TMP/watch.err" &
wpid=$!
th_on_exit kill -KILL "$wpid"
th_wait_for 20 grep -q 'watching VM vm1 (1)' "$TH_TMP/watch.err"
th_assert_match 'watching VM vm0 \(0\), RUNNING on host0' "$(cat "$TH_TMP/watch.err")" "vm0 tracked"
th_assert_match 'watching VM vm1 \(1\), RUNNING on host1' "$(cat "$TH_TMP/watch.err")" "vm1 tracked"

# closed VM N: prints the archive file of VM vmN's only session once the plugin closed it
closed() {
	local f
	f=$(printf '%s\n' "$TH_TMP/archive/vm$1"/*.json | sed -n "${2:-1}p")
	[ -n "$f" ] && [ "$(jq -r .closed_by "$f" 2>/dev/null)" = session-end ] && printf '%s\n' "$f"
}
# check_session FILE OUTCOME SRC DST: the archive of one observed session
check_session() {
	local f=$1
	th_assert_eq "session-start migration-start migration-end session-end" \
		"$(jq -r '[.markers[].event] | join(" ")' "$f")" "markers of $f"
	th_assert_eq "observed observed observed observed" \
		"$(jq -r '[.markers[].origin] | join(" ")' "$f")" "origins in $f"
	# cycle -1 (none): the marker as the trigger sent it, the session's own key null
	th_assert_eq "watch -1 $3 $4 null" \
		"$(jq -r '"\(.markers[0] | "\(.definition) \(.cycle) \(.src_host) \(.dst_host)") \(.cycle)"' "$f")" \
		"definition, cycle, hosts in $f"
	th_assert_eq "$2 $2" "$(jq -r '"\(.markers[2].outcome) \(.summary.outcome)"' "$f")" "outcome in $f"
	# session-start = STIME − lead (5 s), session-end = migration end + cool-down (1 s)
	th_assert_eq "5 1" "$(jq -r '"\(.markers[1].t - .markers[0].t) \(.markers[3].t - .markers[2].t)"' "$f")" \
		"lead and cool-down in $f"
	th_assert_eq true "$(jq -r '.summary.one_stime == (.markers[1].t | floor) and .summary.one_stime > 0' "$f")" \
		"OpenNebula's STIME in the summary of $f"
	# a live migrate (history ACTION live-migrate): the only parameter an observer knows
	th_assert_eq '{"live":true}' "$(jq -c '.markers[0].params' "$f")" "params in $f"
}

# 1. success
migrate 0 1
th_wait_for 30 closed 0
f=$(closed 0)
check_session "$f" success host0 host1
th_assert_eq true "$(jq -r '.summary.one_rstime == .markers[2].t and .summary.one_duration_s >= 1' "$f")" \
	"success ends at RSTIME"

# 2. an injected failure: rolled back, OpenNebula's ERROR as the message
echo fail >"$state/fault.1"
migrate 1 0
th_wait_for 30 closed 1
f=$(closed 1)
check_session "$f" failed host1 host0
th_assert_match '^[A-Z][a-z]{2} [A-Z][a-z]{2} .* [0-9]{4}: MIGRATE: .*injected failure' \
	"$(jq -r '.markers[2].message' "$f")" "failure message"
th_assert_eq true "$(jq -r '.summary.one_etime == .markers[2].t and .summary.one_rstime == 0' "$f")" \
	"failure ends at the destination record's ETIME (RSTIME unset)"

# 3. the watcher frozen through a whole migration: the next poll sees it finished
kill -STOP "$wpid"
migrate 0 0
th_wait_for 20 finished 0 host0
sleep 1.5 # past the cool-down: session-end is due as well
n0=$(wc -l <"$j")
kill -CONT "$wpid"
th_wait_for 30 closed 0 2
th_assert_eq 4 "$(($(wc -l <"$j") - n0))" "markers of the migration seen late"
check_session "$(closed 0 2)" success host1 host0
th_assert_eq 1 "$(tail -n 4 "$j" | jq -r .session | sort -u | wc -l)" "one session for the late migration"

# nothing twice: three sessions in all, each with four markers, and the log says so
th_assert_eq 12 "$(wc -l <"$j")" "markers in the journal"
th_assert_eq 3 "$(jq -r .session "$j" | sort -u | wc -l)" "sessions in the journal"
rc=0
kill -TERM "$wpid"
wait "$wpid" || rc=$?
th_assert_eq 0 "$rc" "exit status after SIGTERM"
err=$(cat "$TH_TMP/watch.err")
th_assert_eq 3 "$(grep -c 'session watch\..* opened: ' "$TH_TMP/watch.err")" "'opened' lines"
th_assert_eq "2 1" "$(grep -c 'closed: success' "$TH_TMP/watch.err") $(grep -c 'closed: failed$' "$TH_TMP/watch.err")" \
	"'closed' lines"
th_assert_match 'stopped: [0-9]+ polls, 0 events \(0 skipped\), 3 sessions opened, 3 closed' "$err" "last line"

# --- events only: a stand-in for oned's publisher, the watcher with --poll 0
# (--lead 1: the migration of section 3 started more than a second ago, so it stays history)
zport=$(th_free_port)
je="$TH_TMP/events.jsonl"
"$trig" watch --vm vm0 --events "tcp://127.0.0.1:$zport" --poll 0 --lead 1 --cooldown 1 \
	--markers "$je" >/dev/null 2>"$TH_TMP/events.err" &
epid=$!
th_on_exit kill -KILL "$epid"
th_wait_for 20 grep -q 'watching VM vm0 (0)' "$TH_TMP/events.err"
python3 - "$ONE_XMLRPC" "$pub" "tcp://127.0.0.1:$zport" <<'PY' || th_fail "event publisher failed"
import base64, re, subprocess, sys, time, xmlrpc.client
url, pub, zurl = sys.argv[1:4]
one = xmlrpc.client.ServerProxy(url)
auth = "oneadmin:s3cret"
p = subprocess.Popen([pub, zurl], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
assert p.stdout.readline().strip() == "ready"
STATE = {3: "ACTIVE", 8: "POWEROFF"}
LCM = {0: "LCM_INIT", 3: "RUNNING", 4: "MIGRATE"}

def send(line):
    p.stdin.write(line + "\n")
    p.stdin.flush()

def publish():
    # HookStateVM's message around the VM document, under both keys oned publishes, twice
    xml = one.one.vm.info(auth, 0)[1]
    st = STATE[int(re.search(r"<STATE>(\d+)</STATE>", xml).group(1))]
    lcm = LCM[int(re.search(r"<LCM_STATE>(\d+)</LCM_STATE>", xml).group(1))]
    msg = ("<HOOK_MESSAGE><HOOK_TYPE>STATE</HOOK_TYPE><HOOK_OBJECT>VM</HOOK_OBJECT>"
           "<STATE>%s</STATE><LCM_STATE>%s</LCM_STATE><RESOURCE_ID>0</RESOURCE_ID>%s"
           "</HOOK_MESSAGE>" % (st, lcm, xml))
    b = base64.b64encode(msg.encode()).decode()
    for _ in range(2):
        send("EVENT VM 0/%s/%s \t%s" % (st, lcm, b))
        send("EVENT STATE VM/%s/%s/0 \t%s" % (st, lcm, b))
    return xml, lcm

time.sleep(1.5)  # the subscriber connects (ZeroMQ's slow joiner)
send("EVENT VM 0/ACTIVE/RUNNING \t" + "A" * (2 * 1024 * 1024))  # over the 1 MiB bound
send("EVENT VM 0/ACTIVE/RUNNING \t!!!not-base64")
send("EVENT VM 0/ACTIVE/RUNNING ")  # one frame only
send("EVENT VM zz/ACTIVE/RUNNING \tAAAA")  # malformed key
send("EVENT HOST 1/ERROR/ \tAAAA")  # another object: not even delivered (subscription)
publish()
r = one.one.vm.migrate(auth, 0, 1, True, False, -1, 0)
assert r[0], r
seen_end = 0
for _ in range(200):
    time.sleep(0.1)
    xml, lcm = publish()
    last = re.findall(r"<HISTORY>.*?</HISTORY>", xml)[-1]
    if lcm == "RUNNING" and "<SEQ>3</SEQ>" in last and "<RSTIME>0</RSTIME>" not in last:
        seen_end += 1
        if seen_end == 15:
            break
p.stdin.close()
p.wait()
PY
has_end() { grep -q '"event":"session-end"' "$je"; }
th_wait_for 10 has_end
th_assert_eq "session-start migration-start migration-end session-end" \
	"$(jq -r .event "$je" | tr '\n' ' ' | sed 's/ $//')" "markers from events"
th_assert_eq "host0>host1 success observed" \
	"$(jq -r 'select(.event=="migration-end") | "\(.src_host)>\(.dst_host) \(.outcome) \(.origin)"' "$je")" \
	"migration from events"
rc=0
kill -TERM "$epid"
wait "$epid" || rc=$?
th_assert_eq 0 "$rc" "exit status of the event watcher"
err=$(cat "$TH_TMP/events.err")
th_assert_match 'event skipped \(1 so far; polls catch up\): VM 0: event message of 2097152 base64 bytes is over the 1048576-byte bound' \
	"$err" "oversized event said"
th_assert_match 'stopped: 1 polls, [0-9]+ events \(4 skipped\), 1 sessions opened, 1 closed' "$err" \
	"event watcher's last line"

# --- without --all or --vm, the prepared VMs (THEMIS_TYPE=VM) only
"$trig" watch --once --events none >/dev/null 2>"$TH_TMP/once.err" || th_fail "watch --once: $(cat "$TH_TMP/once.err")"
th_assert_match 'watching VM vm0 \(0\)' "$(cat "$TH_TMP/once.err")" "the prepared VM is watched"
grep -q 'watching VM vm1' "$TH_TMP/once.err" && th_fail "the unprepared VM is watched: $(cat "$TH_TMP/once.err")"

# --- run's precondition: a VM without THEMIS_TYPE=VM needs --force
rc=0
out=$("$trig" run --vm vm1 --to host0 --warmup 0 --cooldown 0 2>&1) || rc=$?
th_assert_eq 2 "$rc" "run on an unprepared VM"
th_assert_match 'VM vm1 \(1\) is not prepared for measurement \(no THEMIS_TYPE=VM in its user template or context\): give --force' \
	"$out" "unprepared VM message"
"$trig" run --vm vm1 --to host0 --warmup 0 --cooldown 0 --force >/dev/null 2>&1 ||
	th_fail "run --force on the unprepared VM"
"$trig" run --vm vm0 --to host0 --warmup 0 --cooldown 0 >/dev/null 2>&1 ||
	th_fail "run on the prepared VM"
tp_stop "${TP_PID_edge:?}"
