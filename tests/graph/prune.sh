#!/bin/bash
# prune.sh — `themis-graph prune ARCHIVE --older-than DUR`: removes the .rrd, .json, .pending and
# .queue of closed sessions whose last second is older than now - DUR, and nothing else (open
# sessions, recent ones, summaries.jsonl, availability.jsonl, other files, files it cannot read
# as a session); names each removal and the total; --dry-run names them and removes nothing;
# a missing, zero or malformed DUR and a missing archive exit 2 with nothing removed.
# timeout: 60
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
# shellcheck source=tests/graph/fixture.sh
. "$top_srcdir/tests/graph/fixture.sh"
th_require_cmd jq jq

A="$TH_TMP/archive"
mkdir -p "$A/web1" "$A/web2"
NOW=$(date +%s)
DAY=86400

# session VM ID CLOSED_BY LAST [SUFFIX...]: a session file (and empty companions) as the plugin
# leaves it.
session() {
	local vm=$1 id=$2 closed=$3 last=$4 s
	shift 4
	jq -n --arg s "$id" --arg vm "$vm" --arg c "$closed" --argjson last "$last" \
		'{session: $s, vm: $vm, definition: "d1", cycle: 1, first: ($last - 99), last: $last,
		  closed_by: $c, markers: [], outages: []}' >"$A/$vm/$id.json"
	for s in "$@"; do printf 'x' >"$A/$vm/$id.$s"; done
}
# Old and closed: pruned.
session web1 old1 session-end "$((NOW - 40 * DAY))" rrd pending queue
session web1 old2 timeout "$((NOW - 31 * DAY))" rrd
session web2 old3 session-end "$((NOW - 90 * DAY))"
# Kept: open however old, closed but recent, no closed_by, "session" naming another file, a
# damaged file, files of other names (also beside a pruned session), the plugin's JSON lines.
session web1 open1 open "$((NOW - 40 * DAY))" rrd queue pending
session web1 new1 session-end "$((NOW - 29 * DAY))" rrd
session web2 new2 timeout "$((NOW - 3600))" rrd
jq -n --argjson last "$((NOW - 40 * DAY))" '{session: "nokey", vm: "web2", last: $last}' >"$A/web2/nokey.json"
jq -n --argjson last "$((NOW - 40 * DAY))" '{session: "other", vm: "web2", last: $last, closed_by: "session-end"}' \
	>"$A/web2/mismatch.json"
printf '{"session": "cut", "closed_by": "session-e' >"$A/web2/cut.json"
printf 'x' >"$A/web1/old1.rrd.grow"
printf 'x' >"$A/web2/notes.txt"
fx_hour "$A" web1 "$(((NOW - 40 * DAY) / 3600 * 3600))" 3600 0 0 0 0
fx_summary_line "$A" web1 old1 run "$((NOW - 40 * DAY - 99))" success 100 10 hv-a hv-b
printf '{}\n' >"$A/summaries.json"

listing() { (cd "$A" && find . -type f | LC_ALL=C sort); }
before=$(listing)

# --- --dry-run: the same list, nothing removed ------------------------------------------------
th_graph prune "$A" --older-than 30d --dry-run >"$TH_TMP/dry" 2>"$TH_TMP/dryerr" ||
	th_fail "prune --dry-run failed: $(cat "$TH_TMP/dryerr")"
th_assert_eq "would remove $A/web1/old1.rrd
would remove $A/web1/old1.pending
would remove $A/web1/old1.queue
would remove $A/web1/old1.json
would remove $A/web1/old2.rrd
would remove $A/web1/old2.json
would remove $A/web2/old3.json
would prune 3 session(s), 7 file(s) in $A" "$(cat "$TH_TMP/dry")" "--dry-run output"
th_assert_eq "$before" "$(listing)" "--dry-run removes nothing"
th_assert_match "$A/web2/cut.json is not a session file" "$(cat "$TH_TMP/dryerr")" "damaged file named"
th_assert_match "$A/web2/mismatch.json is not a session file" "$(cat "$TH_TMP/dryerr")" "mismatched file named"
th_assert_match "$A/web2/nokey.json is not a session file" "$(cat "$TH_TMP/dryerr")" "file without closed_by named"

# --- refused durations and archives: exit 2, nothing removed -------------------------------------
for bad in "" "--older-than 0" "--older-than 0d" "--older-than abc" "--older-than 30x" \
	"--older-than -5" "--older-than 1.5d" "--older-than 1234567890"; do
	rc=0
	# shellcheck disable=SC2086 # option and value
	err=$(th_graph prune "$A" $bad 2>&1) || rc=$?
	th_assert_eq 2 "$rc" "prune ${bad:-without --older-than}: exit status"
	th_assert_match 'older-than' "$err" "prune ${bad:-without --older-than}: message"
done
rc=0
th_graph prune "$TH_TMP/nosuch" --older-than 1d >/dev/null 2>&1 || rc=$?
th_assert_eq 2 "$rc" "missing archive: exit status"
# A selection prune would ignore is refused rather than widened.
rc=0
th_graph prune "$A" --older-than 30d --vm web1 >/dev/null 2>&1 || rc=$?
th_assert_eq 1 "$rc" "prune --vm: usage error"
th_assert_eq "$before" "$(listing)" "refused runs remove nothing"

# --- the real run ----------------------------------------------------------------------------------
th_graph prune "$A" --older-than 30d >"$TH_TMP/run" 2>/dev/null || th_fail "prune failed"
th_assert_eq "removed $A/web1/old1.rrd
removed $A/web1/old1.pending
removed $A/web1/old1.queue
removed $A/web1/old1.json
removed $A/web1/old2.rrd
removed $A/web1/old2.json
removed $A/web2/old3.json
pruned 3 session(s), 7 file(s) in $A" "$(cat "$TH_TMP/run")" "prune output"
th_assert_eq './availability.jsonl
./summaries.json
./summaries.jsonl
./web1/new1.json
./web1/new1.rrd
./web1/old1.rrd.grow
./web1/open1.json
./web1/open1.pending
./web1/open1.queue
./web1/open1.rrd
./web2/cut.json
./web2/mismatch.json
./web2/new2.json
./web2/new2.rrd
./web2/nokey.json
./web2/notes.txt' "$(listing)" "files left"
th_assert_eq 1 "$(wc -l <"$A/summaries.jsonl")" "summaries.jsonl untouched"
th_assert_eq 1 "$(wc -l <"$A/availability.jsonl")" "availability.jsonl untouched"

# Again: nothing left to prune. In seconds: the 29-day session goes too, the 1-hour one stays.
th_assert_eq "pruned 0 session(s), 0 file(s) in $A" "$(th_graph prune "$A" --older-than 30d 2>/dev/null)" "second run"
th_assert_eq "removed $A/web1/new1.rrd
removed $A/web1/new1.json
pruned 1 session(s), 2 file(s) in $A" "$(th_graph prune "$A" --older-than $((2 * DAY)) 2>/dev/null)" \
	"--older-than in seconds"
exit 0
