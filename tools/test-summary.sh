#!/bin/bash
# test-summary.sh BUILD_DIR [--logs] — count the results of the last `make check` in BUILD_DIR.
# A Check binary counts each of its checks (from Check's "Checks: N, Failures: N, Errors: N"
# line); any other test counts once, from its .trs. With --logs every test log is printed first,
# the logs of failed tests (FAIL, ERROR, XPASS) ahead of the others.
# Ends with the line "N passed, N failed[, N skipped]"; exits 1 when anything failed or no
# test ran.
set -u
build=${1:?usage: test-summary.sh BUILD_DIR [--logs]}
logs=${2:-}
passed=0 failed=0 skipped=0
mapfile -t trs < <(find "$build/tests" -name '*.trs' 2>/dev/null | sort)
result() { sed -n 's/^:test-result: //p' "$1" | head -n 1; }
if [ "$logs" = --logs ]; then
	for bad in 1 0; do
		for t in "${trs[@]}"; do
			res=$(result "$t")
			case $res in PASS | XFAIL | SKIP) is_bad=0 ;; *) is_bad=1 ;; esac
			[ "$is_bad" = "$bad" ] || continue
			log=${t%.trs}.log
			printf '\n===== %s: %s =====\n' "${log#"$build"/}" "$res"
			cat "$log" 2>/dev/null
		done
	done
fi
for t in "${trs[@]}"; do
	log=${t%.trs}.log
	res=$(result "$t")
	ck=$(grep -Eo 'Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+' "$log" 2>/dev/null | tail -n 1)
	if [ -n "$ck" ]; then
		read -r n f e < <(echo "$ck" | tr -cd '0-9 ' | awk '{print $1, $2, $3}')
		passed=$((passed + n - f - e))
		failed=$((failed + f + e))
		# a crash after the summary, or a non-zero exit, still fails the binary
		if [ "$res" != PASS ] && [ $((f + e)) -eq 0 ]; then failed=$((failed + 1)); fi
	else
		case $res in
		PASS | XFAIL) passed=$((passed + 1)) ;;
		SKIP) skipped=$((skipped + 1)) ;;
		*) failed=$((failed + 1)) ;;
		esac
	fi
done
echo
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
