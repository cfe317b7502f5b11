#!/bin/bash
# agent-output-stall.sh — themis-agent probe whose stdout is a pipe already full that nobody
# reads for 4 s (its first record waits 3 to 4 s to be written), longer than the 1 s loss
# timeout, while the reflector answers normally: probing is not held up, so no probe is lost
# and no outage is reported for the VM; every second arrives once the pipe is drained, and the
# blocked output is reported as the agent's own (a log line, output-stalls in the summary).
# timeout: 60
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
th_require_cmd jq jq
# shellcheck source=tests/agent/loopback-common.sh
. "$top_srcdir/tests/agent/loopback-common.sh"
tl_reflector

# a fifo held open read-write here (so opening it never blocks and it never reads EOF early),
# filled to its 64 KiB capacity with one line the check drops
mkfifo "$TH_TMP/out"
exec {hold}<>"$TH_TMP/out"
head -c 65535 /dev/zero | tr '\0' '#' >&"$hold"
printf '\n' >&"$hold"

# (children must not inherit the read-write descriptor, or the pipe never ends)
"$AGENT" probe --target "127.0.0.1:$rport" --vm vm1 --duration 9 >"$TH_TMP/out" \
	2>"$TH_TMP/probe.err" {hold}>&- &
probe=$!
th_on_exit kill -KILL "$probe"
sleep 4
# the first record comes within 1 s of the start (when its epoch second is over): it has
# waited 3 to 4 s by now
cat "$TH_TMP/out" >"$TH_TMP/raw" {hold}>&- &
reader=$!
th_on_exit kill -KILL "$reader"
rc=0
wait "$probe" || rc=$?
exec {hold}>&- # the agent has exited: the reader sees the end of the pipe
wait "$reader"
cat "$TH_TMP/probe.err" >&2
th_assert_eq 0 "$rc" "exit status of the prober"
grep -v '^#' "$TH_TMP/raw" >"$TH_TMP/records"

read -r n sent received lost outages < <(jq -s -r '[.[] | select(.kind == "second")] as $s |
	"\($s | length) \($s | map(.sent) | add) \($s | map(.received) | add) \($s | map(.lost_up + .lost_down + .lost_unknown) | add) \([.[] | select(.kind == "outage")] | length)"' "$TH_TMP/records")
th_log "$n seconds, sent $sent received $received lost $lost, $outages outages"
th_assert_eq 0 "$outages" "outages reported for the VM"
th_assert_eq 0 "$lost" "probes lost"
th_assert_eq 900 "$sent" "probes sent in 9 s at 10 ms"
th_assert_eq 900 "$received" "probes answered"
# 9 s of probes span 9 or 10 epoch seconds, every one of them written
if [ "$n" -lt 9 ] || [ "$n" -gt 10 ]; then th_fail "$n second records for 9 s"; fi
th_assert_eq "$n" "$(jq -r 'select(.kind == "second") | .t' "$TH_TMP/records" | sort -u | wc -l)" \
	"distinct seconds"
th_assert_eq 0 "$(jq -s '[.[] | select(.kind == "second" and .prober_stall_ms != null)] | length' \
	"$TH_TMP/records")" "seconds marked with a prober stall (the prober itself never stalled)"
# the blocked output is the agent's own, said so
blocked=$(sed -n 's/.*record output was blocked for \([0-9.]*\) s.*/\1/p' "$TH_TMP/probe.err" | sort -n | tail -1)
[ -n "$blocked" ] || th_fail "the blocked output was not reported"
awk -v b="$blocked" 'BEGIN { exit !(b >= 2.9 && b <= 4.5) }' ||
	th_fail "output reported blocked for $blocked s, expected 3 to 4 s"
th_assert_match 'records-dropped 0 output-stalls [1-9]' "$(cat "$TH_TMP/probe.err")" "summary"
