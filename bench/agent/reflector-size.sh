#!/bin/bash
# bench/agent/reflector-size.sh — the static themis-reflector next to the dynamic
# "themis-agent reflect": file size, shared libraries needed, and resident memory (VmRSS/VmHWM
# from /proc/PID/status) idle and while serving 200 keyed streams at 100 probes/s each from one
# "themis-agent probe" in another namespace, for DUR seconds (default 10). Both reflectors run
# one after the other, with the same key and the same load; --new-streams-rate 0 so that all
# 200 streams from the one prober are admitted at once.
# Usage: sudo BUILD=/path/to/build bench/agent/reflector-size.sh   (DUR=10 by default)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/agent/bench-lib.sh
. "$here/bench-lib.sh"
DUR=${DUR:-10}
REFL="$BUILD/agent/themis-reflector"
[ -x "$REFL" ] || { echo "no $REFL: configure did not build the static reflector" >&2; exit 2; }
command -v jq >/dev/null || { echo "jq missing" >&2; exit 2; }

b_netns
(umask 077 && head -c 32 /dev/urandom >"$B_TMP/key")

# needed FILE: the shared libraries FILE names (DT_NEEDED), "none" when it has none
needed() {
	local n
	n=$(readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
	echo "${n:-none}"
}

# load NAME PORT CMD...: start reflector CMD in the VM, memory idle, under load, after
load() {
	local name=$1 port=$2 rpid ppid idle busy after sent recv
	shift 2
	b_bg "$NS_VM" "$@" --listen "$VM_IP:$port" --key-file "$B_TMP/key" --new-streams-rate 0
	rpid=$B_LAST
	b_wait_udp "$NS_VM" "$port"
	sleep 1
	idle=$(b_rss_kib "$rpid")
	for i in $(seq 200); do
		printf '%s:%s vm%s stream=bench/vm%s interval=10 key-file=%s\n' "$VM_IP" "$port" \
			"$i" "$i" "$B_TMP/key"
	done >"$B_TMP/targets"
	b_bg "$NS_SUP" "$AGENT" probe --targets-file "$B_TMP/targets" --duration "$DUR" \
		--report "$B_TMP/$name.jsonl" --quiet
	ppid=$B_LAST
	sleep "$((DUR / 2))"
	busy=$(b_rss_kib "$rpid")
	wait "$ppid" || true
	after=$(b_rss_kib "$rpid")
	{ kill -KILL "$rpid" && wait "$rpid"; } 2>/dev/null || true
	read -r sent recv <<<"$(jq -s -r '[.[] | select(.kind == "second")] |
		"\(map(.sent) | add) \(map(.received) | add)"' "$B_TMP/$name.jsonl")"
	printf '%s\t%s\t%s\t%s\t%s/%s\n' "$name" "${idle/ //}" "${busy/ //}" "${after/ //}" \
		"$recv" "$sent"
}

printf 'binary\tbytes\tneeded\n'
printf 'themis-agent\t%s\t%s\n' "$(stat -c %s "$AGENT")" "$(needed "$AGENT")"
printf 'themis-reflector\t%s\t%s\n' "$(stat -c %s "$REFL")" "$(needed "$REFL")"
printf 'themis-reflector stripped\t%s\n' "$(strip -o "$B_TMP/stripped" "$REFL" &&
	stat -c %s "$B_TMP/stripped")"
echo "# resident memory, KiB VmRSS/VmHWM: idle, serving 200 keyed streams x 100 probes/s, after ($DUR s)"
printf 'reflector\tidle\tserving\tafter\techoes/probes\n'
load "themis-agent reflect" 7300 "$AGENT" reflect
load "themis-reflector" 7301 "$REFL"
