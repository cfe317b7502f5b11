#!/bin/bash
# timeout: 180
# delivery-spool-cap.sh — `--report URL` with --spool-max during a long endpoint outage:
# 1. the endpoint is down; 15000 records (about 5 MB) are pushed at 1500/s into a spool capped
#    at 1 MiB: the files on disk never exceed the cap (sampled every 0.2 s), the oldest batches
#    are deleted and counted (spool_dropped), the warning is logged once, the resident memory of
#    the agent stands still while the cap holds (sampled from /proc at 3 s and at the end);
# 2. the endpoint comes back while the agent drains its spool at exit: exactly the newest
#    records arrive, as many as were pushed minus those counted as dropped, none twice, and the
#    agent still ends with an error saying how many were deleted.
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
# shellcheck source=tests/agent/delivery-common.sh
. "$top_srcdir/tests/agent/delivery-common.sh"

port=$(th_free_port)
url="http://127.0.0.1:$port"
spool="$TH_TMP/spool"
cap=$((1024 * 1024))
count=15000
# Under AddressSanitizer freed memory waits in a quarantine (256 MiB by default): keep it small.
rss_growth=1024
if [ -n "${THEMIS_ASAN_PRELOAD:-}" ]; then
	export ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=16"
	rss_growth=4096
fi
echo "cap-$$" >"$TH_TMP/token"
chmod 600 "$TH_TMP/token"

# spool_bytes: what the spool holds on disk (segments, batches, rejected/), the lock file aside
spool_bytes() {
	find "$spool" -type f ! -name lock -printf '%s\n' 2>/dev/null | awk '{ s += $1 } END { print s + 0 }'
}
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# 1. endpoint down (nothing listens on the port) until every record is pushed
"$DLV_FEED" --url "$url" --spool "$spool" --token-file "$TH_TMP/token" --rate 1500 \
	--start 1000000 --count "$count" --batch 100 --flush-ms 100 --drain-ms 30000 \
	--spool-max "$cap" >"$TH_TMP/fed.1" 2>"$TH_TMP/err.1" &
feed=$!
th_on_exit kill -KILL "$feed"
max=0
samples=0
rss_early=
t0=$(date +%s%N)
while kill -0 "$feed" 2>/dev/null; do
	b=$(spool_bytes)
	[ "$b" -le "$max" ] || max=$b
	samples=$((samples + 1))
	now=$(date +%s%N)
	if [ -z "$rss_early" ] && [ $((now - t0)) -ge 3000000000 ]; then
		rss_early=$(rss_kb "$feed")
	fi
	# the last sample while the feed still pushes (it stops after count/rate = 10 s)
	fed=$(wc -l <"$TH_TMP/fed.1")
	if [ "$fed" -ge $((count - 300)) ] && [ -z "${rss_late:-}" ]; then
		rss_late=$(rss_kb "$feed")
	fi
	# 2. every record pushed: the endpoint comes back while the agent drains
	if [ "$fed" -eq "$count" ] && [ -z "${DLV_SINK_PID:-}" ]; then
		grep -q "^feed: stats" "$TH_TMP/err.1" || { sleep 0.2; continue; }
		dlv_sink_start "$port" "$TH_TMP/keys" --token "cap-$$"
	fi
	sleep 0.2
done
rc=0
wait "$feed" || rc=$?
cat "$TH_TMP/err.1" >&2
th_assert_eq 3 "$rc" "exit status when records were deleted"
th_assert_eq "$count" "$(wc -l <"$TH_TMP/fed.1")" "records pushed"
th_log "spool at most $max bytes in $samples samples (cap $cap); RSS ${rss_early} kB at 3 s, ${rss_late:-?} kB at the end"
[ "$samples" -ge 20 ] || th_fail "only $samples samples of the spool size"
[ "$max" -le "$cap" ] || th_fail "the spool held $max bytes, more than its cap of $cap"
[ "$max" -ge $((cap * 3 / 4)) ] || th_fail "the spool never came near its cap ($max bytes)"
[ "$(spool_bytes)" -le "$cap" ] || th_fail "the spool holds $(spool_bytes) bytes after the run"
if [ -z "$rss_early" ] || [ -z "${rss_late:-}" ]; then th_fail "no RSS samples"; fi
# 10000 more records went through the spool between the samples: memory must not follow them
[ $((rss_late - rss_early)) -le "$rss_growth" ] ||
	th_fail "resident memory grew from $rss_early kB to $rss_late kB while the cap held"

dropped=$(sed -n 's/^feed: stats spool_dropped \([0-9]*\) .*/\1/p' "$TH_TMP/err.1")
[ -n "$dropped" ] || th_fail "no stats line"
[ "$dropped" -gt 0 ] || th_fail "nothing was dropped although $count records cannot fit"
th_assert_eq 1 "$(grep -c "reached --spool-max ($cap bytes): deleting the oldest batches" "$TH_TMP/err.1")" \
	"the full-spool warning, once"
grep -q "^themis-agent: report: $dropped records were deleted from spool $spool to stay under --spool-max" \
	"$TH_TMP/err.1" || th_fail "the count of deleted records is not reported at close"
grep -q "^delivery-feed: $dropped records were deleted from spool $spool to stay under --spool-max; the others were delivered" \
	"$TH_TMP/err.1" || th_fail "close did not end with the deleted records"
kept=$((count - dropped))
th_log "$count records pushed, $dropped deleted to stay under the cap, $kept kept and delivered"
dlv_spool_empty "$spool" || th_fail "records left in the spool"
tail -n "$kept" "$TH_TMP/fed.1" >"$TH_TMP/newest"
dlv_compare "$TH_TMP/newest" "$TH_TMP/keys" 0
th_assert_eq "$kept" "$(wc -l <"$TH_TMP/keys")" "records the endpoint received"
