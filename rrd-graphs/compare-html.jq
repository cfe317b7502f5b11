# compare-html.jq — the HTML of `themis-graph compare` (index.html) from the model of
# compare.jq ($model[0]): the definitions table, the aligned ms overlay and the downtime
# distributions as inline SVG, and every cycle. Every text from the archive goes through @html;
# no scripts, no external assets.

def fixed($d):
  if . == null then null
  else pow(10; $d) as $m | (. * $m | round) as $r | (if $r < 0 then -$r else $r end) as $a
    | (if $r < 0 then "-" else "" end) + (($a / $m | floor) | tostring)
      + (if $d > 0 then "." + (($a % $m) | tostring | ("000000"[0:($d - length)] + .)) else "" end)
  end;
def signed($d): if . == null then null elif . > 0 then "+" + fixed($d) else fixed($d) end;
def cell($col; $text): "<td class=\"num\" data-col=\"\($col)\">\($text // "–")</td>";
def tcell($col; $text): "<td data-col=\"\($col)\">\(if $text == null or $text == "" then "–" else $text | @html end)</td>";
def r2: . * 100 | round / 100;
# A tick label: signed whole ms ("-50", "0", "+50"), decimals only when the step has them.
def ticklabel($step): (if $step < 1 then 1 else 0 end) as $d | if . == 0 then "0" else signed($d) end;
def migration_text: if type == "object" and length > 0
  then to_entries | map("\(.key)=\(.value)") | join(", ") else null end;

# The overlay: one lane per cycle, grouped by definition; outages as bars, hv-pause and
# hv-resume as ticks, on a ms axis around the anchor (x = left + (t - lo) / (hi - lo) * width).
def overlay_svg($m):
  960 as $w | 190 as $left | 20 as $right | 14 as $top | 16 as $lane | 10 as $gap
  | ($w - $left - $right) as $pw | $m.axis as $ax
  | def X($t): ($left + ($t - $ax.lo) / ($ax.hi - $ax.lo) * $pw) | r2;
  ([$m.defs | foreach .[] as $d (0; . + ($d.rows | length) * $lane + $gap; {d: $d, y0: (. - ($d.rows | length) * $lane - $gap)})]) as $groups
  | (($m.defs | map(.rows | length) | add // 0) * $lane + ($m.defs | length) * $gap) as $ph
  | ($top + $ph + 40) as $h
  | "<svg id=\"overlay\" class=\"overlay\" width=\"\($w)\" height=\"\($h)\" viewBox=\"0 0 \($w) \($h)\" role=\"img\" aria-label=\"network outages of every cycle, aligned on \($m.align), one colour per definition\" font-family=\"DejaVu Sans, sans-serif\" font-size=\"11\">"
    + ([range(0; (($ax.hi - $ax.lo) / $ax.step | round) + 1)] | map($ax.lo + . * $ax.step) | map(. as $t
        | "<line class=\"grid\" x1=\"\(X($t))\" y1=\"\($top)\" x2=\"\(X($t))\" y2=\"\($top + $ph)\" stroke=\"#e6e6e6\"/><text class=\"tick\" x=\"\(X($t))\" y=\"\($top + $ph + 14)\" text-anchor=\"middle\" fill=\"#5f6b78\">\($t | ticklabel($ax.step))</text>") | join(""))
    + "<line class=\"anchor\" x1=\"\(X(0))\" y1=\"\($top - 6)\" x2=\"\(X(0))\" y2=\"\($top + $ph)\" stroke=\"#7b3fb5\" stroke-dasharray=\"4,2\"/>"
    + ($groups | map(.d as $d | ($top + .y0) as $gy
        | "<g class=\"def\" data-def=\"\($d.definition | @html)\">"
          + ($d.rows | to_entries | map(($gy + .key * $lane) as $y | .value as $c
              | "<text class=\"lane\" x=\"\($left - 6)\" y=\"\($y + 11)\" text-anchor=\"end\" fill=\"#1d232b\">\($d.definition | @html) · cycle \($c.cycle // "?" | tostring | @html)</text>"
                + ($c.outages | map(select(.end_ms >= $ax.lo and .start_ms <= $ax.hi)
                    | "<rect class=\"outage\" data-session=\"\($c.session | @html)\" x=\"\(X(.start_ms))\" y=\"\($y + 3)\" width=\"\((X(.end_ms) - X(.start_ms)) | r2)\" height=\"10\" fill=\"\($d.colour)\" fill-opacity=\"0.75\" stroke=\"\($d.colour)\" stroke-width=\"0.5\"><title>\($c.session | @html): outage \(.direction | @html) \(.start_ms | signed(1)) → \(.end_ms | signed(1)) ms</title></rect>") | join(""))
                + ($c.marks | to_entries | map(select(.key == "hv-pause" or .key == "hv-resume")
                    | select(.value >= $ax.lo and .value <= $ax.hi)
                    | "<line class=\"mark \(.key)\" data-session=\"\($c.session | @html)\" x1=\"\(X(.value))\" y1=\"\($y + 1)\" x2=\"\(X(.value))\" y2=\"\($y + 15)\" stroke=\"#111111\" stroke-width=\"1.5\"><title>\($c.session | @html): \(.key) \(.value | signed(1)) ms</title></line>") | join("")))
            | join(""))
          + "</g>") | join(""))
    + "<text class=\"axis-title\" x=\"\($left + $pw / 2)\" y=\"\($h - 6)\" text-anchor=\"middle\" fill=\"#1d232b\">ms after \($m.align) (negative: before it)</text></svg>";

# The distributions: one lane per definition, a dot per successful cycle's downtime, the
# median (tall line) and p90 (short line) on a shared axis from 0.
def dist_svg($m):
  960 as $w | 190 as $left | 20 as $right | 10 as $top | 34 as $lane
  | ($w - $left - $right) as $pw | $m.dist_axis as $ax | ($m.defs | length * $lane) as $ph
  | ($top + $ph + 40) as $h
  | def X($t): ($left + ($t - $ax.lo) / ($ax.hi - $ax.lo) * $pw) | r2;
  "<svg id=\"distribution\" class=\"distribution\" width=\"\($w)\" height=\"\($h)\" viewBox=\"0 0 \($w) \($h)\" role=\"img\" aria-label=\"network downtime of every successful cycle, one line per definition\" font-family=\"DejaVu Sans, sans-serif\" font-size=\"11\">"
  + ([range(0; (($ax.hi - $ax.lo) / $ax.step | round) + 1)] | map($ax.lo + . * $ax.step) | map(. as $t
      | "<line class=\"grid\" x1=\"\(X($t))\" y1=\"\($top)\" x2=\"\(X($t))\" y2=\"\($top + $ph)\" stroke=\"#e6e6e6\"/><text class=\"tick\" x=\"\(X($t))\" y=\"\($top + $ph + 14)\" text-anchor=\"middle\" fill=\"#5f6b78\">\($t | ticklabel($ax.step))</text>") | join(""))
  + ($m.defs | to_entries | map(($top + .key * $lane + $lane / 2) as $y | .value as $d
      | "<g class=\"def\" data-def=\"\($d.definition | @html)\"><text class=\"lane\" x=\"\($left - 6)\" y=\"\($y + 4)\" text-anchor=\"end\" fill=\"#1d232b\">\($d.definition | @html) (\($d.downtime_n))</text>"
        + ($d.downtimes | map("<circle class=\"downtime\" cx=\"\(X(.))\" cy=\"\($y)\" r=\"4\" fill=\"\($d.colour)\" fill-opacity=\"0.6\"><title>\($d.definition | @html): \(. | fixed(1)) ms</title></circle>") | join(""))
        + (if $d.downtime_median_ms == null then "" else "<line class=\"median\" x1=\"\(X($d.downtime_median_ms))\" y1=\"\($y - 12)\" x2=\"\(X($d.downtime_median_ms))\" y2=\"\($y + 12)\" stroke=\"#111111\" stroke-width=\"2\"><title>median \($d.downtime_median_ms | fixed(1)) ms</title></line>" end)
        + (if $d.downtime_p90_ms == null then "" else "<line class=\"p90\" x1=\"\(X($d.downtime_p90_ms))\" y1=\"\($y - 7)\" x2=\"\(X($d.downtime_p90_ms))\" y2=\"\($y + 7)\" stroke=\"#111111\" stroke-width=\"1\" stroke-dasharray=\"2,1\"><title>p90 \($d.downtime_p90_ms | fixed(1)) ms</title></line>" end)
        + "</g>") | join(""))
  + "<text class=\"axis-title\" x=\"\($left + $pw / 2)\" y=\"\($h - 6)\" text-anchor=\"middle\" fill=\"#1d232b\">network downtime, ms</text></svg>";

$model[0] as $m
| "<!DOCTYPE html>
<html lang=\"en\">
<head>
<meta charset=\"utf-8\">
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">
<meta name=\"generator\" content=\"themis-graph \($version | @html)\">
<title>Themis comparison — \($m.defs | map(.definition) | join(" · ") | @html)</title>
<style>
\($css)</style>
</head>
<body>
<header>
<h1>Definitions compared</h1>
<p class=\"meta\">Archive <code>\($archive | @html)</code> · \($m.defs | length) definitions · \($m.defs | map(.cycles) | add) cycles · generated \($generated | @html)</p>
</header>
<main>
<section>
<h2>Definitions</h2>
<div class=\"table-wrap\">
<table id=\"definitions\">
<thead><tr><th>Definition</th><th>Description</th><th class=\"num\">Interval<br><small>ms</small></th><th>Bandwidth</th><th>Live</th><th class=\"num\">Planned</th><th>Load</th><th>Migration parameters</th><th class=\"num\">Cycles</th><th class=\"num\">Success</th><th class=\"num\">Failed</th><th class=\"num\">Downtime median<br><small>ms</small></th><th class=\"num\">p90<br><small>ms</small></th><th class=\"num\">max<br><small>ms</small></th><th class=\"num\">Hypervisor paused median<br><small>ms</small></th><th class=\"num\">Δ median<br><small>ms</small></th></tr></thead>
<tbody>
\($m.defs | map(
"<tr id=\"def-\(.definition | @html)\"><td data-col=\"definition\"><span class=\"swatch\" style=\"background:\(.colour)\"></span>\(.definition | @html)</td>"
+ tcell("description"; .description)
+ cell("interval_ms"; .params.interval_ms | if type == "number" then tostring else null end)
+ tcell("bandwidth"; .params.bandwidth)
+ tcell("live"; .params.live | if . == true then "live" elif . == false then "cold" else null end)
+ cell("cycles_planned"; .params.cycles | if type == "number" then tostring else null end)
+ tcell("load"; .params.load)
+ tcell("migration"; .params.migration | migration_text)
+ cell("cycles"; .cycles | tostring)
+ cell("success"; .success | tostring)
+ cell("failed"; .failed | tostring)
+ cell("downtime_median_ms"; .downtime_median_ms | fixed(1))
+ cell("downtime_p90_ms"; .downtime_p90_ms | fixed(1))
+ cell("downtime_max_ms"; .downtime_max_ms | fixed(1))
+ cell("hv_paused_median_ms"; .hv_paused_median_ms | fixed(1))
+ cell("delta_median_ms"; .delta_median_ms | signed(1))
+ "</tr>") | join("\n"))
</tbody>
</table>
</div>
<p class=\"note\">Parameters from each definition's session-start marker\($m.defs | map(select(.params_differ) | .definition) | if length > 0 then " (they differ between the sessions of " + (map(@html) | join(", ")) + ": shown from the first session)" else "" end). Failed: every cycle whose outcome is not success. Downtime (the longest network outage overlapping the migration window), hypervisor paused (hv-pause → hv-resume) and Δ (network − hypervisor downtime) cover the successful cycles with a known figure; p90 is the nearest-rank percentile.</p>
</section>

<section>
<h2>Cycles aligned on \($m.align | @html)</h2>
<figure class=\"wide\">" + overlay_svg($m) + "<figcaption>Network outages of every cycle in the migration window, one lane per cycle and one colour per definition, on a millisecond axis around each cycle's \($m.align | @html) marker (dashed line, 0; negative times are before it); black ticks: hv-pause and hv-resume.</figcaption></figure>
</section>

<section>
<h2>Downtime distributions</h2>
<figure class=\"wide\">" + dist_svg($m) + "<figcaption>Network downtime of every successful cycle (dots), median (tall line) and p90 (short dashed line), per definition.</figcaption></figure>
</section>

<section>
<h2>Cycles</h2>
<div class=\"table-wrap\">
<table id=\"cycles\">
<thead><tr><th>Definition</th><th class=\"num\">Cycle</th><th>Session</th><th>VM</th><th>Outcome</th><th class=\"num\">Downtime<br><small>ms</small></th><th class=\"num\">± bound<br><small>ms</small></th><th class=\"num\">Hypervisor paused<br><small>ms</small></th><th class=\"num\">Δ<br><small>ms</small></th><th class=\"num\">Outage<br><small>ms after \($m.align | @html)</small></th><th>Message</th></tr></thead>
<tbody>
\([$m.defs[].rows[]] | map(
"<tr id=\"cycle-\(.session | @html)\"><td data-col=\"definition\">\(.definition | @html)</td>"
+ cell("cycle"; .cycle | if . == null then null else tostring end)
+ tcell("session"; .session) + tcell("vm"; .vm)
+ "<td data-col=\"outcome\"><span class=\"badge \(.outcome | @html)\">\(.outcome | @html)</span></td>"
+ cell("downtime_ms"; .downtime_ms | fixed(1))
+ cell("downtime_bound_ms"; .downtime_bound_ms | fixed(1))
+ cell("hv_paused_ms"; .hv_paused_ms | fixed(1))
+ cell("delta_ms"; .delta_ms | signed(1))
+ cell("outage"; if .outage_start_ms == null then null else (.outage_start_ms | signed(1)) + " → " + (.outage_end_ms | signed(1)) end)
+ tcell("message"; .message)
+ "</tr>") | join("\n"))
</tbody>
</table>
</div>
</section>

<section>
<h2>Data</h2>
<ul class=\"files\">
<li><a href=\"definitions.csv\">definitions.csv</a> — one line per definition (the first table)</li>
<li><a href=\"cycles.csv\">cycles.csv</a> — one line per cycle (the second table, with the outage's times)</li>
</ul>
</section>
</main>
<footer>themis-graph \($version | @html)</footer>
</body>
</html>"
