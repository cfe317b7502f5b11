# shellcheck shell=bash
# bench/agent/bench-lib.sh — shared setup of the agent benchmarks: a "supervisor" and a "vm"
# network namespace joined by a veth pair, cleanup of everything started, helpers.
# Sourced by accuracy.sh and cost.sh; needs root. BUILD is the build directory holding
# agent/themis-agent (default: the current directory).
set -eu
BUILD=${BUILD:-$PWD}
AGENT="$BUILD/agent/themis-agent"
[ -x "$AGENT" ] || { echo "no $AGENT: run from a build directory or set BUILD" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "needs root (network namespaces, nftables)" >&2; exit 2; }
B_ID="thb$$"
NS_SUP="$B_ID-sup"
NS_VM="$B_ID-vm"
NS_RT="$B_ID-rt"
SUP_IP=10.90.0.1
VM_IP=10.90.0.2
B_TMP=$(mktemp -d "${TMPDIR:-/tmp}/themis-bench.XXXXXX")
B_PIDS=()

b_cleanup() {
	local p
	for p in "${B_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	ip netns delete "$NS_SUP" 2>/dev/null || true
	ip netns delete "$NS_VM" 2>/dev/null || true
	ip netns delete "$NS_RT" 2>/dev/null || true
	[ -n "${KEEP:-}" ] || rm -rf "$B_TMP"
}
trap b_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

b_netns() {
	ip netns add "$NS_SUP"
	ip netns add "$NS_VM"
	ip link add "${B_ID}a" netns "$NS_SUP" type veth peer name "${B_ID}b" netns "$NS_VM"
	ip -n "$NS_SUP" addr add "$SUP_IP/24" dev "${B_ID}a"
	ip -n "$NS_VM" addr add "$VM_IP/24" dev "${B_ID}b"
	for ns in "$NS_SUP" "$NS_VM"; do
		ip -n "$ns" link set lo up
	done
	ip -n "$NS_SUP" link set "${B_ID}a" up
	ip -n "$NS_VM" link set "${B_ID}b" up
}

# b_netns_routed: the supervisor and the VM on two links through a router namespace, so that
# one nftables command in the router's forward hook can drop either direction or both.
b_netns_routed() {
	SUP_IP=10.90.1.1
	VM_IP=10.90.2.1
	ip netns add "$NS_SUP"
	ip netns add "$NS_VM"
	ip netns add "$NS_RT"
	ip link add "${B_ID}s" netns "$NS_SUP" type veth peer name "${B_ID}rs" netns "$NS_RT"
	ip link add "${B_ID}v" netns "$NS_VM" type veth peer name "${B_ID}rv" netns "$NS_RT"
	ip -n "$NS_SUP" addr add "$SUP_IP/24" dev "${B_ID}s"
	ip -n "$NS_VM" addr add "$VM_IP/24" dev "${B_ID}v"
	ip -n "$NS_RT" addr add 10.90.1.254/24 dev "${B_ID}rs"
	ip -n "$NS_RT" addr add 10.90.2.254/24 dev "${B_ID}rv"
	for ns in "$NS_SUP" "$NS_VM" "$NS_RT"; do
		ip -n "$ns" link set lo up
	done
	ip -n "$NS_SUP" link set "${B_ID}s" up
	ip -n "$NS_VM" link set "${B_ID}v" up
	ip -n "$NS_RT" link set "${B_ID}rs" up
	ip -n "$NS_RT" link set "${B_ID}rv" up
	ip -n "$NS_SUP" route add default via 10.90.1.254
	ip -n "$NS_VM" route add default via 10.90.2.254
	ip netns exec "$NS_RT" sysctl -qw net.ipv4.ip_forward=1
}

# b_bg NS CMD...: start CMD in namespace NS in the background; prints nothing, sets B_LAST.
b_bg() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@" >>"$B_TMP/background.log" 2>&1 &
	B_LAST=$!
	B_PIDS+=("$B_LAST")
}

# b_cpu_ticks PID: user+system clock ticks the process used so far.
b_cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# b_rss_kib PID: resident and peak resident memory in KiB ("rss hwm").
b_rss_kib() { awk '/^VmRSS/ { r = $2 } /^VmHWM/ { h = $2 } END { print r, h }' "/proc/$1/status"; }

# b_wait_udp NS PORT: until something listens on UDP PORT in NS.
b_wait_udp() {
	local _
	for _ in $(seq 100); do
		ip netns exec "$1" ss -Huln "sport = :$2" | grep -q . && return 0
		sleep 0.05
	done
	echo "nothing listens on udp $2 in $1" >&2
	return 1
}
b_wait_tcp() {
	local _
	for _ in $(seq 100); do
		ip netns exec "$1" ss -Htln "sport = :$2" | grep -q . && return 0
		sleep 0.05
	done
	echo "nothing listens on tcp $2 in $1" >&2
	return 1
}
