#!/bin/bash
# timeout: 60
# oneway-garbage.sh — `receive` survives whatever arrives on its port: truncated packets, wrong
# magic, a header whose length does not match its flags, zero sequence numbers. They are
# counted as malformed and change nothing: a clean 1 s stream around them shows no loss (on a
# host that steals CPU time, none but outages backed by the sender's own silences).
# Also: bad command lines are refused with status 2 and a message naming the option.
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
# shellcheck source=tests/agent/oneway-common.sh
. "$top_srcdir/tests/agent/oneway-common.sh"
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

ow_loopback_pair "$port" g "$out" --interval 10 --duration 1
rpid=$ow_recv spid=$ow_send
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
cat "$TH_TMP/send.err" >&2
read -r nsent skipped errors < <(ow_send_summary)
[ "${nsent:-0}" -ge 50 ] || th_fail "send: $(cat "$TH_TMP/send.err")"
read -r n_out lost_out unbacked <<<"$(ow_outages_outside "$out")"
th_log "outages (the sender's silences): $n_out, $lost_out slots"
th_assert_eq 0 "$unbacked" "outages without a silence of their length"
# a lost slot outside an outage is a lone sequence gap: a slot the sender skipped or failed to
# send (one lost slot is no outage); none on a quiet machine
lost=$(jq -s '[.[] | select(.kind == "second") | .lost_down + .lost_up + .lost_unknown] | add' "$out")
if [ "$lost" -lt "$lost_out" ] || [ "$((lost - lost_out))" -gt "$((skipped + errors))" ]; then
	th_fail "lost slots: $lost, $lost_out of them in outages, the sender skipped $skipped and" \
		"failed to send $errors"
fi
# every packet the sender sent arrived (a starved sender skips slots: fewer than 100), save as
# many as the kernel reported send errors for (an error reports the fate of an earlier packet)
received=$(jq -s '[.[] | select(.kind == "second") | .received] | add' "$out")
if [ "$received" -gt "$nsent" ] || [ "$received" -lt "$((nsent - errors))" ]; then
	th_fail "received $received of the $nsent packets sent ($errors send errors)"
fi
