#!/bin/bash
# trigger-params.sh — `themis-trigger run` refuses a bad --migration-param (a key outside
# [a-z0-9-]{1,31}, no KEY=, a value over 63 bytes, a key twice, more than 8) before anything
# else, exit status 2, naming the option and the value.
# timeout: 30
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
trig="$top_builddir/trigger/themis-trigger"

# refused MESSAGE ARGS...: run with ARGS; exit status 2 and MESSAGE as the first stderr line.
refused() {
	local msg=$1 rc=0
	shift
	"$trig" run --vm 1 --to h2 "$@" >/dev/null 2>"$TH_TMP/err" || rc=$?
	th_assert_eq 2 "$rc" "exit status for $*"
	th_assert_eq "themis-trigger: $msg" "$(head -n 1 "$TH_TMP/err")" "message for $*"
}
long=$(printf 'x%.0s' $(seq 64))
refused '--migration-param "Max-bandwidth=1": the key may hold only a-z, 0-9 and -' \
	--migration-param Max-bandwidth=1
refused '--migration-param "downtime-limit": KEY=VALUE with a KEY of 1 to 31 characters [a-z0-9-]' \
	--migration-param downtime-limit
refused '--migration-param "=300": KEY=VALUE with a KEY of 1 to 31 characters [a-z0-9-]' \
	--migration-param =300
refused "--migration-param \"k=$long\": value longer than 63 bytes" --migration-param "k=$long"
refused '--migration-param "a=2": key a given twice' --migration-param a=1 --migration-param a=2
args=()
for i in 1 2 3 4 5 6 7 8 9; do args+=(--migration-param "k$i=$i"); done
refused '--migration-param "k9=9": more than 8 parameters' "${args[@]}"
