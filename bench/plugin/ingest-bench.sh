#!/bin/bash
# ingest-bench.sh — throughput (records/s into dispatch) and memory of the themis plugin's HTTP
# ingest under a sustained load, next to collectd's own curl_json plugin reading the same
# records as one JSON document, measured in the same run on the same core.
#
#   bench/plugin/ingest-bench.sh BUILDDIR [RECORDS] [BATCH] [CLIENTS]
#   CURL_JSON=0 bench/plugin/ingest-bench.sh ...   (themis only: curl_json needs ~12 KB of
#                                                  memory per record, too much for long runs)
#   ARCHIVE=1 ...   themis with an ArchiveDir and one open session of the VM, so every record is
#                   also tagged and written to the session archive (RRD + .pending file)
#   HOSTILE=1 ...   while the clients post, a hostile mix runs against the same daemon (CPU 1):
#                   4 MB unauthenticated bodies on 8 connections at once, 2 MB of nested
#                   brackets, records from the year 2099 and floods of new sessions, in a loop;
#                   the figures are then those of the legitimate clients under that mix
#
# themis: collectd -f pinned to CPU 0 with only themis loaded (no writer: the figure is ingest
# into plugin_dispatch_values); one curl on CPU 1 posts RECORDS "second" records in batches of
# BATCH over one keep-alive connection; done when /v1/health reports 2 value lists per record
# dispatched. CLIENTS (default 2) curl processes post in parallel, each its own stream, as
# several agents do (every request is answered only after its values were dispatched, so one
# client alone measures latency more than capacity). Memory: VmHWM of the daemon.
# curl_json: `collectd -T` (one read of every plugin, then exit) pinned to CPU 0, reading the
# same records from a file:// URL (no HTTP cost on its side) with the 12 keys of a record as
# gauges; its time minus the time of the same run on a one-record document; memory: max RSS.
set -eu
build=${1:?usage: ingest-bench.sh BUILDDIR [RECORDS] [BATCH] [CLIENTS]}
n=${2:-200000}
batch=${3:-1000}
clients=${4:-2}
src=$(cd "$(dirname "$0")/../.." && pwd)
so="$build/collectd-plugin/.libs/themis.so"
[ -f "$so" ] || { echo "ingest-bench: $so not built" >&2; exit 1; }
for c in collectd curl taskset jq /usr/bin/time; do
	command -v "$c" >/dev/null || { echo "ingest-bench: $c missing" >&2; exit 1; }
done
d=$(mktemp -d /tmp/themis-ingest-bench.XXXXXX)
pid=""
hpid=""
cleanup() {
	[ -z "$hpid" ] || kill "$hpid" 2>/dev/null || true
	[ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null || true
	rm -rf "$d"
}
trap cleanup EXIT
mkdir -p "$d/plugins" "$d/batches"
printf 'bench-token\n' >"$d/token"
chmod 600 "$d/token"
auth="Authorization: Bearer bench-token"
cp -L "$so" "$d/plugins/themis.so"
cp -L /usr/lib/collectd/curl_json.so /usr/lib/collectd/logfile.so "$d/plugins/"
t0=$(($(date +%s) - n - 600)) # every record inside the accepted window (AcceptPast below)

# records FROM COUNT [STREAM]: COUNT "second" records of one stream, JSON array rows.
records() {
	awk -v from="$1" -v count="$2" -v t0="$t0" -v st="${3:-0}" 'BEGIN {
		for (i = from; i < from + count; i++) {
			r = 60 + i % 41
			printf "%s{\"kind\":\"second\",\"vm\":\"vm-bench\",\"stream\":\"sup:vm-bench:%s\",\"t\":%d,\"interval_ms\":10,\"sent\":100,\"received\":%d,\"lost_up\":%d,\"lost_down\":0,\"lost_unknown\":0,\"late\":0,\"dup\":0,\"rtt_min_ms\":0.210,\"rtt_avg_ms\":0.350,\"rtt_max_ms\":1.500,\"jitter_ms\":0.040,\"max_gap_ms\":30.000}\n", (i > from ? "," : ""), st, t0 + i, r, 100 - r
		}
	}'
}
for ((c = 0; c < clients; c++)); do
	: >"$d/client$c.args"
done
for ((i = 0, k = 0; i < n; i += batch, k++)); do
	c=$((k % clients))
	f=$(printf '%s/batches/%08d.json' "$d" "$i")
	{ printf '['; records "$i" "$batch" "$c"; printf ']'; } >"$f"
	# a curl config: one request per block, "next" between them (one keep-alive connection)
	printf 'url = "http://127.0.0.1:PORT/v1/records"\nheader = "%s"\ndata-binary = "@%s"\noutput = "/dev/null"\nnext\n' \
		"$auth" "$f" >>"$d/client$c.args"
done
{ printf '['; records 0 "$n"; printf ']'; } >"$d/all.json"
{ printf '['; records 0 1; printf ']'; } >"$d/one.json"

common() {
	cat <<CONF
Hostname "bench"
BaseDir "$d"
PIDFile "$d/collectd.pid"
PluginDir "$d/plugins"
TypesDB "/usr/share/collectd/types.db" "$src/collectd-plugin/themis-types.db"
Interval 3600
LoadPlugin logfile
<Plugin logfile>
  LogLevel warning
  File "$d/collectd.log"
</Plugin>
CONF
}

# ---- themis
port=$((20000 + RANDOM % 20000))
{
	common
	cat <<CONF
LoadPlugin themis
<Plugin themis>
  Listen "127.0.0.1" "$port"
  TokenFile "$d/token"
  MaxBodySize 16777216
  MaxQueue 100000000
  AcceptPast $((n + 7200 > 604800 ? n + 7200 : 604800))
$([ "${ARCHIVE:-0}" = 1 ] && printf '  ArchiveDir "%s/archive"\n' "$d")
</Plugin>
CONF
} >"$d/themis.conf"
taskset -c 0 collectd -f -C "$d/themis.conf" >>"$d/collectd.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/v1/health" >/dev/null 2>&1 && break; sleep 0.1; done
if [ "${ARCHIVE:-0}" = 1 ]; then
	curl -fsS -o /dev/null -H "$auth" --data-binary \
		"{\"kind\":\"marker\",\"session\":\"bench.1\",\"vm\":\"vm-bench\",\"event\":\"session-start\",\"t\":$t0}" \
		"http://127.0.0.1:$port/v1/markers"
fi
rss0=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status")
if [ "${HOSTILE:-0}" = 1 ]; then
	head -c 4000000 /dev/zero | tr '\0' '[' >"$d/big"
	{ head -c 1000000 /dev/zero | tr '\0' '['; head -c 1000000 /dev/zero | tr '\0' ']'; } >"$d/deep"
	records 0 1 | sed 's/"t":[0-9]*/"t":4070908800/; s/^/[/; s/$/]/' >"$d/future.json"
	# hostile: one round of the mix; loops until $d/stop exists (bounded by the run itself)
	hostile() {
		local round=0 i
		while [ ! -e "$d/stop" ]; do
			awk -v r="$round" -v t="$t0" 'BEGIN { printf "["; for (i = 0; i < 1000; i++)
				printf "%s{\"kind\":\"marker\",\"session\":\"h%d.%d\",\"vm\":\"hvm%d\",\"event\":\"session-start\",\"t\":%d}", i ? "," : "", r, i, i % 100, t + 10
				printf "]" }' >"$d/sessions.json"
			for i in 1 2 3 4 5 6 7 8; do
				curl -s -o /dev/null --data-binary "@$d/big" "http://127.0.0.1:$port/v1/records" &
			done
			for f in deep:markers future.json:records sessions.json:markers; do
				curl -s -o /dev/null -H "$auth" --data-binary "@$d/${f%%:*}" \
					"http://127.0.0.1:$port/v1/${f#*:}" &
			done
			wait
			round=$((round + 1))
			printf '%s\n' "$round" >"$d/rounds"
		done
	}
	taskset -c 1 bash -c "$(declare -f hostile records); d='$d' port='$port' auth='$auth' t0='$t0' hostile" &
	hpid=$!
fi
start=$(date +%s.%N)
cpids=()
for ((c = 0; c < clients; c++)); do
	sed "s/PORT/$port/" "$d/client$c.args" >"$d/client$c.curlrc"
	taskset -c 1 curl -fsS -K "$d/client$c.curlrc" -o /dev/null "http://127.0.0.1:$port/v1/health" &
	cpids+=("$!")
done
for p in "${cpids[@]}"; do wait "$p"; done
want=$((2 * n))
while :; do
	got=$(curl -fsS -H "$auth" "http://127.0.0.1:$port/v1/health" | jq .dispatched)
	[ "$got" -ge "$want" ] && break
	sleep 0.05
done
end=$(date +%s.%N)
hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$pid/status")
if [ -n "$hpid" ]; then
	: >"$d/stop"
	wait "$hpid" || true
	hpid=""
	printf 'hostile mix        %s rounds (8 x 4 MB unauthenticated, 2 MB nesting, 2099, 1000 sessions each)\n' \
		"$(cat "$d/rounds" 2>/dev/null || echo 0)"
fi
kill -TERM "$pid"
wait "$pid" || true
pid=""
th_s=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')
th_rate=$(awk -v n="$n" -v s="$th_s" 'BEGIN { printf "%.0f", n / s }')

if [ "${CURL_JSON:-1}" = 0 ]; then
	printf 'records            %d (batches of %d, %d clients)\n' "$n" "$batch" "$clients"
	printf 'themis  HTTP ingest %8s s  %9d records/s  %9d values/s  RSS %d KB idle, %d KB peak\n' \
		"$th_s" "$th_rate" "$((th_rate * 12))" "$rss0" "$hwm"
	exit 0
fi

# ---- curl_json
cj_conf() { # cj_conf FILE
	common
	printf 'LoadPlugin curl_json\n<Plugin curl_json>\n  <URL "file://%s">\n    Instance "bench"\n' "$1"
	for k in sent received lost_up lost_down lost_unknown late dup rtt_min_ms rtt_avg_ms rtt_max_ms jitter_ms max_gap_ms; do
		printf '    <Key "*/%s">\n      Type "gauge"\n    </Key>\n' "$k"
	done
	printf '  </URL>\n</Plugin>\n'
}
cj_conf "$d/all.json" >"$d/cj-all.conf"
cj_conf "$d/one.json" >"$d/cj-one.conf"
run_cj() { /usr/bin/time -f '%e %M' taskset -c 0 collectd -T -C "$1" 2>&1 >/dev/null | tail -n 1; }
read -r base_s base_kb < <(run_cj "$d/cj-one.conf")
read -r cj_s cj_kb < <(run_cj "$d/cj-all.conf")
cj_net=$(awk -v a="$cj_s" -v b="$base_s" 'BEGIN { d = a - b; if (d < 0.001) d = 0.001; printf "%.3f", d }')
cj_rate=$(awk -v n="$n" -v s="$cj_net" 'BEGIN { printf "%.0f", n / s }')

printf 'records            %d (batches of %d, %d clients)\n' "$n" "$batch" "$clients"
printf 'themis  HTTP ingest %8s s  %9d records/s  %9d values/s  RSS %d KB idle, %d KB peak\n' \
	"$th_s" "$th_rate" "$((th_rate * 12))" "$rss0" "$hwm"
printf 'curl_json file://   %8s s  %9d records/s  %9d values/s  peak RSS %d KB (one-record run %d KB, %ss)\n' \
	"$cj_net" "$cj_rate" "$((cj_rate * 12))" "$cj_kb" "$base_kb" "$base_s"
printf 'ratio themis / curl_json: %s\n' "$(awk -v a="$th_rate" -v b="$cj_rate" 'BEGIN { printf "%.1f", a / b }')"
