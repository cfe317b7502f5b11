#!/bin/bash
# agent-forge.sh — malformed, truncated, corrupted, forged and replayed packets, with and
# without a key: the reflector and the prober drop and count every one of them, keep
# measuring, and attribute exactly: a corrupted probe is lost "up", a corrupted echo "down".
# timeout: 120
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
# shellcheck source=tests/agent/agent-common.sh
. "$top_srcdir/tests/agent/agent-common.sh"

FORGE="$top_builddir/tests/agent/probe-forge"
head -c 48 /dev/urandom >"$TH_TMP/key"
chmod 600 "$TH_TMP/key"

# summary field N of a "name value" stderr line
field() { sed -n "s/.* $2 \([0-9]*\).*/\1/p" "$1" | tail -n 1; }

# run_case LABEL KEYED VM: prober through a corrupting relay to the reflector of VM, compare.
run_case() {
	local label=$1 keyed=$2 i=$3 keyargs=()
	[ "$keyed" = yes ] && keyargs=(--key-file "$TH_TMP/key")
	# junk straight at the reflector first: all refused, counted
	local n nv
	{ read -r n; read -r nv; } < <(ip netns exec "$TA_SUP" "$FORGE" junk "10.77.$i.2" "$TA_PORT")
	ip netns exec "$TA_SUP" "$FORGE" relay 7000 "10.77.$i.2" "$TA_PORT" mutate_probe=7 \
		mutate_echo=5 "key=$([ "$keyed" = yes ] && echo 1 || echo 0)" \
		>"$TH_TMP/relay$i.out" 2>"$TH_TMP/relay$i.log" &
	local relay=$!
	th_on_exit kill -KILL "$relay"
	th_wait_for 5 grep -q ready "$TH_TMP/relay$i.out"
	ip netns exec "$TA_SUP" "$AGENT" probe --target "127.0.0.1:7000" --vm "vm$i" \
		--interval 2 --duration 3 "${keyargs[@]}" --report "$TH_TMP/rec$i" \
		2>"$TH_TMP/probe$i.log"
	kill -TERM "$relay"
	wait "$relay" || true
	kill -TERM "${TA_REFL[i]}"
	wait "${TA_REFL[i]}" || true
	cat "$TH_TMP/relay$i.log" "$TH_TMP/probe$i.log" "$TH_TMP/reflect$i.log" >&2
	local r="$TH_TMP/relay$i.log" p="$TH_TMP/probe$i.log" f="$TH_TMP/reflect$i.log"
	local mp me rep prep
	mp=$(sed -n 's/^probes:.* mutated \([0-9]*\).*/\1/p' "$r")
	me=$(sed -n 's/^echoes:.* mutated \([0-9]*\).*/\1/p' "$r")
	rep=$(sed -n 's/^echoes:.* replays \([0-9]*\).*/\1/p' "$r")
	prep=$(sed -n 's/^probes:.* replays \([0-9]*\).*/\1/p' "$r")
	if ! { [ "$mp" -gt 100 ] && [ "$me" -gt 100 ]; }; then th_fail "$label: relay corrupted too little ($mp, $me)"; fi
	local up down unknown
	up=$(sed -n 's/.*lost up \([0-9]*\).*/\1/p' "$p")
	down=$(sed -n 's/.* down \([0-9]*\) unknown.*/\1/p' "$p")
	unknown=$(sed -n 's/.* unknown \([0-9]*\) late.*/\1/p' "$p")
	# exact, except that a loss after the run's last echo has no direction (unknown)
	th_assert_eq "$((mp + me))" "$((up + down + unknown))" "$label: one lost probe per corrupted packet"
	[ "$unknown" -le 2 ] || th_fail "$label: $unknown probes lost in an unknown direction"
	if ! { [ "$up" -le "$mp" ] && [ "$up" -ge $((mp - unknown)) ]; }; then th_fail "$label: corrupted probes $mp, lost up $up"; fi
	if ! { [ "$down" -le "$me" ] && [ "$down" -ge $((me - unknown)) ]; }; then th_fail "$label: corrupted echoes $me, lost down $down"; fi
	th_assert_eq "$me" "$(($(field "$p" malformed) + $(field "$p" forged) + $(field "$p" old-version)))" \
		"$label: prober counted every corrupted echo"
	th_assert_eq "$rep" "$(field "$p" dup)" "$label: replayed echoes counted as duplicates"
	th_assert_eq "$((mp + n + nv))" \
		"$(($(field "$f" malformed) + $(field "$f" unauthenticated) + $(field "$f" forged) + $(field "$f" old-version)))" \
		"$label: reflector counted every bad probe"
	[ "$(field "$f" old-version)" -ge "$nv" ] || th_fail "$label: other wire versions not counted as old-version"
	if [ "$keyed" = yes ]; then
		th_assert_eq "$rep" "$(field "$p" replayed)" "$label: replayed echoes counted as replays"
		th_assert_eq "$prep" "$(field "$f" replayed)" "$label: replayed probes dropped and counted"
		if ! { [ "$(field "$p" forged)" -gt 0 ] && [ "$(field "$f" forged)" -gt 0 ]; }; then th_fail "$label: wrong-key packets not counted as forged"; fi
	fi
	# records agree with the summary, and seconds add up
	jq -s -e --argjson up "$up" --argjson down "$down" '
		[.[] | select(.kind == "second")] as $s
		| ($s | map(.lost_up) | add) == $up and ($s | map(.lost_down) | add) == $down
		and all($s[]; .sent == .received + .lost_up + .lost_down + .lost_unknown)' \
		"$TH_TMP/rec$i" >/dev/null || th_fail "$label: records disagree with the summary"
}

ta_setup 1
run_case "no key" no 1

# the same with a key on both sides: a second VM with a keyed reflector
vm=$(th_netns_add vm2)
th_on_exit th_netns_del "$vm"
TA_VM[2]=$vm
th_netns_link "$TA_SUP" "10.77.2.1/24" "$vm" "10.77.2.2/24" >/dev/null
ip netns exec "$vm" "$AGENT" reflect --listen "10.77.2.2:$TA_PORT" --key-file "$TH_TMP/key" \
	2>"$TH_TMP/reflect2.log" &
TA_REFL[2]=$!
th_on_exit kill -KILL "${TA_REFL[2]}"
th_wait_for 5 grep -q listening "$TH_TMP/reflect2.log"
run_case "with key" yes 2
