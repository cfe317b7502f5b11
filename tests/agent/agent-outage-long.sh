#!/bin/bash
# agent-outage-long.sh — outages of 10 s and 120 s, up, down and both at the same time in three
# VMs probed by one themis-agent (three targets): each reported within one probe interval + 2 ms
# (widened by the scheduling noise the run measured, ta_check),
# with the right direction for every lost probe and the loss in the right seconds.
# timeout: 420
# slow: 10 s and 120 s outages of the code the short-outage test already covers; skipped in the sanitizer pass
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
# shellcheck source=tests/agent/agent-common.sh
. "$top_srcdir/tests/agent/agent-common.sh"

ta_setup 3
ip netns exec "$TA_SUP" "$AGENT" probe \
	--target "10.77.1.2:$TA_PORT" --vm vm1 \
	--target "10.77.2.2:$TA_PORT" --vm vm2 \
	--target "10.77.3.2:$TA_PORT" --vm vm3 \
	--report "$TH_TMP/records" 2>"$TH_TMP/probe.log" &
probe=$!
th_on_exit kill -KILL "$probe"
sleep 1.5
for len in 10 120; do
	pids=()
	ta_inject 1 up "$len" &
	pids+=("$!")
	ta_inject 2 down "$len" &
	pids+=("$!")
	ta_inject 3 both "$len" &
	pids+=("$!")
	for p in "${pids[@]}"; do wait "$p"; done
	sleep 2.2
done
kill -TERM "$probe"
rc=0
wait "$probe" || rc=$?
cat "$TH_TMP/probe.log" >&2
th_assert_eq 0 "$rc" "probe exit status after SIGTERM"
ta_check "$TH_TMP/records" 10
th_assert_eq 3 "$(grep -c 'outages 2 ' "$TH_TMP/probe.log")" "two outages per target in the summary"
