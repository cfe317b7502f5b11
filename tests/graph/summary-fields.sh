#!/bin/bash
# summary-fields.sh — the graphs' summary columns cannot drift from lib's one table of summary
# fields (lib/th-summary.c th_summary_fields): themis-graph carries exactly what
# rrd-graphs/graph-fields prints from the table, summary.csv has the session's columns and then
# exactly the table's fields in its order, a summary with every field known reaches every
# column, and every summary key the graph scripts read by name is one of the table's.
# timeout: 60
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
# shellcheck source=tests/graph/fixture.sh
. "$top_srcdir/tests/graph/fixture.sh"
th_require_cmd jq jq

gen="$top_builddir/rrd-graphs/graph-fields"
[ -x "$gen" ] || th_error "$gen not built"
"$gen" >"$TH_TMP/fields.sh" || th_fail "graph-fields failed"

# themis-graph holds the generated list, line for line, and no other definition of it.
while IFS= read -r line; do
	grep -qxF -- "$line" "$TH_GRAPH" || th_fail "themis-graph lacks the generated line: $line"
done <"$TH_TMP/fields.sh"
th_assert_eq 1 "$(grep -c '^TH_SUMMARY_FIELDS=' "$TH_GRAPH")" "one TH_SUMMARY_FIELDS in themis-graph"
if grep -n 'TH_SUMMARY_FIELDS\(_JSON\)\?=' "$top_srcdir"/rrd-graphs/graph-*.sh; then
	th_fail "a graph script defines the summary's field list by hand (above)"
fi

# shellcheck source=/dev/null
. "$TH_TMP/fields.sh"
th_assert_eq 'outcome one_stime one_rstime one_etime one_duration_s downtime_ms downtime_bound_ms outage_total_ms lost_up lost_down lost_unknown hv_downtime_ms hv_total_ms delta_ms hv_pause hv_resume hv_paused_ms pre_pause_ms post_resume_ms decomp_bound_ms up_pre_pause_ms up_post_resume_ms down_pre_pause_ms down_post_resume_ms' \
	"$TH_SUMMARY_FIELDS" "the table's fields, in order"
th_assert_eq "$TH_SUMMARY_FIELDS" "$(jq -r 'map(.name) | join(" ")' <<<"$TH_SUMMARY_FIELDS_JSON")" \
	"names of the JSON list"
th_assert_eq 'outcome epoch epoch epoch s ms ms ms count count count ms ms ms time time ms ms ms ms ms ms ms ms' \
	"$(jq -r 'map(.type) | join(" ")' <<<"$TH_SUMMARY_FIELDS_JSON")" "types"

# Every summary key the scripts read by name ($s.X in the row and legend programs,
# (.summary // {}).X in availability.jq) is a field of the table.
# shellcheck disable=SC2016 # a literal $s in the pattern
for k in $(cd "$top_srcdir/rrd-graphs" && grep -ohE '\$s\.[a-z_]+|\(\.summary // \{\}\)\.[a-z_]+' graph-*.sh ./*.jq |
	sed 's/.*\.//' | sort -u); do
	case " $TH_SUMMARY_FIELDS " in *" $k "*) ;; *) th_fail "rrd-graphs reads summary key '$k', not in th_summary_fields" ;; esac
done

# A session whose summary knows every field: each value lands in its column of summary.csv.
A="$TH_TMP/archive"
R="$TH_TMP/report"
FX_SUMMARY='{"outcome":"success","one_stime":1700000030,"one_rstime":1700000042,"one_etime":1700000043,"one_duration_s":12,"downtime_ms":1234.5,"downtime_bound_ms":10.25,"outage_total_ms":1300.75,"lost_up":120,"lost_down":30,"lost_unknown":2,"hv_downtime_ms":45.5,"hv_total_ms":9000.125,"delta_ms":-1.5,"hv_pause":1700000040.000125,"hv_resume":1700000040.04575,"hv_paused_ms":45.625,"pre_pause_ms":-12.25,"post_resume_ms":1176.625,"decomp_bound_ms":10.75,"up_pre_pause_ms":-12.25,"up_post_resume_ms":900.5,"down_pre_pause_ms":20.5,"down_post_resume_ms":1176.625}' \
	fx_session "$A" web1 f1 d1 1 1700000000 100 40 "5:50:0"
th_graph report "$A" -o "$R" >/dev/null 2>"$TH_TMP/err" || th_fail "report failed: $(cat "$TH_TMP/err")"
th_assert_eq "session,vm,definition,cycle,src_host,dst_host,closed_by,migration_request,migration_start,migration_end,${TH_SUMMARY_FIELDS// /,}" \
	"$(head -n 1 "$R/summary.csv")" "summary.csv header: the session's columns, then the table's"
th_assert_eq '"f1","web1","d1",1,"hv-a","hv-b","session-end",1700000038.4,1700000040.5,1700000048.75,"success",1700000030,1700000042,1700000043,12,1234.5,10.25,1300.75,120,30,2,45.5,9000.125,-1.5,1700000040.000125,1700000040.04575,45.625,-12.25,1176.625,10.75,-12.25,900.5,20.5,1176.625' \
	"$(sed -n 2p "$R/summary.csv")" "summary.csv row with every field known"
