# tests/common/lib.sh — shared helpers for shell integration tests. Source it first:
#   . "$top_srcdir/tests/common/lib.sh"
# It sets -eu, gives a temp dir ($TH_TMP), a cleanup stack run on any exit, bounded waits,
# assertions that print what differed, and network namespace helpers whose names carry
# $TH_TEST_ID so tests/common/bounded can remove them even after a crash.
set -eu

: "${top_srcdir:?run through make check (top_srcdir unset)}"
: "${top_builddir:?run through make check (top_builddir unset)}"
: "${TH_TEST_ID:=th$$}"
TH_NAME=$(basename "$0" .sh)
TH_CLEANUP=()
TH_ON_FAIL=()

th_log() { printf '%s: %s\n' "$TH_NAME" "$*" >&2; }

# th_on_exit CMD...: push a cleanup command (run last-in first-out at exit, failures ignored).
th_on_exit() { TH_CLEANUP+=("$(printf '%q ' "$@")"); }

# th_on_fail CMD...: run CMD (its output into the log) when the test ends with a failure,
# before the cleanup stack: diagnostics of what was running when the check failed.
th_on_fail() { TH_ON_FAIL+=("$(printf '%q ' "$@")"); }

th__cleanup() {
	local rc=$? i
	trap - EXIT INT TERM
	set +e
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
		for ((i = 0; i < ${#TH_ON_FAIL[@]}; i++)); do
			eval "${TH_ON_FAIL[i]}" >&2 2>&1
		done
	fi
	for ((i = ${#TH_CLEANUP[@]} - 1; i >= 0; i--)); do
		eval "${TH_CLEANUP[i]}" >/dev/null 2>&1
	done
	# Namespaces made by th_netns_add (often called in $(...), where th_on_exit cannot reach
	# this shell): every namespace named "$TH_TEST_ID-*" belongs to this test.
	local ns
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$TH_TEST_ID-"); do
		th_netns_del "$ns"
	done
	exit "$rc"
}
trap th__cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

TH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/themis-$TH_NAME.XXXXXX")
th_on_exit rm -rf "$TH_TMP"

th_fail() { th_log "FAIL: $*"; exit 1; }
th_skip() { th_log "SKIP: $*"; exit 77; }
# Hard error: the environment is broken (exit 99 makes automake report ERROR, not SKIP).
th_error() { th_log "ERROR: $*"; exit 99; }

th_require_root() { [ "$(id -u)" -eq 0 ] || th_skip "needs root (network namespaces)"; }
# th_require_cmd CMD DEBIAN_PACKAGE
th_require_cmd() { command -v "$1" >/dev/null 2>&1 || th_error "$1 not found: install $2 (tools/install-deps.sh)"; }

# th_assert_eq EXPECTED ACTUAL WHAT
th_assert_eq() { [ "$1" = "$2" ] || th_fail "$3: expected '$1', got '$2'"; }
# th_assert_near EXPECTED ACTUAL TOLERANCE WHAT (numbers, awk arithmetic)
th_assert_near() {
	awk -v e="$1" -v a="$2" -v t="$3" 'BEGIN { d = e - a; if (d < 0) d = -d; exit !(d <= t) }' ||
		th_fail "$4: expected $1 ± $3, got $2"
}
# th_assert_match REGEX TEXT WHAT
th_assert_match() { printf '%s' "$2" | grep -Eq -- "$1" || th_fail "$3: '$2' does not match /$1/"; }

# th_wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds; fail after SECONDS.
th_wait_for() {
	local limit=$1 deadline
	shift
	deadline=$(($(date +%s%N) + limit * 1000000000))
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s%N)" -lt "$deadline" ] || th_fail "timed out after ${limit}s waiting for: $*"
		sleep 0.1
	done
}

# th_spawn PIDVAR CMD...: start CMD in the background, log to $TH_TMP/<n>.log, kill at exit.
th_spawn() {
	local var=$1
	shift
	"$@" >"$TH_TMP/spawn.$var.log" 2>&1 &
	printf -v "$var" '%s' "$!"
	th_on_exit kill -KILL "$!"
}

# th_netns_add NAME: create namespace "$TH_TEST_ID-NAME" with lo up; prints its full name.
# Safe to call in $(...): the exit cleanup removes every "$TH_TEST_ID-*" namespace.
th_netns_add() {
	local ns="$TH_TEST_ID-$1"
	ip netns add "$ns"
	th_on_exit th_netns_del "$ns"
	ip -n "$ns" link set lo up
	printf '%s\n' "$ns"
}

# th_netns_del NS: kill every process inside NS, then delete it (a namespace deleted with
# processes still in it lives on, unnamed, with them).
th_netns_del() {
	local p
	for p in $(ip netns pids "$1" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
	ip netns delete "$1" 2>/dev/null
}

# th_netns_link NS_A ADDR_A NS_B ADDR_B: veth pair between two namespaces (ADDR with /prefix).
th_netns_link() {
	local a=$1 aa=$2 b=$3 ab=$4 va vb
	va="v${RANDOM}a"
	vb="${va%a}b"
	ip link add "$va" netns "$a" type veth peer name "$vb" netns "$b"
	ip -n "$a" addr add "$aa" dev "$va"
	ip -n "$b" addr add "$ab" dev "$vb"
	ip -n "$a" link set "$va" up
	ip -n "$b" link set "$vb" up
	printf '%s %s\n' "$va" "$vb"
}

# th_free_port: a TCP/UDP port number free on loopback right now.
th_free_port() {
	local p lo
	# below the kernel's ephemeral range (client sockets take ports from there, and a port a
	# connection holds cannot be bound), and held by no socket at all, listening or not
	read -r lo _ </proc/sys/net/ipv4/ip_local_port_range
	[ "${lo:-0}" -gt 12000 ] || lo=32768
	while :; do
		p=$((10000 + RANDOM % (lo - 10000)))
		ss -Htuan "sport = :$p" | grep -q . || { printf '%s\n' "$p"; return; }
	done
}

# th_poll_for SECONDS CMD...: like th_wait_for, but returns 1 after SECONDS instead of failing.
th_poll_for() {
	local limit=$1 deadline
	shift
	deadline=$(($(date +%s%N) + limit * 1000000000))
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s%N)" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

# th_fail_later MESSAGE: note a failed check and go on, so that one run shows every behaviour
# that is broken; th_check_failures (at the end) fails with all the notes. Works in subshells.
th_fail_later() {
	th_log "FAIL (noted, going on): $*"
	printf '%s\n' "$*" >>"$TH_TMP/failures"
}
th_check_failures() {
	[ ! -s "$TH_TMP/failures" ] ||
		th_fail "$(wc -l <"$TH_TMP/failures") check(s) failed: $(paste -sd '|' "$TH_TMP/failures" | sed 's/|/ | /g')"
}
