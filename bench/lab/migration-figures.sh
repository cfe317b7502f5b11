#!/bin/bash
# migration-figures.sh BUILD_DIR [N] — run the lab end-to-end test with N live migrations
# (default 12) and print its figures: lab boot time, per migration QEMU's downtime and total
# time, the probe's network-visible outage, and the medians and maxima. Needs root.
set -eu
build=${1:?usage: migration-figures.sh BUILD_DIR [N]}
n=${2:-12}
log="$build/tests/lab/lab-e2e.log"
rc=0
THEMIS_LAB_E2E_MIGRATIONS=$n make -s -C "$build/tests/lab" check TESTS=lab-e2e.sh >/dev/null 2>&1 || rc=$?
grep -E '^(lab-e2e: (lab up|vm=|migration [0-9]+ host)|migration [0-9]+: QEMU|figures over)' "$log" || true
[ "$rc" -eq 0 ] || { echo "migration-figures: the end-to-end test failed, see $log" >&2; exit 1; }
