#!/bin/bash
# bench/lab/sweep.sh — the classic pre-copy experiment in the lab: live migrations of one guest
# while themis-guest-load dirties its memory, swept over the dirty rate × the migration's
# max-bandwidth, N migrations per point. Per migration: QEMU's downtime, total time and RAM
# transferred (themis-lab migrate-info), whether it converged (a migration still running after
# TIMEOUT s is cancelled: "timeout"), the network-visible outage (themis-agent probe every 10 ms
# from the supervisor namespace: the longest outage starting inside the migration) and whether
# the guest still answered SSH afterwards. Every point gets a fresh lab (a guest that did not
# survive a migration cannot be measured again). Output: OUT/sweep.csv (one line per
# migration), OUT/points.csv (medians per point), OUT/sweep.svg (gnuplot, when installed).
# Usage (root, from a built tree): bench/lab/sweep.sh [OUT]; sizes from the environment:
#   RATES="0 16 32 64 128" (MB/s, 2^20 B)  BWS="32M 128M"  N=1  WSS=128 (MiB)  MEMORY=256 (MiB)
#   TIMEOUT=30 (s)  TOP_BUILDDIR=build
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top_builddir=${TOP_BUILDDIR:-$here/../../build}
lab="$top_builddir/lab/themis-lab"
agent="$top_builddir/agent/themis-agent"
trigger="$top_builddir/trigger/themis-trigger"
out=${1:-$PWD/sweep-out}
RATES=${RATES:-0 16 32 64 128}
BWS=${BWS:-32M 128M}
N=${N:-1}
WSS=${WSS:-128}
MEMORY=${MEMORY:-256}
TIMEOUT=${TIMEOUT:-30}
export THEMIS_LAB_DIR=${THEMIS_LAB_DIR:-/run/themis-lab-sweep} THEMIS_LAB_PREFIX=${THEMIS_LAB_PREFIX:-thsweep}

die() { echo "sweep: $*" >&2; exit 1; }
log() { echo "sweep: $*" >&2; }
[ "$(id -u)" -eq 0 ] || die "needs root (the lab's network namespaces)"
if [ ! -x "$lab" ] || [ ! -x "$agent" ]; then die "build first ($lab, $agent)"; fi
command -v jq >/dev/null || die "jq missing"
mkdir -p "$out"
probe_pid=''
cleanup() {
	[ -z "$probe_pid" ] || kill -TERM "$probe_pid" 2>/dev/null || true
	"$lab" down >/dev/null 2>&1 || true
}
trap cleanup EXIT

# the decomposition of the network outage needs the trigger's hypervisor events; without them
# the outage is the probe's own
if [ -x "$trigger" ] && "$trigger" --help 2>&1 | grep -q -- '--hv-events'; then
	log "themis-trigger has --hv-events: run it per point for the pause/resume decomposition (not done by this script)"
fi

{
	echo "# $(date -u +%FT%TZ) $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), TCG, guest ${MEMORY} MiB, wss ${WSS} MiB, timeout ${TIMEOUT} s"
	echo "rate_mb_s,max_bandwidth,cycle,status,downtime_ms,total_ms,ram_bytes,outage_ms,guest_alive,achieved_mb_s"
} >"$out/sweep.csv"

# migrate_once: one live migration of vm0 through the endpoint; its migrate-info line in INFO
migrate_once() {
	local f="$THEMIS_LAB_DIR/migration/vm0.migrations" n0=0 k
	[ ! -f "$f" ] || n0=$(wc -l <"$f")
	"$lab" scheduler --every 1 --count 1 --vm vm0 >/dev/null 2>&1 || return 1
	for ((k = 0; k < (TIMEOUT + 60) * 10; k++)); do
		[ -f "$f" ] && [ "$(wc -l <"$f")" -gt "$n0" ] && break
		sleep 0.1
	done
	INFO=$("$lab" migrate-info vm0)
}
key() { printf '%s\n' "$1" | sed -n "s/.* $2=\\([0-9a-z]*\\).*/\\1/p"; }

for bw in $BWS; do
	for rate in $RATES; do
		log "point: dirty ${rate} MB/s, max-bandwidth $bw"
		"$lab" down >/dev/null 2>&1 || true
		"$lab" up --hosts 2 --vms 1 --accel tcg --memory "$MEMORY" >"$out/up.log" 2>&1 ||
			die "lab up failed (see $out/up.log)"
		"$lab" migrate-params vm0 --max-bandwidth "$bw" --timeout "$TIMEOUT" >/dev/null
		if [ "$rate" != 0 ]; then
			"$lab" load vm0 --dirty-rate "$rate" --wss "$WSS" >/dev/null
			sleep 2
		fi
		rec="$out/probe-$rate-$bw.json"
		rm -f "$rec"
		"$lab" exec --in sup -- "$agent" probe --target 10.77.0.100:7300 --vm vm0 --interval 10 \
			--key-file "$THEMIS_LAB_DIR/keys/vm0.reflect.key" --report "$rec" --quiet \
			>/dev/null 2>&1 &
		probe_pid=$!
		sleep 3
		for ((c = 1; c <= N; c++)); do
			t_a=$(date +%s.%N)
			migrate_once || INFO="status=refused"
			t_b=$(date +%s.%N)
			sleep 3 # the outage ends (or not) and the probe reports it
			achieved='' alive=0
			if [ "$rate" != 0 ]; then
				if r=$("$lab" load vm0 --report 2>/dev/null); then
					alive=1
					achieved=$(printf '%s\n' "$r" | sed -n 's/.* achieved_mb_s=\([0-9.]*\).*/\1/p')
				fi
			elif "$lab" exec --in sup -- ssh -o ConnectTimeout=3 root@10.77.0.100 true 2>/dev/null; then
				alive=1
			fi
			outage=''
			if [ -s "$rec" ]; then
				outage=$(jq -r --argjson a "$t_a" --argjson b "$t_b" \
					'select(.kind == "outage" and .start >= $a - 0.5 and .start <= $b + 1) | .duration_ms' \
					"$rec" 2>/dev/null | sort -n | tail -n 1)
			fi
			if [ -z "$outage" ] && [ "$alive" = 1 ]; then outage=0; fi
			printf '%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n' "$rate" "$bw" "$c" "$(key "$INFO" status)" \
				"$(key "$INFO" downtime_ms)" "$(key "$INFO" total_ms)" "$(key "$INFO" ram_bytes)" \
				"$outage" "$alive" "$achieved" | tee -a "$out/sweep.csv" >&2
			[ "$alive" = 1 ] || break
		done
		kill -TERM "$probe_pid" 2>/dev/null || true
		wait "$probe_pid" 2>/dev/null || true
		probe_pid=''
	done
done
"$lab" down >/dev/null 2>&1 || true

# medians per point; non-converged = migrations that timed out
awk -F, '
	/^#/ || /^rate/ { next }
	{ k = $1 "," $2; n[k]++; if ($4 == "timeout") nc[k]++; if ($9 != 1) dead[k]++
	  if ($4 == "completed") { d[k] = d[k] " " $5; t[k] = t[k] " " $6; r[k] = r[k] " " $7 }
	  if ($8 != "") o[k] = o[k] " " $8; if (!(k in seen)) { seen[k] = 1; order[++m] = k } }
	function med(s,   a, c, i, j, x) { c = split(s, a, " "); if (!c) return ""
		for (i = 1; i <= c; i++) for (j = i + 1; j <= c; j++) if (a[j] + 0 < a[i] + 0) { x = a[i]; a[i] = a[j]; a[j] = x }
		return c % 2 ? a[(c + 1) / 2] : (a[c / 2] + a[c / 2 + 1]) / 2 }
	BEGIN { print "rate_mb_s,max_bandwidth,migrations,non_converged,downtime_ms,total_ms,ram_bytes,outage_ms,guest_lost" }
	END { for (i = 1; i <= m; i++) { k = order[i]
		printf "%s,%d,%d,%s,%s,%s,%s,%d\n", k, n[k], nc[k], med(d[k]), med(t[k]), med(r[k]), med(o[k]), dead[k] } }
' "$out/sweep.csv" >"$out/points.csv"
column -t -s, "$out/points.csv" >&2

if command -v gnuplot >/dev/null; then
	for bw in $BWS; do
		grep "^[0-9]*,$bw," "$out/points.csv" >"$out/points-$bw.dat" || true
	done
	{
		echo "set terminal svg size 900,420 dynamic font 'sans,11'"
		echo "set output '$out/sweep.svg'"
		echo "set datafile separator ','"
		echo "set multiplot layout 1,2 title 'Lab live migration: dirty rate x max-bandwidth (TCG, ${MEMORY} MiB guest, wss ${WSS} MiB)'"
		echo "set xlabel 'dirty rate (MB/s)'; set ylabel 'downtime (ms)'; set key top left; set grid"
		printf "plot "
		sep=''
		for bw in $BWS; do
			printf "%s'%s' using 1:5 with linespoints title 'QEMU downtime, %s/s', '%s' using 1:8 with points title 'network outage, %s/s'" \
				"$sep" "$out/points-$bw.dat" "$bw" "$out/points-$bw.dat" "$bw"
			sep=', '
		done
		echo
		echo "set ylabel 'total migration time (ms)'"
		printf "plot "
		sep=''
		for bw in $BWS; do
			printf "%s'%s' using 1:6 with linespoints title 'total time, %s/s'" "$sep" "$out/points-$bw.dat" "$bw"
			sep=', '
		done
		echo
		echo "unset multiplot"
	} >"$out/sweep.gp"
	gnuplot "$out/sweep.gp" && log "plot $out/sweep.svg"
fi
log "figures $out/sweep.csv, per point $out/points.csv"
