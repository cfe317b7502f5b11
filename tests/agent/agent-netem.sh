#!/bin/bash
# agent-netem.sh — reordering, duplication and random loss (tc netem) on one path at a time:
# duplicates are counted, reordering is not loss, and no lost probe is ever given the wrong
# direction (loss on the way to the VM is never "down", on the way back never "up").
# timeout: 90
# (agent-reorder.sh checks the same, deterministically, through a user-space relay.)
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
# shellcheck source=tests/agent/agent-common.sh
. "$top_srcdir/tests/agent/agent-common.sh"
th_require_cmd tc iproute2

ta_setup 1
sup_if=${TA_IF_SUP[1]}
vm_if=${TA_IF_VM[1]}
tc -n "$TA_SUP" qdisc add dev "$sup_if" root netem delay 1ms 2>/dev/null ||
	th_skip "tc netem not available in this kernel (sch_netem); agent-reorder.sh covers the same with a relay"
tc -n "$TA_SUP" qdisc del dev "$sup_if" root

# run NAME NETNS IFACE NETEM...: 4 s at 1 ms with netem on IFACE, prints the record totals
run() {
	local name=$1 ns=$2 ifc=$3
	shift 3
	tc -n "$ns" qdisc add dev "$ifc" root netem "$@"
	ip netns exec "$TA_SUP" "$AGENT" probe --target "10.77.1.2:$TA_PORT" --vm vm1 \
		--interval 1 --duration 4 --report "$TH_TMP/$name" 2>"$TH_TMP/$name.log"
	tc -n "$ns" qdisc del dev "$ifc" root
	cat "$TH_TMP/$name.log" >&2
	jq -s -r '[.[] | select(.kind == "second")] |
		"\(map(.sent) | add) \(map(.lost_up) | add) \(map(.lost_down) | add) \(map(.lost_unknown) | add) \(map(.dup) | add) \(map(.late) | add)"' "$TH_TMP/$name"
}

# reordering and duplication both ways, no loss
tc -n "${TA_VM[1]}" qdisc add dev "$vm_if" root netem delay 3ms reorder 30% duplicate 5%
read -r sent up down unknown dup late < <(run reorder "$TA_SUP" "$sup_if" delay 3ms reorder 30% duplicate 5%)
tc -n "${TA_VM[1]}" qdisc del dev "$vm_if" root
th_log "reorder+dup: sent $sent lost $up/$down/$unknown dup $dup late $late"
th_assert_eq "0 0 0 0" "$up $down $unknown $late" "reordering and duplicates are not loss"
[ "$dup" -gt 100 ] || th_fail "duplicates not counted ($dup of ~$((sent / 10)))"
th_assert_eq 0 "$(jq -s '[.[] | select(.kind == "outage")] | length' "$TH_TMP/reorder")" "no outage"

# loss, reordering and duplication on the way to the VM only
read -r sent up down unknown dup late < <(run uploss "$TA_SUP" "$sup_if" delay 3ms reorder 30% duplicate 5% loss 3%)
th_log "up path: sent $sent lost up $up down $down unknown $unknown dup $dup"
th_assert_eq 0 "$down" "loss on the way up never counted down"
[ "$up" -gt 40 ] || th_fail "up loss not seen ($up)"
[ "$unknown" -le $((up / 20)) ] || th_fail "too many unknown directions ($unknown of $((up + unknown)))"

# the same on the way back only
read -r sent up down unknown dup late < <(run downloss "${TA_VM[1]}" "$vm_if" delay 3ms reorder 30% duplicate 5% loss 3%)
th_log "down path: sent $sent lost up $up down $down unknown $unknown dup $dup"
th_assert_eq 0 "$up" "loss on the way back never counted up"
[ "$down" -gt 40 ] || th_fail "down loss not seen ($down)"
[ "$unknown" -le $((down / 20)) ] || th_fail "too many unknown directions ($unknown of $((down + unknown)))"
