#!/bin/bash
# collectd-rrdcached-blackhole.sh — collectd-rrdcached-frozen.sh with rrdcached on TCP in a
# network namespace of its own, cut off by an nftables rule that drops everything sent to its
# port (a dead link: no reset, no answer) instead of being frozen.
# timeout: 180
# shellcheck disable=SC2034 # read by the sourced script
TP_STALL=blackhole
# shellcheck source=tests/plugin/collectd-rrdcached-frozen.sh
. "${top_srcdir:?}/tests/plugin/collectd-rrdcached-frozen.sh"
