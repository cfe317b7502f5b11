#!/bin/bash
# markers-only.sh — a session with markers and a summary but no per-second record has no RRD
# (the plugin creates none, lib/th-archive.h): the report lists it in the table and the summary
# CSV with its figures, names its markers instead of a graph, draws no graph or CSV for it and
# says nothing about it on standard error; the overlay of its VM leaves it out quietly; the
# single-session commands exit 2 saying it has markers only.
# timeout: 120
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
# shellcheck source=tests/graph/fixture.sh
. "$top_srcdir/tests/graph/fixture.sh"
th_require_cmd jq jq
th_require_cmd identify imagemagick

A="$TH_TMP/archive"
R="$TH_TMP/report"
FX_SUMMARY=$(fx_summary success 800 10 1.9 40 70 10) fx_session "$A" web1 m1 d1 1 1700003000 100 40 "5:60:0 6:10:10"
# Cycle 2: aborted before any probe record reached the plugin; its JSON as the plugin writes it
# (first = last = the session-start second), no RRD.
FX_OUTCOME=aborted FX_SUMMARY=$(fx_summary aborted -1 -1 -1 -1 0 0) fx_session "$A" web1 m2 d1 2 1700006000 20 10 ""
rm "$A/web1/m2.rrd"
jq '.last = .first' "$A/web1/m2.json" >"$TH_TMP/m2.json" && mv "$TH_TMP/m2.json" "$A/web1/m2.json"

th_graph report "$A" -o "$R" >"$TH_TMP/out" 2>"$TH_TMP/err" ||
	th_fail "report failed: $(cat "$TH_TMP/err")"
th_assert_eq "" "$(cat "$TH_TMP/err")" "nothing on stderr"
th_assert_eq '"m2","web1","d1",2,"hv-a","hv-b","session-end",1700006008.4,1700006010.5,1700006018.75,"aborted",,,,,,,,0,0,0,,,,,,,,,,,,,' \
	"$(grep '^"m2"' "$R/summary.csv")" "summary.csv line of the markers-only session"
html=$(cat "$R/index.html")
th_assert_match 'badge aborted">aborted<' "$(printf '%s\n' "$html" | grep '<tr id="row-m2">')" "table row m2"
th_assert_eq '<figure class="session" id="s-m2"><figcaption><strong>m2</strong> · web1 · cycle 2 · hv-a → hv-b · <span class="badge aborted">aborted</span></figcaption><p class="nodata">No per-second records: the session has markers only. session-start 23:53:20 UTC · migration-request 23:53:28 UTC · migration-start 23:53:30 UTC · migration-end 23:53:38 UTC · session-end 23:53:39 UTC.</p><div class="ms-timeline" id="ms-m2"><svg' \
	"$(printf '%s\n' "$html" | grep 'id="s-m2"' | sed 's/\(<div class="ms-timeline" id="ms-m2"><svg\).*/\1/')" \
	"markers-only session section"
# Markers are enough for the millisecond timeline: aligned on migration-start (no hv-pause).
th_assert_match 'class="cycle-timeline"[^>]* data-ref="migration-start" data-lo-ms="-2600" data-hi-ms="8800"' \
	"$(printf '%s\n' "$html" | grep 'id="s-m2"')" "markers-only session timeline"
[ ! -e "$R/sessions/m2.png" ] || th_fail "a graph was drawn for the markers-only session"
[ ! -e "$R/csv/m2.csv" ] || th_fail "a CSV was written for the markers-only session"
[ -s "$R/sessions/m1.png" ] || th_fail "the session with data has no graph"
[ -s "$R/overlay-web1.png" ] || th_fail "no overlay for web1"

# The overlay of the VM: the session with data only, no warning.
th_graph xport "$A" --vm web1 --before 2 --after 2 >"$TH_TMP/x.csv" 2>"$TH_TMP/xerr" ||
	th_fail "xport failed: $(cat "$TH_TMP/xerr")"
th_assert_eq "" "$(cat "$TH_TMP/xerr")" "xport says nothing of the markers-only session"
th_assert_eq 'offset_s,m1,median' "$(head -n 1 "$TH_TMP/x.csv")" "xport columns"

# The single-session commands: exit 2, naming the reason.
for cmd in session csv; do
	rc=0
	err=$(th_graph "$cmd" "$A" m2 -o "$TH_TMP/m2.out" 2>&1) || rc=$?
	th_assert_eq 2 "$rc" "$cmd of a markers-only session: exit status"
	th_assert_match 'session m2 has no data: no per-second record \(markers only\)' "$err" \
		"$cmd of a markers-only session: message"
done
th_log "ok"
