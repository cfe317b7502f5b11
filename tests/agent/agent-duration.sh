#!/bin/bash
# agent-duration.sh — `themis-agent probe --duration 3` stopped (SIGSTOP) for 0.5 s across the
# end of its 3 s, as a host whose CPU time is taken away stops it: on waking it still sends (or
# counts as skipped) every probe scheduled before the end, exactly 300, and sends none after it;
# every probe sent is answered. The same for `themis-agent send --duration 1` (one-way mode)
# stopped for 0.5 s across its end: sent + skipped = 100 exactly, nothing after the end, and
# every packet sent reaches the `receive`.
# timeout: 40
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
th_require_cmd jq jq
# shellcheck source=tests/agent/loopback-common.sh
. "$top_srcdir/tests/agent/loopback-common.sh"
# shellcheck source=tests/agent/oneway-common.sh
. "$top_srcdir/tests/agent/oneway-common.sh"
tl_reflector

"$AGENT" probe --target "127.0.0.1:$rport" --vm vm1 --duration 3 --stall 0 \
	>"$TH_TMP/records" 2>"$TH_TMP/probe.err" &
probe=$!
th_on_exit kill -KILL "$probe"
sleep 2.8
kill -STOP "$probe"
sleep 0.5
kill -CONT "$probe"
rc=0
wait "$probe" || rc=$?
cat "$TH_TMP/probe.err" >&2
th_assert_eq 0 "$rc" "exit status of the prober"
read -r sent skipped < <(sed -n 's/.* sent \([0-9]*\) .* (skipped \([0-9]*\),.*/\1 \2/p' "$TH_TMP/probe.err")
th_log "sent $sent, skipped $skipped"
th_assert_eq 300 "$((sent + skipped))" "probes sent or skipped in 3 s at 100/s"
th_assert_eq "$sent" "$(jq -s '[.[] | select(.kind == "second") | .sent] | add' "$TH_TMP/records")" \
	"probes sent, summed over the second records"
th_assert_eq "$sent" "$(jq -s '[.[] | select(.kind == "second") | .received] | add' "$TH_TMP/records")" \
	"probes answered"

# one-way: send --duration 1 to a receive on loopback, stopped from 0.8 s to 1.3 s
ow_loopback_pair "$(th_free_port)" d "$TH_TMP/ow.jsonl" --interval 10 --duration 1
recv=$ow_recv send=$ow_send
sleep 0.8
kill -STOP "$send"
sleep 0.5
kill -CONT "$send"
rc=0
wait "$send" || rc=$?
th_assert_eq 0 "$rc" "exit status of send"
sleep 1.2 # past the receiver's loss timeout
kill -TERM "$recv"
wait "$recv" || th_fail "receive exited with $?: $(cat "$TH_TMP/receive.err")"
cat "$TH_TMP/send.err" "$TH_TMP/receive.err" >&2
read -r sent skipped errors < <(ow_send_summary)
th_log "one-way: sent $sent, skipped $skipped, send errors $errors"
th_assert_eq 100 "$((sent + skipped + errors))" "one-way slots sent, skipped or failed in 1 s at 100/s"
# every packet sent arrives, save as many as the kernel reported send errors for
received=$(jq -s '[.[] | select(.kind == "second") | .received] | add' "$TH_TMP/ow.jsonl")
if [ "$received" -gt "$sent" ] || [ "$received" -lt "$((sent - errors))" ]; then
	th_fail "one-way: received $received of the $sent packets sent ($errors send errors)"
fi
