# shellcheck shell=bash
# graph-session.sh — `themis-graph session`: one timeline PNG per session, stacked panels on a
# common time axis: lost probes per second (up above the axis, down below), round-trip time
# band with jitter, iperf throughput when the session has any. The migration window is shaded,
# every marker is a vertical rule, the legend carries the session's summary figures.

TH_SESSION_WIDTH=960
TH_PANEL_LOSS_H=300
TH_PANEL_RTT_H=190
TH_PANEL_IPERF_H=170

th_marker_colour() {
	case $1 in
	session-start | session-end) printf '#8c8c8c' ;;
	migration-request) printf '#e6820e' ;;
	migration-start) printf '#7b3fb5' ;;
	migration-end) printf '#2a9d4a' ;;
	*) printf '#444444' ;;
	esac
}

# th_session_graph ARCHIVE SESSION OUT [WIDTH]: draw the session timeline into OUT (PNG); print
# rrdtool-style "WIDTHxHEIGHT" of the result on stdout.
th_session_graph() {
	local archive=$1 session=$2 out=$3 width=${4:-$TH_SESSION_WIDTH}
	local json rrd rdef first last vm cycle src dst def w0 w1 tmp
	th_open_session "$archive" "$session"
	# Long sessions get several seconds per pixel: keep loss and RTT peaks visible (reduce=MAX).
	[ "$last" -gt "$first" ] || last=$((first + 1))

	IFS=$'\t' read -r vm cycle src dst def < <(jq -r '[.vm // "?", (.cycle // "?" | tostring),
		.src_host // "?", .dst_host // "?", .definition // "?"] | @tsv' "$json")
	w0=$(th_marker_time "$json" migration-request)
	[ -n "$w0" ] || w0=$(th_marker_time "$json" migration-start)
	w1=$(th_marker_time "$json" migration-end)
	[ -n "$w1" ] || w1=$last

	local -a style common rules rules_nolegend window
	mapfile -t style < <(th_rrd_graph_style)
	common=(--start "$((first - 1))" --end "$last" --step 1 --full-size-mode -w "$width"
		--units-length 7 "${style[@]}")

	# Markers: one VRULE each, with a legend on the first panel only.
	local ev t oc seen=" "
	while IFS=$'\t' read -r ev t oc; do
		[ -n "$t" ] || continue
		local label=$ev
		[ -n "$oc" ] && label="$ev ($oc)"
		if [[ $seen == *" $ev "* ]]; then
			rules+=("VRULE:$t$(th_marker_colour "$ev"):dashes=4,2")
		else
			rules+=("VRULE:$t$(th_marker_colour "$ev"):$(th_comment "$label"):dashes=4,2")
			seen+="$ev "
		fi
		rules_nolegend+=("VRULE:$t$(th_marker_colour "$ev")::dashes=4,2")
	done < <(jq -r '.markers[]? | select(.t | type == "number")
		| [.event, (.t | floor), (.outcome // "")] | @tsv' "$json")

	if [ -n "$w0" ]; then
		window=("CDEF:win=sent,POP,TIME,$w0,GE,TIME,$w1,LE,*,INF,UNKN,IF" 'CDEF:winneg=win,-1,*')
	else
		window=('CDEF:win=sent,UNKN,*' 'CDEF:winneg=win')
	fi

	local -a legend
	mapfile -t legend < <(th_session_legend "$json")

	tmp=$(th_tmpdir)

	local -a panels=()
	th_rrd graph "$tmp/1.png" "${common[@]}" -h "$TH_PANEL_LOSS_H" \
		--title "$vm · cycle $cycle · $src → $dst · $def · session $session · UTC" \
		--vertical-label 'lost probes / s' \
		"DEF:sent=$rdef:sent:AVERAGE" "DEF:up=$rdef:lost_up:AVERAGE:reduce=MAX" \
		"DEF:down=$rdef:lost_down:AVERAGE:reduce=MAX" "DEF:unk=$rdef:lost_unknown:AVERAGE:reduce=MAX" \
		"${window[@]}" 'CDEF:downneg=down,-1,*' \
		'AREA:win#fbe3c4:migration window' 'AREA:winneg#fbe3c4' \
		"AREA:up#d62728:$(th_comment 'lost up (supervisor → VM)')" \
		"AREA:unk#9e9e9e:$(th_comment 'lost, direction unknown'):STACK" \
		"AREA:downneg#1f6fb4:$(th_comment 'lost down (VM → supervisor)')\\n" \
		'HRULE:0#555555' "${rules[@]}" 'COMMENT:\n' \
		"COMMENT:$(th_comment "${legend[0]}")" "COMMENT:$(th_comment "   ${legend[1]}")" \
		"COMMENT:$(th_comment "   ${legend[2]}")" "COMMENT:$(th_comment "   ${legend[3]}")" \
		"COMMENT:$(th_comment "   ${legend[4]}")\\n" >/dev/null ||
		th_die "$TH_EXIT_USAGE" "rrdtool graph failed for $rrd"
	panels+=("$tmp/1.png")

	th_rrd graph "$tmp/2.png" "${common[@]}" -h "$TH_PANEL_RTT_H" --vertical-label 'ms' \
		--lower-limit 0 \
		"DEF:sent=$rdef:sent:AVERAGE" "DEF:rmin=$rdef:rtt_min:AVERAGE:reduce=MIN" \
		"DEF:ravg=$rdef:rtt_avg:AVERAGE" "DEF:rmax=$rdef:rtt_max:AVERAGE:reduce=MAX" \
		"DEF:jit=$rdef:jitter:AVERAGE:reduce=MAX" "${window[@]}" 'CDEF:band=rmax,rmin,-' \
		'AREA:rmin#ffffff00' "AREA:band#a9cce3:$(th_comment 'RTT min–max'):STACK" \
		'AREA:win#f5a62340' \
		'LINE1:ravg#1b4f8a:RTT avg' 'GPRINT:ravg:AVERAGE:%.2lf ms mean' \
		'LINE1:jit#2a9d4a:jitter' 'GPRINT:jit:MAX:%.2lf ms max\n' \
		"${rules_nolegend[@]}" >/dev/null || th_die "$TH_EXIT_USAGE" "rrdtool graph failed for $rrd"
	panels+=("$tmp/2.png")

	local bps
	bps=$(th_rrd graph /dev/null --start "$((first - 1))" --end "$last" --step 1 \
		"DEF:b=$rdef:iperf_bps:AVERAGE" 'VDEF:m=b,MAXIMUM' 'PRINT:m:%lf' | sed -n 2p)
	case $bps in '' | nan | -nan) ;; *)
		th_rrd graph "$tmp/3.png" "${common[@]}" -h "$TH_PANEL_IPERF_H" \
			--vertical-label 'Mbit/s' --lower-limit 0 \
			"DEF:sent=$rdef:sent:AVERAGE" "DEF:bps=$rdef:iperf_bps:AVERAGE" \
			"${window[@]}" 'CDEF:mbps=bps,1000000,/' \
			'AREA:mbps#6bb38a:iperf throughput' 'LINE1:mbps#2e7d4f' 'AREA:win#f5a62340' \
			'GPRINT:mbps:AVERAGE:%.1lf Mbit/s mean' 'GPRINT:mbps:MIN:%.1lf min\n' \
			"${rules_nolegend[@]}" >/dev/null || th_die "$TH_EXIT_USAGE" "rrdtool graph failed for $rrd"
		panels+=("$tmp/3.png")
		;;
	esac

	th_stack_png "$out" "${panels[@]}"
}

# th_session_legend JSON: the five summary lines of the legend (downtime with its bound,
# OpenNebula duration, hypervisor downtime, their difference, outcome); "n/a" when not known.
th_session_legend() {
	local oc dt bound one hv delta text
	IFS=$TH_FS read -r oc dt bound one hv delta _ < <(th_summary_fields "$1")
	text=$(th_fmt_ms "$dt")
	if [ -n "$bound" ] && [ "$text" != n/a ]; then text="$text ± $(th_fmt_ms "$bound")"; fi
	printf '%s\n' "network downtime $text" "OpenNebula duration $(th_fmt_s "$one")" \
		"hypervisor downtime $(th_fmt_ms "$hv")" "Δ $(th_fmt_delta "$delta")" "outcome $oc"
}

# th_stack_png OUT PNG...: stack the panels vertically into OUT; print its "WxH".
th_stack_png() {
	local out=$1
	shift
	command -v convert >/dev/null 2>&1 ||
		th_die "$TH_EXIT_USAGE" "convert not found: install the Debian package imagemagick"
	convert "$@" -append "png:$out" || th_die "$TH_EXIT_USAGE" "could not write $out"
	identify -format '%wx%h\n' "$out"
}

# th_session_ms_svg ARCHIVE SESSION OUT: write the session's millisecond timeline (timeline.jq
# tl_cycle_svg) as a standalone SVG; print its "WxH". Exit 2 when the session has neither an
# hv-pause nor a migration-start marker.
th_session_ms_svg() {
	local archive=$1 session=$2 out=$3 json
	json=$(th_find_session "$archive" "$session")
	jq -r -L "$TH_LIBDIR" 'include "timeline"; tl_cycle_svg' "$json" >"$out" ||
		th_die "$TH_EXIT_USAGE" "cannot write $out"
	[ "$(head -c 4 "$out")" = '<svg' ] ||
		th_die "$TH_EXIT_DATA" "session $session has neither an hv-pause nor a migration-start marker"
	sed -n '1s/^<svg [^>]*width="\([0-9]*\)" height="\([0-9]*\)".*/\1x\2/p' "$out"
}
