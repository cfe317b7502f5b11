#!/bin/bash
# bench/agent/cost.sh — what themis-agent costs, measured between two network namespaces:
#  1. CPU per probe of probe + reflect against irtt client + server at the same rate
#     (1 ms interval by default, RATE_MS), each pair alone for DUR seconds;
#  2. one stream at 10 000 probes/s (0.1 ms) for DUR seconds: probes lost and schedule slips;
#  3. 200 targets x 100 probes/s in one probe process for DUR seconds: losses, slips, CPU;
#  4. resident memory of the reflector while it serves those 200 streams.
# CPU comes from /proc/PID/stat (user + system ticks) read just before each process ends.
# Usage: sudo BUILD=/path/to/build bench/agent/cost.sh   (DUR=20 RATE_MS=1 by default)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/agent/bench-lib.sh
. "$here/bench-lib.sh"
DUR=${DUR:-20}
RATE_MS=${RATE_MS:-1}
HZ=$(getconf CLK_TCK)
command -v irtt >/dev/null || { echo "irtt missing (tools/deps.txt)" >&2; exit 2; }
command -v jq >/dev/null || { echo "jq missing" >&2; exit 2; }

b_netns

# cpu_of PID SECONDS: sleep, then print the CPU seconds PID used so far
cpu_of() {
	sleep "$2"
	awk -v t="$(b_cpu_ticks "$1")" -v hz="$HZ" 'BEGIN { printf "%.3f", t / hz }'
}
# totals FILE: "sent received lost late slips" over the second records of a probe run
totals() {
	jq -s -r '[.[] | select(.kind == "second")] |
		"\(map(.sent) | add) \(map(.received) | add) \(map(.lost_up + .lost_down + .lost_unknown) | add) \(map(.late) | add) \(map(.slips) | add)"' "$1"
}

echo "# 1. CPU per probe at one probe every $RATE_MS ms for $DUR s"
b_bg "$NS_VM" "$AGENT" reflect --listen "$VM_IP:7300"
rpid=$B_LAST
b_wait_udp "$NS_VM" 7300
b_bg "$NS_SUP" "$AGENT" probe --target "$VM_IP:7300" --vm vm --interval "$RATE_MS" \
	--duration "$((DUR + 5))" --report "$B_TMP/p1.jsonl" --quiet
ppid=$B_LAST
sleep 1
r0=$(b_cpu_ticks "$rpid")
p0=$(b_cpu_ticks "$ppid")
sleep "$DUR"
r1=$(b_cpu_ticks "$rpid")
p1=$(b_cpu_ticks "$ppid")
kill -TERM "$ppid"
wait "$ppid" || true
kill -KILL "$rpid"
n=$(awk -v d="$DUR" -v r="$RATE_MS" 'BEGIN { printf "%d", d * 1000 / r }')
th_probe_us=$(awk -v a="$p0" -v b="$p1" -v hz="$HZ" -v n="$n" 'BEGIN { printf "%.2f", (b - a) / hz / n * 1e6 }')
th_refl_us=$(awk -v a="$r0" -v b="$r1" -v hz="$HZ" -v n="$n" 'BEGIN { printf "%.2f", (b - a) / hz / n * 1e6 }')

b_bg "$NS_VM" irtt server -b "$VM_IP:2112" -i 0
spid=$B_LAST
b_wait_udp "$NS_VM" 2112
b_bg "$NS_SUP" irtt client -i "${RATE_MS}ms" -d "$((DUR + 5))s" -Q "$VM_IP:2112"
cpid=$B_LAST
sleep 1
s0=$(b_cpu_ticks "$spid")
c0=$(b_cpu_ticks "$cpid")
sleep "$DUR"
s1=$(b_cpu_ticks "$spid")
c1=$(b_cpu_ticks "$cpid")
kill -KILL "$cpid" "$spid"
ir_client_us=$(awk -v a="$c0" -v b="$c1" -v hz="$HZ" -v n="$n" 'BEGIN { printf "%.2f", (b - a) / hz / n * 1e6 }')
ir_server_us=$(awk -v a="$s0" -v b="$s1" -v hz="$HZ" -v n="$n" 'BEGIN { printf "%.2f", (b - a) / hz / n * 1e6 }')
printf 'tool\tsender_us_per_probe\techo_us_per_probe\ttotal_us_per_probe\n'
printf 'themis probe+reflect\t%s\t%s\t%s\n' "$th_probe_us" "$th_refl_us" \
	"$(awk -v a="$th_probe_us" -v b="$th_refl_us" 'BEGIN { printf "%.2f", a + b }')"
printf 'irtt client+server\t%s\t%s\t%s\n' "$ir_client_us" "$ir_server_us" \
	"$(awk -v a="$ir_client_us" -v b="$ir_server_us" 'BEGIN { printf "%.2f", a + b }')"

echo "# 2. one stream at 10000 probes/s (0.1 ms) for $DUR s"
b_bg "$NS_VM" "$AGENT" reflect --listen "$VM_IP:9912"
rpid=$B_LAST
b_wait_udp "$NS_VM" 9912
b_bg "$NS_SUP" "$AGENT" probe --target "$VM_IP:9912" --vm vm --interval 0.1 \
	--duration "$DUR" --report "$B_TMP/p2.jsonl" --quiet
ppid=$B_LAST
pcpu=$(cpu_of "$ppid" "$((DUR - 1))")
rcpu=$(awk -v t="$(b_cpu_ticks "$rpid")" -v hz="$HZ" 'BEGIN { printf "%.3f", t / hz }')
wait "$ppid" || true
kill -KILL "$rpid"
read -r sent recv lost late slips <<<"$(totals "$B_TMP/p2.jsonl")"
printf 'sent=%s received=%s lost=%s late=%s slips=%s probe_cpu_s=%s reflect_cpu_s=%s (over ~%s s)\n' \
	"$sent" "$recv" "$lost" "$late" "$slips" "$pcpu" "$rcpu" "$((DUR - 1))"

echo "# 3. 200 targets x 100 probes/s in one process for $DUR s; 4. reflector memory"
b_bg "$NS_VM" "$AGENT" reflect --listen "$VM_IP:9913"
rpid=$B_LAST
b_wait_udp "$NS_VM" 9913
for i in $(seq 200); do
	printf '%s:9913 vm%s stream=bench/vm%s interval=10\n' "$VM_IP" "$i" "$i"
done >"$B_TMP/targets"
rss0=$(b_rss_kib "$rpid")
b_bg "$NS_SUP" "$AGENT" probe --targets-file "$B_TMP/targets" --duration "$DUR" \
	--report "$B_TMP/p3.jsonl" --quiet
ppid=$B_LAST
sleep "$((DUR / 2))"
rss1=$(b_rss_kib "$rpid")
pcpu=$(cpu_of "$ppid" "$((DUR / 2 - 1))")
rcpu=$(awk -v t="$(b_cpu_ticks "$rpid")" -v hz="$HZ" 'BEGIN { printf "%.3f", t / hz }')
wait "$ppid" || true
rss2=$(b_rss_kib "$rpid")
kill -KILL "$rpid"
read -r sent recv lost late slips <<<"$(totals "$B_TMP/p3.jsonl")"
printf 'sent=%s received=%s lost=%s late=%s slips=%s probe_cpu_s=%s reflect_cpu_s=%s (over ~%s s)\n' \
	"$sent" "$recv" "$lost" "$late" "$slips" "$pcpu" "$rcpu" "$((DUR - 1))"
printf 'reflector rss/hwm KiB: idle %s, serving 200 streams %s, after %s\n' "$rss0" "$rss1" "$rss2"
