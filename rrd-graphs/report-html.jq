# report-html.jq — the HTML of `themis-graph report` (index.html), built from the row objects
# of graph-report.sh (TH_JQ_ROWS), the aggregates line, the lists of rendered images and the
# availability figures of availability.jq ($availf[0], null when the archive has neither
# summaries.jsonl nor availability.jsonl), the millisecond timelines of timeline.jq
# ($timelinesf[0]: {session: svg}, $msoverlaysf[0]: [{definition, svg}]), each definition's
# description and every unsuccessful cycle's message from OpenNebula. Every text from the
# archive goes through @html. No scripts, no external assets (the timelines are inline SVG).

include "timeline";

def fixed($d):
  if . == null then null
  else pow(10; $d) as $m | (. * $m | round) as $r | (if $r < 0 then -$r else $r end) as $a
    | (if $r < 0 then "-" else "" end) + (($a / $m | floor) | tostring)
      + (if $d > 0 then "." + (($a % $m) | tostring | ("000000"[0:($d - length)] + .)) else "" end)
  end;
def signed($d): if . == null then null elif . > 0 then "+" + fixed($d) else fixed($d) end;
def cell($col; $text): "<td class=\"num\" data-col=\"\($col)\">\($text // "–")</td>";
def wh: if . == "" then "" else split("x") | " width=\"\(.[0])\" height=\"\(.[1])\"" end;
def pad2: tostring | if length < 2 then "0" + . else . end;
def hms: if . == null then null
  else floor | "\(. / 3600 | floor):\(. % 3600 / 60 | floor | pad2):\(. % 60 | pad2)" end;
def pm($d; $b): if $d == null then null
  else ($d | fixed(1)) + (if $b == null then "" else " ± " + ($b | fixed(1)) end) end;
def outcome_colour: {success: "#1f7a3d", failed: "#b42323", timeout: "#9a5b00", lost: "#9a5b00",
  aborted: "#5f6b78"}[. // ""] // "#8a94a0";
def stamp: floor | strftime("%Y-%m-%d %H:%M:%S");

# One row per VM and a dot per session on a line per VM, x = the session's first second.
def timeline_svg($s):
  if ($s | length) == 0 then ""
  else ($s | map(.first) | min) as $t0 | ([($s | map(.first) | max) - $t0, 1] | max) as $span
    | ($s | map(.vm) | unique) as $vms | 960 as $w | 150 as $left | 20 as $right | 28 as $rowh
    | ($vms | length * $rowh + 24) as $h
    | "<svg class=\"timeline\" width=\"\($w)\" height=\"\($h)\" viewBox=\"0 0 \($w) \($h)\" role=\"img\" aria-label=\"migration sessions over time, one line per VM, coloured by outcome\" font-family=\"DejaVu Sans, sans-serif\" font-size=\"12\">"
      + ($vms | to_entries | map((.key * $rowh + 14) as $y | .value as $vm
          | "<text x=\"0\" y=\"\($y + 4)\" fill=\"#1d232b\">\($vm | @html)</text><line x1=\"\($left)\" y1=\"\($y)\" x2=\"\($w - $right)\" y2=\"\($y)\" stroke=\"#dfe3e8\"/>"
            + ($s | map(select(.vm == $vm)
                | "<circle cx=\"\(($left + (.first - $t0) / $span * ($w - $left - $right)) * 10 | round / 10)\" cy=\"\($y)\" r=\"6\" fill=\"\(.outcome | outcome_colour)\" fill-opacity=\"0.8\"><title>\(.session | @html) · \(.first | stamp) UTC · \(.origin) · \(.outcome // "no outcome" | @html) · downtime \(pm(.downtime_ms; .downtime_bound_ms) // "–") ms</title></circle>")
              | join("")))
          | join(""))
      + "<text x=\"\($left)\" y=\"\($h - 4)\" fill=\"#5f6b78\">\($t0 | stamp) UTC</text><text x=\"\($w - $right)\" y=\"\($h - 4)\" fill=\"#5f6b78\" text-anchor=\"end\">\($t0 + $span | stamp) UTC</text></svg>"
  end;

def availability_section($m):
  if $m == null then ""
  else "<section>
<h2 id=\"availability\">Availability</h2>
<div class=\"table-wrap\">
<table>
<thead><tr><th>VM</th><th class=\"num\">Availability<br><small>%</small></th><th class=\"num\">Covered<br><small>h:mm:ss</small></th><th class=\"num\">Outage<br><small>ms</small></th><th class=\"num\">Outside migrations<br><small>ms</small></th><th class=\"num\">Migrations</th><th class=\"num\">Run / observed / unknown</th><th class=\"num\">Success / failed / timeout / lost / aborted / other</th><th class=\"num\">Downtime total<br><small>ms</small></th><th class=\"num\">Worst downtime<br><small>ms ± bound</small></th><th>Worst in</th></tr></thead>
<tbody>
" + ($m.rows | map(
"<tr id=\"avail-\(.vm | @html)\"><td data-col=\"vm\">\(.vm | @html)</td>"
+ cell("availability_pct"; .availability_pct | fixed(4))
+ cell("covered"; .covered_s | hms)
+ cell("outage_ms"; .outage_ms | fixed(1))
+ cell("outage_outside_ms"; .outage_outside_ms | fixed(1))
+ cell("migrations"; .migrations | tostring)
+ cell("origins"; "\(.origin_run) / \(.origin_observed) / \(.origin_unknown)")
+ cell("outcomes"; "\(.success) / \(.failed) / \(.timeout) / \(.lost) / \(.aborted) / \(.other)")
+ cell("downtime_total_ms"; .downtime_total_ms | fixed(1))
+ cell("downtime_worst_ms"; pm(.downtime_worst_ms; .downtime_worst_bound_ms))
+ "<td data-col=\"downtime_worst_session\">\(if .downtime_worst_session == null then "–" else "<a href=\"#tl-\(.downtime_worst_session | @html)\">\(.downtime_worst_session | @html)</a>" end)</td></tr>") | join("\n")) + "
</tbody>
</table>
</div>
<p class=\"note\">From the plugin's hourly tallies (availability.jsonl) and session summaries (summaries.jsonl), whatever the definition: availability = 1 − outage time / time covered by probes; outside migrations = outage that fell in no session; downtime = the sessions' network downtime (longest outage in the migration window), its worst with the bound.</p>
<h3>Sessions over time</h3>
" + timeline_svg($m.sessions) + "
<div class=\"table-wrap\">
<table>
<thead><tr><th>VM</th><th>Start<br><small>UTC</small></th><th>Origin</th><th>Outcome</th><th class=\"num\">Downtime<br><small>ms ± bound</small></th><th>Route</th><th>Session</th></tr></thead>
<tbody>
" + ($m.sessions | map(
"<tr id=\"tl-\(.session | @html)\"><td data-col=\"vm\">\(.vm | @html)</td><td data-col=\"start\">\(.first | stamp)</td><td data-col=\"origin\">\(.origin | @html)</td><td data-col=\"outcome\"><span class=\"badge \(.outcome // "none" | @html)\">\(.outcome // "–" | @html)</span></td>"
+ cell("downtime_ms"; pm(.downtime_ms; .downtime_bound_ms))
+ "<td data-col=\"route\">\(.src_host // "?" | @html) → \(.dst_host // "?" | @html)</td><td data-col=\"session\">\(.session | @html)</td></tr>") | join("\n")) + "
</tbody>
</table>
</div>
</section>
"
  end;

$rowsf[0] as $rows
| $availf[0] as $avail
| ($agg | split("\t")) as $a
| ($graphs | split("\n") | map(select(length > 0) | split("\t") | {key: .[0], value: (.[1] // "")})
   | from_entries) as $g
| ($overlays | split("\n") | map(select(length > 0) | split("\t"))) as $ov
| $timelinesf[0] as $tl
| $msoverlaysf[0] as $mso
| ($rows | group_by(.definition) | map({definition: .[0].definition,
    description: (map(.description | strings | select(length > 0)) | first)})) as $defs
| ($rows | map(select(.outcome != "success" and .outcome != "open"))) as $unsuccessful
| def aggval($i; $d): if $a[$i] == "" or $a[$i] == null then "–" else ($a[$i] | tonumber | fixed($d)) end;

"<!DOCTYPE html>
<html lang=\"en\">
<head>
<meta charset=\"utf-8\">
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">
<meta name=\"generator\" content=\"themis-graph \($version | @html)\">
<title>Themis report — \($archive | @html)\($defn | if . == "" then "" else " — " + @html end)</title>
<style>
\($css)</style>
</head>
<body>
<header>
<h1>Migration availability</h1>
<p class=\"meta\">Archive <code>\($archive | @html)</code>\($defn | if . == "" then "" else " · definition <strong>" + @html + "</strong>" end) · \($rows | length) sessions · generated \($generated | @html)</p>
</header>
<main>
\(if ($rows | length) == 0 then "<p class=\"note\" id=\"no-sessions\">No session file in the archive (none yet, or all pruned): the figures below come from the plugin's summaries.</p>
" else "<section class=\"cards\" aria-label=\"aggregates\">
<div class=\"card\"><span class=\"label\">Success rate</span><span class=\"value\" id=\"agg-success\">\(aggval(2; 1))&#8239;%</span><span class=\"sub\">\($a[1]) of \($a[0]) cycles</span></div>
<div class=\"card\"><span class=\"label\">Downtime median</span><span class=\"value\" id=\"agg-median\">\(aggval(5; 1))</span><span class=\"sub\">ms · \($a[3]) successful cycles</span></div>
<div class=\"card\"><span class=\"label\">Downtime p95</span><span class=\"value\" id=\"agg-p95\">\(aggval(6; 1))</span><span class=\"sub\">ms · nearest rank</span></div>
<div class=\"card\"><span class=\"label\">Downtime min – max</span><span class=\"value\"><span id=\"agg-min\">\(aggval(4; 1))</span> – <span id=\"agg-max\">\(aggval(7; 1))</span></span><span class=\"sub\">ms</span></div>
</section>

<section>
<h2>Definitions</h2>
<dl class=\"definitions\">
\($defs | map("<dt data-definition=\"\(.definition | @html)\">\(.definition | @html)</dt><dd class=\"description\">\(if .description == null then "<span class=\"note\">no description recorded</span>" else .description | @html end)</dd>") | join("\n"))
</dl>
</section>

<section>
<h2>Cycles</h2>
<div class=\"table-wrap\">
<table>
<thead><tr><th>Cycle</th><th>Session</th><th>VM</th><th>Route</th><th>Outcome</th><th class=\"num\">OpenNebula duration<br><small>s</small></th><th class=\"num\">Network downtime<br><small>ms</small></th><th class=\"num\">± bound<br><small>ms</small></th><th class=\"num\">Lost up<br><small>probes</small></th><th class=\"num\">Lost down<br><small>probes</small></th><th class=\"num\">Hypervisor downtime<br><small>ms</small></th><th class=\"num\">Δ<br><small>ms</small></th></tr></thead>
<tbody>
\($rows | map(
"<tr id=\"row-\(.session | @html)\"><td class=\"num\" data-col=\"cycle\">\(.cycle // "–" | tostring | @html)</td><td data-col=\"session\"><a href=\"#s-\(.session | @html)\">\(.session | @html)</a></td><td data-col=\"vm\">\(.vm | @html)</td><td data-col=\"route\">\(.src_host | @html) → \(.dst_host | @html)</td><td data-col=\"outcome\"><span class=\"badge \(.outcome | @html)\">\(.outcome | @html)</span></td>"
+ cell("one_duration_s"; .one_duration_s | fixed(2))
+ cell("downtime_ms"; .downtime_ms | fixed(1))
+ cell("downtime_bound_ms"; .downtime_bound_ms | fixed(1))
+ cell("lost_up"; .lost_up | fixed(0))
+ cell("lost_down"; .lost_down | fixed(0))
+ cell("hv_downtime_ms"; .hv_downtime_ms | fixed(1))
+ cell("delta_ms"; .delta_ms | signed(1))
+ "</tr>") | join("\n"))
</tbody>
</table>
</div>
<p class=\"note\">Network downtime: the longest outage overlapping the migration window, on the supervisor's clock. Δ = network downtime − hypervisor downtime. Aggregates cover successful cycles with a known downtime.</p>
\(if ($unsuccessful | length) == 0 then "" else "<h3 id=\"failures\">Unsuccessful cycles: OpenNebula's messages</h3>
<ul class=\"failures\">
" + ($unsuccessful | map("<li id=\"msg-\(.session | @html)\"><a href=\"#s-\(.session | @html)\">cycle \(.cycle // "–" | tostring | @html) · \(.session | @html)</a> <span class=\"badge \(.outcome | @html)\">\(.outcome | @html)</span> \(if .message == null then "<span class=\"note\">no message from OpenNebula</span>" else "<q class=\"one-message\">" + (.message | @html) + "</q>" end)</li>") | join("\n")) + "
</ul>
" end)</section>
" end)
\(availability_section($avail))
\(if ($mso | length) > 0 then
"<section>
<h2>Cycles aligned on the hypervisor pause, in milliseconds</h2>
" + ($mso | map("<figure class=\"wide ms-overlay\" data-definition=\"\(.definition | @html)\">\(.svg)<figcaption>Definition \(.definition | @html): one row per cycle, aligned on its hypervisor pause (hv-pause marker; migration-start where the archive has none, so marked); teal band: guest paused (hv-pause → hv-resume), red: the probe's outages; the text at the right gives the longest outage and the pause.</figcaption></figure>") | join("\n")) + "
</section>
" else "" end)
\(if ($ov | length) > 0 then
"<section>
<h2>Cycles aligned on migration start</h2>
" + ($ov | map("<figure class=\"wide\"><img src=\"\(.[1] | @html)\"\(.[2] | wh) alt=\"lost probes per second of every cycle of \(.[0] | @html), aligned on migration start, with the median\"><figcaption>\(.[0] | @html): lost probes per second, one line per cycle, the median in black; x axis m:ss from the migration-start marker (−m:ss before it). Data: <a href=\"csv/overlay-\(.[1] | ltrimstr("overlay-") | rtrimstr(".png") | @html).csv\">CSV</a>.</figcaption></figure>") | join("\n")) + "
</section>
" else "" end)
\(if ($rows | length) == 0 then "" else "<section>
<h2>Sessions</h2>
" + ($rows | map(
"<figure class=\"session\" id=\"s-\(.session | @html)\"><figcaption><strong>\(.session | @html)</strong> · \(.vm | @html) · cycle \(.cycle // "–" | tostring | @html) · \(.src_host | @html) → \(.dst_host | @html) · <span class=\"badge \(.outcome | @html)\">\(.outcome | @html)</span>"
+ (if $g[.session] == "markers-only" then
    "</figcaption><p class=\"nodata\">No per-second records: the session has markers only. "
    + (.markers | map("\(.event | @html) \(.t | floor | strftime("%H:%M:%S") | @html) UTC")
       | join(" · ")) + ".</p>"
  elif ($g[.session] // "") != "" then
    " · <a href=\"csv/\(.session | @html).csv\">per-second CSV</a></figcaption><img src=\"sessions/\(.session | @html).png\"\($g[.session] | wh) alt=\"timeline of session \(.session | @html)\">"
  else "</figcaption><p class=\"nodata\">No per-second data in the archive for this session.</p>" end)
+ (if .message != null and .outcome != "success" then "<p class=\"one-message\">OpenNebula: <q>\(.message | @html)</q></p>" else "" end)
+ (.session as $sess | ($tl[.session] // "") | if . == "" then "" else "<div class=\"ms-timeline\" id=\"ms-" + ($sess | @html) + "\">" + . + "</div>" end)
+ "</figure>") | join("\n")) + "
</section>
" end)
<section>
<h2>Data</h2>
<ul class=\"files\">
<li><a href=\"summary.csv\">summary.csv</a> — one line per session (the table above, all figures)</li>
<li><code>csv/&lt;session&gt;.csv</code> — per-second values of every session (probe counts, RTT, jitter, iperf)</li>
\(if $avail == null then "" else "<li><a href=\"csv/availability.csv\">csv/availability.csv</a> — availability and migrations per VM (the Availability table, all figures)</li>
<li><a href=\"csv/sessions.csv\">csv/sessions.csv</a> — every session of the plugin's summaries, in time order</li>
" end)</ul>
</section>
</main>
<footer>themis-graph \($version | @html)</footer>
</body>
</html>"
