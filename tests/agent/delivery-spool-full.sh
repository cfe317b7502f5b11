#!/bin/bash
# timeout: 120
# delivery-spool-full.sh — themis-agent probe with --report - and --report URL whose spool is on
# a full disk (a 256 KiB tmpfs filled up, mounted in a private mount namespace that vanishes
# with the agent): probing and the stdout records go on complete, nothing is lost. With the
# endpoint up the records wait in memory and are POSTed from there, every one of them; with
# the endpoint down and --spool-memory 3 the records beyond memory are dropped, counted and
# said so (exit status 1), stdout still complete.
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
# shellcheck source=tests/agent/delivery-common.sh
. "$top_srcdir/tests/agent/delivery-common.sh"
th_require_root
th_require_cmd jq jq
th_require_cmd unshare util-linux
AGENT="$top_builddir/agent/themis-agent"
[ -x "$AGENT" ] || th_error "themis-agent not built: $AGENT"

rport=$(th_free_port)
port=$(th_free_port)
[ "$port" != "$rport" ] || port=$((rport + 1))
echo "tok-$$" >"$TH_TMP/token"
chmod 600 "$TH_TMP/token"
"$AGENT" reflect --listen "127.0.0.1:$rport" >"$TH_TMP/reflect.log" 2>&1 &
th_on_exit kill -KILL "$!"
th_wait_for 5 grep -q listening "$TH_TMP/reflect.log"

# run_full NAME URL [ARGS...]: 6 s of probing with the spool on a full tmpfs; exit status in
# FULL_RC, records in $TH_TMP/NAME.out, messages in $TH_TMP/NAME.err
run_full() {
	local name=$1 url=$2 mnt="$TH_TMP/$1.mnt"
	shift 2
	mkdir -p "$mnt"
	FULL_RC=0
	# shellcheck disable=SC2016 # expanded by the inner bash
	unshare -m --propagation private bash -c '
		set -eu
		mnt=$1 agent=$2
		shift 2
		mount -t tmpfs -o size=256k themis-spool-test "$mnt"
		mkdir "$mnt/spool"
		dd if=/dev/zero of="$mnt/fill" bs=4k 2>/dev/null || true # until the disk is full
		! dd if=/dev/zero of="$mnt/more" bs=4k count=1 2>/dev/null || exit 9
		exec "$agent" "$@" --spool-dir "$mnt/spool"
	' full "$mnt" "$AGENT" probe --target "127.0.0.1:$rport" --vm vm1 --stream "full/$name" \
		--duration 6 --report - --report "$url" --token-file "$TH_TMP/token" "$@" \
		>"$TH_TMP/$name.out" 2>"$TH_TMP/$name.err" || FULL_RC=$?
	cat "$TH_TMP/$name.err" >&2
	# nothing of the tmpfs is left outside the namespace
	! grep -q themis-spool-test /proc/mounts || th_fail "the test tmpfs is still mounted"
}

# stdout_complete NAME: 600 probes, all answered, in 6 or 7 distinct seconds; prints the count
stdout_complete() {
	local n sent received lost
	read -r n sent received lost < <(jq -s -r '[.[] | select(.kind == "second")] as $s |
		"\($s | map(.t) | unique | length) \($s | map(.sent) | add) \($s | map(.received) | add) \($s | map(.lost_up + .lost_down + .lost_unknown) | add)"' "$TH_TMP/$1.out")
	th_assert_eq 600 "$sent" "$1: probes sent"
	th_assert_eq 600 "$received" "$1: probes answered"
	th_assert_eq 0 "$lost" "$1: probes lost"
	if [ "$n" -lt 6 ] || [ "$n" -gt 7 ]; then th_fail "$1: $n seconds for 6 s"; fi
	th_assert_eq "$n" "$(grep -c . "$TH_TMP/$1.out")" "$1: records on stdout"
	printf '%s\n' "$n"
}

# endpoint up: everything reaches it from memory
dlv_sink_start "$port" "$TH_TMP/keys" --token "tok-$$"
run_full up "http://127.0.0.1:$port"
th_assert_eq 0 "$FULL_RC" "exit status with a full spool and the endpoint up"
n=$(stdout_complete up)
grep -q "cannot write to spool .*No space left on device; keeping up to 10000 records in memory" \
	"$TH_TMP/up.err" || th_fail "the full spool was not reported"
jq -r 'select(.kind == "second") | .t' "$TH_TMP/up.out" >"$TH_TMP/fed"
dlv_compare "$TH_TMP/fed" "$TH_TMP/keys" 0
th_log "endpoint up: $n records on stdout, all delivered"
dlv_sink_stop

# endpoint down, 3 records of memory: the rest dropped and counted, stdout complete
run_full down "http://127.0.0.1:$port" --spool-memory 3
th_assert_eq 1 "$FULL_RC" "exit status when records were dropped"
n=$(stdout_complete down)
grep -q "dropping records (counted)" "$TH_TMP/down.err" || th_fail "dropping not reported"
th_assert_match "3 records held in memory are lost: spool .* \\($n dropped in all\\)" \
	"$(cat "$TH_TMP/down.err")" "the count of dropped records"
