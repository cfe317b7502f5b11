#!/bin/bash
# Lint of themis-graph, its command files and these tests: they pass shellcheck (run from the
# source tree so the "source=" directives resolve).
# timeout: 120
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
th_require_cmd shellcheck shellcheck
cd "$top_srcdir"
shellcheck -x rrd-graphs/themis-graph.in rrd-graphs/graph-*.sh tests/graph/*.sh ||
	th_fail "shellcheck found problems (above)"
