#!/bin/bash
# agent-outage-short.sh — outages of 50 ms, 300 ms and 1.5 s injected with nftables, up, down
# and both, against one reflector: each is reported within one probe interval + 2 ms (widened
# by the scheduling noise the run measured, ta_check) with the
# right direction for every lost probe, in the right seconds; SIGINT then flushes and exits 0.
# timeout: 180
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
# shellcheck source=tests/agent/agent-common.sh
. "$top_srcdir/tests/agent/agent-common.sh"

ta_setup 1
ip netns exec "$TA_SUP" "$AGENT" probe --target "10.77.1.2:$TA_PORT" --vm vm1 \
	--report "$TH_TMP/records" 2>"$TH_TMP/probe.log" &
probe=$!
th_on_exit kill -KILL "$probe"
sleep 1.5
for len in 0.05 0.3 1.5; do
	for kind in up down both; do
		ta_inject 1 "$kind" "$len"
		sleep 2.2
	done
done
kill -INT "$probe"
rc=0
wait "$probe" || rc=$?
cat "$TH_TMP/probe.log" >&2
th_assert_eq 0 "$rc" "probe exit status after SIGINT"
th_assert_match 'sent [0-9]+ received' "$(cat "$TH_TMP/probe.log")" "summary on stderr"
ta_check "$TH_TMP/records" 10
