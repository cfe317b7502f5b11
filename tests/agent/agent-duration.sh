#!/bin/bash
# agent-duration.sh — `themis-agent probe --duration 3` stopped (SIGSTOP) for 0.5 s across the
# end of its 3 s, as a host whose CPU time is taken away stops it: on waking it still sends (or
# counts as skipped) every probe scheduled before the end, exactly 300, and sends none after it;
# every probe sent is answered.
# timeout: 30
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
th_require_cmd jq jq
# shellcheck source=tests/agent/loopback-common.sh
. "$top_srcdir/tests/agent/loopback-common.sh"
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
