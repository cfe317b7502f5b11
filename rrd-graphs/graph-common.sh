# shellcheck shell=bash
# graph-common.sh — what every themis-graph command shares: error exits, the rrdtool wrapper
# (rrdcached flush), finding sessions in the archive (lib/th-archive.h layout) and reading their
# <session>.json. Sourced by themis-graph; defines functions and constants only.

# Exit codes (doc/themis-graph.1): 1 usage or tool failure, 2 missing archive, unknown
# session, session without data.
TH_EXIT_USAGE=1
TH_EXIT_DATA=2

# shellcheck disable=SC2034 # constants for the other graph-*.sh files
# Data sources of the session RRD, in archive order (lib/th-archive.h TH_ARCHIVE_DS_LIST).
TH_DS_LIST="sent received lost_up lost_down lost_unknown late dup rtt_min rtt_avg rtt_max jitter max_gap iperf_bps iperf_lost iperf_packets iperf_jitter"

# shellcheck disable=SC2034 # constants for the other graph-*.sh files
# Common reference for aligned overlays: a multiple of 3600, so that with TZ=UTC the x labels
# (%M:%S) read time since the alignment marker; large enough for rrdtool to read it as an
# epoch time rather than an at-style date.
TH_ALIGN_BASE=360000000

TH_DAEMON=${RRDCACHED_ADDRESS:-}

th_die() {
	local code=$1
	shift
	printf 'themis-graph: %s\n' "$*" >&2
	exit "$code"
}
th_usage_error() { th_die "$TH_EXIT_USAGE" "$* (see themis-graph --help)"; }
th_warn() { printf 'themis-graph: warning: %s\n' "$*" >&2; }

th_need_tools() {
	[ -x "$TH_RRDTOOL" ] || command -v "$TH_RRDTOOL" >/dev/null 2>&1 ||
		th_die "$TH_EXIT_USAGE" "rrdtool not found at $TH_RRDTOOL: install the Debian package rrdtool"
	th_need_jq
}
th_need_jq() {
	command -v jq >/dev/null 2>&1 || th_die "$TH_EXIT_USAGE" "jq not found: install the Debian package jq"
}

# th_rrd SUBCOMMAND ARGS...: rrdtool, through rrdcached when an address is known.
th_rrd() {
	local sub=$1
	shift
	if [ -n "$TH_DAEMON" ] && [ "$sub" != flushcached ]; then
		"$TH_RRDTOOL" "$sub" --daemon "$TH_DAEMON" "$@"
	else
		"$TH_RRDTOOL" "$sub" "$@"
	fi
}

# th_flush RRD...: make rrdcached write what it holds for these files before they are read.
th_flush() {
	[ -n "$TH_DAEMON" ] || return 0
	"$TH_RRDTOOL" flushcached --daemon "$TH_DAEMON" "$@" ||
		th_die "$TH_EXIT_USAGE" "rrdcached at $TH_DAEMON could not flush $*"
}

th_check_archive() {
	[ -d "$1" ] || th_die "$TH_EXIT_DATA" "archive directory $1 does not exist"
}

th_valid_session_id() { [[ $1 =~ ^[A-Za-z0-9_.]+$ ]]; }

# th_find_session ARCHIVE SESSION: print the path of ARCHIVE/<vm>/SESSION.json.
th_find_session() {
	local archive=$1 session=$2 f found=
	th_check_archive "$archive"
	th_valid_session_id "$session" ||
		th_die "$TH_EXIT_DATA" "unknown session '$session': a session id has only letters, digits, _ and ."
	for f in "$archive"/*/"$session.json"; do
		[ -f "$f" ] || continue
		[ -z "$found" ] || th_die "$TH_EXIT_DATA" "session $session is in two places: $found and $f"
		found=$f
	done
	[ -n "$found" ] || th_die "$TH_EXIT_DATA" "unknown session $session: no $archive/*/$session.json"
	jq -e 'type == "object"' "$found" >/dev/null 2>&1 ||
		th_die "$TH_EXIT_DATA" "session $session: $found is not a valid session file (one JSON object)"
	printf '%s\n' "$found"
}

# th_list_sessions ARCHIVE [VM] [DEFINITION]: print the .json paths of the matching sessions,
# ordered by definition, cycle and session id.
th_list_sessions() {
	local archive=$1 vm=${2:-} def=${3:-} f
	local -a files=()
	th_check_archive "$archive"
	for f in "$archive"/*/*.json; do
		[ -f "$f" ] && files+=("$f")
	done
	[ "${#files[@]}" -gt 0 ] || return 0
	# One object per file, with its path; a damaged file is named and left out.
	for f in "${files[@]}"; do
		jq -c --arg path "$f" 'if type != "object" then error("not an object") else
			{path: $path, vm: (.vm // ""), definition: (.definition // ""),
			 cycle: (.cycle // 0), session: (.session // "")} end' "$f" 2>/dev/null ||
			th_warn "$f is not a valid session file (one JSON object): left out"
	done | jq -rs --arg vm "$vm" --arg defn "$def" '
		map(select(($vm == "" or .vm == $vm) and ($defn == "" or .definition == $defn)))
		| sort_by(.definition, .cycle, .session) | .[].path'
}

# th_rrd_of JSON: the session's RRD path (same directory and name, .rrd).
th_rrd_of() { printf '%s.rrd\n' "${1%.json}"; }

# th_markers_only JSON: true when the session has no RRD, as the plugin leaves a session that
# received markers but no per-second record (lib/th-archive.h).
th_markers_only() { [ ! -e "$(th_rrd_of "$1")" ]; }

# th_session_range JSON: print "FIRST LAST", the first and last second of the session's data
# (from the summary file; markers when first/last are missing).
th_session_range() {
	jq -r '
		[.markers[]?.t | numbers] as $m
		| [(.first // ($m | min)), (.last // ($m | max))]
		| if .[0] == null or .[1] == null then "" else map(floor | tostring) | join(" ") end' "$1"
}

# th_open_session ARCHIVE SESSION: set the caller's json, rrd, rdef (rrd with colons escaped
# for DEF), first and last (declared local there) for SESSION; exit 2 when it has no data.
th_open_session() {
	local range
	json=$(th_find_session "$1" "$2")
	rrd=$(th_rrd_of "$json")
	rdef=${rrd//:/\\:} # a colon in a DEF file name is escaped
	range=$(th_session_range "$json")
	first=${range% *}
	last=${range#* }
	th_require_data "$json" "$first" "$last"
}

# th_marker_time JSON EVENT: the floor of the first EVENT marker's time, empty if none.
th_marker_time() {
	jq -r --arg ev "$2" '[.markers[]? | select(.event == $ev) | .t | numbers] | first // empty | floor' "$1"
}

# th_require_data JSON FIRST LAST: exit 2 unless the session's RRD exists and holds at least
# one known probe count between FIRST and LAST.
th_require_data() {
	local json=$1 first=$2 last=$3 rrd n session
	rrd=$(th_rrd_of "$json")
	local rdef=${rrd//:/\\:} # a colon in a DEF file name is escaped
	session=$(basename "$json" .json)
	[ -e "$rrd" ] || th_die "$TH_EXIT_DATA" "session $session has no data: no per-second record (markers only), $rrd does not exist"
	[ -f "$rrd" ] || th_die "$TH_EXIT_DATA" "session $session has no data: $rrd is not a file"
	[ -n "$first" ] || th_die "$TH_EXIT_DATA" "session $session has no data: $json names no first/last second"
	th_flush "$rrd"
	n=$(th_rrd graph /dev/null --start "$((first - 1))" --end "$last" --step 1 \
		"DEF:s=$rdef:sent:AVERAGE" "DEF:r=$rdef:received:AVERAGE" \
		'CDEF:k=s,UN,r,UN,*,0,1,IF' 'VDEF:n=k,TOTAL' 'PRINT:n:%.0lf' | sed -n 2p) ||
		th_die "$TH_EXIT_USAGE" "rrdtool could not read $rrd"
	case $n in '' | 0 | nan | -nan)
		th_die "$TH_EXIT_DATA" "session $session has no data: no probe counts in $rrd between $first and $last"
		;;
	esac
}

# th_comment TEXT: TEXT made safe for an rrdtool COMMENT/legend (colons escaped).
th_comment() { printf '%s' "${1//:/\\:}"; }

# th_rrd_graph_style: the look shared by every graph (white, light grid, DejaVu Sans).
th_rrd_graph_style() {
	printf '%s\n' --border 0 --disable-rrdtool-tag --color BACK#ffffff --color CANVAS#ffffff --color SHADEA#ffffff \
		--color SHADEB#ffffff --color GRID#e6e6e6 --color MGRID#c8c8c8 --color FRAME#ffffff \
		--color AXIS#555555 --color ARROW#555555 --color FONT#222222 \
		--font 'DEFAULT:8:DejaVu Sans' --font 'TITLE:10:DejaVu Sans' --font 'LEGEND:8:DejaVu Sans'
}

# th_fmt_ms VALUE: "1234.5 ms" or "n/a" (empty, null or negative means not known).
th_fmt_ms() {
	case $1 in '' | null | -* | nan | NaN) printf 'n/a' ;; *) awk -v v="$1" 'BEGIN { printf "%.1f ms", v }' ;; esac
}
# th_fmt_s VALUE: "2.10 s" or "n/a".
th_fmt_s() {
	case $1 in '' | null | -* | nan | NaN) printf 'n/a' ;; *) awk -v v="$1" 'BEGIN { printf "%.2f s", v }' ;; esac
}

# th_summary_fields JSON: one line, fields separated by TH_FS: outcome downtime_ms
# downtime_bound_ms one_duration_s hv_downtime_ms delta_ms lost_up lost_down (empty when not
# known; TH_FS is not white space, so `read` keeps empty fields). The outcome falls back to the
# migration-end marker's, then to closed_by.
# shellcheck disable=SC2034 # used by graph-session.sh
TH_FS=$'\x1f'
th_summary_fields() {
	jq -r '
		def known: if type == "number" and . >= 0 then . else "" end;
		(.summary // {}) as $s
		| [ ($s.outcome // ([.markers[]? | select(.event == "migration-end") | .outcome | select(. != "none")] | first)
		     // (if .closed_by == "open" then "open" else "unknown" end)),
		    ($s.downtime_ms | known), ($s.downtime_bound_ms | known), ($s.one_duration_s | known),
		    ($s.hv_downtime_ms | known),
		    (if ($s.delta_ms | type) == "number" then $s.delta_ms else "" end),
		    ($s.lost_up | known), ($s.lost_down | known) ] | map(tostring) | join("\u001f")' "$1"
}
# th_fmt_delta VALUE: a signed difference in ms ("+12.5 ms", "-3.0 ms") or "n/a".
th_fmt_delta() {
	case $1 in '' | null | nan | NaN) printf 'n/a' ;; *) awk -v v="$1" 'BEGIN { printf "%+.1f ms", v }' ;; esac
}

# th_tmpdir_init: create the per-run scratch root, removed when themis-graph exits. Called once
# from the main shell (not from a command substitution, whose traps and variables are its own).
th_tmpdir_init() {
	TH_TMPROOT=$(mktemp -d "${TMPDIR:-/tmp}/themis-graph.XXXXXX")
	trap 'rm -rf "$TH_TMPROOT"' EXIT
}
# th_tmpdir: print a fresh scratch directory under the per-run root.
th_tmpdir() { mktemp -d "$TH_TMPROOT/t.XXXXXX"; }
