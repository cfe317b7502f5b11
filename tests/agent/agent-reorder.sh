#!/bin/bash
# agent-reorder.sh — reordering, duplication and loss made by a deterministic relay between
# prober and reflector (every N-th packet of a direction): reordering and duplicates are never
# loss, duplicates are counted exactly, and with loss mixed in every lost probe gets its
# direction: exactly the dropped probes "up", the dropped echoes "down" (only a loss after the
# run's last echo may stay "unknown").
# timeout: 90
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
# shellcheck source=tests/agent/agent-common.sh
. "$top_srcdir/tests/agent/agent-common.sh"

FORGE="$top_builddir/tests/agent/probe-forge"
ta_setup 1

# through NAME RELAY_OPTIONS...: 3 s at 2 ms through the relay; prints
# "sent up down unknown dup late outages" from the records and leaves the relay log in NAME.relay
through() {
	local name=$1 relay
	shift
	ip netns exec "$TA_SUP" "$FORGE" relay 7001 10.77.1.2 "$TA_PORT" "$@" \
		>"$TH_TMP/$name.out" 2>"$TH_TMP/$name.relay" &
	relay=$!
	th_wait_for 5 grep -q ready "$TH_TMP/$name.out"
	ip netns exec "$TA_SUP" "$AGENT" probe --target 127.0.0.1:7001 --vm vm1 --interval 2 \
		--duration 3 --report "$TH_TMP/$name" 2>"$TH_TMP/$name.log"
	kill -TERM "$relay"
	wait "$relay"
	cat "$TH_TMP/$name.relay" "$TH_TMP/$name.log" >&2
	jq -s -r '([.[] | select(.kind == "second")]) as $s |
		"\($s | map(.sent) | add) \($s | map(.lost_up) | add) \($s | map(.lost_down) | add) \($s | map(.lost_unknown) | add) \($s | map(.dup) | add) \($s | map(.late) | add) \([.[] | select(.kind == "outage")] | length)"' \
		"$TH_TMP/$name"
}
# relay NAME LANE FIELD
relay() { sed -n "s/^$2:.* $3 \\([0-9]*\\).*/\\1/p" "$TH_TMP/$1.relay"; }

read -r sent up down unknown dup late outages < <(through mix reorder_probe=10 reorder_echo=9 \
	dup_probe=11 dup_echo=13)
th_log "reorder+dup: sent $sent lost $up/$down/$unknown dup $dup late $late outages $outages"
th_assert_eq "0 0 0 0" "$up $down $unknown $late" "reordering and duplicates are not loss"
# an outage here can only be the reflector held up by a loaded machine (stalled probes)
[ "$outages" -eq 0 ] || [ "$(jq -s '[.[] | select(.kind == "second") | .stalled] | add' "$TH_TMP/mix")" -gt 0 ] ||
	th_fail "outage reported without any loss or stall"
[ "$(relay mix probes reordered)" -gt 100 ] || th_fail "relay reordered too little"
# every echo beyond one per probe is a duplicate
th_assert_eq "$(($(relay mix echoes forwarded) - sent))" "$dup" "duplicates counted"

read -r sent up down unknown dup late outages < <(through lossy drop_probe=13 drop_echo=17 \
	reorder_probe=10 reorder_echo=9)
th_log "loss+reorder: sent $sent lost $up/$down/$unknown"
dp=$(relay lossy probes dropped)
de=$(relay lossy echoes dropped)
# a loss after the very last echo of the run has nothing to tell its direction: unknown
th_assert_eq "$((dp + de))" "$((up + down + unknown))" "every dropped packet is one lost probe"
[ "$unknown" -le 2 ] || th_fail "$unknown probes lost in an unknown direction"
if ! { [ "$up" -le "$dp" ] && [ "$up" -ge $((dp - unknown)) ]; }; then th_fail "dropped probes $dp, lost up $up"; fi
if ! { [ "$down" -le "$de" ] && [ "$down" -ge $((de - unknown)) ]; }; then th_fail "dropped echoes $de, lost down $down"; fi
th_assert_eq 0 "$late" "nothing late"
