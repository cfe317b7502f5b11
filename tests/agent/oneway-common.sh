# shellcheck shell=bash
# tests/agent/oneway-common.sh — shared by the one-way (`send`/`receive`) tests (sourced after
# tests/common/lib.sh). On a host that steals CPU time a sender can fall silent for tens of ms,
# which its receiver rightly reports as a short outage (§4.6 of the design: silence is loss).
# Such outages are not the tests' subject, but each must be backed by a real silence.

# ow_outages_outside RECORDS [T1 T2]: the outages that do not overlap the epoch window
# [T1, T2] (all of them without one), as "COUNT LOST UNBACKED": how many, their lost slots, and
# how many are longer than the longest silence (max_gap_ms, + 1 ms) of the second they end in —
# an outage no silence explains, which a test must fail.
ow_outages_outside() {
	jq -s -r --argjson a "${2:-0}" --argjson b "${3:-0}" '
		(map(select(.kind == "second") | {key: (.t | tostring), value: (.max_gap_ms // 0)}) |
		from_entries) as $gap |
		[.[] | select(.kind == "outage" and ($a == $b or .start >= $b or .end <= $a))] |
		(map(.lost) | add // 0) as $l |
		(map(select(.duration_ms > ($gap[(.end | floor | tostring)] // 0) + 1)) | length) as $u |
		"\(length) \($l) \($u)"' "$1"
}

# ow_loopback_pair PORT STREAM RECORDS SEND_ARGS...: `receive` on 127.0.0.1:PORT (records to
# RECORDS, stderr in $TH_TMP/receive.err) and, once it is bound, `send` to it with SEND_ARGS
# (stderr in $TH_TMP/send.err); their pids in $ow_recv and $ow_send, both killed at exit.
ow_loopback_pair() {
	local port=$1 stream=$2 records=$3 agent="${top_builddir:?}/agent/themis-agent"
	shift 3
	"$agent" receive --listen "127.0.0.1:$port" --vm vm1 --stream "$stream" --report "$records" \
		2>"$TH_TMP/receive.err" &
	ow_recv=$!
	th_on_exit kill -KILL "$ow_recv"
	th_wait_for 10 ss -Huln "sport = :$port"
	"$agent" send --target "127.0.0.1:$port" "$@" 2>"$TH_TMP/send.err" &
	ow_send=$!
	th_on_exit kill -KILL "$ow_send"
}

# ow_send_summary [FILE]: "SENT SKIPPED ERRORS" from the summary of a `send` in FILE (its
# stderr; default $TH_TMP/send.err).
ow_send_summary() {
	sed -n 's/.*: \([0-9]*\) packets sent, \([0-9]*\) slots skipped.*, \([0-9]*\) send errors.*/\1 \2 \3/p' \
		"${1:-$TH_TMP/send.err}"
}
