# timeline.jq — the millisecond timelines of `themis-graph report`, as inline SVG strings built
# from whole <session>.json objects (lib/th-archive.h): tl_cycle_svg draws one cycle
# (OpenNebula's phases, the hypervisor's pause/resume and status changes, the probe's outages
# with their bounds, the per-direction windows, every marker), tl_overlay_svg all cycles of a
# definition aligned on the hypervisor pause (else migration-start). Times are ms relative to
# that reference; tl_x is the one mapping from ms to pixels, tl_ticks/tl_label the axis. Every
# text from the archive goes through @html; no script, no external asset.

# Geometry shared by both drawings: the plot runs from x = 140 to x = 900 of a 960 px image.
def tl_x0: 140;
def tl_x1: 900;
def tl_r1: . * 10 | round / 10;

# tl_x($ms; $lo; $hi): x in pixels (one decimal) of $ms on an axis from $lo to $hi ms.
def tl_x($ms; $lo; $hi): (tl_x0 + ($ms - $lo) / ($hi - $lo) * (tl_x1 - tl_x0)) | tl_r1;

def tl_minus: "\u2212";
# tl_fixed($d): the number with $d decimals, a true minus sign when negative.
def tl_fixed($d):
  pow(10; $d) as $m | (. * $m | round) as $r | (if $r < 0 then -$r else $r end) as $a
  | (if $r < 0 then tl_minus else "" end) + (($a / $m | floor) | tostring)
    + (if $d > 0 then "." + (($a % $m) | tostring | ("000000"[0:($d - length)] + .)) else "" end);

# tl_step($span): a tick step in ms (1, 2 or 5 × 10^k, at least 1) giving about 8 ticks.
def tl_step($span):
  ([$span / 8, 1] | max) as $raw | pow(10; ($raw | log10 + 1e-9 | floor)) as $p
  | ($raw / $p) as $m | (if $m <= 1 then 1 elif $m <= 2 then 2 elif $m <= 5 then 5 else 10 end) * $p
  | round;

# tl_label($step): the tick label of . ms ("−250 ms", "0 ms", "+1.5 s"), seconds from 1 s steps.
def tl_label($step):
  if $step >= 1000 then
    (if $step % 1000 == 0 then 0 elif $step % 100 == 0 then 1 else 2 end) as $d
    | (if . > 0 then "+" else "" end) + (. / 1000 | tl_fixed($d)) + " s"
  else (if . > 0 then "+" else "" end) + (. | tl_fixed(0)) + " ms" end;

# tl_ticks($lo; $hi): the tick positions (ms, multiples of the step) inside [$lo, $hi].
def tl_ticks($lo; $hi):
  tl_step($hi - $lo) as $s | [range(($lo / $s | ceil); ($hi / $s | floor) + 1)] | map(. * $s);

# tl_extent: [lo, hi] in ms around the array of times (ms): 500 ms either side, rounded out to
# 100 ms, clamped to [$min, $max].
def tl_extent($lim0; $lim1):
  [((min - 500) / 100 | floor) * 100, ((max + 500) / 100 | ceil) * 100]
  | [([.[0], $lim0] | max), ([.[1], $lim1] | min)]
  | if .[1] <= .[0] then [.[0], .[0] + 1000] else . end;

def tl_num: if type == "number" then . else empty end;
def tl_markers: [.markers[]? | select(.t | type == "number")];
def tl_mark($ev): [tl_markers[] | select(.event == $ev) | .t] | first;

# tl_ref: the reference time (epoch s) and its name, from the session object.
def tl_ref:
  if tl_mark("hv-pause") != null then {t: tl_mark("hv-pause"), name: "hv-pause"}
  elif tl_mark("migration-start") != null then {t: tl_mark("migration-start"), name: "migration-start"}
  else null end;

# tl_outages: the outages that meet the migration window (request or start − 10 s to end + 10 s;
# every outage when the session has no migration marker).
def tl_outages:
  ([tl_mark("migration-request"), tl_mark("migration-start"), tl_mark("hv-pause")] | map(tl_num) | min) as $w0
  | ([tl_mark("migration-end"), tl_mark("hv-resume")] | map(tl_num) | max) as $w1
  | [.outages[]? | select((.start | type) == "number" and (.end | type) == "number")
     | select($w0 == null or (.end >= $w0 - 10 and .start <= ($w1 // $w0) + 10))];

def tl_colour: {"migration-request": "#e6820e", "migration-start": "#7b3fb5",
  "migration-end": "#2a9d4a", "hv-pause": "#35618f", "hv-resume": "#35618f",
  "hv-status": "#4a6d8c", "session-start": "#8c8c8c", "session-end": "#8c8c8c"}[.] // "#444444";

def tl_attr($k; $v): " \($k)=\"\($v | tostring | @html)\"";
def tl_text($x; $y; $anchor; $fill; $s):
  "<text x=\"\($x)\" y=\"\($y)\" text-anchor=\"\($anchor)\" fill=\"\($fill)\">\($s | @html)</text>";

# tl_axis($lo; $hi; $y; $top): the axis line at $y, a tick and label per step, grid lines up to
# $top.
def tl_axis($lo; $hi; $y; $top):
  tl_step($hi - $lo) as $s
  | "<line class=\"axis\" x1=\"\(tl_x0)\" y1=\"\($y)\" x2=\"\(tl_x1)\" y2=\"\($y)\" stroke=\"#555\"/>"
  + (tl_ticks($lo; $hi) | map(tl_x(.; $lo; $hi) as $x
      | "<line x1=\"\($x)\" y1=\"\($top)\" x2=\"\($x)\" y2=\"\($y)\" stroke=\"\(if . == 0 then "#9aa3ad" else "#eceff2" end)\"/>"
      + "<line x1=\"\($x)\" y1=\"\($y)\" x2=\"\($x)\" y2=\"\($y + 4)\" stroke=\"#555\"/>"
      + "<text class=\"tick\" x=\"\($x)\" y=\"\($y + 16)\" text-anchor=\"middle\" fill=\"#37414c\"\(tl_attr("data-ms"; .))>\(tl_label($s) | @html)</text>")
    | join(""));

# tl_span_rect($a; $b; ...): a rect from ms $a to ms $b (at least 1 px wide), clipped to the axis.
def tl_span_rect($cls; $a; $b; $lo; $hi; $y; $h; $style):
  ([$a, $lo] | max) as $a2 | ([$b, $hi] | min) as $b2
  | if $b2 < $a2 then ""
    else tl_x($a2; $lo; $hi) as $xa | ([tl_x($b2; $lo; $hi) - $xa, 1] | max | tl_r1) as $w
      | "<rect class=\"\($cls)\" x=\"\($xa)\" y=\"\($y)\" width=\"\($w)\" height=\"\($h)\" \($style)/>" end;

# Times are kept to the microsecond (the archive's resolution), so float noise never moves a pixel.
def tl_ms($t; $ref): (($t - $ref) * 1000000 | round) / 1000;
def tl_fmt_ms: tl_fixed(1) + " ms";

# tl_model: the session's timeline in ms relative to the reference, or null without one.
def tl_model:
  tl_ref as $ref
  | if $ref == null then null
    else (.summary // {}) as $s
    | (tl_markers | map(. + {ms: tl_ms(.t; $ref.t)})) as $mk
    | (tl_outages | map(. + {ms0: tl_ms(.start; $ref.t), ms1: tl_ms(.end; $ref.t)}
        + (if (.up_start | type) == "number" and (.up_end | type) == "number"
           then {up: [tl_ms(.up_start; $ref.t), tl_ms(.up_end; $ref.t)]}
           elif (.up_start | type) != "number" and (.down_start | type) != "number"
                and (.direction == "up" or .direction == "both")
           then {up: [tl_ms(.start; $ref.t), tl_ms(.end; $ref.t)], up_from_direction: true}
           else {} end)
        + (if (.down_start | type) == "number" and (.down_end | type) == "number"
           then {down: [tl_ms(.down_start; $ref.t), tl_ms(.down_end; $ref.t)]}
           elif (.up_start | type) != "number" and (.down_start | type) != "number"
                and (.direction == "down" or .direction == "both")
           then {down: [tl_ms(.start; $ref.t), tl_ms(.end; $ref.t)], down_from_direction: true}
           else {} end))) as $out
    | ([$s.one_stime, $s.one_etime] | map(if type == "number" and . > 0 then tl_ms(.; $ref.t) else null end)) as $hist
    | ([$mk[] | select(.event | test("^(migration-|hv-)")) | .ms]
       + [$out[] | .ms0, .ms1, (.up // [] | .[]), (.down // [] | .[])]
       + [$hist[] | tl_num] + [0]) as $core
    | ($core | tl_extent(-60000; 60000)) as $ext
    | {ref: $ref, lo: $ext[0], hi: $ext[1], markers: $mk, outages: $out, history: $hist,
       lost_up: $s.lost_up, lost_down: $s.lost_down}
    end;

# tl_cycle_svg: the cycle's timeline (960 × 268 px), "" when the session has neither an hv-pause
# nor a migration-start marker.
def tl_cycle_svg:
  . as $sess | tl_model as $m
  | if $m == null then ""
    else $m.lo as $lo | $m.hi as $hi
    | 54 as $rOne | 84 as $rHv | 114 as $rOut | 144 as $rUp | 174 as $rDown | 204 as $ax
    | 960 as $w | 268 as $h
    | ($m.markers | map(select(.event == "hv-pause")) | first) as $pause
    | ($m.markers | map(select(.event == "hv-resume")) | first) as $resume
    | ($m.markers | map(select(.event == "migration-start")) | first) as $mstart
    | ($m.markers | map(select(.event == "migration-end")) | first) as $mend
    | ($m.markers | map(select(.ms >= $lo and .ms <= $hi))) as $inside
    | ($m.markers | map(select(.ms < $lo or .ms > $hi))) as $outside
    | "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"cycle-timeline\" width=\"\($w)\" height=\"\($h)\" viewBox=\"0 0 \($w) \($h)\""
      + tl_attr("data-ref"; $m.ref.name) + tl_attr("data-lo-ms"; $lo) + tl_attr("data-hi-ms"; $hi)
      + " role=\"img\" aria-label=\"millisecond timeline of session \($sess.session // "" | @html) around \($m.ref.name)\" font-family=\"DejaVu Sans, sans-serif\" font-size=\"11\">"
      + "<rect x=\"0\" y=\"0\" width=\"\($w)\" height=\"\($h)\" fill=\"#ffffff\"/>"
      + tl_axis($lo; $hi; $ax; 46)
      # Row names.
      + ([[$rOne, "OpenNebula"], [$rHv, "hypervisor"], [$rOut, "probe outage"],
          [$rUp, "up" + (if $m.lost_up | type == "number" then " · \($m.lost_up | tl_fixed(0)) lost" else "" end)],
          [$rDown, "down" + (if $m.lost_down | type == "number" then " · \($m.lost_down | tl_fixed(0)) lost" else "" end)]]
         | map(tl_text(4; .[0] + 15; "start"; "#1d232b"; .[1])) | join(""))
      # OpenNebula: history times (1 s resolution), migration-start → migration-end.
      + (if ($m.history[0] | type) == "number" and ($m.history[1] | type) == "number" then
          tl_span_rect("one-history"; $m.history[0]; $m.history[1]; $lo; $hi; $rOne + 16; 5; "fill=\"#b9a3d6\"")
        else "" end)
      + (if $mstart != null then
          tl_span_rect("one-phase"; $mstart.ms; ($mend.ms // $hi); $lo; $hi; $rOne; 14; "fill=\"#e7dbf3\" stroke=\"#7b3fb5\"")
          + tl_text(([tl_x([$mstart.ms, $lo] | max; $lo; $hi), tl_x0] | max) + 4; $rOne + 11; "start"; "#4b2570";
              "migrating" + (if $mend != null then " \(($mend.ms - $mstart.ms) | tl_fmt_ms)" else "" end))
        else "" end)
      # Hypervisor: pause → resume band.
      + (if $pause != null and $resume != null then
          tl_span_rect("hv-band"; $pause.ms; $resume.ms; $lo; $hi; $rHv; 22; "fill=\"#0e4d64\"")
          + tl_text(tl_x([$resume.ms, $hi] | min; $lo; $hi) + 4; $rHv + 15; "start"; "#35618f";
              "paused \(($resume.ms - $pause.ms) | tl_fmt_ms)")
        else "" end)
      # Probe outages with their bound: shading and whiskers of ± bound_ms at both ends.
      + ($m.outages | map(((.bound_ms // 0) | if type == "number" and . > 0 then . else 0 end) as $b
          | tl_span_rect("outage-bound"; .ms0 - $b; .ms0 + $b; $lo; $hi; $rOut - 3; 28; "fill=\"#d62728\" fill-opacity=\"0.25\"")
          + tl_span_rect("outage-bound"; .ms1 - $b; .ms1 + $b; $lo; $hi; $rOut - 3; 28; "fill=\"#d62728\" fill-opacity=\"0.25\"")
          + tl_span_rect("outage"; .ms0; .ms1; $lo; $hi; $rOut; 22; "fill=\"#d62728\"" + tl_attr("data-direction"; .direction // ""))
          + (if $b > 0 then
              ([.ms0, .ms1] | map([tl_x([. - $b, $lo] | max; $lo; $hi), tl_x([. + $b, $hi] | min; $lo; $hi)] as $xs
                | "<path class=\"whisker\" d=\"M\($xs[0]) \($rOut - 3)v28M\($xs[0]) \($rOut + 11)H\($xs[1])M\($xs[1]) \($rOut - 3)v28\" stroke=\"#7a1010\" fill=\"none\"/>") | join(""))
            else "" end)
          + tl_text(tl_x([.ms1 + $b, $hi] | min; $lo; $hi) + 4; $rOut + 15; "start"; "#b42323";
              "outage \((.duration_ms // (.ms1 - .ms0)) | tl_fmt_ms)" + (if $b > 0 then " ± \($b | tl_fixed(1))" else "" end)))
         | join(""))
      # Per-direction windows.
      + ($m.outages | map(
          (if .up != null then tl_span_rect("win-up"; .up[0]; .up[1]; $lo; $hi; $rUp + 2; 18;
             "fill=\"#ff7f0e\"" + (if .up_from_direction then " fill-opacity=\"0.5\"" else "" end)) else "" end)
          + (if .down != null then tl_span_rect("win-down"; .down[0]; .down[1]; $lo; $hi; $rDown + 2; 18;
             "fill=\"#1f77b4\"" + (if .down_from_direction then " fill-opacity=\"0.5\"" else "" end)) else "" end))
         | join(""))
      # Every marker inside the axis: a rule and its label, each label on the first of four
      # lines where it overlaps no earlier one (labels about 6.2 px per character).
      + ($inside | sort_by(.ms)
         | map(tl_x(.ms; $lo; $hi) as $x | (.event | tl_colour) as $c
           | (if .event == "hv-status" then .hv_status // "status" | "hv " + tostring
              elif .event == "migration-end" and (.outcome // "") != "" then "migration-end (\(.outcome))"
              else .event end) as $lab
           | ($lab | length * 6.2) as $lw
           | (if $x < tl_x0 + $lw / 2 then "start" elif $x > 960 - $lw / 2 then "end" else "middle" end) as $anchor
           | (if $anchor == "start" then [$x, $x + $lw] elif $anchor == "end" then [$x - $lw, $x]
              else [$x - $lw / 2, $x + $lw / 2] end) as $span
           | . + {x: $x, c: $c, lab: $lab, anchor: $anchor, span: $span})
         | reduce .[] as $k ({ends: [-1, -1, -1, -1], out: []};
             ([range(0; 4) as $l | select(.ends[$l] < $k.span[0] - 4) | $l] | first // 3) as $l
             | .ends[$l] = $k.span[1] | .out += [$k + {level: $l}])
         | .out | map(
           "<g class=\"marker\"" + tl_attr("data-event"; .event) + tl_attr("data-ms"; .ms | tl_r1) + ">"
           + "<title>\("\(.event) at \(.ms | tl_fixed(3)) ms" + (if .hv_host then " · \(.hv_host) (\(.hv_source // "?"))" else "" end)
               + (if (.clock_bound_ms | type) == "number" then " · clock ± \(.clock_bound_ms) ms" else "" end) | @html)</title>"
           + "<line x1=\"\(.x)\" y1=\"\(.level * 11 + 12)\" x2=\"\(.x)\" y2=\"\($ax)\" stroke=\"\(.c)\" stroke-dasharray=\"3,2\"/>"
           + "<text class=\"marker-label\" x=\"\(.x)\" y=\"\(.level * 11 + 10)\" text-anchor=\"\(.anchor)\" fill=\"\(.c)\">\(.lab | @html)</text></g>")
         | join(""))
      + tl_text(tl_x0; $ax + 34; "start"; "#5f6b78";
          "ms relative to \($m.ref.name)" + (if $m.ref.name == "migration-start" then " (no hypervisor pause in the archive)" else "" end)
          + (if ($outside | length) > 0 then " · off the axis: "
               + ($outside | map("\(.event) \(.ms / 1000 | if . > 0 then "+" else "" end + tl_fixed(3)) s") | join(", "))
             else "" end))
      + "</svg>"
    end;

# tl_overlay_svg: the array of session objects of one definition, one row per cycle aligned on
# its hv-pause (else migration-start): the pause → resume band and the outage bars; "" when no
# session has a reference.
def tl_overlay_svg:
  map(. as $sess | tl_model as $m | select($m != null)
      | {session: ($sess.session // ""), cycle: $sess.cycle, vm: ($sess.vm // ""), m: $m,
         pause: ($m.markers | map(select(.event == "hv-pause")) | first | .ms?),
         resume: ($m.markers | map(select(.event == "hv-resume")) | first | .ms?)})
  | if length == 0 then ""
    else . as $rows
    | ([$rows[] | .pause, .resume, (.m.outages[] | .ms0, .ms1)] | map(tl_num) + [0]
       | tl_extent(-30000; 30000)) as $ext
    | $ext[0] as $lo | $ext[1] as $hi | 22 as $rh | 10 as $top
    | ($top + ($rows | length) * $rh) as $ax | ($ax + 40) as $h
    | "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"ms-overlay\" width=\"960\" height=\"\($h)\" viewBox=\"0 0 960 \($h)\""
      + tl_attr("data-lo-ms"; $lo) + tl_attr("data-hi-ms"; $hi)
      + " role=\"img\" aria-label=\"every cycle aligned on the hypervisor pause, in ms\" font-family=\"DejaVu Sans, sans-serif\" font-size=\"11\">"
      + "<rect x=\"0\" y=\"0\" width=\"960\" height=\"\($h)\" fill=\"#ffffff\"/>"
      + tl_axis($lo; $hi; $ax; $top)
      + ($rows | to_entries | map(.key as $i | .value | ($top + $i * $rh) as $y
          | "<g class=\"cycle\"" + tl_attr("data-session"; .session) + tl_attr("data-ref"; .m.ref.name) + ">"
          + tl_text(4; $y + 15; "start"; "#1d232b";
              "cycle \(.cycle // "?")" + (if .m.ref.name == "hv-pause" then "" else " (mig.-start)" end))
          + (if .pause != null and .resume != null then
              tl_span_rect("hv-band"; .pause; .resume; $lo; $hi; $y + 2; 18; "fill=\"#0e4d64\" fill-opacity=\"0.45\"")
            else "" end)
          + (.m.outages | map(tl_span_rect("outage"; .ms0; .ms1; $lo; $hi; $y + 6; 10; "fill=\"#d62728\"")) | join(""))
          + ((.m.outages | map(.ms1 - .ms0) | max) as $d
             | if $d == null then "" else
               tl_text(tl_x1 + 0; $y + 15; "end"; "#5f6b78";
                 "outage \($d | tl_fmt_ms)" + (if .pause != null and .resume != null then " · paused \((.resume - .pause) | tl_fmt_ms)" else "" end)) end)
          + "</g>") | join(""))
      + tl_text(tl_x0; $ax + 34; "start"; "#5f6b78";
          "ms relative to each cycle's hv-pause (migration-start where the archive has no pause); teal band: guest paused (hv-pause → hv-resume), red: probe outage")
      + "</svg>"
    end;
