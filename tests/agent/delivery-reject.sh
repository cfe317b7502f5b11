#!/bin/bash
# timeout: 120
# delivery-reject.sh — how `--report URL` treats the endpoint's refusals:
# 400 is permanent: the batch goes to <spool>/rejected/ with the answer, is not retried, and the
#     agent says so; 413 splits batches until they fit, delivering every record exactly once;
# 503 and a wrong token (401) keep the batch in the spool for later (exit 3: records wait), and
#     a later run with the endpoint healthy delivers them.
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
# shellcheck source=tests/agent/delivery-common.sh
. "$top_srcdir/tests/agent/delivery-common.sh"

port=$(th_free_port)
url="http://127.0.0.1:$port"
echo "good" >"$TH_TMP/token"
echo "wrong" >"$TH_TMP/badtoken"
chmod 600 "$TH_TMP/token" "$TH_TMP/badtoken"

run_feed() { # run_feed SPOOL TOKENFILE START COUNT -> rc in FEED_RC, keys in $TH_TMP/fed.START
	FEED_RC=0
	"$DLV_FEED" --url "$url" --spool "$1" --token-file "$2" --rate 200 --start "$3" \
		--count "$4" --batch 10 --flush-ms 100 --drain-ms 3000 \
		>"$TH_TMP/fed.$3" 2>"$TH_TMP/err.$3" || FEED_RC=$?
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
