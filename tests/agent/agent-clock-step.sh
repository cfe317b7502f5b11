#!/bin/bash
# agent-clock-step.sh — the wall clock of a running themis-agent probe steps +5 s, then back
# -5 s (libfaketime with a timestamp file changed mid-run; monotonic time is left alone, the
# machine's clock is never touched): each step is detected within about a second, logged and
# counted, and the records re-anchored: the epoch seconds jump by exactly +5 and -5 once each,
# every other step between consecutive seconds is 1, each record's second lies in the clock of
# its time; durations are untouched (nothing lost, no outage, RTTs of loopback). Stall detection
# is off (--stall 0): a reflector descheduled for 50 ms on a machine whose CPU time is stolen
# would make a stall outage, which is agent-stall.sh's subject, not this test's.
# timeout: 60
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
th_require_cmd jq jq
FAKETIME_LIB=
for f in /usr/lib/*/faketime/libfaketimeMT.so.1 /usr/lib/faketime/libfaketimeMT.so.1; do
	[ -e "$f" ] && FAKETIME_LIB=$f
done
[ -n "$FAKETIME_LIB" ] || th_skip "libfaketime not installed (Debian package faketime)"
# shellcheck source=tests/agent/loopback-common.sh
. "$top_srcdir/tests/agent/loopback-common.sh"
tl_reflector

echo "+0" >"$TH_TMP/faketime"
# in a sanitizer build the ASan runtime must come first
FAKETIME_TIMESTAMP_FILE="$TH_TMP/faketime" FAKETIME_CACHE_DURATION=1 \
	FAKETIME_DONT_FAKE_MONOTONIC=1 \
	LD_PRELOAD="${THEMIS_ASAN_PRELOAD:+$THEMIS_ASAN_PRELOAD }$FAKETIME_LIB" \
	"$AGENT" probe --target "127.0.0.1:$rport" --vm vm1 --duration 12 --stall 0 \
	>"$TH_TMP/records" 2>"$TH_TMP/probe.err" &
probe=$!
th_on_exit kill -KILL "$probe"
sleep 4
ta=$EPOCHREALTIME
echo "+5" >"$TH_TMP/faketime"
sleep 4
tb=$EPOCHREALTIME
echo "+0" >"$TH_TMP/faketime"
rc=0
wait "$probe" || rc=$?
cat "$TH_TMP/probe.err" >&2
th_assert_eq 0 "$rc" "exit status of the prober"

# the steps, as the agent saw them
steps=$(sed -n 's/.*wall clock stepped by \([-+0-9.]*\) s.*/\1/p' "$TH_TMP/probe.err" | tr '\n' ' ')
th_log "steps logged: $steps"
th_assert_match '^\+5\.00[0-9] -5\.00[0-9] $' "$steps" "the steps logged"
th_assert_match 'clock-steps 2 ' "$(cat "$TH_TMP/probe.err")" "clock steps counted"

# durations: nothing lost, no outage, loopback RTTs, every probe of 12 s sent and answered
read -r sent received lost outages rtt < <(jq -s -r '[.[] | select(.kind == "second")] as $s |
	"\($s | map(.sent) | add) \($s | map(.received) | add) \($s | map(.lost_up + .lost_down + .lost_unknown) | add) \([.[] | select(.kind == "outage")] | length) \($s | map(.rtt_max_ms) | max)"' "$TH_TMP/records")
th_log "sent $sent received $received lost $lost outages $outages max rtt $rtt ms"
th_assert_eq 1200 "$sent" "probes sent"
th_assert_eq 1200 "$received" "probes answered"
th_assert_eq 0 "$lost" "probes lost"
th_assert_eq 0 "$outages" "outages"
# a step leaking into an RTT would make it about 5000 ms; stolen CPU time here makes tens of ms
awk -v r="$rtt" 'BEGIN { exit !(r < 1000) }' || th_fail "an RTT of $rtt ms across a clock step"

# the epoch seconds: +1 each, except one jump of +5 and one of -5, in the clock of their time.
# A step that lands within a probe interval of a second's boundary leaves that second's sliver
# without a scheduled probe, so without a record: the jump then reads +6 or -4.
jq -r 'select(.kind == "second") | .t' "$TH_TMP/records" >"$TH_TMP/t"
awk -v ta="$ta" -v tb="$tb" '
	NR > 1 { d = $1 - prev; if (d == 5 || d == 6) j5++; else if (d == -5 || d == -4) jm5++; else if (d != 1) bad = bad " " prev "->" $1 }
	{ phase = j5 + jm5
	  # detected within about 2 s of the change (the 1 s check plus the 1 s file cache)
	  if (phase == 0 && $1 > tb) bad = bad " " $1 "(before +5)"
	  if (phase == 1 && ($1 < int(ta) + 4 || $1 > tb + 8)) bad = bad " " $1 "(in +5)"
	  if (phase == 2 && $1 < int(tb) - 1) bad = bad " " $1 "(after -5)"
	  prev = $1 }
	END { if (j5 != 1 || jm5 != 1 || bad != "") { printf "jumps +5: %d, -5: %d, wrong:%s\n", j5, jm5, bad; exit 1 } }
	' "$TH_TMP/t" || th_fail "epoch seconds not re-anchored: $(tr '\n' ' ' <"$TH_TMP/t")"
