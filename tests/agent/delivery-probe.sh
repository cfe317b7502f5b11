#!/bin/bash
# timeout: 180
# delivery-probe.sh — `themis-agent probe --report URL` end to end: a reflector and a prober on
# loopback, the ingest endpoint killed for 30 s mid-run, and the prober itself killed -9 during
# that outage and restarted with the same spool. Every `second` record the probers wrote to
# their local file output reaches the endpoint, exactly once per (stream, t).
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
# shellcheck source=tests/agent/delivery-common.sh
. "$top_srcdir/tests/agent/delivery-common.sh"
agent="$top_builddir/agent/themis-agent"
[ -x "$agent" ] || th_error "$agent not built"

rport=$(th_free_port)
port=$(th_free_port)
[ "$port" != "$rport" ] || port=$((rport + 1))
echo "tok-$$" >"$TH_TMP/token"
chmod 600 "$TH_TMP/token"
log="$TH_TMP/keys"
: >"$log"

"$agent" reflect --listen "127.0.0.1:$rport" >"$TH_TMP/reflect.log" 2>&1 &
th_on_exit kill -KILL "$!"

probe() { # probe DURATION: sets PROBE_PID; records also go to $TH_TMP/local.jsonl
	"$agent" probe --target "127.0.0.1:$rport" --vm vm1 --stream dlv/vm1 --interval 10 \
		--duration "$1" --report "http://127.0.0.1:$port" --report "$TH_TMP/local.jsonl" \
		--token-file "$TH_TMP/token" --spool-dir "$TH_TMP/spool" --quiet \
		2>>"$TH_TMP/probe.err" &
	PROBE_PID=$!
	th_on_exit kill -KILL "$PROBE_PID"
}

dlv_sink_start "$port" "$log" --token "tok-$$"
probe 60
sleep 5
th_wait_for 10 grep -q "^second dlv/vm1 " "$log"
th_log "endpoint down for 30 s"
dlv_sink_stop
sleep 12
kill -KILL "$PROBE_PID"
wait "$PROBE_PID" 2>/dev/null || true
probe 35
sleep 18
th_log "endpoint back"
dlv_sink_start "$port" "$log" --token "tok-$$"
rc=0
wait "$PROBE_PID" || rc=$?
th_assert_eq 0 "$rc" "exit status of the second prober (its close delivers the spool)"

jq -r 'select(.kind == "second") | .t' "$TH_TMP/local.jsonl" | sort -n >"$TH_TMP/fed"
n=$(wc -l <"$TH_TMP/fed")
[ "$n" -ge 40 ] || th_fail "only $n seconds measured"
# a kill -9 between the URL output and the file output may leave one record in the spool only
awk '$1 == "second" { print $3 }' "$log" | sort -n | uniq >"$TH_TMP/got"
extra=$(comm -13 "$TH_TMP/fed" "$TH_TMP/got" | wc -l)
[ "$extra" -le 1 ] || th_fail "$extra delivered seconds were never written locally"
comm -13 "$TH_TMP/fed" "$TH_TMP/got" | cat "$TH_TMP/fed" - >"$TH_TMP/fed.all"
dlv_compare "$TH_TMP/fed.all" "$log" 200
th_log "$(grep -c . "$TH_TMP/got") distinct seconds delivered of $n measured"
