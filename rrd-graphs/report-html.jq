# report-html.jq — the HTML of `themis-graph report` (index.html), built from the row objects
# of graph-report.sh (TH_JQ_ROWS), the aggregates line and the lists of rendered images.
# Every text from the archive goes through @html. No scripts, no external assets.

def fixed($d):
  if . == null then null
  else pow(10; $d) as $m | (. * $m | round) as $r | (if $r < 0 then -$r else $r end) as $a
    | (if $r < 0 then "-" else "" end) + (($a / $m | floor) | tostring)
      + (if $d > 0 then "." + (($a % $m) | tostring | ("000000"[0:($d - length)] + .)) else "" end)
  end;
def signed($d): if . == null then null elif . > 0 then "+" + fixed($d) else fixed($d) end;
def cell($col; $text): "<td class=\"num\" data-col=\"\($col)\">\($text // "–")</td>";
def wh: if . == "" then "" else split("x") | " width=\"\(.[0])\" height=\"\(.[1])\"" end;

$rowsf[0] as $rows
| ($agg | split("\t")) as $a
| ($graphs | split("\n") | map(select(length > 0) | split("\t") | {key: .[0], value: (.[1] // "")})
   | from_entries) as $g
| ($overlays | split("\n") | map(select(length > 0) | split("\t"))) as $ov
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
<section class=\"cards\" aria-label=\"aggregates\">
<div class=\"card\"><span class=\"label\">Success rate</span><span class=\"value\" id=\"agg-success\">\(aggval(2; 1))&#8239;%</span><span class=\"sub\">\($a[1]) of \($a[0]) cycles</span></div>
<div class=\"card\"><span class=\"label\">Downtime median</span><span class=\"value\" id=\"agg-median\">\(aggval(5; 1))</span><span class=\"sub\">ms · \($a[3]) successful cycles</span></div>
<div class=\"card\"><span class=\"label\">Downtime p95</span><span class=\"value\" id=\"agg-p95\">\(aggval(6; 1))</span><span class=\"sub\">ms · nearest rank</span></div>
<div class=\"card\"><span class=\"label\">Downtime min – max</span><span class=\"value\"><span id=\"agg-min\">\(aggval(4; 1))</span> – <span id=\"agg-max\">\(aggval(7; 1))</span></span><span class=\"sub\">ms</span></div>
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
</section>

\(if ($ov | length) > 0 then
"<section>
<h2>Cycles aligned on migration start</h2>
" + ($ov | map("<figure class=\"wide\"><img src=\"\(.[1] | @html)\"\(.[2] | wh) alt=\"lost probes per second of every cycle of \(.[0] | @html), aligned on migration start, with the median\"><figcaption>\(.[0] | @html): lost probes per second, one line per cycle, the median in black; x axis mm:ss after the migration-start marker (59:xx is before it). Data: <a href=\"csv/overlay-\(.[1] | ltrimstr("overlay-") | rtrimstr(".png") | @html).csv\">CSV</a>.</figcaption></figure>") | join("\n")) + "
</section>
" else "" end)
<section>
<h2>Sessions</h2>
\($rows | map(
"<figure class=\"session\" id=\"s-\(.session | @html)\"><figcaption><strong>\(.session | @html)</strong> · \(.vm | @html) · cycle \(.cycle // "–" | tostring | @html) · \(.src_host | @html) → \(.dst_host | @html) · <span class=\"badge \(.outcome | @html)\">\(.outcome | @html)</span>"
+ (if $g[.session] == "markers-only" then
    "</figcaption><p class=\"nodata\">No per-second records: the session has markers only. "
    + (.markers | map("\(.event | @html) \(.t | floor | strftime("%H:%M:%S") | @html) UTC")
       | join(" · ")) + ".</p>"
  elif ($g[.session] // "") != "" then
    " · <a href=\"csv/\(.session | @html).csv\">per-second CSV</a></figcaption><img src=\"sessions/\(.session | @html).png\"\($g[.session] | wh) alt=\"timeline of session \(.session | @html)\">"
  else "</figcaption><p class=\"nodata\">No per-second data in the archive for this session.</p>" end)
+ "</figure>") | join("\n"))
</section>

<section>
<h2>Data</h2>
<ul class=\"files\">
<li><a href=\"summary.csv\">summary.csv</a> — one line per session (the table above, all figures)</li>
<li><code>csv/&lt;session&gt;.csv</code> — per-second values of every session (probe counts, RTT, jitter, iperf)</li>
</ul>
</section>
</main>
<footer>themis-graph \($version | @html)</footer>
</body>
</html>"
