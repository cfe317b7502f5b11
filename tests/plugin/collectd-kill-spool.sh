#!/bin/bash
# collectd-kill-spool.sh — collectd-kill.sh with an agent that re-sends only the batches that
# were not acknowledged: what the plugin acknowledged before kill -9 must survive on its own.
# timeout: 180
TP_KILL_RESEND=unacked
# shellcheck source=tests/plugin/collectd-kill.sh
. "${top_srcdir:?}/tests/plugin/collectd-kill.sh"
