# shellcheck shell=bash
# graph-compare.sh — `themis-graph compare`: measurement definitions side by side, from their
# session files (lib/th-archive.h): a table per definition (description, the parameters of its
# session-start marker, cycles, downtime median/p90/max, hypervisor paused, Δ), every cycle's
# outages on a ms axis aligned on hv-pause or migration-start, the downtime distributions, as a
# self-contained HTML page (compare-html.jq) and CSV. The figures come from compare.jq; the
# sessions are found and read with graph-common.sh and graph-report.sh (th_list_sessions,
# TH_JQ_ROWS). Sourced by themis-graph only for this command.

# The per-definition CSV's columns (compare.jq's names; params.* and the migration object
# flattened as KEY=VALUE;...).
TH_COMPARE_DEF_COLUMNS="definition description interval_ms bandwidth live cycles_planned load migration cycles success failed downtime_n downtime_median_ms downtime_p90_ms downtime_max_ms hv_paused_median_ms delta_median_ms"
# The per-cycle CSV's columns.
TH_COMPARE_CYCLE_COLUMNS="definition session vm cycle outcome downtime_ms downtime_bound_ms hv_paused_ms hv_downtime_ms delta_ms align outage_start_ms outage_end_ms message"

th_compare_usage() { th_usage_error "compare: $*"; }

# th_compare ARGS...: the command line after "compare" (its options are its own).
th_compare() {
	local out='' csv='' align=auto archive='' d
	local -a defs=()
	while [ $# -gt 0 ]; do
		case $1 in
		--definition | --out | -o | --output | --csv | --align)
			[ $# -ge 2 ] || th_compare_usage "option $1 needs a value"
			case $1 in
			--definition)
				[ -n "$2" ] || th_compare_usage "--definition needs a name"
				for d in ${defs[@]+"${defs[@]}"}; do
					[ "$d" != "$2" ] || th_compare_usage "definition $2 given twice"
				done
				defs+=("$2")
				;;
			--out | -o | --output) out=$2 ;;
			--csv) csv=$2 ;;
			--align)
				case $2 in auto | hv-pause | migration-start) align=$2 ;;
				*) th_compare_usage "--align $2: auto, hv-pause or migration-start" ;;
				esac
				;;
			esac
			shift 2
			;;
		-h | --help)
			usage
			exit 0
			;;
		-*) th_compare_usage "unknown option '$1'" ;;
		*)
			[ -z "$archive" ] || th_compare_usage "one ARCHIVE_DIR only ('$archive', then '$1')"
			archive=$1
			shift
			;;
		esac
	done
	[ -n "$archive" ] || th_compare_usage "needs ARCHIVE_DIR"
	[ "${#defs[@]}" -gt 0 ] || th_compare_usage "needs at least one --definition NAME"
	[ -n "$out" ] || [ -n "$csv" ] || th_compare_usage "needs --out DIR and/or --csv FILE"
	[ "$archive" = / ] || archive=${archive%/}
	th_need_jq
	th_tmpdir_init
	local tmp
	tmp=$(th_tmpdir)
	th_compare_model "$archive" "$align" "$tmp" "${defs[@]}"
	if [ -n "$csv" ]; then
		if [ "$csv" = - ]; then
			th_compare_def_csv "$tmp/model.json"
		else
			th_compare_def_csv "$tmp/model.json" >"$csv" || th_die "$TH_EXIT_USAGE" "cannot write $csv"
		fi
	fi
	if [ -n "$out" ]; then
		mkdir -p "$out" || th_die "$TH_EXIT_USAGE" "cannot create $out"
		th_compare_def_csv "$tmp/model.json" >"$out/definitions.csv"
		th_compare_cycle_csv "$tmp/model.json" >"$out/cycles.csv"
		th_compare_html "$archive" "$tmp/model.json" >"$out/index.html"
		printf '%s\n' "$out/index.html"
	fi
}

# th_compare_model ARCHIVE ALIGN TMP DEFINITION...: write TMP/model.json (compare.jq); exit 2
# when a definition has no session in the archive.
th_compare_model() {
	local archive=$1 align=$2 tmp=$3 d f
	shift 3
	local -a files all
	th_check_archive "$archive"
	mapfile -t all < <(th_list_sessions "$archive")
	[ "${#all[@]}" -gt 0 ] || th_die "$TH_EXIT_DATA" "no session in $archive: nothing to compare"
	: >"$tmp/files"
	for d in "$@"; do
		mapfile -t files < <(th_list_sessions "$archive" "" "$d" 2>/dev/null)
		if [ "${#files[@]}" -eq 0 ]; then
			local known
			known=$(for f in "${all[@]}"; do jq -r '.definition // empty' "$f"; done | sort -u | paste -sd ' ')
			th_die "$TH_EXIT_DATA" "unknown definition $d: no session of it in $archive (definitions there: ${known:-none})"
		fi
		printf '%s\n' "${files[@]}" >>"$tmp/files"
	done
	mapfile -t files <"$tmp/files"
	# Each session file with the report's row object (TH_JQ_ROWS) under .row.
	jq -s --argjson fields "$TH_SUMMARY_FIELDS_JSON" "map(. + {row: ($TH_JQ_ROWS)})" "${files[@]}" |
		jq --argjson defs "$(printf '%s\n' "$@" | jq -R . | jq -s .)" --arg align "$align" \
			--arg colours "$TH_OVERLAY_COLOURS" -f "$TH_LIBDIR/compare.jq" >"$tmp/model.json" ||
		th_die "$TH_EXIT_USAGE" "could not read the sessions of $* in $archive"
}

# th_compare_def_csv MODEL: one line per definition (TH_COMPARE_DEF_COLUMNS; unknown = empty).
th_compare_def_csv() {
	jq -r --arg cols "$TH_COMPARE_DEF_COLUMNS" '($cols | split(" ")) as $c
		| ($c | join(",")),
		  (.defs[] | . + {interval_ms: .params.interval_ms, bandwidth: .params.bandwidth,
		     live: .params.live, cycles_planned: .params.cycles, load: .params.load,
		     migration: (.params.migration | if type == "object" and length > 0
		       then to_entries | map("\(.key)=\(.value)") | join(";") else null end)}
		   | [.[$c[]]] | @csv)' "$1"
}

# th_compare_cycle_csv MODEL: one line per cycle (TH_COMPARE_CYCLE_COLUMNS), definitions in
# the order asked, then by cycle.
th_compare_cycle_csv() {
	jq -r --arg cols "$TH_COMPARE_CYCLE_COLUMNS" '($cols | split(" ")) as $c | .align as $a
		| ($c | join(",")), (.defs[].rows[] | . + {align: .anchor} | [.[$c[]]] | @csv)' "$1"
}

# th_compare_html ARCHIVE MODEL: print index.html (styles inlined, SVG inline).
th_compare_html() {
	jq -r -n --slurpfile model "$2" --arg archive "$1" \
		--rawfile css <(cat "$TH_LIBDIR/report.css" "$TH_LIBDIR/compare.css") \
		--arg generated "$(date -u '+%Y-%m-%d %H:%M UTC')" --arg version "$TH_VERSION" \
		-f "$TH_LIBDIR/compare-html.jq"
}
