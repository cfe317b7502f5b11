#!/bin/bash
# lab-demo.sh — the README's main job through `themis-lab demo`: lab up, 3 cycles of
# themis-trigger into a real collectd with the themis plugin and rrdtool, the themis-graph
# report, the summary, lab down. Checks the per-session archive (RRD + JSON), the markers
# journal, QEMU's figures next to the network's, that the probes were authenticated end to end
# with the VM's context key against the reflector its context started (nothing started over
# SSH), and that nothing of the lab is left.
# timeout: 600
: "${top_srcdir:?run through make check}"
# shellcheck source=../common/lib.sh
. "$top_srcdir/tests/common/lib.sh"
th_require_root
th_require_cmd qemu-system-x86_64 qemu-system-x86
th_require_cmd jq jq
for b in agent/themis-agent trigger/themis-trigger rrd-graphs/themis-graph collectd-plugin/.libs/themis.so; do
	[ -e "$top_builddir/$b" ] || th_error "$top_builddir/$b not built"
done
[ -x "${THEMIS_COLLECTD:-/usr/sbin/collectd}" ] || th_error "collectd not found: install collectd-core"

lab="$top_builddir/lab/themis-lab"
export THEMIS_LAB_DIR="$TH_TMP/lab" THEMIS_LAB_PREFIX="$TH_TEST_ID-lab" THEMIS_LAB_ACCEL=tcg
export THEMIS_DEMO_DIR="$TH_TMP/demo"
th_on_exit "$lab" down
# shellcheck source=lab-diag.sh
. "$top_srcdir/tests/lab/lab-diag.sh"
th_on_fail lab_diag

"$lab" demo >"$TH_TMP/demo.out" 2>"$TH_TMP/demo.err" || {
	cat "$TH_TMP/demo.out" "$TH_TMP/demo.err" >&2
	th_fail "themis-lab demo failed"
}
cat "$TH_TMP/demo.out" >&2
d=$THEMIS_DEMO_DIR
grep -qx "themis demo: report $d/report/index.html" "$TH_TMP/demo.out" || th_fail "no report line"
[ -s "$d/report/index.html" ] || th_fail "report missing"
th_assert_eq 3 "$(jq '.aggregates.succeeded' "$d/summary.json")" "successful cycles"
th_assert_eq 3 "$(grep -c '^  cycle [123] host[01] -> host[01]: success, network downtime [0-9.]* ms' "$TH_TMP/demo.out")" "summary lines"
# every cycle has the network's and QEMU's downtime
for k in 0 1 2; do
	dt=$(jq ".cycles[$k].summary.downtime_ms" "$d/summary.json")
	hv=$(jq ".cycles[$k].summary.hv_downtime_ms" "$d/summary.json")
	if [ "$dt" = null ] || [ "$hv" = null ]; then th_fail "cycle $k: downtime $dt, hypervisor $hv"; fi
done
# authenticated end to end: the context's key at both ends, the guest's reflector started by
# its context at boot (an echo without the right tag is dropped by the prober: the downtimes
# above need them), nothing started on the guest over SSH
th_assert_match '^themis-trigger: probes authenticated with the key of VM vm0.s context \(THEMIS_REFLECT_KEY, /tmp/themis-probe\.vm0\.key on the supervisor\)$' \
	"$(grep 'probes authenticated' "$d/trigger.log")" "trigger's note on the key"
th_assert_match '^themis-trigger: VM vm0: reflector started by context \(THEMIS_TYPE=VM\): nothing started on the VM over SSH; probing UDP port 7300' \
	"$(grep 'started by context' "$d/trigger.log" | head -n 1)" "trigger's note on the reflector"
th_assert_eq "themis-agent reflect: listening on 0.0.0.0:7300 (authenticated)" \
	"$(head -n 1 "$d/reflect.log")" "the guest's reflector started by context"
th_assert_eq 1 "$(grep -c listening "$d/reflect.log")" "reflector starts in the guest"
# markers journal and the plugin's per-session archive
th_assert_eq 3 "$(grep -c '"event":"session-end"' "$d/markers.jsonl")" "session-end markers"
for s in $(jq -r '.cycles[].session' "$d/summary.json"); do
	[ -s "$d/archive/vm0/$s.rrd" ] || th_fail "archive RRD of $s missing"
	[ -s "$d/archive/vm0/$s.json" ] || th_fail "archive JSON of $s missing"
	# collectd stops right after the last session-end: a clean shutdown still closes it
	th_assert_eq session-end "$(jq -r .closed_by "$d/archive/vm0/$s.json")" "$s closed by"
	[ ! -e "$d/archive/vm0/$s.pending" ] || th_fail "$s.pending left after a clean shutdown"
done
compgen -G "$d/rrd/themis-lab/themis-vm0/*.rrd" >/dev/null || th_fail "no collectd rrdtool files"
# the demo tore the lab down
if ip netns list | grep -q "^$THEMIS_LAB_PREFIX-"; then th_fail "namespaces left: $(ip netns list)"; fi
[ ! -e "$THEMIS_LAB_DIR" ] || th_fail "lab directory left"
if pgrep -f "$THEMIS_LAB_DIR" >/dev/null; then th_fail "processes left: $(pgrep -af "$THEMIS_LAB_DIR")"; fi
if pgrep -f "$d/collectd.conf" >/dev/null; then th_fail "collectd left running"; fi
