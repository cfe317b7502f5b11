#!/bin/bash
# agent-stall.sh — a reflector stopped with SIGSTOP for 1.5 s (the VM not running its reflector)
# shows as one "up" outage of the stop's length (within one probe interval + 2 ms, widened by
# the scheduling noise the prober measured in the run); the probes
# it answered more than a loss timeout late are lost "up" and late, nothing is lost "down".
# timeout: 60
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
# shellcheck source=tests/agent/agent-common.sh
. "$top_srcdir/tests/agent/agent-common.sh"

ta_setup 1
ip netns exec "$TA_SUP" "$AGENT" probe --target "10.77.1.2:$TA_PORT" --vm vm1 \
	--report "$TH_TMP/records" 2>"$TH_TMP/probe.log" &
probe=$!
th_on_exit kill -KILL "$probe"
sleep 1.5
refl=${TA_REFL[1]}
# kill is a shell builtin: the stop and continue times are taken right around the signals
t0=$EPOCHREALTIME
kill -STOP "$refl"
t0b=$EPOCHREALTIME
sleep 1.5
t1=$EPOCHREALTIME
kill -CONT "$refl"
t1b=$EPOCHREALTIME
sleep 2.5
kill -INT "$probe"
wait "$probe"
cat "$TH_TMP/probe.log" >&2
want=$(awk -v a="$t0" -v b="$t0b" -v c="$t1" -v d="$t1b" 'BEGIN { printf "%.3f", ((c + d) - (a + b)) / 2 * 1000 }')
jq -c 'select(.kind == "outage")' "$TH_TMP/records" >&2
# the bounds of a quiet machine (one interval + 2 ms, 3 probes), widened by the largest send
# slip or stall the prober saw in this run: where CPU time is stolen, the reflector's waking
# after SIGCONT and its draining of the held probes are late by as much
noise=$(ta_slips "$TH_TMP/probe.log" | awk '$2 > m { m = $2 } END { printf "%.3f", m }')
tol=$(awk -v n="$noise" 'BEGIN { printf "%.3f", 12 + n }')
ptol=$(awk -v n="$noise" 'BEGIN { printf "%d", 3 + int(n / 10 + 0.999) }')
th_log "scheduling noise of this run: $noise ms: bounds $tol ms, $ptol probes"
# the outage that starts at the stop (on a loaded machine the reflector may also be held up
# elsewhere for longer than the stall threshold: such outages are logged, not this test's point)
sel="select(.kind == \"outage\" and .start > $t0 - $tol / 1000 and .start < $t0 + $tol / 1000)"
th_assert_eq 1 "$(jq -s "[.[] | $sel] | length" "$TH_TMP/records")" "one outage starting at the stop"
th_assert_eq up "$(jq -r "$sel | .direction" "$TH_TMP/records")" "direction"
th_assert_near "$want" "$(jq -r "$sel | .duration_ms" "$TH_TMP/records")" "$tol" \
	"outage duration vs the ${want} ms stop"
totals=$(jq -s -r '[.[] | select(.kind == "second")] | "\(map(.lost_up) | add) \(map(.lost_down) | add) \(map(.lost_unknown) | add) \(map(.late) | add) \(map(.stalled) | add)"' "$TH_TMP/records")
th_log "lost up/down/unknown, late, stalled: $totals"
read -r up down unknown late stalled <<<"$totals"
th_assert_eq 0 "$down" "nothing lost down"
th_assert_eq 0 "$unknown" "nothing lost in an unknown direction"
th_assert_eq "$up" "$late" "every lost probe was answered late"
# about 0.5 s of probes older than the 1 s loss timeout when the reflector resumed
th_assert_near 50 "$up" "$ptol" "probes lost"
# and those answered in time but held longer than the 50 ms stall threshold (about 95)
[ "$stalled" -ge $((95 - ptol)) ] || th_fail "only $stalled probes answered in time counted as stalled"
