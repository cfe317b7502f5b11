# shellcheck shell=bash
# graph-overlay.sh — `themis-graph overlay` and `xport`: every cycle of one VM aligned on a
# marker (default migration-start). Each session gets its own DEF with :start=/:end= around its
# marker second and a SHIFT onto TH_ALIGN_BASE, so row TH_ALIGN_BASE+k holds second marker+k of
# every session; a CDEF with MEDIAN gives the median cycle. The same definitions feed
# rrdtool graph (one pixel per second) and rrdtool xport (the numbers, for checks and CSV).

TH_OVERLAY_COLOURS="#1f77b4 #ff7f0e #2ca02c #d62728 #9467bd #8c564b #e377c2 #17becf #bcbd22 #7f7f7f"

# th_overlay_plan ARCHIVE VM DEF ALIGN: print one line per usable session:
# "SESSION<TAB>RRD<TAB>ANCHOR<TAB>END_OFFSET" (END_OFFSET: migration-end minus anchor, s).
# Sessions without the ALIGN marker or without data are left out with a warning; sessions with
# markers only (no RRD) are left out silently.
th_overlay_plan() {
	local archive=$1 vm=$2 def=$3 align=$4 json anchor end rrd session range
	local -a files
	mapfile -t files < <(th_list_sessions "$archive" "$vm" "$def")
	[ "${#files[@]}" -gt 0 ] ||
		th_die "$TH_EXIT_DATA" "no session of VM $vm${def:+ and definition $def} in $archive"
	for json in "${files[@]}"; do
		session=$(basename "$json" .json)
		rrd=$(th_rrd_of "$json")
		th_markers_only "$json" && continue
		anchor=$(th_marker_time "$json" "$align")
		if [ -z "$anchor" ]; then
			th_warn "session $session has no $align marker: left out"
			continue
		fi
		range=$(th_session_range "$json")
		local rc=0 msg
		msg=$( (th_require_data "$json" "${range% *}" "${range#* }") 2>&1) || rc=$?
		if [ "$rc" -eq "$TH_EXIT_DATA" ]; then
			th_warn "session $session has no data in $rrd: left out"
			continue
		elif [ "$rc" -ne 0 ]; then
			printf '%s\n' "$msg" >&2
			exit "$rc"
		fi
		end=$(th_marker_time "$json" migration-end)
		printf '%s\t%s\t%s\t%s\n' "$session" "$rrd" "$anchor" "$((${end:-$anchor} - anchor))"
	done
}

# th_overlay_defs PLAN DS BEFORE AFTER: print the DEF/SHIFT/CDEF arguments, one per line;
# vnames c0..cN-1 per session and "median".
th_overlay_defs() {
	local plan=$1 ds=$2 before=$3 after=$4 i=0 rrd anchor medlist=''
	while IFS=$'\t' read -r _ rrd anchor _; do
		local rdef=${rrd//:/\\:} # a colon in a DEF file name is escaped
		local s=$((anchor - before - 1)) e=$((anchor + after)) shift=$((TH_ALIGN_BASE - anchor))
		if [ "$ds" = lost ]; then
			local d
			for d in lost_up lost_down lost_unknown; do
				printf '%s\n' "DEF:c${i}_$d=$rdef:$d:AVERAGE:start=$s:end=$e" "SHIFT:c${i}_$d:$shift"
			done
			printf '%s\n' "CDEF:c$i=c${i}_lost_up,c${i}_lost_down,ADDNAN,c${i}_lost_unknown,ADDNAN"
		else
			printf '%s\n' "DEF:c$i=$rdef:$ds:AVERAGE:start=$s:end=$e" "SHIFT:c$i:$shift"
		fi
		medlist+="c$i,"
		i=$((i + 1))
	done <"$plan"
	printf '%s\n' "CDEF:median=${medlist}$i,MEDIAN"
}

th_overlay_check_ds() {
	[ "$1" = lost ] && return 0
	case " $TH_DS_LIST " in *" $1 "*) return 0 ;; esac
	th_usage_error "unknown data source '$1' (one of: lost $TH_DS_LIST)"
}

# th_overlay_prepare ARCHIVE VM DEF ALIGN DS BEFORE AFTER TMP: write TMP/plan and TMP/defs;
# print the window "BEFORE AFTER" (AFTER defaults to the longest migration plus 30 s).
th_overlay_prepare() {
	local archive=$1 vm=$2 def=$3 align=$4 ds=$5 before=$6 after=$7 tmp=$8 rrd
	th_overlay_check_ds "$ds"
	th_overlay_plan "$archive" "$vm" "$def" "$align" >"$tmp/plan"
	[ -s "$tmp/plan" ] ||
		th_die "$TH_EXIT_DATA" "no session of VM $vm in $archive has both a $align marker and data"
	if [ -z "$after" ]; then
		after=$(awk -F '\t' 'BEGIN { m = 0 } $4 > m { m = $4 } END { m += 30; print (m < 60 ? 60 : m) }' "$tmp/plan")
	fi
	[ $((before + after)) -gt 0 ] || th_usage_error "--before and --after give an empty window"
	while IFS=$'\t' read -r _ rrd _ _; do th_flush "$rrd"; done <"$tmp/plan"
	th_overlay_defs "$tmp/plan" "$ds" "$before" "$after" >"$tmp/defs"
	printf '%s %s\n' "$before" "$after"
}

# th_overlay_xport ...: print CSV "offset_s,<session>...,median", one row per second from
# -BEFORE to +AFTER relative to each session's ALIGN marker second; unknown values are empty.
th_overlay_xport() {
	local archive=$1 vm=$2 def=$3 align=$4 ds=$5 before=$6 after=$7 tmp win
	tmp=$(th_tmpdir)
	win=$(th_overlay_prepare "$archive" "$vm" "$def" "$align" "$ds" "$before" "$after" "$tmp")
	before=${win% *}
	after=${win#* }
	local -a defs xports=()
	mapfile -t defs <"$tmp/defs"
	local i=0 session
	while IFS=$'\t' read -r session _ _ _; do
		xports+=("XPORT:c$i:$session")
		i=$((i + 1))
	done <"$tmp/plan"
	th_rrd xport --json --showtime --step 1 --start "$((TH_ALIGN_BASE - before - 1))" \
		--end "$((TH_ALIGN_BASE + after))" "${defs[@]}" "${xports[@]}" 'XPORT:median:median' \
		>"$tmp/x.json" || th_die "$TH_EXIT_USAGE" "rrdtool xport failed for VM $vm in $archive"
	jq -r --argjson base "$TH_ALIGN_BASE" '
		(["offset_s"] + .meta.legend | join(",")),
		(.data[] | [(.[0] | tonumber) - $base] + .[1:] | @csv)
	' "$tmp/x.json"
}

# The minus sign of negative offsets (U+2212, written as bytes: the locale may not be UTF-8).
TH_MINUS=$(printf '\342\210\222')

# th_offset_label S: an offset of S whole seconds as "m:ss", negative ones with a minus sign:
# -90 -> "−1:30", 0 -> "0:00", 30 -> "0:30".
th_offset_label() {
	local s=$1 sign=''
	if [ "$s" -lt 0 ]; then
		sign=$TH_MINUS
		s=$((-s))
	fi
	printf '%s%d:%02d\n' "$sign" $((s / 60)) $((s % 60))
}

# th_overlay_labels BEFORE AFTER LAB LEFT PX: one "X<TAB>LABEL" line per x-axis label of the
# overlay, every LAB seconds from -BEFORE to AFTER; X is the pixel column where rrdtool draws
# that second on a graph starting at column LEFT with PX pixels per second (its window starts
# one second before -BEFORE).
th_overlay_labels() {
	local before=$1 after=$2 lab=$3 left=$4 px=$5 k o
	k=$(((before + lab - 1) / lab)) # labels before the marker
	o=$((-k * lab))
	while [ "$o" -le "$after" ]; do
		printf '%s\t%s\n' $((left + (o + before + 1) * px)) "$(th_offset_label "$o")"
		o=$((o + lab))
	done
}

# th_overlay_graph ... OUT: draw the overlay PNG; print its "WxH". rrdtool labels a time axis
# with strftime only, so before the marker it would read 59:xx of the hour before the
# reference: it draws the grid with blank labels and ImageMagick's convert writes the offsets
# (th_overlay_labels) under it; without convert the labels stay rrdtool's mm:ss, with a warning.
th_overlay_graph() {
	local archive=$1 vm=$2 def=$3 align=$4 ds=$5 before=$6 after=$7 out=$8 tmp win
	tmp=$(th_tmpdir)
	win=$(th_overlay_prepare "$archive" "$vm" "$def" "$align" "$ds" "$before" "$after" "$tmp")
	before=${win% *}
	after=${win#* }
	local -a defs lines=() style colours
	mapfile -t defs <"$tmp/defs"
	mapfile -t style < <(th_rrd_graph_style)
	read -r -a colours <<<"$TH_OVERLAY_COLOURS"
	local i=0 session n
	n=$(wc -l <"$tmp/plan")
	while IFS=$'\t' read -r session _ _ _; do
		# Many cycles: thin, translucent lines so the median stays readable.
		local alpha=''
		[ "$n" -gt 6 ] && alpha=99
		if [ "$n" -le 12 ]; then
			lines+=("LINE1:c$i${colours[i % ${#colours[@]}]}$alpha:$(th_comment "$session")")
		else
			lines+=("LINE1:c$i${colours[i % ${#colours[@]}]}$alpha")
		fi
		i=$((i + 1))
	done <"$tmp/plan"
	[ "$n" -le 12 ] || lines+=("COMMENT:$(th_comment "$n cycles, one thin line each")")
	local label
	case $ds in lost) label='lost probes / s' ;; rtt_* | jitter | max_gap | iperf_jitter) label='ms' ;;
	iperf_bps) label='bit/s' ;; *) label=$ds ;; esac
	local grid=10 lab=30
	[ $((before + after)) -gt 600 ] && grid=60 lab=300
	[ $((before + after)) -gt 3000 ] && grid=300 lab=900
	# At least one pixel per second, a whole number of pixels per second, about 900 px wide.
	local span=$((before + after + 1)) px
	px=$((900 / span))
	[ "$px" -ge 1 ] || px=1
	local fmt=' ' conv=yes
	if ! command -v convert >/dev/null 2>&1; then
		conv=no fmt='%M:%S'
		th_warn "convert not found (install the Debian package imagemagick): the overlay's seconds before $align read 59:xx"
	fi
	th_rrd graphv "$out" --imgformat PNG --start "$((TH_ALIGN_BASE - before - 1))" \
		--end "$((TH_ALIGN_BASE + after))" --step 1 -w "$((span * px))" -h 280 \
		--units-length 7 "${style[@]}" \
		--x-grid "SECOND:$grid:SECOND:$lab:SECOND:$lab:0:$fmt" \
		--title "$vm${def:+ · $def} · $n cycles aligned on $align (m:ss from it)" \
		--vertical-label "$label" \
		"${defs[@]}" "${lines[@]}" 'LINE2:median#111111:median' \
		"VRULE:$TH_ALIGN_BASE#7b3fb5:$(th_comment "$align"):dashes=4,2" >"$tmp/geom" ||
		th_die "$TH_EXIT_USAGE" "rrdtool graph failed for VM $vm in $archive"
	local gl gt gh iw ih
	gl=$(sed -n 's/^graph_left = //p' "$tmp/geom")
	gt=$(sed -n 's/^graph_top = //p' "$tmp/geom")
	gh=$(sed -n 's/^graph_height = //p' "$tmp/geom")
	iw=$(sed -n 's/^image_width = //p' "$tmp/geom")
	ih=$(sed -n 's/^image_height = //p' "$tmp/geom")
	if [ "$conv" = yes ]; then
		local -a ann=(-fill '#222222' -pointsize 11 -gravity North)
		local font=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf x text
		[ -r "$font" ] && ann+=(-font "$font")
		while IFS=$'\t' read -r x text; do
			ann+=(-annotate "$(printf '%+d%+d' $((x - iw / 2)) $((gt + gh + 3)))" "$text")
		done < <(th_overlay_labels "$before" "$after" "$lab" "$gl" "$px")
		convert "$out" "${ann[@]}" "$out.tmp.png" ||
			th_die "$TH_EXIT_USAGE" "convert could not label the overlay $out"
		mv "$out.tmp.png" "$out" || th_die "$TH_EXIT_USAGE" "cannot write $out"
	fi
	printf '%sx%s\n' "$iw" "$ih"
}

# th_overlay_ms_svg ARCHIVE VM DEF OUT: write the millisecond view of every cycle of VM (and
# DEF) aligned on its hv-pause, else migration-start (timeline.jq tl_overlay_svg), as a
# standalone SVG; print its "WxH". Exit 2 when no session has either marker.
th_overlay_ms_svg() {
	local archive=$1 vm=$2 def=$3 out=$4
	local -a files
	mapfile -t files < <(th_list_sessions "$archive" "$vm" "$def")
	[ "${#files[@]}" -gt 0 ] ||
		th_die "$TH_EXIT_DATA" "no session of VM $vm${def:+ and definition $def} in $archive"
	jq -rs -L "$TH_LIBDIR" 'include "timeline"; tl_overlay_svg' "${files[@]}" >"$out" ||
		th_die "$TH_EXIT_USAGE" "cannot write $out"
	[ "$(head -c 4 "$out")" = '<svg' ] ||
		th_die "$TH_EXIT_DATA" "no session of VM $vm in $archive has an hv-pause or migration-start marker"
	sed -n '1s/^<svg [^>]*width="\([0-9]*\)" height="\([0-9]*\)".*/\1x\2/p' "$out"
}
