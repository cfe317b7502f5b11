#!/bin/bash
# collectd-rrdcached-frozen.sh — an rrdcached that stops answering never stalls ingest. The
# session archive goes through a real rrdcached (unix socket) that is frozen (SIGSTOP) for
# about 10 s in the middle of a session while an agent-like loop posts one second per 0.2 s:
# every POST is still answered 200 within 2 s, GET /v1/health within 1 s with a non-zero
# archive_waiting, and the values still reach the stock rrdtool plugin (its file keeps up with
# what was acknowledged). A second session has collectd stopped (SIGTERM) while rrdcached is
# frozen: it exits within 15 s, and after rrdcached is back and collectd restarted with the same
# configuration the agent posts the rest of it. Afterwards both sessions are closed by their
# session-end markers and every second is in the archive RRD once with its exact value (sent
# 100, received as posted); the stock file of the first session holds every second too.
# With TP_STALL=blackhole (collectd-rrdcached-blackhole.sh) rrdcached listens on TCP in a
# network namespace of its own and, instead of being frozen, is cut off by an nftables rule that
# drops everything sent to its port; collectd and the agent run in a second namespace, linked to
# the first by a veth pair.
# Every check is run and the failures reported together at the end.
# timeout: 180
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
# shellcheck source=tests/plugin/plugin-lib.sh
. "$top_srcdir/tests/plugin/plugin-lib.sh"
tp_require
th_require_cmd rrdcached rrdcached
: "${TP_STALL:=freeze}"

d=$TH_TMP
port=$(th_free_port)
mkdir -p "$d/archive" "$d/journal"
printf '%s\n' "$TP_TOKEN" >"$d/token"
chmod 600 "$d/token"
if [ "$TP_STALL" = blackhole ]; then
	th_require_root
	th_require_cmd nft nftables
	edge=$(th_netns_add edge)
	cache=$(th_netns_add cache)
	th_netns_link "$edge" 10.231.0.1/30 "$cache" 10.231.0.2/30 >/dev/null
	cport=42217 # the namespace is new: any port is free there
	address="10.231.0.2:$cport"
	# librrd refuses absolute paths for a daemon on TCP: the archive is named relative to
	# collectd's BaseDir ($d), which is also the daemon's base directory (-b).
	archive=archive
	# Every request of this test (plugin-lib.sh's helpers included) comes from collectd's side.
	curl() { ip netns exec "$edge" curl "$@"; }
else
	address="unix:$d/rrdcached.sock"
	archive=$d/archive
fi

# The daemon keeps updates in its cache (-w 3600) and writes them all when it stops (-F).
cached_start() {
	if [ "$TP_STALL" = blackhole ]; then
		ip netns exec "$cache" rrdcached -g -F -w 3600 -f 7200 -z 1 -b "$d" -l "$address" \
			-j "$d/journal" -p "$d/rrdcached.pid" >>"$d/rrdcached.log" 2>&1 &
	else
		rrdcached -g -F -w 3600 -f 7200 -z 1 -l "$address" -j "$d/journal" \
			-p "$d/rrdcached.pid" >>"$d/rrdcached.log" 2>&1 &
	fi
	cached_pid=$!
	th_on_exit kill -KILL "$cached_pid"
	if [ "$TP_STALL" = blackhole ]; then
		listening() { ip netns exec "$cache" ss -Htln "sport = :$cport" | grep -q .; }
		th_wait_for 20 listening
	else
		th_wait_for 20 test -S "$d/rrdcached.sock"
	fi
}
stall() {
	if [ "$TP_STALL" = blackhole ]; then
		ip netns exec "$cache" nft -f - <<NFT
table inet th_stall {
	chain input {
		type filter hook input priority 0; policy accept;
		tcp dport $cport drop
	}
}
NFT
	else
		kill -STOP "$cached_pid"
	fi
	th_log "rrdcached stalled ($TP_STALL)"
}
unstall() {
	if [ "$TP_STALL" = blackhole ]; then
		ip netns exec "$cache" nft delete table inet th_stall
	else
		kill -CONT "$cached_pid"
	fi
	th_log "rrdcached back"
}

tp_plugindir "$d/plugins" rrdtool logfile
{
	tp_conf_base edge collectd "$d/plugins"
	tp_conf_rrdtool
	cat <<CONF
LoadPlugin themis
<Plugin themis>
  Listen "127.0.0.1" "$port"
  TokenFile "$d/token"
  ArchiveDir "$archive"
  RRDCachedAddress "$address"
  ArchiveLag 2
  SessionGrace 1
</Plugin>
CONF
} >"$d/collectd.conf"
collectd_start() {
	if [ "$TP_STALL" = blackhole ]; then
		tp_start_in "$edge" "$1" "$d/collectd.conf"
	else
		tp_start "$1" "$d/collectd.conf"
	fi
	tp_wait_health "$port" "$1"
}

T0=$(($(date +%s) - 600))
SA=stall.20261201T000000Z.0000000a.c1 # frozen mid-session
SB=stall.20261201T000000Z.0000000b.c1 # collectd stopped while frozen
recv_at() { printf '%s\n' "$((50 + ($1 * 7) % 50))"; }
marker() { # marker SESSION VM EVENT T [EXTRA]
	printf '{"kind":"marker","session":"%s","vm":"%s","event":"%s","t":%s%s}' \
		"$1" "$2" "$3" "$4" "${5:-}"
}
end_session() { # end_session SESSION VM LAST
	local summary=',"summary":{"outcome":"success","downtime_ms":0}'
	tp_expect_post 200 "$port" /v1/markers "[$(marker "$1" "$2" session-end "$3.5" "$summary")]" \
		>/dev/null
}
# agent VM FROM TO: post the seconds T0+FROM..T0+TO one per request, one request per 0.2 s,
# each re-sent until answered 200 (an agent keeps what was not acknowledged) or until
# $d/agent.stop exists; every request is logged as "<vm> <i> <status> <seconds>" in
# $d/requests. The seconds acknowledged are thus always T0+FROM..T0+newest_acked.
agent() {
	local vm=$1 i out
	for ((i = $2; i <= $3; i++)); do
		while [ ! -e "$d/agent.stop" ]; do
			out=$(curl -sS -o /dev/null -m 10 -w '%{http_code} %{time_total}' -X POST \
				-H "Authorization: Bearer $TP_TOKEN" \
				--data-binary "[$(tp_second "$vm" "sup/$vm/7931" $((T0 + i)) "$(recv_at "$i")")]" \
				"http://127.0.0.1:$port/v1/records" 2>/dev/null) || true
			printf '%s %s %s\n' "$vm" "$i" "${out:-000 -}" >>"$d/requests"
			[ "${out%% *}" != 200 ] || break
			sleep 0.2
		done
		[ ! -e "$d/agent.stop" ] || return 0
		sleep 0.2
	done
}
gone() { ! kill -0 "$1" 2>/dev/null; }
# agent_finish PID SECONDS WHAT: wait for the agent, stopping it after SECONDS (noted).
agent_finish() {
	th_poll_for "$2" gone "$1" || {
		th_fail_later "$3: the agent had not posted everything after $2 s"
		touch "$d/agent.stop"
	}
	wait "$1" || true
	rm -f "$d/agent.stop"
}
acked() { grep -c "^$1 [0-9]* 200 " "$d/requests" || true; }
acked_at_least() { [ "$(acked "$1")" -ge "$2" ]; }
newest_acked() {
	awk -v vm="$1" '$1 == vm && $3 == 200 && $2 > n { n = $2 } END { print n + 0 }' "$d/requests"
}
# health_during_stall N: GET /v1/health (with the token) once a second, N times; each must be
# answered within 1 s; the last must show archive_waiting > 0.
health_during_stall() {
	local k out waiting=
	for ((k = 1; k <= $1; k++)); do
		sleep 1
		out=$(curl -sS -o "$d/health.json" -m 10 -w '%{http_code} %{time_total}' \
			-H "Authorization: Bearer $TP_TOKEN" "http://127.0.0.1:$port/v1/health" \
			2>/dev/null) || true
		waiting=$(jq -r .archive_waiting "$d/health.json" 2>/dev/null || true)
		th_log "stalled ${k}s: GET /v1/health ${out:-no answer}, archive_waiting ${waiting:-?}"
		if [ "${out%% *}" != 200 ] || ! awk -v s="${out#* }" 'BEGIN { exit !(s < 1) }'; then
			th_fail_later "GET /v1/health ${k}s into the stall: '${out:-no answer}'" \
				"(want 200 within 1 s)"
		fi
	done
	[[ "${waiting:-}" =~ ^[1-9][0-9]*$ ]] ||
		th_fail_later "archive_waiting after ${1}s of stall: '${waiting:-}' (want > 0)"
}

cached_start
: >"$d/requests"
collectd_start run1

# --- A: rrdcached stalls for about 10 s in the middle of a session.
tp_expect_post 200 "$port" /v1/markers "[$(marker "$SA" vma session-start "$T0.5")]" >/dev/null
agent vma 0 99 &
agent_pid=$!
th_on_exit kill "$agent_pid"
th_wait_for 60 acked_at_least vma 15
stock_a="$d/rrd/edge/themis-vma/themis_probe-$SA.rrd"
n0=$(newest_acked vma)
stall
health_during_stall 9
# Every second acknowledged during the stall was dispatched: the stock file has it 0.5 s later.
n1=$(newest_acked vma)
sleep 0.5
l1=$(tp_lastupdate "$stock_a")
th_log "during the stall: acknowledged seconds $n0 -> $n1, stock file at T0+$((${l1:-T0} - T0))"
[ "$n1" -ge $((n0 + 10)) ] ||
	th_fail_later "only $((n1 - n0)) seconds acknowledged in 9 s of stall (want >= 10)"
[ "${l1:-0}" -ge $((T0 + n1)) ] ||
	th_fail_later "stock rrdtool file at '${l1:-none}' during the stall, behind the" \
		"acknowledged T0+$n1 = $((T0 + n1))"
unstall
agent_finish "$agent_pid" 60 "session A"
end_session "$SA" vma $((T0 + 99))

# --- B: collectd stopped (SIGTERM) while rrdcached is stalled, restarted once it is back; the
# agent goes on from its first second not acknowledged.
tp_expect_post 200 "$port" /v1/markers "[$(marker "$SB" vmb session-start "$T0.5")]" >/dev/null
agent vmb 0 59 &
agent_pid=$!
th_on_exit kill "$agent_pid"
th_wait_for 60 acked_at_least vmb 10
stall
sleep 4
touch "$d/agent.stop"
agent_finish "$agent_pid" 15 "session B before the stop"
t_stop=$EPOCHREALTIME
if tp_stop_within 15 "${TP_PID_run1:?}"; then
	took=$(awk -v a="$t_stop" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
	th_log "collectd stopped in $took s with rrdcached stalled"
else
	th_fail_later "collectd did not stop within 15 s of SIGTERM with rrdcached stalled (killed)"
	kill -KILL "$TP_PID_run1"
	wait "$TP_PID_run1" 2>/dev/null || true
fi
unstall
collectd_start run2
nb=$(newest_acked vmb)
th_log "session B: T0..T0+$nb acknowledged before the stop"
agent vmb $((nb + 1)) 59 &
agent_pid=$!
th_on_exit kill "$agent_pid"
agent_finish "$agent_pid" 60 "session B after the restart"
end_session "$SB" vmb $((T0 + 59))
closed() { [ "$(jq -r .closed_by "$d/archive/$1/$2.json" 2>/dev/null)" = session-end ]; }
for s in "vma $SA" "vmb $SB"; do
	read -r vm sess <<<"$s"
	th_poll_for 30 closed "$vm" "$sess" || th_fail_later "session of $vm: closed_by" \
		"'$(jq -r .closed_by "$d/archive/$vm/$sess.json" 2>&1)' (want session-end)"
done
tp_stop "${TP_PID_run2:?}"
# rrdcached writes everything it holds when it stops (-F).
tp_stop_within 30 "$cached_pid" || th_error "rrdcached did not stop within 30 s"

# --- Every request answered 200 within 2 s.
awk '$3 != 200 || $4 >= 2' "$d/requests" >"$d/slow"
[ ! -s "$d/slow" ] ||
	th_fail_later "$(wc -l <"$d/slow") of $(wc -l <"$d/requests") POSTs not answered 200 within" \
		"2 s (vm i status seconds): $(head -n 5 "$d/slow" | paste -sd ',')"
th_log "POSTs: $(wc -l <"$d/requests"), slowest $(sort -k4 -g "$d/requests" | tail -n 1)"

# --- Every second once, exact: "<sent> <received>" per second of FILE, T0..T0+LAST.
check_seconds() { # check_seconds FILE LAST WHAT
	local t row bad=0 first=
	rrdtool fetch "$1" AVERAGE -r 1 -s "$((T0 - 1))" -e "$((T0 + $2))" >"$d/fetch" 2>&1 ||
		{ th_fail_later "$3: cannot fetch $1: $(head -c 200 "$d/fetch")"; return; }
	for ((t = 0; t <= $2; t++)); do
		row=$(awk -v ts="$((T0 + t)):" '$1 == ts { printf "%.10g %.10g\n", $2, $3 }' "$d/fetch")
		if [ "$row" != "100 $(recv_at "$t")" ]; then
			bad=$((bad + 1))
			[ -n "$first" ] || first="T0+$t: '$row' (want '100 $(recv_at "$t")')"
		fi
	done
	[ "$bad" -eq 0 ] || th_fail_later "$3: $bad of $(($2 + 1)) seconds wrong, first $first"
}
for s in "vma $SA 99" "vmb $SB 59"; do
	read -r vm sess last <<<"$s"
	json="$d/archive/$vm/$sess.json"
	got=$(jq -r '"\(.first) \(.last)"' "$json" 2>&1)
	[ "$got" = "$T0 $((T0 + last))" ] ||
		th_fail_later "$vm archive first and last second: '$got' (want '$T0 $((T0 + last))')"
	check_seconds "$d/archive/$vm/$sess.rrd" "$last" "$vm archive RRD"
done
check_seconds "$stock_a" 99 "vma stock rrdtool file"
th_check_failures
th_log "ok ($TP_STALL): every POST answered within 2 s, every second archived once"
