#!/bin/bash
# timeout: 90
# iperf-blackout.sh — `themis-agent iperf` around a real iperf3 3.12 UDP run (0.5 s intervals,
# reverse mode: the VM sends) between two network namespaces, with every packet dropped by
# nftables for 2 s: the intervals inside the drop are flagged as blackout (0 bytes), one outage
# record covers them within one interval of the drop, and the loss iperf3 books late stays in
# the interval where traffic resumed.
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
th_require_root
th_require_cmd jq jq
th_require_cmd iperf3 iperf3
th_require_cmd nft nftables
agent="$top_builddir/agent/themis-agent"
[ -x "$agent" ] || th_error "$agent not built"

vm=$(th_netns_add vm)
sup=$(th_netns_add sup)
th_on_exit th_netns_del "$vm"
th_on_exit th_netns_del "$sup"
th_netns_link "$vm" 10.78.0.1/24 "$sup" 10.78.0.2/24 >/dev/null
out="$TH_TMP/records.jsonl"

ip netns exec "$vm" iperf3 -s -1 -p 5201 >"$TH_TMP/server.log" 2>&1 &
th_on_exit kill -KILL "$!"
th_wait_for 10 ip netns exec "$vm" ss -Htln "sport = :5201"

ip netns exec "$sup" "$agent" iperf --vm vm1 --stream s1 --direction down --report "$out" \
	-- -c 10.78.0.1 -p 5201 -u -R -b 1M -l 1000 -t 7 -i 0.5 2>"$TH_TMP/iperf.err" &
apid=$!
th_on_exit kill -KILL "$apid"
sleep 2.5
# drop in both input hooks (an output drop would make iperf3's sends fail with EPERM)
for ns in "$vm" "$sup"; do
	ip netns exec "$ns" nft -f - <<'NFT'
table inet thdrop {
	chain in { type filter hook input priority 0; ip saddr 10.78.0.0/24 drop; }
}
NFT
done
t1=$EPOCHREALTIME
sleep 2
for ns in "$vm" "$sup"; do ip netns exec "$ns" nft delete table inet thdrop; done
t2=$EPOCHREALTIME
wait "$apid" || th_fail "themis-agent iperf failed: $(cat "$TH_TMP/iperf.err")"

th_log "drop $t1 .. $t2; $(tail -n 1 "$TH_TMP/iperf.err")"
th_assert_eq 14 "$(jq -s '[.[] | select(.kind == "iperf")] | length' "$out")" "iperf records (7 s / 0.5 s)"
dark=$(jq -s '[.[] | select(.kind == "iperf" and .blackout)] | length' "$out")
if [ "$dark" -lt 3 ] || [ "$dark" -gt 4 ]; then
	th_fail "$dark blackout intervals in a 2 s drop at 0.5 s"
fi
th_assert_eq 0 "$(jq -s '[.[] | select(.kind == "iperf" and .blackout and .bytes != 0)] | length' "$out")" \
	"blackout intervals with bytes"
th_assert_eq 0 "$(jq -s '[.[] | select(.kind == "iperf" and (.blackout | not) and .bytes == 0)] | length' "$out")" \
	"zero-byte intervals not flagged"
th_assert_eq 1 "$(jq -s '[.[] | select(.kind == "outage")] | length' "$out")" "outage records"
th_assert_eq down "$(jq -r 'select(.kind == "outage") | .direction' "$out")" "outage direction"
# the outage's edges lie within one interval (0.5 s) + reporting delay of the drop's edges
start=$(jq -r 'select(.kind == "outage") | .start' "$out")
end=$(jq -r 'select(.kind == "outage") | .end' "$out")
th_assert_near "$t1" "$start" 0.6 "outage start vs drop start"
th_assert_near "$t2" "$end" 0.6 "outage end vs drop end"
# iperf3 books the blackout's loss in the interval where traffic resumed: that is kept as is
resumed_lost=$(jq -s '[.[] | select(.kind == "iperf" and .lost_packets > 0)] | .[0].lost_packets' "$out")
[ "$resumed_lost" -ge 200 ] || th_fail "loss booked at resumption: $resumed_lost, about 250 expected"
th_assert_eq "$resumed_lost" "$(jq -r 'select(.kind == "outage") | .lost' "$out")" "outage lost packets"
