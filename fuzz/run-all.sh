#!/bin/bash
# run-all.sh BUILD_DIR [SECONDS] — run every libFuzzer harness built in BUILD_DIR/fuzz for
# SECONDS (default 60) from its committed seeds (fuzz/corpus/<target>), and print for each what
# it did: executions, coverage, corpus, or the first sanitizer/libFuzzer report and the
# reproducer it wrote. A harness passes when libFuzzer ran the whole time and found nothing
# (no crash, leak, timeout, out-of-memory or sanitizer report). New inputs go to
# BUILD_DIR/fuzz/fuzz-work/<target>, reproducers to BUILD_DIR/fuzz/fuzz-artifacts, full logs to
# BUILD_DIR/fuzz/fuzz-logs. Ends with the line "N passed, N failed"; exits 1 when any failed.
set -eu
build=${1:?usage: run-all.sh BUILD_DIR [SECONDS]}
secs=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
fz=$(cd "$build" && pwd)/fuzz

# target and the longest input worth trying (-max_len)
targets=(
	"records 65536"
	"markers 65536"
	"iperf 65536"
	"wire 128"
	"plugin-config 4096"
	"vm-xml 65536"
	"one-resp 65536"
	"hook-msg 65536"
	"hv-events 65536"
)

# ASan's quarantine of freed blocks (256 MB by default) alone pushes a long run past 512 MB:
# held at 64 MB, the limit measures the code under test.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:quarantine_size_mb=64
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
mkdir -p "$fz/fuzz-work" "$fz/fuzz-artifacts" "$fz/fuzz-logs"
passed=0 failed=0
for spec in "${targets[@]}"; do
	read -r t maxlen <<<"$spec"
	bin=$fz/fuzz-$t
	log=$fz/fuzz-logs/$t.log
	if [ ! -x "$bin" ]; then
		echo "fuzz-$t: FAIL, not built ($bin missing: configure CC=clang --enable-fuzz, make)"
		failed=$((failed + 1))
		continue
	fi
	mkdir -p "$fz/fuzz-work/$t"
	st=0
	# libFuzzer stops itself after -max_total_time; the outer limit only catches a hang at start
	timeout -k 10 $((secs + 120)) "$bin" -max_total_time="$secs" -rss_limit_mb=512 -timeout=10 \
		-max_len="$maxlen" -print_final_stats=1 -artifact_prefix="$fz/fuzz-artifacts/$t-" \
		"$fz/fuzz-work/$t" "$here/corpus/$t" </dev/null >"$log" 2>&1 || st=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -n 1 | tr -cd '0-9')
	corp=$(grep -Eo 'corp: [0-9]+' "$log" | tail -n 1 | tr -cd '0-9')
	if [ "$st" -eq 0 ]; then
		echo "fuzz-$t: PASS, ${execs:-?} execs in $secs s, 0 crashes (coverage ${cov:-?}, corpus ${corp:-?} inputs)"
		passed=$((passed + 1))
	else
		what=$(grep -m 1 -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error:|==[0-9]+== ERROR: libFuzzer)' "$log" || true)
		repro=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
		echo "fuzz-$t: FAIL (exit $st) after ${execs:-?} execs, 1 crash: ${what:-see $log}"
		echo "  reproducer: ${repro:-none written}; log: $log"
		failed=$((failed + 1))
	fi
done
echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
