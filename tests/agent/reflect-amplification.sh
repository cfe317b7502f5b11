#!/bin/bash
# reflect-amplification.sh — the reflector never sends more bytes than it receives: for every
# kind of packet (probe, replayed probe, echo, malformed, version 1, forged or unsigned) and
# without and with a key, the bytes leaving its port are at most the bytes arriving, counted on
# the wire by nftables in the VM's namespace; a probe gets an echo of exactly its own size,
# anything else (a keyed replay after the first) gets nothing. The reflector's SIGUSR1 line
# counts every kind exactly. 40 new streams from one address: 32 (the burst) are echoed, 8
# refused as rate-limited.
# timeout: 120
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
# shellcheck source=tests/agent/agent-common.sh
. "$top_srcdir/tests/agent/agent-common.sh"

FORGE="$top_builddir/tests/agent/probe-forge"
N=12 # packets per kind: a multiple of the 6 malformed variants
(umask 077 && head -c 32 /dev/urandom >"$TH_TMP/key")

# "IN_PACKETS IN_BYTES OUT_PACKETS OUT_BYTES" of the reflector's port in VM 1, IP bytes
counters() {
	local c
	c=$(ip netns exec "${TA_VM[1]}" nft list table inet themis_test)
	printf '%s %s\n' \
		"$(sed -n 's/.*udp dport [0-9]* counter packets \([0-9]*\) bytes \([0-9]*\).*/\1 \2/p' <<<"$c")" \
		"$(sed -n 's/.*udp sport [0-9]* counter packets \([0-9]*\) bytes \([0-9]*\).*/\1 \2/p' <<<"$c")"
}

# field NAME of the last stats line of reflector log $1
field() { sed -n "s/.* $2 \([0-9]*\).*/\1/p" "$1" | tail -n 1; }

# check SETTING KIND WANT_OUT_PACKETS [KEYFILE]: send N packets of KIND, compare the wire
check() {
	local setting=$1 kind=$2 want=$3 before after res
	shift 3
	read -r -a before < <(counters)
	res=$(ip netns exec "$TA_SUP" "$FORGE" send 10.77.1.2 "$TA_PORT" "$kind" "$N" "$@")
	sleep 0.1
	read -r -a after < <(counters)
	local ip=$((after[0] - before[0])) ib=$((after[1] - before[1]))
	local op=$((after[2] - before[2])) ob=$((after[3] - before[3]))
	th_log "$setting $kind: in $ip packets $ib bytes, out $op packets $ob bytes ($res)"
	th_assert_eq "$N" "$ip" "$setting $kind: packets that reached the reflector"
	[ "$ob" -le "$ib" ] || th_fail "$setting $kind: $ob bytes out for $ib bytes in"
	th_assert_eq "$want" "$op" "$setting $kind: packets out"
	if [ "$want" = "$N" ]; then
		th_assert_eq "$ib" "$ob" "$setting $kind: every echo as long as its probe"
	fi
	# and what came back to the sender, in UDP payload bytes
	local sb gb
	sb=$(sed -n 's/^sent [0-9]* bytes \([0-9]*\) .*/\1/p' <<<"$res")
	gb=$(sed -n 's/.* received [0-9]* bytes \([0-9]*\)$/\1/p' <<<"$res")
	[ "$gb" -le "$sb" ] || th_fail "$setting $kind: sender got $gb bytes for $sb sent"
}

ta_setup 1
check none probe "$N"
check none replay "$N" # without a key a duplicate is echoed (not counted), never larger
check none echo 0
check none malformed 0
check none v1 0
check none forged 0 # a tagged probe to a keyless reflector: unauthenticated
kill -USR1 "${TA_REFL[1]}"
th_wait_for 5 grep -q received "$TH_TMP/reflect1.log"
log="$TH_TMP/reflect1.log"
cat "$log" >&2
th_assert_eq $((6 * N)) "$(field "$log" received)" "none: received"
th_assert_eq $((2 * N)) "$(field "$log" echoed)" "none: echoed"
th_assert_eq $((N - 1)) "$(field "$log" duplicates)" "none: duplicates"
th_assert_eq $((2 * N)) "$(field "$log" malformed)" "none: malformed (echoes and malformed)"
th_assert_eq "$N" "$(field "$log" old-version)" "none: old-version"
th_assert_eq 1 "$(grep -c 'probe of wire version 1 dropped (update the prober' "$log")" \
	"none: the first old-version probe is reported once"
th_assert_eq "$N" "$(field "$log" unauthenticated)" "none: unauthenticated"
th_assert_eq 2 "$(field "$log" streams)" "none: streams"
kill -TERM "${TA_REFL[1]}"
wait "${TA_REFL[1]}" || true

ip netns exec "${TA_VM[1]}" "$AGENT" reflect --listen "10.77.1.2:$TA_PORT" \
	--key-file "$TH_TMP/key" 2>"$TH_TMP/reflect-key.log" &
refl=$!
th_on_exit kill -KILL "$refl"
th_wait_for 5 grep -q listening "$TH_TMP/reflect-key.log"
check key probe "$N" "$TH_TMP/key"
check key replay 1 "$TH_TMP/key" # the first is a new probe, the others replays: dropped
check key echo 0 "$TH_TMP/key"
check key malformed 0 "$TH_TMP/key"
check key v1 0 "$TH_TMP/key"
check key forged 0 "$TH_TMP/key"
check key unsigned 0 "$TH_TMP/key"
kill -USR1 "$refl"
th_wait_for 5 grep -q received "$TH_TMP/reflect-key.log"
log="$TH_TMP/reflect-key.log"
cat "$log" >&2
th_assert_eq $((7 * N)) "$(field "$log" received)" "key: received"
th_assert_eq $((N + 1)) "$(field "$log" echoed)" "key: echoed"
th_assert_eq $((N - 1)) "$(field "$log" replayed)" "key: replayed"
th_assert_eq $((2 * N)) "$(field "$log" malformed)" "key: malformed (echoes and malformed)"
th_assert_eq "$N" "$(field "$log" old-version)" "key: old-version"
th_assert_eq 1 "$(grep -c 'probe of wire version 1 dropped (update the prober' "$log")" \
	"key: the first old-version probe is reported once"
th_assert_eq "$N" "$(field "$log" forged)" "key: forged"
th_assert_eq "$N" "$(field "$log" unauthenticated)" "key: unauthenticated"

# 40 new streams from one address in 40 ms: a burst of 32 is echoed, 8 are over the limit
read -r -a before < <(counters)
ip netns exec "$TA_SUP" "$FORGE" send 10.77.1.2 "$TA_PORT" new 40 "$TH_TMP/key" >/dev/null
sleep 0.1
read -r -a after < <(counters)
th_assert_eq 40 $((after[0] - before[0])) "new streams: packets in"
th_assert_eq 32 $((after[2] - before[2])) "new streams: echoes out"
kill -USR1 "$refl"
th_wait_for 5 grep -q 'rate-limited 8 ' "$log"
th_assert_eq 34 "$(field "$log" streams)" "key: streams after the burst"
kill -TERM "$refl"
wait "$refl" || true
