# shellcheck shell=bash
# tests/agent/loopback-common.sh — shared by the themis-agent tests that need no namespace
# (sourced after tests/common/lib.sh): $AGENT, and tl_reflector, which starts `themis-agent
# reflect` on a free loopback port (in $rport, log in $TH_TMP/reflect.log), waits until it
# listens and kills it at exit.

AGENT="${top_builddir:?}/agent/themis-agent"
[ -x "$AGENT" ] || th_error "themis-agent not built: $AGENT"

tl_reflector() {
	rport=$(th_free_port)
	"$AGENT" reflect --listen "127.0.0.1:$rport" >"$TH_TMP/reflect.log" 2>&1 &
	th_on_exit kill -KILL "$!"
	th_wait_for 5 grep -q listening "$TH_TMP/reflect.log"
}
