#!/bin/bash
# bench/agent/run-all.sh — run accuracy.sh, pause.sh, cost.sh and reflector-size.sh (when the
# static reflector is built) and keep their output with the machine's
# description in OUTDIR (default ./bench-agent-results), for bench/agent/README.md.
# Usage: sudo BUILD=/path/to/build bench/agent/run-all.sh [OUTDIR]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-bench-agent-results}
mkdir -p "$out"
{
	date -u
	uname -r
	nproc
	uptime
	iperf3 --version | head -n 1
	irtt version 2>/dev/null | head -n 1 || true
	fping --version 2>&1 | head -n 1
} >"$out/machine.txt"
"$here/accuracy.sh" >"$out/accuracy.tsv" 2>"$out/accuracy.err"
"$here/pause.sh" >"$out/pause.tsv" 2>"$out/pause.err"
"$here/cost.sh" >"$out/cost.txt" 2>"$out/cost.err"
if [ -x "${BUILD:-$PWD}/agent/themis-reflector" ]; then
	"$here/reflector-size.sh" >"$out/reflector-size.txt" 2>"$out/reflector-size.err"
fi
uptime >>"$out/machine.txt"
