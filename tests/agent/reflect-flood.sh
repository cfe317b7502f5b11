#!/bin/bash
# reflect-flood.sh — an authenticated prober measures injected outages (up 300 ms, down
# 300 ms, both 1.5 s) while the reflector, with a table of 16 streams, is flooded from inside
# the VM's namespace with 20000 probes of new random stream ids from random spoofed sources
# (7 in 8 signed with the key, as an insider could) and with two replays, from other spoofed
# sources, of every probe of the real stream (sent two probes later: a copy racing its
# original is doc/DESIGN.md's on-path race, not measured here): the real stream is never evicted, the outages are
# measured within the same bounds as without the flood (agent-outage-short.sh), the table fills
# with 15 flood streams and refuses every later one, and every replay is dropped and counted.
# timeout: 180
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
# shellcheck source=tests/agent/agent-common.sh
. "$top_srcdir/tests/agent/agent-common.sh"

FORGE="$top_builddir/tests/agent/probe-forge"
FLOOD=20000
(umask 077 && head -c 32 /dev/urandom >"$TH_TMP/key")

# summary field N of the last "name value" line of a log
field() { sed -n "s/.* $2 \([0-9]*\).*/\1/p" "$1" | tail -n 1; }

ta_setup 1 --key-file "$TH_TMP/key" --max-streams 16
vm=${TA_VM[1]}
# spoofed packets pass whatever the outage rules do to the prober's; echoes to spoofed
# addresses leave towards the supervisor, which drops them
ip netns exec "$vm" nft insert rule inet themis_test in ip saddr != 10.77.1.1 \
	udp dport "$TA_PORT" accept
ip -n "$vm" route add default via 10.77.1.1

ip netns exec "$TA_SUP" "$AGENT" probe --target "10.77.1.2:$TA_PORT" --vm vm1 \
	--key-file "$TH_TMP/key" --report "$TH_TMP/records" 2>"$TH_TMP/probe.log" &
probe=$!
th_on_exit kill -KILL "$probe"
sleep 1
ip netns exec "$vm" "$FORGE" flood 10.77.1.2 "$TA_PORT" 10.77.1.1 "$TH_TMP/key" "$FLOOD" 9 \
	>"$TH_TMP/flood.out" 2>"$TH_TMP/flood.err" &
flood=$!
th_on_exit kill -KILL "$flood"
th_wait_for 5 grep -q ready "$TH_TMP/flood.out"
sleep 0.5
for kind in up down; do
	ta_inject 1 "$kind" 0.3
	sleep 2.2
done
ta_inject 1 both 1.5
rc=0
wait "$flood" || rc=$?
cat "$TH_TMP/flood.out" "$TH_TMP/flood.err" >&2
th_assert_eq 0 "$rc" "flood exit status"
sleep 1.5
kill -INT "$probe"
rc=0
wait "$probe" || rc=$?
th_assert_eq 0 "$rc" "probe exit status after SIGINT"
kill -TERM "${TA_REFL[1]}"
wait "${TA_REFL[1]}" || true
cat "$TH_TMP/probe.log" "$TH_TMP/reflect1.log" >&2

read -r sent unsigned replays < <(sed -n \
	's/^flood \([0-9]*\) unsigned \([0-9]*\) replays \([0-9]*\) .*/\1 \2 \3/p' "$TH_TMP/flood.out")
th_assert_eq "$FLOOD" "$sent" "flood probes sent"
[ "$replays" -gt 1000 ] || th_fail "only $replays replays of the real stream"
r="$TH_TMP/reflect1.log"
th_assert_eq 0 "$(field "$r" evicted)" "streams evicted"
th_assert_eq 16 "$(field "$r" streams)" "streams in the table"
th_assert_eq $((sent - unsigned - 15)) "$(field "$r" refused)" "new streams refused"
th_assert_eq 0 "$(field "$r" rate-limited)" "new streams rate-limited (each from its own address)"
th_assert_eq "$unsigned" "$(field "$r" unauthenticated)" "unsigned flood probes"
th_assert_eq "$replays" "$(field "$r" replayed)" "replays dropped"
th_assert_eq "$replays" "$(field "$r" duplicates)" "replays seen as duplicates of the real stream"
p="$TH_TMP/probe.log"
th_assert_eq 0 "$(field "$p" invalid)" "echoes the prober found inconsistent"
th_assert_eq 0 "$(field "$p" dup)" "duplicate echoes at the prober"
ta_check "$TH_TMP/records" 10
