#!/bin/bash
# timeout: 120
# oneway-sigstop.sh — one-way mode between two network namespaces: a `send` stopped with
# SIGSTOP for 1.5 s shows at the `receive` as one "down" outage of the stop's length (within
# 12 ms, widened by the stream's own silences on a host that steals CPU time), its lost slots
# are in the seconds' lost_down, and packets signed with another key are dropped and counted as
# forged without disturbing the measurement.
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
# shellcheck source=tests/agent/oneway-common.sh
. "$top_srcdir/tests/agent/oneway-common.sh"
th_require_root
th_require_cmd jq jq
agent="$top_builddir/agent/themis-agent"
[ -x "$agent" ] || th_error "$agent not built"

vm=$(th_netns_add vm)
sup=$(th_netns_add sup)
th_on_exit th_netns_del "$vm"
th_on_exit th_netns_del "$sup"
th_netns_link "$vm" 10.77.0.1/24 "$sup" 10.77.0.2/24 >/dev/null
head -c 32 /dev/urandom >"$TH_TMP/key"
head -c 32 /dev/urandom >"$TH_TMP/otherkey"
chmod 600 "$TH_TMP/key" "$TH_TMP/otherkey"
out="$TH_TMP/records.jsonl"

ip netns exec "$sup" "$agent" receive --listen 10.77.0.2:9000 --vm vm1 --stream s1 \
	--report "$out" --key-file "$TH_TMP/key" 2>"$TH_TMP/receive.err" &
rpid=$!
th_on_exit kill -KILL "$rpid"
th_wait_for 10 ip netns exec "$sup" ss -Huln "sport = :9000"

ip netns exec "$vm" "$agent" send --target 10.77.0.2:9000 --interval 10 --duration 6 \
	--key-file "$TH_TMP/key" 2>"$TH_TMP/send.err" &
spid=$!
th_on_exit kill -KILL "$spid"
# a sender with the wrong key, for 0.5 s at 5 ms: about 100 forged packets, each one counted
ip netns exec "$vm" "$agent" send --target 10.77.0.2:9000 --interval 5 --duration 0.5 \
	--key-file "$TH_TMP/otherkey" 2>"$TH_TMP/forger.err"
sleep 1.5
t1=$EPOCHREALTIME
kill -STOP "$spid"
sleep 1.5
kill -CONT "$spid"
t2=$EPOCHREALTIME
wait "$spid"
sleep 1.3 # past the loss timeout
kill -TERM "$rpid"
wait "$rpid" || th_fail "receive exited with $?: $(cat "$TH_TMP/receive.err")"

stop_ms=$(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.3f", (b - a) * 1000 }')
th_log "sender stopped for $stop_ms ms; $(cat "$TH_TMP/receive.err")"
# The stop is one "down" outage overlapping it; any other must be backed by a silence of its
# length (ow_outages_outside). The duration bound is that of a quiet machine widened by the
# longest silence beyond one interval in the seconds clear of the stop (a few ms on a quiet VM).
sel="select(.kind == \"outage\" and .start < $t2 and .end > $t1)"
th_assert_eq 1 "$(jq -s "[.[] | $sel] | length" "$out")" "outages overlapping the stop"
th_assert_eq down "$(jq -r "$sel | .direction" "$out")" "direction"
dur=$(jq -r "$sel | .duration_ms" "$out")
lost=$(jq -r "$sel | .lost" "$out")
noise=$(jq -s -r --argjson a "$t1" --argjson b "$t2" '[.[] | select(.kind == "second" and
	(.t < ($a | floor) or .t > ($b | floor) + 1) and .max_gap_ms != null) | .max_gap_ms - 10, 0] |
	max | . * 1000 | round / 1000' "$out")
others=$(ow_outages_outside "$out" "$t1" "$t2")
read -r n_other lost_other unbacked <<<"$others"
th_log "longest silence beyond one interval clear of the stop: $noise ms;" \
	"other outages: $n_other ($lost_other slots)"
th_assert_eq 0 "$unbacked" "outages elsewhere without a silence of their length"
th_assert_near "$stop_ms" "$dur" "$(awk -v n="$noise" 'BEGIN { print 12 + n }')" \
	"outage duration (ms) against the SIGSTOP length"
# every slot of the outages is in some second's lost_down; on a loaded machine the sender may
# also skip a stray slot elsewhere (a real, short gap in the stream)
down=$(jq -s '[.[] | select(.kind == "second") | .lost_down] | add' "$out")
stray=$((down - lost - lost_other))
if [ "$stray" -lt 0 ] || [ "$stray" -gt 3 ]; then
	th_fail "lost_down of the seconds minus the outages' $lost + $lost_other lost slots: $stray"
fi
th_assert_eq 0 "$(jq -s '[.[] | select(.kind == "second") | .lost_up + .lost_unknown] | add' "$out")" \
	"losses in another direction"
# the outage's seconds: the slots between start and end are all in lost_down
th_assert_near "$(awk -v d="$dur" 'BEGIN { print d / 10 }')" "$lost" 1.5 "lost slots vs duration / interval"
forged=$(sed -n 's/.* \([0-9][0-9]*\) forged$/\1/p' "$TH_TMP/receive.err")
read -r nforged _ < <(ow_send_summary "$TH_TMP/forger.err")
[ "${nforged:-0}" -ge 50 ] || th_fail "the wrong-key sender: $(cat "$TH_TMP/forger.err")"
# the packets of its stream and up to its three FINs
if [ "${forged:-0}" -lt "$nforged" ] || [ "$forged" -gt "$((nforged + 3))" ]; then
	th_fail "forged packets counted: ${forged:-none}, the wrong-key sender sent $nforged and 3 FINs"
fi
