# shellcheck shell=bash
# graph-report.sh — `themis-graph csv` and `report`: CSV exports of a session's per-second data
# (rrdtool xport) and of the summaries, and the self-contained HTML report (summary table,
# aggregates, availability per VM from the plugin's summaries (graph-availability.sh), one
# overlay per VM, the millisecond timelines of timeline.jq, every session timeline, links to
# the CSV files).

# th_session_csv ARCHIVE SESSION: print "time,<every DS>" for each second of the session.
th_session_csv() {
	local archive=$1 session=$2 json rrd rdef first last ds
	th_open_session "$archive" "$session"
	local -a args=()
	for ds in $TH_DS_LIST; do
		args+=("DEF:$ds=$rdef:$ds:AVERAGE" "XPORT:$ds:$ds")
	done
	th_rrd xport --json --showtime --step 1 --start "$((first - 1))" --end "$last" "${args[@]}" |
		jq -r '(["time"] + .meta.legend | join(",")),
			(.data[] | [(.[0] | tonumber)] + .[1:] | @csv)' ||
		th_die "$TH_EXIT_USAGE" "rrdtool xport failed for $rrd"
}

# The jq program shared by the summary CSV and the HTML table: one row object per session, from
# $fields (TH_SUMMARY_FIELDS_JSON). The session's own columns are named here; the summary's come
# from lib's table, each shown when it is a number at or above the field's "min" (else null).
# The outcome falls back to the migration-end marker's, then to closed_by.
# shellcheck disable=SC2016 # jq variables, not shell ones
TH_JQ_ROWS='
	def mark($ev): [.markers[]? | select(.event == $ev) | .t] | first;
	(.summary // {}) as $s
	| { session: (.session // ""), vm: (.vm // ""), definition: (.definition // ""),
	    cycle: .cycle, src_host: (.src_host // ""), dst_host: (.dst_host // ""),
	    closed_by: (.closed_by // ""),
	    markers: [.markers[]? | select(.t | type == "number") | {event, t}],
	    migration_request: mark("migration-request"), migration_start: mark("migration-start"),
	    migration_end: mark("migration-end"),
	    description: ((.params.description // ([.markers[]? | select(.event == "session-start")
	                  | .params.description | strings] | first)) // null),
	    message: ([.markers[]? | select(.event == "migration-end" or .event == "session-end")
	              | .message | strings | select(length > 0)] | first) }
	+ (reduce ($fields[] | select(.type != "outcome")) as $f ({};
	    .[$f.name] = ($s[$f.name] | if type == "number" and . >= $f.min then . else null end)))
	+ { outcome: ($s.outcome // ([.markers[]? | select(.event == "migration-end") | .outcome | select(. != "none")]
	              | first) // (if .closed_by == "open" then "open" else "unknown" end)) }'

# The row objects also carry the definition's description (params of the session file or of
# its session-start marker) and OpenNebula's message (migration-end, else session-end marker).

# The summary CSV's columns: the session's, then every summary field (TH_SUMMARY_FIELDS).
TH_SESSION_COLUMNS="session vm definition cycle src_host dst_host closed_by migration_request migration_start migration_end"

# th_rows_json FILE...: a JSON array of row objects, in the order given.
th_rows_json() { jq -s --argjson fields "$TH_SUMMARY_FIELDS_JSON" "map($TH_JQ_ROWS)" "$@"; }

# th_summary_csv ROWS_JSON: the summary CSV (header + one line per session; unknown = empty).
th_summary_csv() {
	jq -r --arg cols "$TH_SESSION_COLUMNS $TH_SUMMARY_FIELDS" '($cols | split(" ")) as $c
		| ($c | join(",")), (.[] | [.[$c[]]] | @csv)' "$1"
}

# th_aggregates ROWS_JSON: "cycles successes success_pct dt_n dt_min dt_median dt_p95 dt_max"
# (tab-separated). Downtime figures cover successful cycles with a known downtime; p95 is the
# nearest-rank percentile; empty fields when there is none.
th_aggregates() {
	jq -r '
		def median: if length == 0 then null elif length % 2 == 1 then .[length / 2 | floor]
			else (.[length / 2 - 1] + .[length / 2]) / 2 end;
		def nearest_rank($p): if length == 0 then null else .[((length * $p) | ceil) - 1] end;
		length as $n
		| (map(select(.outcome == "success")) | length) as $ok
		| (map(select(.outcome == "success") | .downtime_ms | numbers) | sort) as $d
		| [$n, $ok, (if $n > 0 then $ok * 100 / $n else null end), ($d | length),
		   ($d | first), ($d | median), ($d | nearest_rank(0.95)), ($d | last)]
		| map(if . == null then "" else . end) | @tsv' "$1"
}

th_safe_name() { printf '%s' "$1" | tr -c 'A-Za-z0-9_.-' '_'; }

# th_report ARCHIVE DEFINITION OUTDIR
th_report() {
	local archive=$1 def=$2 outdir=$3 json session vm tmp avail=no
	local -a files vms
	th_check_archive "$archive"
	mapfile -t files < <(th_list_sessions "$archive" "" "$def")
	# The plugin's summaries outlive the session files (prune, ArchiveRetention): without any
	# session file (and no --definition to match) the report has its Availability section only.
	if [ -e "$archive/$TH_SUMMARIES" ] || [ -e "$archive/$TH_AVAILABILITY" ]; then
		avail=yes
	fi
	[ "${#files[@]}" -gt 0 ] || { [ "$avail" = yes ] && [ -z "$def" ]; } ||
		th_die "$TH_EXIT_DATA" "no session${def:+ of definition $def} in $archive"
	mkdir -p "$outdir/sessions" "$outdir/csv" || th_die "$TH_EXIT_USAGE" "cannot create $outdir"
	tmp=$(th_tmpdir)

	if [ "${#files[@]}" -gt 0 ]; then
		th_rows_json "${files[@]}" >"$tmp/rows.json"
	else
		printf '[]\n' >"$tmp/rows.json"
	fi
	th_summary_csv "$tmp/rows.json" >"$outdir/summary.csv"
	if [ "$avail" = yes ]; then
		th_availability_model "$archive" "" "" "" all "$tmp/avail.json"
		th_availability_csv "$tmp/avail.json" rows >"$outdir/csv/availability.csv"
		th_availability_csv "$tmp/avail.json" sessions >"$outdir/csv/sessions.csv"
	else
		printf 'null\n' >"$tmp/avail.json"
	fi

	# Session timelines and per-second CSV; a session without data stays in the table, one
	# with markers only (no RRD) quietly, with its markers listed.
	: >"$tmp/graphs"
	for json in "${files[@]}"; do
		session=$(basename "$json" .json)
		local size
		if th_markers_only "$json"; then
			printf '%s\tmarkers-only\n' "$session" >>"$tmp/graphs"
		elif size=$(th_session_graph "$archive" "$session" "$outdir/sessions/$session.png" 2>"$tmp/err"); then
			th_session_csv "$archive" "$session" >"$outdir/csv/$session.csv"
			printf '%s\t%s\n' "$session" "$size" >>"$tmp/graphs"
		else
			th_warn "$(sed 's/^themis-graph: //' "$tmp/err")"
			printf '%s\t\n' "$session" >>"$tmp/graphs"
		fi
	done

	# One overlay per VM.
	mapfile -t vms < <(jq -r '[.[].vm] | unique | .[]' "$tmp/rows.json")
	: >"$tmp/overlays"
	for vm in "${vms[@]}"; do
		local f size
		f="overlay-$(th_safe_name "$vm").png"
		if size=$(th_overlay_graph "$archive" "$vm" "$def" migration-start lost 30 '' "$outdir/$f" 2>"$tmp/err"); then
			cat "$tmp/err" >&2
			printf '%s\t%s\t%s\n' "$vm" "$f" "$size" >>"$tmp/overlays"
			th_overlay_xport "$archive" "$vm" "$def" migration-start lost 30 '' \
				>"$outdir/csv/overlay-$(th_safe_name "$vm").csv" 2>/dev/null || true
		else
			th_warn "$(sed 's/^themis-graph: //' "$tmp/err")"
		fi
	done

	# The millisecond timelines (timeline.jq): one per session, one aligned view per definition.
	if [ "${#files[@]}" -gt 0 ]; then
		jq -s -L "$TH_LIBDIR" 'include "timeline";
			map({key: (.session // ""), value: tl_cycle_svg}) | from_entries' "${files[@]}" \
			>"$tmp/timelines.json" || th_die "$TH_EXIT_USAGE" "jq failed on the timelines of $archive"
		jq -s -L "$TH_LIBDIR" 'include "timeline";
			group_by(.definition // "") | map({definition: (.[0].definition // ""), svg: tl_overlay_svg})
			| map(select(.svg != ""))' "${files[@]}" >"$tmp/msoverlays.json" ||
			th_die "$TH_EXIT_USAGE" "jq failed on the aligned timelines of $archive"
	else
		printf '{}\n' >"$tmp/timelines.json"
		printf '[]\n' >"$tmp/msoverlays.json"
	fi

	th_report_html "$archive" "$def" "$tmp" >"$outdir/index.html"
	printf '%s\n' "$outdir/index.html"
}

# th_report_html ARCHIVE DEFINITION TMP: print index.html from TMP/rows.json, TMP/graphs
# ("session<TAB>WxH", empty size when the session has no data, "markers-only" when it has no
# RRD), TMP/overlays ("vm<TAB>file<TAB>WxH"), TMP/avail.json (availability.jq's figures or
# null), TMP/timelines.json ({session: svg}) and TMP/msoverlays.json ([{definition, svg}]).
# Styles and the timelines are inlined; images are referenced by relative path.
th_report_html() {
	local archive=$1 def=$2 tmp=$3
	local agg
	agg=$(th_aggregates "$tmp/rows.json")
	jq -r -n --slurpfile rowsf "$tmp/rows.json" --rawfile graphs "$tmp/graphs" \
		--rawfile overlays "$tmp/overlays" --slurpfile availf "$tmp/avail.json" \
		--rawfile css "$TH_LIBDIR/report.css" --slurpfile timelinesf "$tmp/timelines.json" \
		--slurpfile msoverlaysf "$tmp/msoverlays.json" \
		--arg agg "$agg" --arg archive "$archive" --arg defn "$def" \
		--arg generated "$(date -u '+%Y-%m-%d %H:%M UTC')" --arg version "$TH_VERSION" \
		-L "$TH_LIBDIR" -f "$TH_LIBDIR/report-html.jq"
}
