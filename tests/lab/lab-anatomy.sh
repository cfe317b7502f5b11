#!/bin/bash
# lab-anatomy.sh — the anatomy of real lab migrations: themis-trigger run with --hv-events
# (the QMP events of the source and destination QEMU) for 3 live cycles and 1 cold cycle.
# Checks per cycle, from the trigger's markers journal, its --json summary, the prober's own
# records (kept by an agent wrapper that adds a second --report) and QEMU's migrate-info:
# - hv-pause and hv-resume present once, pause < resume, both inside the migration window
#   (migration-request .. migration-end + grace);
# - the summary's pieces are the markers' and the outage's: hv_pause/hv_resume = the markers' t,
#   hv_paused_ms = resume - pause, pre_pause_ms = outage start - pause, post_resume_ms = outage
#   end - resume (0.01 ms: the epoch times carry six decimals) and -pre + paused + post =
#   downtime_ms (0.01 ms); the network cannot come back before the guest runs nor go down
#   later than one probe interval after it stopped: post_resume_ms >= -bound, pre_pause_ms <=
#   bound (bound = decomp_bound_ms);
# - live: QEMU's downtime (source: downtime_start, just before STOP, to the source's end of
#   the final copy) against the hypervisor pause -> resume (source STOP -> destination RESUME).
#   QEMU's figure ends when the source has written the last bytes; the destination still
#   reads and loads them and starts the guest: source STOP -> source MIGRATION completed is
#   QEMU's downtime (within TOL_Q ms), and pause -> resume = QEMU downtime + source completed
#   -> destination RESUME (within TOL_Q ms); so QEMU downtime <= pause -> resume;
# - cold: the guest stops (QMP stop) before the migration and runs again on the destination
#   (cont): hv_paused_ms is that stop -> resume, QEMU's downtime (the stopped guest's final
#   copy) is shorter than it, and the network outage covers it (downtime_ms >= hv_paused_ms -
#   bound).
# Prints the figures per cycle.
# timeout: 900
: "${top_srcdir:?run through make check}"
# shellcheck source=../common/lib.sh
. "$top_srcdir/tests/common/lib.sh"
th_require_root
th_require_cmd qemu-system-x86_64 qemu-system-x86
th_require_cmd dropbearkey dropbear-bin
th_require_cmd jq jq
compgen -G '/boot/vmlinuz-*' >/dev/null || th_error "no /boot/vmlinuz-*: install linux-image-amd64"
agent="$top_builddir/agent/themis-agent"
trigger="$top_builddir/trigger/themis-trigger"
for b in "$agent" "$trigger" "$top_builddir/lab/themis-qmp-events"; do
	[ -x "$b" ] || th_error "$b not built"
done

lab="$top_builddir/lab/themis-lab"
export THEMIS_LAB_DIR="$TH_TMP/lab" THEMIS_LAB_PREFIX="$TH_TEST_ID-lab"
th_on_exit "$lab" down
# shellcheck source=lab-diag.sh
. "$top_srcdir/tests/lab/lab-diag.sh"
th_on_fail lab_diag
# QEMU's downtime is whole milliseconds of its own clock reads taken around, not at, the STOP
# and MIGRATION completed events (downtime_start just before the stop, end_time once the
# migration thread holds the iothread lock after "completed"): 1 ms of truncation plus the
# few ms between those reads and the events under TCG.
TOL_Q=5

"$lab" up --hosts 2 --vms 1 --accel tcg
grep -qx 'vm0: 10.77.0.100 qemu on host0' <("$lab" status) || th_fail "status: $("$lab" status)"
# the guest's context starts its reflector at boot (TCG: give it time)
th_wait_for 120 "$lab" exec --in sup -- ssh -o ConnectTimeout=2 root@10.77.0.100 \
	grep -q listening /var/log/themis-reflector.log

# the prober's records: the trigger removes its report once read; this wrapper gives every
# probe a second --report in $keep with the same name (themis-<session>.jsonl)
keep="$TH_TMP/keep"
mkdir -p "$keep"
cat >"$TH_TMP/agent-keep" <<EOF
#!/bin/sh
if [ "\$1" = probe ]; then
	for a in "\$@"; do
		case \$a in */themis-*.jsonl) exec "$agent" "\$@" --report "$keep/\${a##*/}" ;; esac
	done
fi
exec "$agent" "\$@"
EOF
chmod +x "$TH_TMP/agent-keep"

# run_trigger OUT_PREFIX ARG...: themis-trigger run against the lab as `themis-lab demo` runs
# it (prober on the supervisor, reflector started by the guest's context), with --hv-events
run_trigger() {
	local out=$1
	shift
	"$lab" exec -- "$trigger" run --vm vm0 "$@" \
		--supervisor 10.77.0.2 --vm-addr 10.77.0.100 --agent-path "$TH_TMP/agent-keep" \
		--markers "$out.markers" --hv-command 'themis-lab migrate-info {vm}' --hv-where local \
		--hv-events 'themis-lab hv-events {vm} {host}' --hv-clock-bound-ms 0 --json \
		>"$out.json" 2>"$out.log" || { cat "$out.log" >&2; th_fail "themis-trigger run $* failed"; }
}

run_trigger "$TH_TMP/live" --to host1 --cycles 3 --ping-pong
run_trigger "$TH_TMP/cold" --to host0 --cold --cycles 1
cat "$TH_TMP/live.log" "$TH_TMP/cold.log" | grep 'anatomy' >&2 || true

# check_cycle KIND(live|cold) JSON MARKERS K: the checks above for cycle K of that run
check_cycle() {
	local kind=$1 json=$2 markers=$3 k=$4 c s src dst req mend P R np nr C Cd sum
	local dt bound paused pre post hvd o S E line
	c=$(jq -c ".cycles[$k]" "$json")
	s=$(jq -r .session <<<"$c")
	src=$(jq -r .src_host <<<"$c")
	dst=$(jq -r .dst_host <<<"$c")
	th_assert_eq success "$(jq -r .outcome <<<"$c")" "$s outcome"
	sel() { jq -r --arg s "$s" "select(.session == \$s) | $1" "$markers"; }
	req=$(sel 'select(.event == "migration-request") | .t')
	mend=$(sel 'select(.event == "migration-end") | .t')
	np=$(sel 'select(.event == "hv-pause") | .t' | wc -l)
	nr=$(sel 'select(.event == "hv-resume") | .t' | wc -l)
	th_assert_eq 1 "$np" "$s hv-pause markers"
	th_assert_eq 1 "$nr" "$s hv-resume markers"
	P=$(sel 'select(.event == "hv-pause") | .t')
	R=$(sel 'select(.event == "hv-resume") | .t')
	th_assert_eq "$src" "$(sel 'select(.event == "hv-pause") | .hv_host')" "$s pause host"
	th_assert_eq "$dst" "$(sel 'select(.event == "hv-resume") | .hv_host')" "$s resume host"
	awk -v q="$req" -v p="$P" -v r="$R" -v e="$mend" \
		'BEGIN { exit !(q < p && p < r && r <= e + 1) }' ||
		th_fail "$s: request $req, pause $P, resume $R, migration-end $mend (+1 s grace): out of order"
	# the source's and the destination's MIGRATION completed (hv-status markers)
	C=$(sel "select(.event == \"hv-status\" and .hv_status == \"completed\" and .hv_host == \"$src\") | .t")
	Cd=$(sel "select(.event == \"hv-status\" and .hv_status == \"completed\" and .hv_host == \"$dst\") | .t")
	if [ -z "$C" ] || [ -z "$Cd" ]; then th_fail "$s: no MIGRATION completed event from $src ('$C') or $dst ('$Cd')"; fi
	sum=$(jq -c .summary <<<"$c")
	dt=$(jq -r .downtime_ms <<<"$sum")
	bound=$(jq -r .decomp_bound_ms <<<"$sum")
	paused=$(jq -r .hv_paused_ms <<<"$sum")
	pre=$(jq -r .pre_pause_ms <<<"$sum")
	post=$(jq -r .post_resume_ms <<<"$sum")
	hvd=$(jq -r .hv_downtime_ms <<<"$sum")
	for v in dt bound paused pre post hvd; do
		[ "${!v}" != null ] || th_fail "$s: summary without $v: $sum"
	done
	# the outage downtime_ms names, from the prober's own records
	[ -s "$keep/themis-$s.jsonl" ] || th_fail "$s: prober records not kept"
	o=$(jq -c --argjson d "$dt" 'select(.kind == "outage" and (.duration_ms - $d | fabs) < 0.0005)' \
		"$keep/themis-$s.jsonl" | head -n 1)
	[ -n "$o" ] || th_fail "$s: no outage of $dt ms in the prober's records"
	S=$(jq -r .start <<<"$o")
	E=$(jq -r .end <<<"$o")
	line=$(awk -v P="$P" -v R="$R" -v C="$C" -v Cd="$Cd" -v S="$S" -v E="$E" -v sp="$(jq -r .hv_pause <<<"$sum")" \
		-v sr="$(jq -r .hv_resume <<<"$sum")" -v dt="$dt" -v b="$bound" -v pd="$paused" -v pre="$pre" \
		-v post="$post" -v q="$hvd" -v kind="$kind" -v tq="$TOL_Q" '
		function abs(x) { return x < 0 ? -x : x }
		function bad(m) { print m; err = 1 }
		BEGIN {
			if (abs(sp - P) > 0.0000005 || abs(sr - R) > 0.0000005) bad("hv_pause/hv_resume " sp "/" sr " are not the marker times " P "/" R)
			if (abs(pd - (R - P) * 1000) > 0.01) bad("hv_paused_ms " pd " != resume - pause " (R - P) * 1000)
			if (abs(pre - (S - P) * 1000) > 0.01) bad("pre_pause_ms " pre " != outage start - pause " (S - P) * 1000)
			if (abs(post - (E - R) * 1000) > 0.01) bad("post_resume_ms " post " != outage end - resume " (E - R) * 1000)
			if (abs(-pre + pd + post - dt) > 0.01) bad("-pre + paused + post = " (-pre + pd + post) " != downtime_ms " dt)
			if (pre > b) bad("the network went down " pre " ms after the pause (bound " b ")")
			if (post < -b) bad("the network came back " (-post) " ms before the resume (bound " b ")")
			stop_comp = (C - P) * 1000; comp_res = (R - C) * 1000
			if (kind == "live") {
				if (abs(q - stop_comp) > tq) bad("QEMU downtime " q " ms vs source STOP -> completed " stop_comp " ms (tolerance " tq ")")
				if (abs(pd - (q + comp_res)) > tq) bad("pause -> resume " pd " ms vs QEMU downtime + completed -> RESUME " q + comp_res " ms (tolerance " tq ")")
				if (q > pd + tq) bad("QEMU downtime " q " ms > pause -> resume " pd " ms")
			} else {
				if (q >= pd) bad("cold: QEMU downtime " q " ms not below the guest stop -> resume " pd " ms")
				if (dt < pd - b) bad("cold: network outage " dt " ms shorter than the guest pause " pd " ms - bound " b)
			}
			printf "FIG pause->resume %.1f ms; QEMU downtime %d ms; source STOP->completed %.1f ms, source completed->destination completed %.1f ms, ->RESUME %.1f ms; outage %.1f ms = %.2f + %.1f + %.1f (bound %.1f)\n", \
				pd, q, stop_comp, (Cd - C) * 1000, (R - Cd) * 1000, dt, -pre, pd, post, b
			exit err
		}') || {
		# what the prober saw there: the outage (its bound) and its seconds around the pause
		th_log "$s: outage $o"
		jq -c --argjson p "$P" 'select(.kind == "second" and .t >= ($p | floor) - 1 and
			.t <= ($p | floor) + 1) | del(.vm, .stream)' "$keep/themis-$s.jsonl" >&2
		th_fail "$s ($kind): $line"
	}
	th_log "$kind $s $src -> $dst: ${line#FIG }"
}

th_assert_eq 3 "$(jq '.aggregates.succeeded' "$TH_TMP/live.json")" "successful live cycles"
for k in 0 1 2; do check_cycle live "$TH_TMP/live.json" "$TH_TMP/live.markers" "$k"; done
th_assert_eq 1 "$(jq '.aggregates.succeeded' "$TH_TMP/cold.json")" "successful cold cycles"
check_cycle cold "$TH_TMP/cold.json" "$TH_TMP/cold.markers" 0
# QEMU's figures are final ones (total-time 0 / downtime 0 was a read before QEMU set them)
while read -r line; do
	th_assert_match '^vm=vm0 src=host[01] dst=host[01] start=[0-9]+ status=completed downtime_ms=[1-9][0-9]* total_ms=[1-9][0-9]* ' \
		"$line" "QEMU's figures of every migration"
done <"$THEMIS_LAB_DIR/migration/vm0.migrations"
th_assert_eq 4 "$(wc -l <"$THEMIS_LAB_DIR/migration/vm0.migrations")" "migrations recorded by the lab"
"$lab" down
