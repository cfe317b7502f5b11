#!/bin/bash
# lab-watch.sh — background tracking through `themis-lab demo-watch` on the real QEMU lab: the
# plugin probes both guests on its own (<Target>s), `themis-trigger watch` follows the endpoint's
# ZeroMQ events and polls, the lab's scheduler (an XML-RPC client that is not the trigger)
# migrates the guests four times and vm1's second migration is rolled back (injected). Each
# migration must become one closed observed session with the right outcome, a plugin-side
# summary whose downtime is the longest outage the probe saw in the window (within its bound),
# a summaries.jsonl line, hourly availability lines, and the availability report.
# timeout: 600
# slow
: "${top_srcdir:?run through make check}"
# shellcheck source=../common/lib.sh
. "$top_srcdir/tests/common/lib.sh"
th_require_root
th_require_cmd qemu-system-x86_64 qemu-system-x86
th_require_cmd jq jq
th_require_cmd xmllint libxml2-utils
for b in agent/themis-agent trigger/themis-trigger rrd-graphs/themis-graph collectd-plugin/.libs/themis.so; do
	[ -e "$top_builddir/$b" ] || th_error "$top_builddir/$b not built"
done
[ -x "${THEMIS_COLLECTD:-/usr/sbin/collectd}" ] || th_error "collectd not found: install collectd-core"

lab="$top_builddir/lab/themis-lab"
export THEMIS_LAB_DIR="$TH_TMP/lab" THEMIS_LAB_PREFIX="$TH_TEST_ID-lab" THEMIS_LAB_ACCEL=tcg
export THEMIS_DEMO_DIR="$TH_TMP/demo" THEMIS_DEMO_EVERY=12 THEMIS_DEMO_COUNT=4
th_on_exit "$lab" down
# shellcheck source=lab-diag.sh
. "$top_srcdir/tests/lab/lab-diag.sh"
th_on_fail lab_diag

"$lab" demo-watch >"$TH_TMP/demo.out" 2>"$TH_TMP/demo.err" || {
	cat "$TH_TMP/demo.out" "$TH_TMP/demo.err" >&2
	th_fail "themis-lab demo-watch failed"
}
cat "$TH_TMP/demo.out" >&2
d=$THEMIS_DEMO_DIR
a="$d/archive"
grep -qx "themis demo-watch: report $d/report/index.html" "$TH_TMP/demo.out" || th_fail "no report line"
# the plugin probes the reflectors the guests' contexts started, each with its VM's key
th_assert_eq 2 "$(grep -cE "^    KeyFile \"$THEMIS_LAB_DIR/keys/vm[01]\.reflect\.key\"\$" "$d/collectd.conf")" "KeyFile of each <Target>"

# the four requests, as the scheduler printed them: vm0, vm1, vm0, vm1 in turn
th_assert_eq 4 "$(grep -c ': accepted$' "$d/scheduler.log")" "requests accepted"
# one observed session per migration, in the order they happened
th_assert_eq "vm0 success observed
vm1 success observed
vm0 success observed
vm1 failed observed" \
	"$(jq -r '"\(.vm) \(.outcome) \(.origin)"' <(jq -c . "$a/summaries.jsonl" | jq -s -c 'sort_by(.t_migration_start) | .[]'))" \
	"sessions in summaries.jsonl"
th_assert_eq plugin "$(jq -r .summary_source "$a/summaries.jsonl" | sort -u)" "the plugin summarised them"
jq -e 'select(.outcome == "failed") | .message | test("MIGRATE: qemu: migration of vm1 .*failed")' \
	"$a/summaries.jsonl" >/dev/null || th_fail "the rollback's message: $(jq -r 'select(.outcome == "failed") | .message' "$a/summaries.jsonl")"
# each session's archive is closed, holds the four markers and an RRD from its first second;
# the summary's downtime is the longest outage the probe saw in the window
while read -r line; do
	vm=$(jq -r .vm <<<"$line")
	s=$(jq -r .session <<<"$line")
	f="$a/$vm/$s.json"
	[ -s "$f" ] || th_fail "archive JSON of $s missing"
	th_assert_eq session-end "$(jq -r .closed_by "$f")" "$s closed by"
	th_assert_eq "session-start migration-start migration-end session-end" \
		"$(jq -r '[.markers[].event] | join(" ")' "$f")" "markers of $s"
	[ -s "$a/$vm/$s.rrd" ] || th_fail "archive RRD of $s missing"
	want=$(jq -r '[.markers[] | select(.event == "migration-start") | .t][0] as $a
		| ([.markers[] | select(.event == "migration-end") | .t][0] + 1) as $b
		| [.outages[] | select(.start <= $b and .end >= $a) | .duration_ms] | max // 0' "$f")
	got=$(jq -r .summary.downtime_ms "$f")
	bound=$(jq -r '.summary.downtime_bound_ms // 0' "$f")
	awk -v g="$got" -v w="$want" -v b="$bound" 'BEGIN { d = g - w; if (d < 0) d = -d; exit !(d <= b) }' ||
		th_fail "$s: downtime $got ms, the probe's longest outage in the window $want ms (bound $bound)"
	if [ "$(jq -r .outcome <<<"$line")" = success ]; then
		# a real live migration under TCG pauses the guest: the probe sees it
		awk -v g="$got" 'BEGIN { exit !(g > 0 && g < 5000) }' || th_fail "$s: downtime $got ms of a live migration"
	fi
	# the session starts 20 s (--lead) before OpenNebula's STIME, with data from then on
	th_assert_eq 20 "$(jq -r '(.markers[1].t - .markers[0].t) | round' "$f")" "$s lead"
done <"$a/summaries.jsonl"

# the watcher used the event socket (and polls), skipped nothing
grep -Eq 'stopped: [0-9]+ polls, [1-9][0-9]* events \(0 skipped\), 4 sessions opened, 4 closed' "$d/watch.log" ||
	th_fail "watch's last line: $(tail -n 1 "$d/watch.log")"
# background availability: both VMs probed for most of the run, outages counted
for vm in vm0 vm1; do
	cov=$(jq -s --arg vm "$vm" '[.[] | select(.vm == $vm) | .covered_s] | add // 0' "$a/availability.jsonl")
	[ "$cov" -ge 60 ] || th_fail "$vm covered for $cov s only"
	ins=$(jq -s --arg vm "$vm" '[.[] | select(.vm == $vm) | .outage_ms_sessions] | add // 0' "$a/availability.jsonl")
	awk -v x="$ins" 'BEGIN { exit !(x > 0) }' || th_fail "$vm: no outage time inside sessions ($ins)"
done
grep -Eq '^  vm0 +all +[0-9.]+ ' "$TH_TMP/demo.out" || th_fail "no availability row for vm0"
grep -q 'Availability' "$d/report/index.html" || th_fail "no Availability section in the report"
# the demo tore the lab down
if ip netns list | grep -q "^$THEMIS_LAB_PREFIX-"; then th_fail "namespaces left: $(ip netns list)"; fi
if pgrep -f "$d/collectd.conf" >/dev/null; then th_fail "collectd left running"; fi
if pgrep -f "$d/markers.jsonl" >/dev/null; then th_fail "watch left running: $(pgrep -af "$d/markers.jsonl")"; fi
