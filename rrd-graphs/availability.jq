# availability.jq — the figures of `themis-graph availability` and of the report's Availability
# section, from the plugin's summaries.jsonl and availability.jsonl (collectd-themis(5)); pure:
# parsing and checking the lines, the output formats and the files are graph-availability.sh's.
#
# Input (-n): $sums[0], $hours[0]: arrays of the well-formed objects of summaries.jsonl and
# availability.jsonl; $since, $until: epoch seconds bounding the window [since, until) ("" =
# open); $vm: only this VM ("" = all); $period: day | week | month | all.
# An hourly line counts when its hour starts in the window, a session when its "first" second
# does; both go to the UTC period in which that time falls. Lines of the same vm and hour are
# summed (the plugin writes a partial line at shutdown and the rest of the hour later).
# Output: {rows: [one per vm + period, by vm then period], sessions: [by vm, first, session]}.

def known: if type == "number" and . >= 0 then . else null end;
def ms: (. * 1000 | round) / 1000;
def in_window:
  ($since == "" or . >= ($since | tonumber)) and ($until == "" or . < ($until | tonumber));
def period_of:
  if $period == "day" then {period: strftime("%Y-%m-%d"), period_start: ((. / 86400 | floor) * 86400)}
  elif $period == "week" then
    (. / 86400 | floor) as $d
    | {period: strftime("%G-W%V"), period_start: (($d - (($d + 3) % 7)) * 86400)}
  elif $period == "month" then
    {period: strftime("%Y-%m"), period_start: (strftime("%Y-%m-01T00:00:00Z") | fromdateiso8601)}
  else {period: "all", period_start: (if $since == "" then null else ($since | tonumber) end)}
  end;
def origin_of: if .origin == "run" or .origin == "observed" then .origin else "unknown" end;
def outcome_of: (.outcome // .summary.outcome) | if type == "string" then . else null end;
def outcomes: ["success", "failed", "timeout", "lost", "aborted"];

($hours[0]
 | map(select(($vm == "" or .vm == $vm) and (.hour | in_window)))
 | group_by([.vm, .hour])
 | map({vm: .[0].vm, hour: .[0].hour, covered_s: (map(.covered_s) | add),
        outage_ms: (map(.outage_ms) | add),
        outage_ms_sessions: (map(.outage_ms_sessions // 0) | add),
        outages: (map(.outages // 0) | add), outages_sessions: (map(.outages_sessions // 0) | add)}
       + (.[0].hour | period_of))) as $h
| ($sums[0]
   | map(select(($vm == "" or .vm == $vm) and (.first | in_window)))
   | map({vm, session, start: (.first | floor | todate), first, last: (.last // null), definition: (.definition // null),
          cycle: (.cycle // null), origin: origin_of, outcome: outcome_of,
          closed_by: (.closed_by // null), t_request: (.t_request // null),
          t_migration_start: (.t_migration_start // null),
          t_migration_end: (.t_migration_end // null),
          downtime_ms: ((.summary // {}).downtime_ms | known),
          downtime_bound_ms: ((.summary // {}).downtime_bound_ms | known),
          src_host: (.src_host // null), dst_host: (.dst_host // null),
          summary_source: (.summary_source // null), message: (.message // null)}
         + (.first | period_of))
   | sort_by(.vm, .first, .session)) as $s
# Rows keyed by vm and period; each group read once (no scan of every line per row).
| def groups: group_by([.vm, .period]) | map({key: ([.[0].vm, .[0].period] | tojson), value: .})
    | from_entries;
($h | groups) as $hg | ($s | groups) as $sg
| {rows: ([$h[], $s[] | {vm, period, period_start}] | unique_by([.vm, .period])
          | sort_by(.vm, .period_start, .period)
          | map(([.vm, .period] | tojson) as $key
                | ($hg[$key] // []) as $hh
                | ($sg[$key] // []) as $ss
                | ($hh | map(.covered_s) | add // 0) as $cov
                | ($hh | map(.outage_ms) | add // 0) as $out
                | ($hh | map(.outage_ms_sessions) | add // 0) as $outs
                | ($ss | map(select(.downtime_ms != null))) as $dt
                | ($dt | map(.downtime_ms) | max) as $max
                | ([$dt[] | select(.downtime_ms == $max)] | first) as $worst
                | . + {hours: ($hh | length), covered_s: $cov, outage_ms: ($out | ms),
                   availability_pct: (if $cov > 0
                                      then (100 * (1 - $out / ($cov * 1000)) * 1000000 | round) / 1000000
                                      else null end),
                   outage_outside_ms: ($out - $outs | ms),
                   outages: ($hh | map(.outages) | add // 0),
                   outages_outside: ($hh | map(.outages - .outages_sessions) | add // 0),
                   migrations: ($ss | length),
                   origin_run: ($ss | map(select(.origin == "run")) | length),
                   origin_observed: ($ss | map(select(.origin == "observed")) | length),
                   origin_unknown: ($ss | map(select(.origin == "unknown")) | length)}
                + (reduce outcomes[] as $o ({}; .[$o] = ($ss | map(select(.outcome == $o)) | length)))
                + {other: ($ss | map(select(.outcome as $o | outcomes | map(. == $o) | any | not)) | length),
                   downtime_known: ($dt | length),
                   downtime_total_ms: (if ($dt | length) > 0 then ($dt | map(.downtime_ms) | add | ms) else null end),
                   downtime_worst_ms: $worst.downtime_ms,
                   downtime_worst_bound_ms: $worst.downtime_bound_ms,
                   downtime_worst_session: $worst.session})),
   sessions: $s}
