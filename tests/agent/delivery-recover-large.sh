#!/bin/bash
# timeout: 180
# delivery-recover-large.sh — a batch file far larger than the memory the agent may use (75 MB,
# 300000 records, as an earlier run with a huge batch size or a long-lived crash could leave)
# plus a torn last line: the next run reads it in bounded chunks, delivers every complete record
# exactly once and in order, and its peak resident memory stays far below the file's size.
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
# shellcheck source=tests/agent/delivery-common.sh
. "$top_srcdir/tests/agent/delivery-common.sh"

port=$(th_free_port)
spool="$TH_TMP/spool"
n=300000
# Under AddressSanitizer freed memory waits in a quarantine (256 MiB by default): keep it small,
# and allow for the shadow memory and redzones.
hwm_bound=24576
if [ -n "${THEMIS_ASAN_PRELOAD:-}" ]; then
	export ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=16"
	hwm_bound=65536
fi
echo "big-$$" >"$TH_TMP/token"
chmod 600 "$TH_TMP/token"
mkdir -p "$spool"
awk -v n="$n" 'BEGIN {
	for (i = 0; i < n; i++)
		printf "{\"kind\":\"second\",\"vm\":\"vm1\",\"stream\":\"big/vm1/1\",\"t\":%d,\"interval_ms\":10,\"sent\":100,\"received\":100,\"lost_up\":0,\"lost_down\":0,\"lost_unknown\":0,\"late\":0,\"dup\":0,\"rtt_min_ms\":0.1,\"rtt_avg_ms\":0.2,\"rtt_max_ms\":0.3,\"jitter_ms\":0.01,\"max_gap_ms\":10}\n", 5000000 + i
	printf "{\"kind\":\"second\",\"vm\":\"vm1\",\"stre"
}' >"$spool/00000000000000000001.batch"
size=$(stat -c %s "$spool/00000000000000000001.batch")
seq 5000000 $((5000000 + n - 1)) >"$TH_TMP/fed.0"

dlv_sink_start "$port" "$TH_TMP/keys" --token "big-$$"
rc=0
"$DLV_FEED" --url "http://127.0.0.1:$port" --spool "$spool" --token-file "$TH_TMP/token" \
	--start 9000000 --count 1 --batch 500 --flush-ms 100 --drain-ms 120000 \
	>"$TH_TMP/fed.1" 2>"$TH_TMP/err" || rc=$?
cat "$TH_TMP/err" >&2
th_assert_eq 0 "$rc" "exit status once the spool is delivered"
grep -q "^themis-agent: report: $n records from an earlier run wait in $spool ($size bytes)" "$TH_TMP/err" ||
	th_fail "recovery did not count the $n complete records"
dlv_spool_empty "$spool" || th_fail "records left in the spool"
cat "$TH_TMP/fed.0" "$TH_TMP/fed.1" >"$TH_TMP/fed.all"
dlv_compare "$TH_TMP/fed.all" "$TH_TMP/keys" 0
th_assert_eq 5000000 "$(awk '{ print $3; exit }' "$TH_TMP/keys")" "first record delivered"
hwm=$(sed -n 's/^feed: vmhwm_kb \([0-9]*\)$/\1/p' "$TH_TMP/err")
th_log "batch file of $size bytes delivered with a peak resident memory of $hwm kB"
[ -n "$hwm" ] || th_fail "no peak memory reported"
[ "$hwm" -le "$hwm_bound" ] || th_fail "peak resident memory $hwm kB for a $size-byte batch file"
