#!/bin/bash
# bench/agent/accuracy.sh — outage accuracy of themis-agent probe against iperf3 (UDP, 1 s and
# 0.1 s intervals), irtt (10 ms) and fping (-o, 10 ms), all measuring the same injected outage at
# the same time. An nftables drop rule of known length is applied per direction:
#   up   = supervisor -> VM packets dropped
#   down = VM -> supervisor packets dropped
#   both = both
# The supervisor and the VM are joined through a router namespace; the drop rules live in its
# forward hook, added and deleted by single nft commands run inside that namespace.
# Output: one TSV line per (length, direction, tool): injected_ms (between the middles of the
# nft commands that add and delete the rules), its uncertainty (half their durations),
# measured_ms and abs_error_ms.
# How each tool's figure is read:
#   themis   sum of "outage" duration_ms (probe --interval 10, records in JSON lines)
#   themis-oneway  the same from receive (send --interval 10 on the VM): sees "down" only
#   iperf3   lost datagrams x datagram period (-u -R -b 1M -l 1000: 8 ms per datagram), the way
#            iperf3 users turn its loss into a duration; the VM sends, so an "up" drop is
#            invisible to it
#   irtt     longest run of lost round trips x 10 ms (irtt client -i 10ms, JSON output)
#   fping    "outage(ms)" of fping -p 10 -o (lost x period)
# Usage: sudo BUILD=/path/to/build bench/agent/accuracy.sh [LENGTHS_S] [DIRECTIONS]
#        defaults: "0.05 0.3 1.5 10" "up down both"
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/agent/bench-lib.sh
. "$here/bench-lib.sh"
LENGTHS=${1:-"0.05 0.3 1.5 10"}
DIRS=${2:-"up down both"}
for c in iperf3 irtt fping nft jq; do
	command -v "$c" >/dev/null || { echo "$c missing (tools/deps.txt)" >&2; exit 2; }
done

b_netns_routed
b_bg "$NS_VM" "$AGENT" reflect --listen "$VM_IP:7300"
b_bg "$NS_VM" iperf3 -s -p 5201
b_bg "$NS_VM" iperf3 -s -p 5202
b_bg "$NS_VM" irtt server -b "$VM_IP:2112" -i 0
b_wait_udp "$NS_VM" 7300
b_wait_tcp "$NS_VM" 5201
b_wait_tcp "$NS_VM" 5202
b_wait_udp "$NS_VM" 2112

# b_inject DIR SECONDS: drop DIR's packets in the router for SECONDS; prints the times (epoch)
# before/after the nft command that adds the rules and before/after the one that deletes them.
# It runs as one shell inside the router namespace, so the times bracket nft alone.
b_inject() {
	local rules=""
	case $1 in up | both) rules="$rules ip saddr $SUP_IP ip daddr $VM_IP drop;" ;; esac
	case $1 in down | both) rules="$rules ip saddr $VM_IP ip daddr $SUP_IP drop;" ;; esac
	{
		printf 'table inet thb {\n\tchain fw {\n\t\ttype filter hook forward priority 0;\n'
		printf '%s' "$rules" | tr ';' '\n' | sed -n 's/^ *\(..*\)$/\t\t\1;/p'
		printf '\t}\n}\n'
	} >"$B_TMP/rules.nft"
	# shellcheck disable=SC2016 # expanded by the inner shell
	ip netns exec "$NS_RT" bash -c '
		set -eu
		t0=$EPOCHREALTIME; nft -f "$1"; t1=$EPOCHREALTIME
		sleep "$2"
		t2=$EPOCHREALTIME; nft delete table inet thb; t3=$EPOCHREALTIME
		echo "$t0 $t1 $t2 $t3"
	' inject "$B_TMP/rules.nft" "$2"
}

printf 'length_s\tdirection\ttool\tinjected_ms\tinjection_uncertainty_ms\tmeasured_ms\tabs_error_ms\tnote\n'
for L in $LENGTHS; do
	for D in $DIRS; do
		d="$B_TMP/$L-$D"
		mkdir -p "$d"
		W=$(awk -v l="$L" 'BEGIN { printf "%d", l + 7 }')
		b_bg "$NS_SUP" "$AGENT" probe --target "$VM_IP:7300" --vm vm --interval 10 \
			--duration "$W" --report "$d/themis.jsonl" --quiet
		p1=$B_LAST
		b_bg "$NS_SUP" "$AGENT" receive --listen "$SUP_IP:9920" --vm vm --duration "$((W + 1))" \
			--report "$d/oneway.jsonl"
		p6=$B_LAST
		b_bg "$NS_VM" "$AGENT" send --target "$SUP_IP:9920" --interval 10 --duration "$W"
		p7=$B_LAST
		b_bg "$NS_SUP" "$AGENT" iperf --quiet --vm vm --direction down --report "$d/ip1.jsonl" \
			-- -c "$VM_IP" -p 5201 -u -R -b 1M -l 1000 -t "$W" -i 1
		p2=$B_LAST
		b_bg "$NS_SUP" "$AGENT" iperf --quiet --vm vm --direction down --report "$d/ip01.jsonl" \
			-- -c "$VM_IP" -p 5202 -u -R -b 1M -l 1000 -t "$W" -i 0.1
		p3=$B_LAST
		b_bg "$NS_SUP" irtt client -i 10ms -d "${W}s" -Q -o "$d/irtt.json" "$VM_IP:2112"
		p4=$B_LAST
		# fping prints its summary on stderr
		ip netns exec "$NS_SUP" fping -p 10 -o -c "$((W * 100))" "$VM_IP" >/dev/null 2>"$d/fping.txt" &
		p5=$!
		B_PIDS+=("$p5")
		sleep 3
		# the rules take effect somewhere inside the nft commands: take the middle of each
		read -r t0 t1 t2 t3 <<<"$(b_inject "$D" "$L")"
		wait "$p1" "$p2" "$p3" "$p4" "$p5" "$p6" "$p7" || true
		inj=$(awk -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" \
			'BEGIN { printf "%.1f", ((c + d) - (a + b)) / 2 * 1000 }')
		unc=$(awk -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" \
			'BEGIN { printf "%.1f", ((b - a) + (d - c)) / 2 * 1000 }')

		th=$(jq -s '[.[] | select(.kind == "outage") | .duration_ms] | add // 0' "$d/themis.jsonl")
		thdir=$(jq -r -s '[.[] | select(.kind == "outage") | .direction] | unique | join(",")' "$d/themis.jsonl")
		ow=$(jq -s '[.[] | select(.kind == "outage") | .duration_ms] | add // 0' "$d/oneway.jsonl")
		i1=$(jq -s '[.[] | select(.kind == "iperf" and .lost_packets > 0) | .lost_packets] | add // 0 | . * 8' "$d/ip1.jsonl")
		i01=$(jq -s '[.[] | select(.kind == "iperf" and .lost_packets > 0) | .lost_packets] | add // 0 | . * 8' "$d/ip01.jsonl")
		i01b=$(jq -s '[.[] | select(.kind == "outage") | .duration_ms] | add // 0' "$d/ip01.jsonl")
		ir=$(jq '[.round_trips[] | (.lost != "false")] | reduce .[] as $l ({run: 0, best: 0};
			if $l then .run += 1 | .best = ([.best, .run] | max) else .run = 0 end) | .best * 10' "$d/irtt.json")
		irdir=$(jq -r '[.round_trips[] | select(.lost != "false") | .lost] | group_by(.) |
			map("\(.[0])=\(length)") | join(",")' "$d/irtt.json")
		fp=$(sed -n 's/.*outage(ms) = \([0-9]*\).*/\1/p' "$d/fping.txt")
		for row in "themis $th direction=$thdir" "themis-oneway $ow VM->supervisor-only" "iperf3-1s $i1 loss-based" \
			"iperf3-0.1s $i01 loss-based;blackout-intervals=${i01b}ms" \
			"irtt $ir lost=$irdir" "fping ${fp:-0} lost*period"; do
			read -r tool val note <<<"$row"
			printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$L" "$D" "$tool" "$inj" "$unc" "$val" \
				"$(awk -v a="$inj" -v b="$val" 'BEGIN { d = a - b; if (d < 0) d = -d; printf "%.1f", d }')" "$note"
		done
	done
done
