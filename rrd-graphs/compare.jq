# compare.jq — the figures of `themis-graph compare`, from the session files of the archive
# (lib/th-archive.h <session>.json, slurped; each already carries graph-report.sh's row object
# under .row, TH_JQ_ROWS) and the definitions asked for ($defs, in their order). Prints one
# model object that compare-html.jq and the CSV writers of graph-compare.sh read:
#   {align, axis: {lo, hi, step}, dist_axis: {lo, hi, step},
#    defs: [{definition, colour, description, params, params_session, params_differ, cycles,
#            success, failed, downtime_n, downtime_median_ms, downtime_p90_ms,
#            downtime_max_ms, hv_paused_median_ms, delta_median_ms, downtimes, rows: [...]}]}
# Times of a cycle are ms relative to its anchor: the hv-pause marker ($align "auto", see
# below), else migration-start; or the $align asked for.

def median: if length == 0 then null elif length % 2 == 1 then .[length / 2 | floor]
	else (.[length / 2 - 1] + .[length / 2]) / 2 end;
def nearest_rank($p): if length == 0 then null else .[((length * $p) | ceil) - 1] end;
def r3: if . == null then null else . * 1000 | round / 1000 end;
def mark($ev): [.markers[]? | select(.event == $ev) | .t | numbers] | first;
def start_marker: [.markers[]? | select(.event == "session-start")] | first // {};
# The definition's parameters: the session file's own, else its session-start marker's.
def params: (if (.params | type) == "object" then .params else (start_marker.params // null) end)
	| if type == "object" then . else {} end;
def known_ms: if type == "number" and . >= 0 then . else null end;
# A step of 1, 2 or 5 times a power of ten, at least $raw.
def nice_step($raw): [range(0; 10) as $k | (1, 2, 5) * pow(10; $k)] | map(select(. >= $raw))
	| first // 1000000000;
# An axis over [lo, hi] (ms): about 8 ticks, padded by 5 % of the span (at least 1 ms).
def axis($lo; $hi): (if $hi > $lo then $hi - $lo else 100 end) as $span
	| ([$span * 0.05, 1] | max) as $pad | nice_step(($span + 2 * $pad) / 8) as $st
	| {lo: (((($lo - $pad) / $st) | floor) * $st), hi: (((($hi + $pad) / $st) | ceil) * $st),
	   step: $st};

# One cycle: the report's row, the outages and hypervisor marks relative to the anchor.
def cycle($anchor_ev):
	.row as $row | mark($anchor_ev) as $t0
	| mark("migration-start") as $ms | mark("migration-end") as $me
	# Outages inside the migration window (all of them when it is not known).
	| [.outages[]? | select((.start | type) == "number" and (.end | type) == "number")
	   | select($ms == null or $me == null or (.end >= $ms and .start <= $me))] as $o
	| ($o | max_by(.duration_ms // (.end - .start))) as $main
	| def rel: if $t0 == null or . == null then null else (. - $t0) * 1000 | r3 end;
	{ definition: $row.definition, session: $row.session, vm: $row.vm, cycle: $row.cycle,
	  outcome: $row.outcome,
	  message: ([.markers[]? | select(.event == "migration-end" or .event == "session-end")
	            | .message | strings] | first // null
	            | if $row.outcome == "success" then null else . end),
	  downtime_ms: $row.downtime_ms, downtime_bound_ms: $row.downtime_bound_ms,
	  hv_paused_ms: (.summary.hv_paused_ms? | known_ms),
	  hv_downtime_ms: $row.hv_downtime_ms, delta_ms: $row.delta_ms,
	  anchor: (if $t0 == null then null else $anchor_ev end),
	  outage_start_ms: ($main.start | rel), outage_end_ms: ($main.end | rel),
	  outages: (if $t0 == null then [] else $o | map({start_ms: (.start | rel), end_ms: (.end | rel),
	            direction: (.direction // "unknown")}) end),
	  marks: (if $t0 == null then {} else
	          [.markers[]? | select(.event == "hv-pause" or .event == "hv-resume"
	            or .event == "migration-start" or .event == "migration-end")
	           | select(.t | type == "number")] | unique_by(.event)
	          | map({key: .event, value: (.t | rel)}) | from_entries end) };

. as $all
# auto: hv-pause when some cycle has one and every successful cycle that started migrating has
# one (a failed migration may never have paused the guest: it is left without an anchor).
| (if $align != "auto" then $align
   elif ($all | any(mark("hv-pause") != null)) and ($all | map(select(.row.outcome == "success"
         and mark("migration-start") != null)) | all(mark("hv-pause") != null))
   then "hv-pause" else "migration-start" end) as $anchor_ev
| [$all[] | cycle($anchor_ev)] as $cycles
| ($colours | split(" ")) as $pal
| [$defs | to_entries[] | .key as $i | .value as $d
   | [$all[] | select(.row.definition == $d)] as $docs
   | [$cycles[] | select(.definition == $d)] as $rows
   | ($docs | map(params)) as $ps
   | ($docs | map(select(params != {})) | first) as $pdoc
   | ($pdoc // {} | params) as $p
   | ($rows | map(select(.outcome == "success"))) as $ok
   | ($ok | map(.downtime_ms | numbers) | sort) as $dt
   | { definition: $d, colour: $pal[$i % ($pal | length)],
       description: ($p.description // ($docs | map(start_marker.message | strings) | first) // null),
       params: $p, params_session: ($pdoc.row.session // null),
       params_differ: (($ps | map(select(. != {})) | unique | length) > 1),
       cycles: ($rows | length), success: ($ok | length),
       failed: ($rows | map(select(.outcome != "success")) | length),
       downtime_n: ($dt | length), downtime_median_ms: ($dt | median | r3),
       downtime_p90_ms: ($dt | nearest_rank(0.9)), downtime_max_ms: ($dt | last),
       hv_paused_median_ms: ($ok | map(.hv_paused_ms | numbers) | sort | median | r3),
       delta_median_ms: ($ok | map(.delta_ms | numbers) | sort | median | r3),
       downtimes: $dt, rows: $rows }] as $out
| ([$cycles[] | .outages[] | .start_ms, .end_ms] + [$cycles[] | .marks | (.["hv-pause"], .["hv-resume"]) | numbers]
   + [0]) as $xs
| ([$out[].downtimes[]] | max // 0) as $dmax
| { align: $anchor_ev, axis: axis($xs | min; $xs | max),
    dist_axis: (if $dmax > 0 then nice_step($dmax / 8) as $st | {lo: 0, hi: (($dmax * 1.05 / $st | ceil) * $st), step: $st}
                else {lo: 0, hi: 100, step: 10} end),
    defs: $out }
