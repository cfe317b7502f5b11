#!/bin/bash
# archive-size.sh — disk cost of the session archive: bytes per session and per session-minute,
# for sessions of several lengths fed through a real collectd with the themis plugin, and for
# sessions with markers only.
#
#   bench/plugin/archive-size.sh BUILDDIR [SECONDS...]      (default: 10 60 600 3600)
#   EMPTY=N ...   also N sessions with a start and an end marker and no record (default 16)
#
# One `collectd -f` with only themis loaded (ArchiveDir, ArchiveLag 5); each session is one
# session-start marker, one "second" record per second of its length (posted 600 at a time,
# past timestamps, so the run takes seconds, not hours) and a session-end marker; once its JSON
# says "session-end" the files of the session are measured: apparent size (st_size) and space
# on disk (st_blocks x 512) of the .rrd, and the .json. Prints one line per session length and
# one for the markers-only sessions.
set -eu
build=${1:?usage: archive-size.sh BUILDDIR [SECONDS...]}
shift
lengths=("$@")
[ "${#lengths[@]}" -gt 0 ] || lengths=(10 60 600 3600)
empty=${EMPTY:-16}
src=$(cd "$(dirname "$0")/../.." && pwd)
so="$build/collectd-plugin/.libs/themis.so"
[ -f "$so" ] || { echo "archive-size: $so not built" >&2; exit 1; }
for c in collectd curl jq stat; do
	command -v "$c" >/dev/null || { echo "archive-size: $c missing" >&2; exit 1; }
done
d=$(mktemp -d /tmp/themis-archive-size.XXXXXX)
pid=""
cleanup() { [ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null || true; rm -rf "$d"; }
trap cleanup EXIT
mkdir -p "$d/plugins"
cp -L "$so" "$d/plugins/themis.so"
cp -L /usr/lib/collectd/logfile.so "$d/plugins/"
port=$((20000 + RANDOM % 20000))
cat >"$d/collectd.conf" <<CONF
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
LoadPlugin themis
<Plugin themis>
  Listen "127.0.0.1" "$port"
  MaxBodySize 16777216
  ArchiveDir "$d/archive"
  ArchiveLag 5
  SessionGrace 0
</Plugin>
CONF
collectd -f -C "$d/collectd.conf" >>"$d/collectd.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/v1/health" >/dev/null 2>&1 && break; sleep 0.1; done

post() { # post PATH BODY
	printf '%s' "$2" >"$d/body.json"
	curl -fsS -o /dev/null -H 'Content-Type: application/json' --data-binary "@$d/body.json" \
		"http://127.0.0.1:$port$1" || { echo "archive-size: POST $1 failed" >&2; exit 1; }
}
marker() { # marker SESSION EVENT T
	printf '{"kind":"marker","session":"%s","vm":"vm-bench","event":"%s","t":%s%s}' "$1" "$2" "$3" \
		"$([ "$2" != session-end ] || printf ',"summary":{"outcome":"success"}')"
}
records() { # records FROM COUNT: COUNT "second" records from second FROM, a JSON array
	awk -v from="$1" -v count="$2" 'BEGIN {
		printf "["
		for (i = 0; i < count; i++) {
			r = 60 + i % 41
			printf "%s{\"kind\":\"second\",\"vm\":\"vm-bench\",\"stream\":\"s\",\"t\":%d,\"interval_ms\":10,\"sent\":100,\"received\":%d,\"lost_up\":%d,\"lost_down\":0,\"lost_unknown\":0,\"late\":0,\"dup\":0,\"rtt_min_ms\":0.210,\"rtt_avg_ms\":0.350,\"rtt_max_ms\":1.500,\"jitter_ms\":0.040,\"max_gap_ms\":30.000}", (i ? "," : ""), from + i, r, 100 - r
		}
		printf "]"
	}'
}
closed() { [ "$(jq -r .closed_by "$d/archive/vm-bench/$1.json" 2>/dev/null)" = session-end ]; }
wait_closed() {
	for _ in $(seq 1 600); do closed "$1" && return 0; sleep 0.1; done
	echo "archive-size: session $1 not closed after 60 s" >&2
	exit 1
}
size() { [ -e "$1" ] && stat -c %s "$1" || echo 0; }
disk() { [ -e "$1" ] && echo $(($(stat -c %b "$1") * 512)) || echo 0; }

t=$(($(date +%s) - 40000)) # every session inside AcceptPast (7 days), none in the future
printf '%-16s %12s %12s %8s %8s %14s\n' session rrd_bytes rrd_on_disk rows json bytes/minute
for n in "${lengths[@]}"; do
	s="len.$n"
	post /v1/markers "$(marker "$s" session-start "$t")"
	for ((i = 0; i < n; i += 600)); do
		c=$((n - i < 600 ? n - i : 600))
		post /v1/records "$(records $((t + i)) "$c")"
	done
	post /v1/markers "$(marker "$s" session-end "$((t + n - 1)).5")"
	wait_closed "$s"
	f="$d/archive/vm-bench/$s"
	rows=$(rrdtool info "$f.rrd" 2>/dev/null | sed -n 's/^rra\[0\]\.rows = //p')
	printf '%-16s %12d %12d %8s %8d %14.0f\n' "${n} s" "$(size "$f.rrd")" "$(disk "$f.rrd")" \
		"${rows:--}" "$(size "$f.json")" \
		"$(awk -v b="$(disk "$f.rrd")" -v j="$(disk "$f.json")" -v n="$n" 'BEGIN { print (b + j) * 60 / n }')"
	t=$((t + n + 100))
done
if [ "$empty" -gt 0 ]; then
	for ((k = 0; k < empty; k++)); do
		post /v1/markers "[$(marker "empty.$k" session-start "$t"),$(marker "empty.$k" session-end "$((t + 9)).5")]"
		t=$((t + 20))
	done
	wait_closed "empty.$((empty - 1))"
	rrd=0 json=0 nrrd=0
	for ((k = 0; k < empty; k++)); do
		f="$d/archive/vm-bench/empty.$k"
		[ ! -e "$f.rrd" ] || nrrd=$((nrrd + 1))
		rrd=$((rrd + $(disk "$f.rrd")))
		json=$((json + $(disk "$f.json")))
	done
	printf 'markers only: %d sessions, %d with an RRD, %d bytes of RRD and %d bytes of JSON on disk (%d bytes per session)\n' \
		"$empty" "$nrrd" "$rrd" "$json" "$(((rrd + json) / empty))"
fi
printf 'archive directory on disk: %s\n' "$(du -sh "$d/archive" | cut -f1)"
kill -TERM "$pid"
wait "$pid" || true
pid=""
