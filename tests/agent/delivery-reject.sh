#!/bin/bash
# timeout: 150
# delivery-reject.sh — how `--report URL` treats the endpoint's refusals:
# 400 is permanent: the batch goes to <spool>/rejected/ with the answer, is not retried, and the
#     agent says so; 413 splits batches until they fit, delivering every record exactly once;
# 503 and a wrong token (401) keep the batch in the spool for later (exit 3: records wait), and
#     a later run with the endpoint healthy delivers them;
# 401 and 403 that last longer than the retry bound (--auth-retry-ms here, 10 minutes by
#     default) end in rejected/ like other 4xx, every record kept there and none lost;
# rejected/ counts towards --spool-max: its oldest batches are deleted first, and counted.
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
# shellcheck source=tests/agent/delivery-common.sh
. "$top_srcdir/tests/agent/delivery-common.sh"
th_require_cmd jq jq

port=$(th_free_port)
url="http://127.0.0.1:$port"
echo "good" >"$TH_TMP/token"
echo "wrong" >"$TH_TMP/badtoken"
chmod 600 "$TH_TMP/token" "$TH_TMP/badtoken"

run_feed() { # run_feed SPOOL TOKENFILE START COUNT [ARGS] -> rc in FEED_RC, keys in $TH_TMP/fed.START
	local spool=$1 tok=$2 start=$3 count=$4
	shift 4
	FEED_RC=0
	"$DLV_FEED" --url "$url" --spool "$spool" --token-file "$tok" --rate 200 --start "$start" \
		--count "$count" --batch 10 --flush-ms 100 --drain-ms 3000 "$@" \
		>"$TH_TMP/fed.$start" 2>"$TH_TMP/err.$start" || FEED_RC=$?
}

# 400: rejected for good
dlv_sink_start "$port" "$TH_TMP/k400" --token good --status 400
run_feed "$TH_TMP/s400" "$TH_TMP/token" 100 25
th_assert_eq 0 "$FEED_RC" "exit status after permanent rejections (nothing left to send)"
th_assert_eq 3 "$(find "$TH_TMP/s400/rejected" -name '*.batch' | wc -l)" "rejected batches kept"
th_assert_eq 25 "$(cat "$TH_TMP/s400/rejected"/*.batch | wc -l)" "rejected records kept"
grep -q "^HTTP 400" "$TH_TMP/s400/rejected"/*.reason || th_fail "no reason file with the status"
grep -q "told to refuse" "$TH_TMP/s400/rejected"/*.reason || th_fail "reason lacks the answer"
grep -q "rejected 10 records with HTTP 400" "$TH_TMP/err.100" ||
	th_fail "rejection not logged: $(cat "$TH_TMP/err.100")"
dlv_spool_empty "$TH_TMP/s400" || th_fail "rejected batches left in the sending queue"
# a second run on the emptied spool numbers its batches from 1 again: nothing kept is overwritten
run_feed "$TH_TMP/s400" "$TH_TMP/token" 150 25
th_assert_eq 0 "$FEED_RC" "exit status of the second run with permanent rejections"
th_assert_eq 6 "$(find "$TH_TMP/s400/rejected" -name '*.batch' | wc -l)" "rejected batches of two runs"
th_assert_eq 6 "$(find "$TH_TMP/s400/rejected" -name '*.reason' | wc -l)" "reasons of two runs"
th_assert_eq 50 "$(cat "$TH_TMP/s400/rejected"/*.batch | wc -l)" "rejected records of two runs"

# 400 for everything with the spool capped at 64K: rejected/ counts towards the cap, its oldest
# batches go first, the newest records stay there and the deleted ones are counted
run_feed "$TH_TMP/scap" "$TH_TMP/token" 1000000 1000 --rate 2000 --spool-max 65536
cat "$TH_TMP/err.1000000" >&2
th_assert_eq 3 "$FEED_RC" "exit status when rejected records were deleted"
deleted=$(sed -n 's/^themis-agent: report: \([0-9]*\) records were deleted from spool .*/\1/p' "$TH_TMP/err.1000000")
if [ -z "$deleted" ] || [ "$deleted" -eq 0 ]; then th_fail "no rejected records deleted under the cap"; fi
bytes=$(find "$TH_TMP/scap" -type f ! -name lock -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
[ "$bytes" -le 65536 ] || th_fail "the spool holds $bytes bytes, more than its cap"
kept=$(cat "$TH_TMP/scap/rejected"/*.batch | wc -l)
th_log "1000 records rejected, $deleted deleted to stay under 64K, $kept kept in rejected/ ($bytes bytes)"
th_assert_eq 1000 $((kept + deleted)) "records kept plus records deleted"
tail -n "$kept" "$TH_TMP/fed.1000000" >"$TH_TMP/want.cap"
cat "$TH_TMP/scap/rejected"/*.batch | jq -r .t | sort -n >"$TH_TMP/got.cap"
diff -u "$TH_TMP/want.cap" "$TH_TMP/got.cap" >&2 || th_fail "rejected/ does not hold the newest records"
dlv_sink_stop

# 413: halves until the body fits (one record is about 330 bytes)
dlv_sink_start "$port" "$TH_TMP/k413" --token good --max-body 1000
run_feed "$TH_TMP/s413" "$TH_TMP/token" 200 40
th_assert_eq 0 "$FEED_RC" "exit status after split delivery"
dlv_compare "$TH_TMP/fed.200" "$TH_TMP/k413" 0
dlv_sink_stop

# 503 then 401: kept, exit 3; then delivered by the next run
dlv_sink_start "$port" "$TH_TMP/k503" --token good --status 503
run_feed "$TH_TMP/s503" "$TH_TMP/token" 300 15
th_assert_eq 3 "$FEED_RC" "exit status with records still spooled (503)"
grep -q "HTTP 503" "$TH_TMP/err.300" || th_fail "503 not logged: $(cat "$TH_TMP/err.300")"
dlv_sink_stop
dlv_sink_start "$port" "$TH_TMP/k503" --token good
run_feed "$TH_TMP/s503" "$TH_TMP/badtoken" 400 15
th_assert_eq 3 "$FEED_RC" "exit status with a refused token (401)"
grep -q "refused the bearer token" "$TH_TMP/err.400" || th_fail "401 not logged"
th_assert_eq 0 "$(wc -l <"$TH_TMP/k503")" "records accepted without the right token"
[ ! -d "$TH_TMP/s503/rejected" ] || th_fail "401/503 batches were rejected instead of kept"
run_feed "$TH_TMP/s503" "$TH_TMP/token" 500 15
th_assert_eq 0 "$FEED_RC" "exit status once the endpoint accepts"
cat "$TH_TMP/fed.300" "$TH_TMP/fed.400" "$TH_TMP/fed.500" >"$TH_TMP/fed.all"
dlv_compare "$TH_TMP/fed.all" "$TH_TMP/k503" 0
# order: the spooled records of the earlier runs went first
th_assert_eq 300 "$(awk '{ print $3; exit }' "$TH_TMP/k503")" "first record delivered"
dlv_sink_stop

# 401 for good: retried for the bound (2 s here), then kept in rejected/ with the answer
dlv_sink_start "$port" "$TH_TMP/k401" --token good
run_feed "$TH_TMP/s401" "$TH_TMP/badtoken" 600 25 --auth-retry-ms 2000 --drain-ms 8000
cat "$TH_TMP/err.600" >&2
th_assert_eq 0 "$FEED_RC" "exit status once the refused records are kept in rejected/"
# (how many records wait by then depends on when the first batch was cut: 10 or a few more)
grep -Eq "refused the bearer token from $TH_TMP/badtoken \(HTTP 401\): keeping [0-9]+ records in $TH_TMP/s401 and retrying for 2 s, then rejecting" \
	"$TH_TMP/err.600" || th_fail "the first 401 was not logged with its bound"
th_assert_eq 1 "$(grep -c "has refused this agent (HTTP 401/403) for 2 s: batches it refuses now go to $TH_TMP/s401/rejected/" "$TH_TMP/err.600")" \
	"giving up on 401, said once"
th_assert_eq 25 "$(cat "$TH_TMP/s401/rejected"/*.batch | wc -l)" "records kept in rejected/ after 401"
th_assert_eq 3 "$(grep -l "^HTTP 401" "$TH_TMP/s401/rejected"/*.reason | wc -l)" "reason files naming 401"
sort -n "$TH_TMP/fed.600" >"$TH_TMP/want.401"
cat "$TH_TMP/s401/rejected"/*.batch | jq -r .t | sort -n >"$TH_TMP/got.401"
diff -u "$TH_TMP/want.401" "$TH_TMP/got.401" >&2 || th_fail "rejected/ does not hold exactly the records pushed"
dlv_spool_empty "$TH_TMP/s401" || th_fail "401 batches left in the sending queue after the bound"
th_assert_eq 0 "$(wc -l <"$TH_TMP/k401")" "records accepted with the wrong token"
dlv_sink_stop

# 403 for good: the same
dlv_sink_start "$port" "$TH_TMP/k403" --token good --status 403
run_feed "$TH_TMP/s403" "$TH_TMP/token" 700 15 --auth-retry-ms 1000 --drain-ms 6000
th_assert_eq 0 "$FEED_RC" "exit status once the 403 records are kept in rejected/"
th_assert_eq 15 "$(cat "$TH_TMP/s403/rejected"/*.batch | wc -l)" "records kept in rejected/ after 403"
grep -q "^HTTP 403" "$TH_TMP/s403/rejected"/*.reason || th_fail "no reason file naming 403"
