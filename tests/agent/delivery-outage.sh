#!/bin/bash
# timeout: 240
# delivery-outage.sh — `--report URL` loses and duplicates nothing across an endpoint outage of
# 30 s and across kill -9 of the agent, and the producer never waits for the network.
# 1. endpoint up; 20 records/s pushed for 3 s;
# 2. endpoint killed for 30 s; 10 s into it the agent is killed -9 and restarted (it recovers
#    the spool, keeps pushing new records);
# 3. endpoint back; the spool drains in order; the agent is killed -9 once more while
#    delivering, restarted, then stopped cleanly (exit 0 = spool empty).
# Every record the agent ever accepted must be on the endpoint, none invented.
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
# shellcheck source=tests/agent/delivery-common.sh
. "$top_srcdir/tests/agent/delivery-common.sh"

port=$(th_free_port)
spool="$TH_TMP/spool"
echo "t0k3n-$$" >"$TH_TMP/token"
chmod 600 "$TH_TMP/token"
log="$TH_TMP/keys"
: >"$log"

feed() { # feed START OUTFILE: start the agent stand-in; sets FEED_PID
	"$DLV_FEED" --url "http://127.0.0.1:$port" --spool "$spool" --token-file "$TH_TMP/token" \
		--rate 20 --start "$1" --batch 50 --flush-ms 200 --drain-ms 20000 \
		>"$2" 2>>"$TH_TMP/feed.err" &
	FEED_PID=$!
	th_on_exit kill -KILL "$FEED_PID"
}
lines() { cat "$TH_TMP"/fed.* | wc -l; }

dlv_sink_start "$port" "$log" --token "t0k3n-$$"
feed 1000000 "$TH_TMP/fed.1"
sleep 3
th_wait_for 10 test -s "$log"

th_log "endpoint down for 30 s"
dlv_sink_stop
down_at=$(lines)
sleep 10
kill -KILL "$FEED_PID"
wait "$FEED_PID" 2>/dev/null || true
ls "$spool"/*.batch >/dev/null 2>&1 || th_fail "nothing spooled while the endpoint was down"
feed 2000000 "$TH_TMP/fed.2"
sleep 20
pushed_while_down=$(($(lines) - down_at))
# 30 s at 20/s = 600, minus the restart; a producer blocked by the network would push far fewer
[ "$pushed_while_down" -ge 500 ] ||
	th_fail "only $pushed_while_down records pushed during the 30 s outage: the producer waited"

th_log "endpoint back"
dlv_sink_start "$port" "$log" --token "t0k3n-$$"
sleep 1.5
kill -KILL "$FEED_PID"
wait "$FEED_PID" 2>/dev/null || true
feed 3000000 "$TH_TMP/fed.3"
sleep 2
th_wait_for 30 dlv_spool_empty "$spool"
kill -TERM "$FEED_PID"
rc=0
wait "$FEED_PID" || rc=$?
th_assert_eq 0 "$rc" "exit status of a clean stop with the endpoint up"
grep -q "unavailable" "$TH_TMP/feed.err" || th_fail "the outage was not logged: $(cat "$TH_TMP/feed.err")"
grep -q "earlier run" "$TH_TMP/feed.err" || th_fail "the restart did not report recovered records"

# kill -9 while delivering may re-send the batch in flight (the endpoint deduplicates)
dlv_compare "$(cat "$TH_TMP"/fed.* >"$TH_TMP/fed.all" && echo "$TH_TMP/fed.all")" "$log" 100
