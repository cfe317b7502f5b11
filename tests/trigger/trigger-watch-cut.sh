#!/bin/bash
# trigger-watch-cut.sh — the watcher when the event socket fails, in a network namespace of its
# own: the lab endpoint (themis-one, simulated migrations) publishing oned's hook events on
# ZeroMQ, and `themis-trigger watch`.
#  1. Events and polls together; the event socket is cut (connections aborted, new ones refused
#     by nftables) before the second migration: the polls still turn every migration into a
#     session.
#  2. Events only (--poll 0); the socket is cut through a whole migration, so ZeroMQ drops its
#     events; once the socket is back, the next migration's events bring both: the missed one
#     is recovered from the history records, then the new one.
# timeout: 180
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
th_require_root
th_require_cmd jq jq
th_require_cmd nft nftables
th_require_cmd python3 python3

trig="$top_builddir/trigger/themis-trigger"
one="$top_builddir/lab/themis-one"
[ -x "$one" ] || th_error "$one not built (make -C lab)"
ns=$(th_netns_add cut)
th_on_exit th_netns_del "$ns"
in_ns() { ip netns exec "$ns" "$@"; }
listening() { in_ns ss -Htln "sport = :$1" | grep -q .; }

th_spawn one_pid in_ns "$one" --state "$TH_TMP/one" --listen 127.0.0.1:2633 --auth oneadmin:pw \
	--hosts 2 --vms 1 --sim-time 1000 --lcm-delay 100 --events tcp://127.0.0.1:2101
th_wait_for 20 listening 2633
th_wait_for 20 listening 2101
printf 'oneadmin:pw\n' >"$TH_TMP/one_auth"
chmod 600 "$TH_TMP/one_auth"

# migrate HOST: vm0 to HOST, from a client that is not the trigger; returns once it runs there
migrate() {
	in_ns python3 -c 'import re, sys, time, xmlrpc.client as x
one = x.ServerProxy("http://127.0.0.1:2633/RPC2")
r = one.one.vm.migrate("oneadmin:pw", 0, int(sys.argv[1]), True, False, -1, 0)
if not r[0]:
    sys.exit("migrate refused: %s" % r[1])
for _ in range(100):
    time.sleep(0.1)
    d = one.one.vm.info("oneadmin:pw", 0)[1]
    h = re.findall(r"<HISTORY>.*?</HISTORY>", d)[-1]
    if "<LCM_STATE>3</LCM_STATE>" in d and "<HID>%s</HID>" % sys.argv[1] in h and "<RSTIME>0</RSTIME>" not in h:
        sys.exit(0)
sys.exit("vm0 did not reach host%s" % sys.argv[1])' "$1"
}
# cut: the event socket's connections aborted (ss -K) and new ones refused until uncut: ZeroMQ's
# publisher drops what it publishes meanwhile, as oned's does for a disconnected subscriber
cut() {
	in_ns nft add table inet cut
	in_ns nft add chain inet cut out '{ type filter hook output priority 0; }'
	in_ns nft add rule inet cut out tcp dport 2101 reject with tcp reset
	in_ns ss -K '( sport = :2101 or dport = :2101 )' >/dev/null
}
uncut() { in_ns nft delete table inet cut; }
# watch NAME ARGS...: the watcher in the background (journal NAME.jsonl), its pid in wpid
watch() {
	local name=$1
	shift
	# (ip netns exec and env exec the trigger: $! is its pid)
	ip netns exec "$ns" env ONE_XMLRPC=http://127.0.0.1:2633/RPC2 ONE_AUTH="$TH_TMP/one_auth" \
		"$trig" watch --vm vm0 --events tcp://127.0.0.1:2101 --lead 2 --cooldown 1 \
		--markers "$TH_TMP/$name.jsonl" "$@" >/dev/null 2>"$TH_TMP/$name.err" &
	wpid=$!
	th_on_exit kill -KILL "$wpid"
	th_wait_for 20 grep -q 'watching VM vm0' "$TH_TMP/$name.err"
	sleep 1 # ZeroMQ's slow joiner: the subscription reaches the publisher
}
# ended N NAME: the journal NAME.jsonl holds N session-ends
ended() { [ "$(grep -c '"event":"session-end"' "$TH_TMP/$2.jsonl" 2>/dev/null)" -ge "$1" ]; }
# wait_ended N NAME: up to 20 s for that, else fail showing what the watcher said
wait_ended() {
	local i
	for ((i = 0; i < 200; i++)); do
		ended "$1" "$2" && return 0
		sleep 0.1
	done
	th_fail "$2: no $1 session-ends in 20 s; the watcher said: $(tail -n 15 "$TH_TMP/$2.err")"
}
# routes NAME: "src>dst outcome" of each migration-end in the journal NAME.jsonl
routes() { jq -r 'select(.event == "migration-end") | "\(.src_host)>\(.dst_host) \(.outcome)"' "$TH_TMP/$1.jsonl" | tr '\n' ' '; }
stop_watch() {
	kill -TERM "$wpid"
	wait "$wpid" || th_fail "watch exited with an error: $(cat "$TH_TMP/$1.err")"
}

# --- 1. events and polls; the event socket cut before the second migration
watch both --poll 1
migrate 1
wait_ended 1 both
cut
migrate 0
migrate 1
wait_ended 3 both
uncut
stop_watch both
th_assert_eq "host0>host1 success host1>host0 success host0>host1 success " "$(routes both)" "sessions with the socket cut"
th_assert_eq 3 "$(jq -r .session "$TH_TMP/both.jsonl" | sort -u | wc -l)" "one session per migration"
th_assert_match 'stopped: [0-9]+ polls, [1-9][0-9]* events' "$(tail -n 1 "$TH_TMP/both.err")" "events before the cut"

# --- 2. events only; the events of one whole migration dropped
watch events --poll 0
cut
migrate 0
sleep 2 # past the cool-down: nothing is due any more
uncut
sleep 1 # ZeroMQ reconnects (100 ms)
[ ! -s "$TH_TMP/events.jsonl" ] || th_fail "markers without a single event: $(cat "$TH_TMP/events.jsonl")"
migrate 1
wait_ended 2 events
stop_watch events
th_assert_eq "host1>host0 success host0>host1 success " "$(routes events)" "the dropped migration recovered, then the next"
th_assert_eq "session-start migration-start migration-end session-end" \
	"$(jq -r 'select(.dst_host == "host0") | .event' "$TH_TMP/events.jsonl" | tr '\n' ' ' | sed 's/ $//')" \
	"markers of the recovered session"
th_assert_match 'stopped: 1 polls, [1-9][0-9]* events \(0 skipped\), 2 sessions opened, 2 closed' \
	"$(tail -n 1 "$TH_TMP/events.err")" "event watcher's last line"
