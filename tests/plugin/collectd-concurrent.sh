#!/bin/bash
# collectd-concurrent.sh — eight agents post at the same time (parallel curl clients, one VM
# and session each) into one collectd; then a clean shutdown (SIGTERM) with every archive row
# still pending (ArchiveLag 30): the shutdown writes them all. Every second of every VM is
# stored exactly once in the stock RRDs and in the archive.
# timeout: 180
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
# shellcheck source=tests/plugin/plugin-lib.sh
. "$top_srcdir/tests/plugin/plugin-lib.sh"
tp_require

d=$TH_TMP
port=$(th_free_port)
printf '%s\n' "$TP_TOKEN" >"$d/token"
chmod 600 "$d/token"
tp_plugindir "$d/plugins" rrdtool logfile
{
	tp_conf_base edge collectd "$d/plugins"
	tp_conf_rrdtool
	cat <<CONF
LoadPlugin themis
<Plugin themis>
  Listen "127.0.0.1" "$port"
  TokenFile "$d/token"
  Threads 4
  ArchiveDir "$d/archive"
  ArchiveLag 30
</Plugin>
CONF
} >"$d/collectd.conf"
tp_start edge "$d/collectd.conf"
th_wait_for 20 tp_health "$port"

T0=$(($(date +%s) - 300))
N=60
recv_at() { printf '%s\n' "$((40 + ($1 * 13 + $2 * 5) % 60))"; } # recv_at VM T
client() { # client VM: session-start, then N seconds in batches of 2, in order
	local vm=$1 i out
	curl -fsS -o /dev/null -X POST -H "Authorization: Bearer $TP_TOKEN" --data-binary \
		"{\"kind\":\"marker\",\"session\":\"par.$vm\",\"vm\":\"vm$vm\",\"event\":\"session-start\",\"t\":$T0}" \
		"http://127.0.0.1:$port/v1/markers" || return 1
	for ((i = 0; i < N; i += 2)); do
		out="[$(tp_second "vm$vm" s $((T0 + i)) "$(recv_at "$vm" "$i")"),$(tp_second "vm$vm" s $((T0 + i + 1)) "$(recv_at "$vm" $((i + 1)))")]"
		curl -fsS -o /dev/null -X POST -H "Authorization: Bearer $TP_TOKEN" \
			--data-binary "$out" "http://127.0.0.1:$port/v1/records" || return 1
	done
}
pids=()
for vm in 0 1 2 3 4 5 6 7; do
	client "$vm" &
	pids+=("$!")
done
for p in "${pids[@]}"; do
	wait "$p" || th_fail "a client's post failed"
done
drained() { tp_health_json "$port" | jq -e '.queued == 0' >/dev/null; }
th_wait_for 20 drained
sleep 1.5 # let the stock rrdtool plugin's queue write what was dispatched
tp_stop "${TP_PID_edge:?}"

for vm in 0 1 2 3 4 5 6 7; do
	json="$d/archive/vm$vm/par.$vm.json"
	th_assert_eq open "$(jq -r .closed_by "$json")" "vm$vm session still open"
	th_assert_eq "$((T0 + N - 1))" "$(jq .last "$json")" "vm$vm archive flushed at shutdown"
	for f in "$d/archive/vm$vm/par.$vm.rrd" "$d/rrd/edge/themis-vm$vm/themis_probe-par.$vm.rrd"; do
		rrdtool fetch "$f" AVERAGE -r 1 -s "$((T0 - 1))" -e "$((T0 + N - 1))" >"$d/fetch"
		for ((t = 0; t < N; t++)); do
			row=$(awk -v ts="$((T0 + t)):" '$1 == ts { printf "%.10g %.10g\n", $2, $3 }' "$d/fetch")
			th_assert_eq "100 $(recv_at "$vm" "$t")" "$row" "$f second T0+$t"
		done
	done
done
th_log "ok: 8 x $N seconds stored exactly once"
