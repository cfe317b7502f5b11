# shellcheck shell=bash
# graph-availability.sh — `themis-graph availability`: availability per VM and period and the
# timeline of migration sessions, from the plugin's summaries.jsonl and availability.jsonl
# (collectd-themis(5)): reading the lines (malformed ones counted and left out), durations and
# times on the command line, the text table and the CSV files. The figures themselves are
# computed by availability.jq.

TH_SUMMARIES=summaries.jsonl
TH_AVAILABILITY=availability.jsonl

# Columns of availability.csv (one row per VM and period) and sessions.csv (one per session).
TH_AVAIL_COLUMNS="vm period period_start hours covered_s outage_ms availability_pct outage_outside_ms outages outages_outside migrations origin_run origin_observed origin_unknown success failed timeout lost aborted other downtime_known downtime_total_ms downtime_worst_ms downtime_worst_bound_ms downtime_worst_session"
TH_SESSIONS_COLUMNS="vm session start first last origin definition cycle outcome closed_by t_request t_migration_start t_migration_end downtime_ms downtime_bound_ms src_host dst_host summary_source"

# A well-formed line of each file (collectd-themis(5)); anything else is left out and counted.
# Times are bounded to [0, 1e10) (jq's date functions abort on far larger ones).
# shellcheck disable=SC2016 # jq programs
TH_SUMMARY_CHECK='type == "object" and (.vm | type) == "string" and .vm != ""
	and (.session | type) == "string" and .session != "" and (.first | type) == "number"
	and .first >= 0 and .first < 1e10'
# shellcheck disable=SC2016 # jq programs
TH_HOUR_CHECK='type == "object" and (.vm | type) == "string" and .vm != ""
	and (.hour | type) == "number" and .hour >= 0 and .hour < 1e10
	and (.covered_s | type) == "number" and .covered_s >= 0
	and (.outage_ms | type) == "number" and .outage_ms >= 0
	and all(.outage_ms_sessions, .outages, .outages_sessions; . == null or type == "number")'

# th_parse_dur DUR: print DUR in seconds (N, Ns, Nm, Nh, Nd or Nw; N has at most 9 digits);
# false when DUR is not a duration or is 0.
th_parse_dur() {
	[[ $1 =~ ^([0-9]{1,9})([smhdw]?)$ ]] || return 1
	local n=$((10#${BASH_REMATCH[1]}))
	[ "$n" -gt 0 ] || return 1
	case ${BASH_REMATCH[2]} in
	m) n=$((n * 60)) ;;
	h) n=$((n * 3600)) ;;
	d) n=$((n * 86400)) ;;
	w) n=$((n * 604800)) ;;
	esac
	printf '%s\n' "$n"
}

# th_parse_time TIME: print TIME in epoch seconds (epoch seconds, or a date GNU date reads, in
# UTC unless it names its zone); false when it is neither.
th_parse_time() {
	if [[ $1 =~ ^[0-9]{1,12}$ ]]; then
		printf '%s\n' "$((10#$1))"
	else
		[ -n "$1" ] && date -u -d "$1" +%s 2>/dev/null
	fi
}

# th_jsonl_load FILE CHECK OUT: write to OUT a JSON array of the lines of FILE that are JSON
# objects passing the jq test CHECK; blank lines are ignored, every other line is counted and
# named in one warning. A missing FILE gives an empty array (the caller says so).
th_jsonl_load() {
	local file=$1 check=$2 out=$3 bad
	if [ ! -f "$file" ]; then
		printf '[]\n' >"$out"
		return 0
	fi
	jq -R -c "select(test(\"\\\\S\")) | input_line_number as \$n
		| try (fromjson | if $check then {ok: .} else error(\"malformed\") end) catch {bad: \$n}" \
		"$file" >"$out.lines" || th_die "$TH_EXIT_USAGE" "cannot read $file"
	jq -s -c 'map(.ok // empty)' "$out.lines" >"$out"
	bad=$(jq -s -r 'map(.bad // empty) | length as $n | select($n > 0)
		| "\($n) malformed line\(if $n > 1 then "s" else "" end) left out (line\(if $n > 1 then "s" else "" end) \(.[:5] | map(tostring) | join(", "))\(if $n > 5 then ", ..." else "" end))"' \
		"$out.lines")
	[ -z "$bad" ] || th_warn "$file: $bad"
}

# th_availability_model ARCHIVE SINCE UNTIL VM PERIOD OUT: the figures (availability.jq) of the
# selection into OUT; names a missing summaries.jsonl or availability.jsonl on stderr.
th_availability_model() {
	local archive=$1 since=$2 until=$3 vm=$4 period=$5 out=$6 tmp f
	tmp=$(th_tmpdir)
	for f in "$TH_SUMMARIES" "$TH_AVAILABILITY"; do
		[ -e "$archive/$f" ] || th_warn "$archive/$f does not exist (the plugin writes it, collectd-themis(5)): no $(
			[ "$f" = "$TH_SUMMARIES" ] && printf 'session' || printf 'hourly tally'
		) in the figures"
	done
	th_jsonl_load "$archive/$TH_SUMMARIES" "$TH_SUMMARY_CHECK" "$tmp/sums.json"
	th_jsonl_load "$archive/$TH_AVAILABILITY" "$TH_HOUR_CHECK" "$tmp/hours.json"
	jq -n -c --slurpfile sums "$tmp/sums.json" --slurpfile hours "$tmp/hours.json" \
		--arg since "$since" --arg until "$until" --arg vm "$vm" --arg period "$period" \
		-f "$TH_LIBDIR/availability.jq" >"$out" ||
		th_die "$TH_EXIT_USAGE" "jq could not compute the availability of $archive"
}

# th_availability_csv MODEL rows|sessions: the CSV (header + one line per row; unknown = empty).
th_availability_csv() {
	local cols=$TH_AVAIL_COLUMNS
	[ "$2" = rows ] || cols=$TH_SESSIONS_COLUMNS
	jq -r --arg cols "$cols" --arg what "$2" '($cols | split(" ")) as $c
		| ($c | join(",")), (.[$what][] | [.[$c[]]] | @csv)' "$1"
}

# th_columns: align tab-separated lines into columns two spaces apart.
th_columns() {
	awk -F '\t' '{ line[NR] = $0; for (i = 1; i <= NF; i++) if (length($i) > w[i]) w[i] = length($i) }
		END { for (r = 1; r <= NR; r++) { n = split(line[r], f, "\t"); s = ""
			for (i = 1; i < n; i++) s = s sprintf("%-" w[i] "s  ", f[i])
			print s f[n] } }'
}

# th_availability_text MODEL: the table (one line per VM and period) and the timeline (one line
# per session, by VM and time). Percentages with 4 decimals, milliseconds with 1, "-" unknown.
th_availability_text() {
	{
		printf 'VM\tPERIOD\tAVAIL_%%\tCOVERED\tOUTAGE_MS\tOUTSIDE_MS\tMIGRATIONS\tRUN\tOBSERVED\tUNKNOWN\tSUCCESS\tFAILED\tTIMEOUT\tLOST\tABORTED\tOTHER\tDOWNTIME_MS\tWORST_MS\tBOUND_MS\tWORST_SESSION\n'
		jq -r '.rows[] | [.vm, .period, .availability_pct, .covered_s, .outage_ms, .outage_outside_ms,
			.migrations, .origin_run, .origin_observed, .origin_unknown, .success, .failed,
			.timeout, .lost, .aborted, .other, .downtime_total_ms, .downtime_worst_ms,
			.downtime_worst_bound_ms, .downtime_worst_session]
			| map(if . == null then "-" else tostring end) | @tsv' "$1" |
			awk -F '\t' -v OFS='\t' '
				function f(v, d) { return v == "-" ? v : sprintf("%." d "f", v) }
				{ $3 = f($3, 4); $4 = sprintf("%d:%02d:%02d", int($4 / 3600), int($4 % 3600 / 60), int($4 % 60))
				  $5 = f($5, 1); $6 = f($6, 1); $17 = f($17, 1); $18 = f($18, 1); $19 = f($19, 1); print }'
	} | th_columns
	printf '\n'
	{
		printf 'VM\tSTART_UTC\tORIGIN\tOUTCOME\tDOWNTIME_MS\tBOUND_MS\tROUTE\tSESSION\n'
		jq -r '.sessions[] | [.vm, (.first | floor | strftime("%Y-%m-%d %H:%M:%S")), .origin,
			(.outcome // "-"), (.downtime_ms // "-"), (.downtime_bound_ms // "-"),
			"\(.src_host // "?") -> \(.dst_host // "?")", .session] | map(tostring) | @tsv' "$1" |
			awk -F '\t' -v OFS='\t' '
				function f(v, d) { return v == "-" ? v : sprintf("%." d "f", v) }
				{ $5 = f($5, 1); $6 = f($6, 1); print }'
	} | th_columns
}

# th_availability ARCHIVE SINCE UNTIL VM PERIOD CSV OUTDIR: the command. SINCE/UNTIL: epoch
# seconds or empty. OUTDIR: write availability.csv and sessions.csv there and print their paths;
# else CSV ("yes") or the text table on stdout.
th_availability() {
	local archive=$1 since=$2 until=$3 vm=$4 period=$5 csv=$6 outdir=$7 tmp n
	th_check_archive "$archive"
	tmp=$(th_tmpdir)
	th_availability_model "$archive" "$since" "$until" "$vm" "$period" "$tmp/model.json"
	n=$(jq '.rows | length' "$tmp/model.json")
	[ "$n" -gt 0 ] || th_warn "no availability figures${vm:+ for VM $vm} in $archive${since:+ since $(date -u -d "@$since" '+%Y-%m-%d %H:%M:%S') UTC}${until:+ before $(date -u -d "@$until" '+%Y-%m-%d %H:%M:%S') UTC}"
	if [ -n "$outdir" ]; then
		mkdir -p "$outdir" || th_die "$TH_EXIT_USAGE" "cannot create $outdir"
		th_availability_csv "$tmp/model.json" rows >"$outdir/availability.csv" ||
			th_die "$TH_EXIT_USAGE" "cannot write $outdir/availability.csv"
		th_availability_csv "$tmp/model.json" sessions >"$outdir/sessions.csv" ||
			th_die "$TH_EXIT_USAGE" "cannot write $outdir/sessions.csv"
		printf '%s\n' "$outdir/availability.csv" "$outdir/sessions.csv"
	elif [ "$csv" = yes ]; then
		th_availability_csv "$tmp/model.json" rows
	else
		th_availability_text "$tmp/model.json"
	fi
}
