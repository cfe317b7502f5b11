#!/bin/bash
# rrdcached.sh — archives written through rrdcached (values still in the daemon, not on disk):
# with --daemon or RRDCACHED_ADDRESS themis-graph flushes first and sees every value; without
# it the same session has no data on disk and says so.
# timeout: 120
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
# shellcheck source=tests/graph/fixture.sh
. "$top_srcdir/tests/graph/fixture.sh"
th_require_cmd jq jq
th_require_cmd rrdcached rrdcached
th_require_cmd identify imagemagick

A="$TH_TMP/archive"
mkdir -p "$A"
sock="$TH_TMP/rrdcached.sock"
mkdir -p "$TH_TMP/journal"
# Foreground, writes only after an hour: nothing reaches the files unless flushed.
th_spawn cached rrdcached -g -l "unix:$sock" -B -b "$A" -w 3600 -f 7200 -p "$TH_TMP/rrdcached.pid" \
	-j "$TH_TMP/journal"
th_wait_for 10 test -S "$sock"
addr="unix:$sock"

fx_session "$A" vm1 r1 def 1 1700000000 120 40 "5:50:0 6:100:0 7:0:30" no "$addr"
fx_session "$A" vm1 r2 def 2 1700007000 100 30 "5:70:0 6:100:0" no "$addr"

# The files hold nothing yet.
th_assert_match '^1699999999: U U' "$("$TH_RRDTOOL_BIN" lastupdate "$A/vm1/r1.rrd" | tail -n 1)" \
	"r1 on disk before any flush"
rc=0
err=$(th_graph xport "$A" --vm vm1 --before 0 --after 7 2>&1 >/dev/null) || rc=$?
th_assert_eq 2 "$rc" "without the daemon: exit status"
th_assert_match "session r1 has no data in $A/vm1/r1.rrd" "$err" "without the daemon: message"

out=$(th_graph xport "$A" --vm vm1 --before 0 --after 7 --daemon "$addr")
th_assert_eq 'offset_s,r1,r2,median
0,0,0,0
1,0,0,0
2,0,0,0
3,0,0,0
4,0,0,0
5,50,70,60
6,100,100,100
7,30,0,15' "$out" "aligned through rrdcached"
th_assert_match '^1700000119: 100 100 0 0 0 0 0 0.5 1.079 ' "$("$TH_RRDTOOL_BIN" lastupdate "$A/vm1/r1.rrd" | tail -n 1)" \
	"r1 flushed to disk"

# A third session, then the address from the environment and a relative archive path.
fx_session "$A" vm1 r3 def 3 1700014000 90 30 "6:40:2" no "$addr"
size=$(cd "$TH_TMP" && RRDCACHED_ADDRESS=$addr th_graph session archive r3 -o "$TH_TMP/r3.png")
th_assert_eq 960x490 "$size" "session graph through RRDCACHED_ADDRESS"
th_assert_eq '1700014036,100,58,40,2,0,0,0,0.5,1.006,2,0.1,420,,,,' \
	"$(cd "$TH_TMP" && RRDCACHED_ADDRESS=$addr th_graph csv archive r3 | grep '^1700014036,')" \
	"CSV through RRDCACHED_ADDRESS"

th_graph report "$A" --daemon "$addr" -o "$TH_TMP/report" >/dev/null
for s in r1 r2 r3; do [ -s "$TH_TMP/report/sessions/$s.png" ] || th_fail "report: no graph for $s"; done

# An address nobody listens on: a clear error, exit 1.
rc=0
err=$(th_graph xport "$A" --vm vm1 --daemon "unix:$TH_TMP/nobody.sock" 2>&1 >/dev/null) || rc=$?
th_assert_eq 1 "$rc" "dead daemon: exit status"
th_assert_match "rrdcached at unix:$TH_TMP/nobody.sock could not flush" "$err" "dead daemon: message"
