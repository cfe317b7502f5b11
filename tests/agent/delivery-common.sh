# shellcheck shell=bash
# tests/agent/delivery-common.sh — helpers of the delivery tests (sourced after lib.sh):
# start/stop the test endpoint (delivery-sink) and compare what the agent took responsibility
# for with what arrived.
DLV_SINK="${top_builddir:?}/tests/agent/delivery-sink"
DLV_FEED="$top_builddir/tests/agent/delivery-feed"
[ -x "$DLV_SINK" ] || th_error "$DLV_SINK not built"
[ -x "$DLV_FEED" ] || th_error "$DLV_FEED not built"

# dlv_sink_start PORT LOG [ARGS...]: start the endpoint, wait until it listens; sets DLV_SINK_PID.
dlv_sink_start() {
	local port=$1 log=$2
	shift 2
	"$DLV_SINK" --port "$port" --log "$log" "$@" >>"$TH_TMP/sink.out" 2>&1 &
	DLV_SINK_PID=$!
	th_on_exit kill -KILL "$DLV_SINK_PID"
	th_wait_for 10 grep -q "listening $port" "$TH_TMP/sink.out"
}

# dlv_sink_stop: stop the endpoint (SIGKILL: an endpoint that vanishes mid-request).
dlv_sink_stop() {
	kill -KILL "$DLV_SINK_PID"
	wait "$DLV_SINK_PID" 2>/dev/null || true
	: >"$TH_TMP/sink.out"
}

# dlv_spool_empty DIR: no batch or open segment left in the spool.
dlv_spool_empty() {
	! ls "$1"/*.batch "$1"/*.open >/dev/null 2>&1
}

# dlv_compare FED_KEYS_FILE SINK_LOG MAX_RAW_DUPS: every fed t arrived, nothing else arrived,
# raw re-deliveries (same key twice, which the real endpoint deduplicates) are bounded.
dlv_compare() {
	local fed=$1 log=$2 maxdup=$3 want got missing extra dups
	sort -n "$fed" | uniq >"$TH_TMP/want"
	awk '$1 == "second" { print $3 }' "$log" | sort -n >"$TH_TMP/got.raw"
	uniq "$TH_TMP/got.raw" >"$TH_TMP/got"
	want=$(wc -l <"$TH_TMP/want")
	got=$(wc -l <"$TH_TMP/got")
	missing=$(comm -23 "$TH_TMP/want" "$TH_TMP/got" | wc -l)
	extra=$(comm -13 "$TH_TMP/want" "$TH_TMP/got" | wc -l)
	dups=$(($(wc -l <"$TH_TMP/got.raw") - got))
	th_log "fed $want records; endpoint has $got distinct, $missing missing, $extra unexpected, $dups re-deliveries"
	th_assert_eq 0 "$missing" "records pushed but never delivered ($(comm -23 "$TH_TMP/want" "$TH_TMP/got" | head -5 | tr '\n' ' '))"
	th_assert_eq 0 "$extra" "records delivered that were never pushed"
	[ "$dups" -le "$maxdup" ] || th_fail "$dups re-deliveries, at most $maxdup expected"
}
