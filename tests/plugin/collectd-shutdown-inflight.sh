#!/bin/bash
# collectd-shutdown-inflight.sh — nothing acknowledged is lost at a clean shutdown, nothing is
# stored twice. Four clients post records without pause (one second per request, each stream
# its own VM and its own increasing seconds, re-sent until acknowledged as agents do) while
# collectd is stopped with SIGTERM and started again with the same configuration, 15 times.
# collectd stops its write threads before the plugins' shutdown functions run: values
# dispatched from then on, or still queued, never reach a writer, while the plugin counts them
# as dispatched (one sent again after the restart is a duplicate). They must be dispatched
# again by the next start. The stock csv plugin (which writes each value as it gets it) is the
# writer read back: over all runs, every (VM, second) answered 200 (the first time or when
# sent again) is in the csv files exactly once, with its exact values; no second never
# answered 200 is there twice.
# timeout: 150
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
# shellcheck source=tests/plugin/plugin-lib.sh
. "$top_srcdir/tests/plugin/plugin-lib.sh"
tp_require

d=$TH_TMP
port=$(th_free_port)
CYCLES=${TP_SHUTDOWN_CYCLES:-15} # stops in the middle of the posting
VMS="c1 c2 c3 c4"
mkdir -p "$d/archive"
printf '%s\n' "$TP_TOKEN" >"$d/token"
chmod 600 "$d/token"
tp_plugindir "$d/plugins" csv logfile
{
	tp_conf_base edge collectd "$d/plugins"
	cat <<CONF
LoadPlugin csv
<Plugin csv>
  DataDir "$d/csv"
  StoreRates false
</Plugin>
LoadPlugin themis
<Plugin themis>
  Listen "127.0.0.1" "$port"
  TokenFile "$d/token"
  ArchiveDir "$d/archive"
</Plugin>
CONF
} >"$d/collectd.conf"

T0=$(($(date +%s) - 3600)) # 3000 seconds a stream at most: all inside the accepted window
recv_at() { printf '%s\n' "$(($1 * 7 % 101))"; }
# client VM: post T0, T0+1, ... one per request, like an agent: a second not answered 200 (503,
# or no answer while collectd is down) is sent again until it is, or until $d/clients.stop
# exists. Each request is logged as "<t> <status>" (000: no answer) in $d/client.VM.
client() {
	local vm=$1 i out
	for ((i = 0; i < 3000; i++)); do
		while :; do
			[ ! -e "$d/clients.stop" ] || return 0
			out=$(curl -sS -o /dev/null -m 5 -w '%{http_code}' -X POST \
				-H "Authorization: Bearer $TP_TOKEN" \
				--data-binary "[$(tp_second "$vm" s $((T0 + i)) "$(recv_at "$i")")]" \
				"http://127.0.0.1:$port/v1/records" 2>/dev/null) || true
			printf '%s %s\n' "$((T0 + i))" "${out:-000}" >>"$d/client.$vm"
			[ "${out:-000}" != 200 ] || break
			sleep 0.05
		done
	done
}
acked() { grep -c ' 200$' "$d/client.$1" 2>/dev/null || true; }
# all_acked N: every client has at least N requests answered 200.
all_acked() {
	local vm
	for vm in $VMS; do
		[ "$(acked "$vm")" -ge "$1" ] || return 1
	done
}
min_acked() {
	local vm m=
	for vm in $VMS; do
		[ -n "$m" ] && [ "$(acked "$vm")" -ge "$m" ] || m=$(acked "$vm")
	done
	printf '%s\n' "$m"
}

tp_start run0 "$d/collectd.conf"
tp_wait_health "$port" run0
pids=()
for vm in $VMS; do
	: >"$d/client.$vm"
	client "$vm" &
	pids+=("$!")
	th_on_exit kill "$!"
done
run=0
for ((c = 1; c <= CYCLES; c++)); do
	th_wait_for 60 all_acked $(($(min_acked) + 25))
	pid_var="TP_PID_run$run"
	tp_stop_within 20 "${!pid_var:?}" || th_fail "collectd did not stop within 20 s of SIGTERM"
	run=$c
	tp_start "run$run" "$d/collectd.conf"
	tp_wait_health "$port" "run$run"
	sleep 1 # each run takes requests for a while
done
sleep 2
th_wait_for 60 all_acked $(($(min_acked) + 25))
left=$(grep -hoE '[0-9]+ value lists? (was|were) left' "$d/collectd-file.log" | paste -sd ',' || true)
th_log "$CYCLES stops; collectd said: ${left:-nothing left in its write queue}"
touch "$d/clients.stop"
for p in "${pids[@]}"; do wait "$p" || true; done
sleep 1
pid_var="TP_PID_run$run"
tp_stop "${!pid_var:?}"

# Per VM: "<t> <count> <sent> <received>" of the csv lines over all runs, against the requests.
for vm in $VMS; do
	cat "$d/csv/edge/themis-$vm"/themis_probe-* 2>/dev/null |
		awk -F, '$1 ~ /^[0-9]/ { split($1, e, "."); n[e[1]]++; s[e[1]] = $2 + 0; r[e[1]] = $3 + 0 }
			END { for (t in n) print t, n[t], s[t], r[t] }' | sort -n >"$d/stored.$vm"
	awk -v t0="$T0" -v vm="$vm" '
		FNR == NR { tries[$1]++; if (code[$1] != 200) { code[$1] = $2; at[$1] = tries[$1] }; next }
		{ stored[$1] = 1
		  if ($2 != 1) twice = twice " T0+" $1 - t0 "(" $2 "x," code[$1] ")"
		  if (!($1 in code)) alien = alien " T0+" $1 - t0
		  else if ($3 != 100 || $4 != ($1 - t0) * 7 % 101)
			wrong = wrong " T0+" $1 - t0 "(" $3 "," $4 ")" }
		END {
			for (t in code) {
				if (code[t] == 200) acked++
				if (code[t] == 200 && !(t in stored)) missing = missing " T0+" t - t0 "(200 at try " at[t] ")"
				if (code[t] != 200 && (t in stored)) kept++
			}
			printf "%s: %d requests, %d answered 200, %d stored, %d stored but not answered 200\n",
			       vm, length(code), acked, length(stored), kept
			if (missing != "") printf "%s: answered 200 but not stored:%s\n", vm, missing
			if (twice != "") printf "%s: stored more than once:%s\n", vm, twice
			if (alien != "") printf "%s: stored but never posted:%s\n", vm, alien
			if (wrong != "") printf "%s: wrong values (sent,received):%s\n", vm, wrong
		}' "$d/client.$vm" "$d/stored.$vm" >"$d/verdict.$vm"
	th_log "$(head -n 1 "$d/verdict.$vm")"
	tail -n +2 "$d/verdict.$vm" | while IFS= read -r line; do th_fail_later "$line"; done
done
th_check_failures
th_log "ok: $CYCLES stops in the middle of posting, every acknowledged second stored exactly once"
