#!/bin/bash
# timeout: 60
# oneway-garbage.sh — `receive` survives whatever arrives on its port: truncated packets, wrong
# magic, a header whose length does not match its flags, zero sequence numbers. They are
# counted as malformed and change nothing: a clean 1 s stream around them shows no loss.
# Also: bad command lines are refused with status 2 and a message naming the option.
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
th_require_cmd jq jq
agent="$top_builddir/agent/themis-agent"
[ -x "$agent" ] || th_error "$agent not built"
port=$(th_free_port)
out="$TH_TMP/records.jsonl"

rc=0
"$agent" receive --listen "127.0.0.1:$port" 2>"$TH_TMP/usage.err" || rc=$?
th_assert_eq 2 "$rc" "exit status without --vm"
grep -q -- "--vm NAME" "$TH_TMP/usage.err" || th_fail "usage error does not name --vm"
rc=0
"$agent" send --target "127.0.0.1:$port" --interval 0.01 2>"$TH_TMP/usage.err" || rc=$?
th_assert_eq 2 "$rc" "exit status for a 10 us interval"
grep -q -- "--interval" "$TH_TMP/usage.err" || th_fail "error does not name --interval"
rc=0
"$agent" send --target "nowhere" 2>"$TH_TMP/usage.err" || rc=$?
th_assert_eq 2 "$rc" "exit status for a target without port"

"$agent" receive --listen "127.0.0.1:$port" --vm vm1 --stream g --report "$out" \
	2>"$TH_TMP/receive.err" &
rpid=$!
th_on_exit kill -KILL "$rpid"
th_wait_for 10 ss -Huln "sport = :$port"

"$agent" send --target "127.0.0.1:$port" --interval 10 --duration 1 2>/dev/null &
spid=$!
th_on_exit kill -KILL "$spid"
sleep 0.3
# 1 truncated, 2 wrong magic, 3 AUTH flag without tag, 4 sequence 0, 5 version 9
hdr() { # hdr FLAGS SEQ: a 40-byte header (session 1, send time 1, interval 10 ms)
	printf 'THOW\001%b\000\000\000\000\000\000\000\000\000\001%b\000\000\000\000\000\000\000\001\000\000\000\000\000\230\226\200' "$1" "$2"
}
{
	printf 'THOW\001'
} >"/dev/udp/127.0.0.1/$port"
printf 'XXXX%036d' 0 >"/dev/udp/127.0.0.1/$port"
hdr '\002' '\000\000\000\000\000\000\000\001' >"/dev/udp/127.0.0.1/$port"
hdr '\000' '\000\000\000\000\000\000\000\000' >"/dev/udp/127.0.0.1/$port"
printf 'THOW\011%035d' 0 >"/dev/udp/127.0.0.1/$port"
wait "$spid"
sleep 1.2
kill -TERM "$rpid"
wait "$rpid" || th_fail "receive failed: $(cat "$TH_TMP/receive.err")"
th_log "$(cat "$TH_TMP/receive.err")"
grep -q " 5 malformed" "$TH_TMP/receive.err" || th_fail "malformed packets not counted as 5"
th_assert_eq 0 "$(jq -s '[.[] | select(.kind == "second") | .lost_down] | add' "$out")" "lost slots"
th_assert_eq 0 "$(jq -s '[.[] | select(.kind == "outage")] | length' "$out")" "outages"
th_assert_eq 100 "$(jq -s '[.[] | select(.kind == "second") | .received] | add' "$out")" "received"
