#!/bin/bash
# timeout: 60
# iperf-args.sh — `themis-agent iperf` refuses iperf3 options that would change the output it
# reads (status 2, naming the option), reports an iperf3 that cannot run or fails (status 1,
# with iperf3's own error), and adds its output options to what it runs.
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
agent="$top_builddir/agent/themis-agent"
[ -x "$agent" ] || th_error "$agent not built"

for opt in -J --json --bidir --logfile=x --timestamps -D; do
	rc=0
	"$agent" iperf -- -c 127.0.0.1 "$opt" 2>"$TH_TMP/err" || rc=$?
	th_assert_eq 2 "$rc" "exit status for iperf3 option $opt"
	grep -q -- "option ${opt%%=*} is not allowed" "$TH_TMP/err" || th_fail "$opt: $(cat "$TH_TMP/err")"
done
rc=0
"$agent" iperf 2>"$TH_TMP/err" || rc=$?
th_assert_eq 2 "$rc" "exit status without iperf3 arguments"

rc=0
"$agent" iperf --iperf3 /nonexistent/iperf3 --report "$TH_TMP/r.jsonl" -- -c 127.0.0.1 \
	2>"$TH_TMP/err" || rc=$?
th_assert_eq 1 "$rc" "exit status when iperf3 cannot run"
grep -q "cannot run /nonexistent/iperf3" "$TH_TMP/err" || th_fail "missing binary not named: $(cat "$TH_TMP/err")"

# a stand-in iperf3 that prints its arguments and a one-interval run, then fails
cat >"$TH_TMP/fake-iperf3" <<'SH'
#!/bin/sh
echo "ARGS $*"
echo "1700000001 [ ID] Interval           Transfer     Bitrate"
echo "1700000001 [  5]   0.00-1.00   sec  0.00 Bytes  0.00 Kbits/sec"
echo "1700000002 iperf3: error - unable to connect to server: Connection refused"
exit 1
SH
chmod +x "$TH_TMP/fake-iperf3"
rc=0
THEMIS_IPERF3="$TH_TMP/fake-iperf3" "$agent" iperf --vm vm1 --report "$TH_TMP/r.jsonl" \
	-- -c 127.0.0.1 -u 2>"$TH_TMP/err" || rc=$?
th_assert_eq 1 "$rc" "exit status when iperf3 fails"
grep -q "^ARGS -c 127.0.0.1 -u --forceflush --timestamps=%s  -f k$" "$TH_TMP/err" ||
	th_fail "iperf3 arguments: $(grep ARGS "$TH_TMP/err")"
grep -q "failed: unable to connect to server: Connection refused" "$TH_TMP/err" ||
	th_fail "iperf3's error not reported: $(cat "$TH_TMP/err")"
grep -q '"kind":"iperf".*"blackout":true' "$TH_TMP/r.jsonl" || th_fail "record: $(cat "$TH_TMP/r.jsonl")"
