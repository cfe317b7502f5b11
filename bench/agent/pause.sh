#!/bin/bash
# bench/agent/pause.sh — a paused program on the VM (SIGSTOP for LEN seconds, default 1.5), the
# way a VM pause during migration looks to the measurement:
#   sender paused:    themis-agent send (one-way, VM -> supervisor) against an iperf3 UDP
#                     client on the VM sending to a server on the supervisor (1 s and 0.1 s
#                     intervals, figures read on the receiving server)
#   reflector paused: themis-agent reflect (probe on the supervisor) against an irtt server
#                     (irtt client on the supervisor, 10 ms)
# Output: one TSV line per tool: paused_ms measured_ms abs_error_ms note.
# Usage: sudo BUILD=/path/to/build bench/agent/pause.sh [LEN]
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/agent/bench-lib.sh
. "$here/bench-lib.sh"
LEN=${1:-1.5}
W=$(awk -v l="$LEN" 'BEGIN { printf "%d", l + 7 }')
b_netns

# pause_for PID...: SIGSTOP, LEN seconds, SIGCONT; prints the stop length in ms
pause_for() {
	local t1 t2
	t1=$EPOCHREALTIME
	kill -STOP "$@"
	sleep "$LEN"
	kill -CONT "$@"
	t2=$EPOCHREALTIME
	awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.1f", (b - a) * 1000 }'
}
row() { # row TOOL PAUSED MEASURED NOTE
	printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" \
		"$(awk -v a="$2" -v b="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; printf "%.1f", d }')" "$4"
}
printf 'tool\tpaused_ms\tmeasured_ms\tabs_error_ms\tnote\n'

# --- sender paused: one-way themis and iperf3 UDP clients on the VM
b_bg "$NS_SUP" "$AGENT" receive --listen "$SUP_IP:9920" --vm vm --duration "$((W + 2))" \
	--report "$B_TMP/oneway.jsonl"
rpid=$B_LAST
b_bg "$NS_SUP" "$AGENT" iperf --quiet --vm vm --direction down --report "$B_TMP/ip1.jsonl" \
	-- -s -1 -p 5301
i1=$B_LAST
b_bg "$NS_SUP" "$AGENT" iperf --quiet --vm vm --direction down --report "$B_TMP/ip01.jsonl" \
	-- -s -1 -p 5302 -i 0.1
i2=$B_LAST
b_wait_udp "$NS_SUP" 9920
b_wait_tcp "$NS_SUP" 5301
b_wait_tcp "$NS_SUP" 5302
b_bg "$NS_VM" "$AGENT" send --target "$SUP_IP:9920" --interval 10 --duration "$W"
spid=$B_LAST
b_bg "$NS_VM" iperf3 -c "$SUP_IP" -p 5301 -u -b 1M -l 1000 -t "$W"
c1=$B_LAST
b_bg "$NS_VM" iperf3 -c "$SUP_IP" -p 5302 -u -b 1M -l 1000 -t "$W"
c2=$B_LAST
sleep 3
# the whole "VM" stops: every sending program at once (their ip netns exec children)
pids=$(for p in "$spid" "$c1" "$c2"; do pgrep -P "$p" || echo "$p"; done | tr '\n' ' ')
# shellcheck disable=SC2086 # a list of pids
paused=$(pause_for $pids)
wait "$spid" "$c1" "$c2" || true
wait "$rpid" "$i1" "$i2" || true
ow=$(jq -s '[.[] | select(.kind == "outage") | .duration_ms] | add // 0' "$B_TMP/oneway.jsonl")
row "themis-oneway" "$paused" "$ow" "outages=$(jq -s '[.[] | select(.kind == "outage")] | length' "$B_TMP/oneway.jsonl")"
for f in ip1 ip01; do
	lost=$(jq -s '[.[] | select(.kind == "iperf" and .lost_packets > 0) | .lost_packets] | add // 0' "$B_TMP/$f.jsonl")
	dark=$(jq -s '[.[] | select(.kind == "outage") | .duration_ms] | add // 0' "$B_TMP/$f.jsonl")
	row "iperf3-${f#ip}" "$paused" "$((lost * 8))" "loss-based (lost=$lost); blackout-intervals=${dark}ms"
done

# --- reflector paused: themis reflect vs irtt server
b_bg "$NS_VM" "$AGENT" reflect --listen "$VM_IP:7300"
refl=$B_LAST
b_bg "$NS_VM" irtt server -b "$VM_IP:2112" -i 0
irs=$B_LAST
b_wait_udp "$NS_VM" 7300
b_wait_udp "$NS_VM" 2112
b_bg "$NS_SUP" "$AGENT" probe --target "$VM_IP:7300" --vm vm --interval 10 --duration "$W" \
	--report "$B_TMP/probe.jsonl" --quiet
pp=$B_LAST
b_bg "$NS_SUP" irtt client -i 10ms -d "${W}s" -Q -o "$B_TMP/irtt.json" "$VM_IP:2112"
ip=$B_LAST
sleep 3
pids=$(for p in "$refl" "$irs"; do pgrep -P "$p" || echo "$p"; done | tr '\n' ' ')
# shellcheck disable=SC2086 # a list of pids
paused=$(pause_for $pids)
wait "$pp" "$ip" || true
th=$(jq -s '[.[] | select(.kind == "outage") | .duration_ms] | add // 0' "$B_TMP/probe.jsonl")
row "themis-probe" "$paused" "$th" "direction=$(jq -r -s '[.[] | select(.kind == "outage") | .direction] | unique | join(",")' "$B_TMP/probe.jsonl")"
ir=$(jq '[.round_trips[] | (.lost != "false")] | reduce .[] as $l ({run: 0, best: 0};
	if $l then .run += 1 | .best = ([.best, .run] | max) else .run = 0 end) | .best * 10' "$B_TMP/irtt.json")
row "irtt" "$paused" "$ir" "longest lost run x 10 ms"
