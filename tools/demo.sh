#!/bin/bash
# demo.sh BUILD_DIR — the README's main job: bring up the embedded lab, run a measured migration
# session through it, render the report, print the per-cycle summary, tear the lab down.
set -eu
build=${1:?usage: demo.sh BUILD_DIR}
if [ -x "$build/lab/themis-lab" ]; then
	exec "$build/lab/themis-lab" demo
fi
echo "demo: the lab (lab/themis-lab) is not built in this tree yet; nothing was measured" >&2
exit 1
