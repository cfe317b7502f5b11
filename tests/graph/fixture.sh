# shellcheck shell=bash
# fixture.sh — builds per-session archives (lib/th-archive.h layout) with known values at known
# offsets, with rrdtool create/update and hand-written JSON, for the themis-graph tests.
# Sourced after tests/common/lib.sh.

TH_RRDTOOL_BIN=${THEMIS_RRDTOOL:-rrdtool}
TH_GRAPH="${top_builddir:?}/rrd-graphs/themis-graph"
THEMIS_GRAPH_LIBDIR="${top_srcdir:?}/rrd-graphs"
export THEMIS_GRAPH_LIBDIR

# th_graph ARGS...: run the built themis-graph.
th_graph() { "$TH_GRAPH" "$@"; }

# fx_session ARCHIVE VM SESSION DEFINITION CYCLE T0 SECONDS ANCHOR LOSS [IPERF] [DAEMON]
#   T0: first second; SECONDS: length; ANCHOR: offset (s) of migration-start from T0.
#   LOSS: space-separated "offset:up:down" with offsets relative to the anchor second; every
#   other second has no loss. sent = 100 per second, received = 100 - up - down.
#   RTT per second: min 0.5, avg 1 + offset/1000 (offset relative to the anchor), max 2,
#   jitter 0.1; unknown in seconds where everything was lost.
#   IPERF: "yes" writes iperf_bps = 900e6 (0 in lost seconds); else unknown.
#   DAEMON: rrdcached address to write through (optional).
#   Markers: session-start T0+0.25, migration-request ANCHOR-2+0.4, migration-start ANCHOR+0.5,
#   migration-end ANCHOR+8.75 (outcome from $FX_OUTCOME, default success), session-end at the
#   last second + 0.5. Summary from $FX_SUMMARY (a JSON object; omitted when empty).
fx_session() {
	local archive=$1 vm=$2 session=$3 def=$4 cycle=$5 t0=$6 n=$7 anchor=$8 loss=$9
	local iperf=${10:-no} daemon=${11:-}
	local dir="$archive/$vm" rrd a=$((t0 + anchor))
	mkdir -p "$dir"
	rrd="$dir/$session.rrd"
	local -a dopt=()
	[ -n "$daemon" ] && dopt=(--daemon "$daemon")
	"$TH_RRDTOOL_BIN" create "$rrd" "${dopt[@]}" --step 1 --start "$((t0 - 1))" \
		DS:sent:GAUGE:2:0:U DS:received:GAUGE:2:0:U DS:lost_up:GAUGE:2:0:U \
		DS:lost_down:GAUGE:2:0:U DS:lost_unknown:GAUGE:2:0:U DS:late:GAUGE:2:0:U \
		DS:dup:GAUGE:2:0:U DS:rtt_min:GAUGE:2:0:U DS:rtt_avg:GAUGE:2:0:U DS:rtt_max:GAUGE:2:0:U \
		DS:jitter:GAUGE:2:0:U DS:max_gap:GAUGE:2:0:U DS:iperf_bps:GAUGE:2:0:U \
		DS:iperf_lost:GAUGE:2:0:U DS:iperf_packets:GAUGE:2:0:U DS:iperf_jitter:GAUGE:2:0:U \
		"RRA:AVERAGE:0.5:1:$((n + 10))" "RRA:MAX:0.5:1:$((n + 10))"
	awk -v t0="$t0" -v n="$n" -v a="$a" -v loss="$loss" -v iperf="$iperf" 'BEGIN {
		k = split(loss, parts, " ")
		for (j = 1; j <= k; j++) { split(parts[j], f, ":"); up[f[1]] = f[2]; dn[f[1]] = f[3] }
		for (i = 0; i < n; i++) {
			t = t0 + i; off = t - a
			u = (off in up) ? up[off] : 0; d = (off in dn) ? dn[off] : 0
			rec = 100 - u - d
			if (rec > 0) rtt = sprintf("0.5:%.3f:2:0.1", 1 + off / 1000)
			else rtt = "U:U:U:U"
			gap = (u + d > 0) ? (u + d) * 10 : 10
			bps = "U:U:U:U"
			if (iperf == "yes") bps = sprintf("%s:%d:%d:0.05", (u + d > 0) ? 0 : 900000000, 0, 80000)
			printf "%d:100:%d:%d:%d:0:0:0:%s:%d:%s\n", t, rec, u, d, rtt, gap, bps
		}
	}' | xargs -n 20 "$TH_RRDTOOL_BIN" update "$rrd" "${dopt[@]}" --

	local last=$((t0 + n - 1))
	jq -n --arg session "$session" --arg vm "$vm" --arg defn "$def" --argjson cycle "$cycle" \
		--argjson first "$t0" --argjson last "$last" --argjson a "$a" \
		--arg outcome "${FX_OUTCOME:-success}" --argjson summary "${FX_SUMMARY:-null}" '
		def m($ev; $t): {kind: "marker", session: $session, definition: $defn, cycle: $cycle,
			vm: $vm, vm_id: 7, src_host: "hv-a", dst_host: "hv-b", event: $ev, t: $t};
		{session: $session, vm: $vm, vm_id: 7, definition: $defn, cycle: $cycle,
		 src_host: "hv-a", dst_host: "hv-b", first: $first, last: $last,
		 closed_by: "session-end",
		 markers: [m("session-start"; $first + 0.25), m("migration-request"; $a - 2 + 0.4),
			m("migration-start"; $a + 0.5), (m("migration-end"; $a + 8.75) + {outcome: $outcome}),
			(m("session-end"; $last + 0.5) + (if $summary then {summary: $summary} else {} end))],
		 outages: [],
		 summary: $summary}
		| if .summary == null then del(.summary) else . end' >"$dir/$session.json"
}

# fx_summary OUTCOME DOWNTIME_MS BOUND ONE_S HV_MS LOST_UP LOST_DOWN: a summary object.
fx_summary() {
	jq -cn --arg o "$1" --argjson d "$2" --argjson b "$3" --argjson one "$4" --argjson hv "$5" \
		--argjson lu "$6" --argjson ld "$7" '{outcome: $o, downtime_ms: $d, downtime_bound_ms: $b,
		outage_total_ms: $d, lost_up: $lu, lost_down: $ld, lost_unknown: 0,
		one_stime: 0, one_rstime: 0, one_etime: 0, one_duration_s: $one,
		hv_downtime_ms: $hv, hv_total_ms: -1,
		delta_ms: (if $hv >= 0 and $d >= 0 then $d - $hv else null end)}'
}

# fx_hour ARCHIVE VM HOUR COVERED_S OUTAGE_MS OUTAGE_MS_SESSIONS OUTAGES OUTAGES_SESSIONS: append
# one hourly tally line to ARCHIVE/availability.jsonl, as the plugin writes it
# (collectd-themis(5)).
fx_hour() {
	jq -cn --arg vm "$2" --argjson hour "$3" --argjson c "$4" --argjson o "$5" --argjson os "$6" \
		--argjson n "$7" --argjson ns "$8" '{vm: $vm, hour: $hour, covered_s: $c, outage_ms: $o,
		outage_ms_sessions: $os, outages: $n, outages_sessions: $ns}' >>"$1/availability.jsonl"
}

# fx_summary_line ARCHIVE VM SESSION ORIGIN FIRST OUTCOME DOWNTIME_MS BOUND_MS SRC DST: append
# one finished-session line to ARCHIVE/summaries.jsonl, as the plugin writes it
# (collectd-themis(5)). ORIGIN and OUTCOME "-" are null; a negative DOWNTIME_MS or BOUND_MS is
# null (not known). The session lasts 100 s from FIRST, its migration starts at FIRST + 60.
fx_summary_line() {
	jq -cn --arg vm "$2" --arg session "$3" --arg origin "$4" --argjson first "$5" \
		--arg outcome "$6" --argjson d "$7" --argjson b "$8" --arg src "$9" --arg dst "${10}" '
		def opt: if . == "-" then null else . end;
		def known: if . < 0 then null else . end;
		{session: $session, vm: $vm, vm_id: 7, origin: ($origin | opt),
		 definition: (if $origin == "observed" then "watch" else "d1" end),
		 cycle: (if $origin == "observed" then -1 else 1 end), src_host: $src, dst_host: $dst,
		 first: $first, last: ($first + 99), closed_by: "session-end",
		 t_request: null, t_migration_start: ($first + 60.25), t_migration_end: ($first + 70.5),
		 outcome: ($outcome | opt),
		 message: (if $outcome == "failed" then "migration failed" else null end),
		 summary: {outcome: ($outcome | opt), downtime_ms: ($d | known),
			downtime_bound_ms: ($b | known), outage_total_ms: ($d | known), lost_up: 0,
			lost_down: 0, lost_unknown: 0, delta_ms: null},
		 summary_source: "plugin"}' >>"$1/summaries.jsonl"
}

# fx_hv_patch JSON MARKERS OUTAGES SUMMARY_EXTRA [PARAMS]: rewrite a session file of fx_session
# with hand-written markers and outages in the archive's shape (DESIGN §5.1–§5.3): MARKERS and
# OUTAGES are JSON arrays whose elements get the session's identity added (markers: kind
# "marker"; outages: kind "outage"); SUMMARY_EXTRA is merged into the summary (null: none);
# PARAMS (a JSON object) goes into the file and the session-start marker.
fx_hv_patch() {
	local json=$1 tmp
	tmp=$(mktemp "$json.XXXXXX")
	jq --argjson mk "$2" --argjson out "$3" --argjson extra "$4" --argjson params "${5:-null}" '
		{kind: "marker", session, definition, cycle, vm, vm_id, src_host, dst_host} as $id
		| .markers = [$mk[] | $id + .
			| if .event == "session-start" and $params != null then . + {params: $params} else . end]
		| .outages = [$out[] | {kind: "outage"} + .]
		| if $extra != null then .summary = ((.summary // {}) + $extra) else . end
		| if $params != null then .params = $params else . end' "$json" >"$tmp"
	mv "$tmp" "$json"
}
