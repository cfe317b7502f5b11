#!/bin/bash
# lab-e2e.sh — the whole lab for real: themis-lab up (namespaces, QEMU guest with dropbear and
# the reflector its context starts, endpoint, supervisor sshd), live migrations requested through the
# endpoint with a hand-written XML-RPC client, each one confirmed by OpenNebula-style history
# records and by QEMU (migrate-info), watched by themis-agent probe in the supervisor
# namespace; then themis-lab down must leave no namespace, process, tap or file behind.
# Prints per migration: QEMU downtime, probe outage, their difference (median and max).
# timeout: 900
: "${top_srcdir:?run through make check}"
# shellcheck source=../common/lib.sh
. "$top_srcdir/tests/common/lib.sh"
# shellcheck source=rpc.sh
. "$top_srcdir/tests/lab/rpc.sh"
th_require_root
th_require_cmd qemu-system-x86_64 qemu-system-x86
th_require_cmd dropbearkey dropbear-bin
th_require_cmd jq jq
th_require_cmd curl curl
compgen -G '/boot/vmlinuz-*' >/dev/null || th_error "no /boot/vmlinuz-*: install linux-image-amd64"
agent="$top_builddir/agent/themis-agent"
[ -x "$agent" ] || th_error "$agent not built"

lab="$top_builddir/lab/themis-lab"
N=${THEMIS_LAB_E2E_MIGRATIONS:-5}
export THEMIS_LAB_DIR="$TH_TMP/lab" THEMIS_LAB_PREFIX="$TH_TEST_ID-lab"
th_on_exit "$lab" down
# shellcheck source=lab-diag.sh
. "$top_srcdir/tests/lab/lab-diag.sh"
th_on_fail lab_diag

t0=$(date +%s%N)
"$lab" up --hosts 2 --vms 1 --accel tcg
boot_ms=$((($(date +%s%N) - t0) / 1000000))
th_log "lab up in $boot_ms ms"
"$lab" status >"$TH_TMP/status"
grep -qx 'vm0: 10.77.0.100 qemu on host0' "$TH_TMP/status" || th_fail "status: $(cat "$TH_TMP/status")"
# the root namespace has no route into the lab
if ip route get 10.77.0.100 2>/dev/null | grep -q 'dev t'; then th_fail "root namespace routes to the lab"; fi
# exec: endpoint and credentials found without flags; real SSH with strict host keys
# shellcheck disable=SC2016 # expanded by the inner shell, inside the lab
env_out=$("$lab" exec -- sh -c 'echo "$ONE_XMLRPC $(cut -d: -f1 "$ONE_AUTH")"')
th_assert_eq "http://10.77.0.1:2633/RPC2 oneadmin" "$env_out" "exec environment"
th_assert_eq vm0 "$("$lab" exec -- ssh root@10.77.0.100 hostname)" "ssh into the guest from mgmt"
th_assert_eq vm0 "$("$lab" exec --in sup -- ssh root@10.77.0.100 hostname)" "ssh into the guest from sup"
"$lab" exec -- ssh root@10.77.0.2 true || th_fail "ssh into the supervisor"

# the probe runs in the supervisor namespace against the guest's reflector (started by the
# guest's context, keyed with the VM's key)
"$lab" exec --in sup -- "$agent" probe --target 10.77.0.100:7300 --vm vm0 --interval 10 \
	--key-file "$THEMIS_LAB_DIR/keys/vm0.reflect.key" \
	--report "$TH_TMP/records.json" --quiet >"$TH_TMP/probe.log" 2>&1 &
probe=$!
th_on_exit kill -KILL "$probe"
th_wait_for 20 grep -q '"kind":"second"' "$TH_TMP/records.json"

call() { "$lab" exec -- bash -c ". '$top_srcdir/tests/lab/rpc.sh'; one_call \"\$ONE_XMLRPC\" \"\$@\"" _ "$@"; }
auth="s:$(cat "$THEMIS_LAB_DIR/one_auth")"
: >"$TH_TMP/windows"
src=0
for ((k = 0; k < N; k++)); do
	dst=$((1 - src))
	t_req=$(date +%s.%N)
	r=$(call one.vm.migrate "$auth" i:0 "i:$dst" b:1)
	case $r in *'<boolean>1</boolean></value><value><i4>0</i4>'*) ;; *) th_fail "migrate $k refused: $r" ;; esac
	seq_new=$((k + 1))
	deadline=$(($(date +%s) + 120))
	while :; do
		d=$(one_doc "$(call one.vm.info "$auth" i:0)")
		lcm=$(one_field "$d" LCM_STATE)
		rst=$(one_hist "$d" "$seq_new" RSTIME)
		if [ "$lcm" = 3 ] && [ -n "$rst" ] && [ "$rst" != 0 ]; then break; fi
		[ "$lcm" = 3 ] && [ -n "$(one_hist "$d" $((seq_new + 1)) HID)" ] && th_fail "migration $k rolled back: $d"
		[ "$(date +%s)" -lt "$deadline" ] || th_fail "migration $k still LCM $lcm after 120 s"
		sleep 0.1
	done
	t_end=$(date +%s.%N)
	th_assert_eq "$dst" "$(one_hist "$d" "$seq_new" HID)" "migration $k target"
	th_assert_eq "$rst" "$(one_hist "$d" $((seq_new - 1)) ETIME)" "migration $k source record closed"
	info=$("$lab" migrate-info vm0)
	th_assert_match "^vm=vm0 src=host$src dst=host$dst start=[0-9]+ status=completed downtime_ms=[1-9][0-9]* total_ms=[1-9][0-9]* setup_ms=[0-9]+ ram_bytes=[0-9]+ wall_ms=[0-9]+ max_bandwidth=134217728 downtime_limit=300\$" "$info" "migrate-info $k"
	"$lab" status | grep -qx "vm0: 10.77.0.100 qemu on host$dst" || th_fail "migration $k: QEMU not (only) on host$dst"
	dt=$(printf '%s' "$info" | sed 's/.* downtime_ms=\([0-9]*\).*/\1/')
	tt=$(printf '%s' "$info" | sed 's/.* total_ms=\([0-9]*\).*/\1/')
	printf '%s %s %s %s %s\n' "$k" "$t_req" "$t_end" "$dt" "$tt" >>"$TH_TMP/windows"
	th_log "$info"
	th_log "migration $k host$src -> host$dst: QEMU downtime ${dt} ms total ${tt} ms, OpenNebula $(($(one_hist "$d" "$seq_new" RSTIME) - $(one_hist "$d" "$seq_new" STIME))) s"
	src=$dst
	sleep 2 # let the probe see the guest settle before the next one
done
# the guest still answers SSH where it ended up
th_assert_eq vm0 "$("$lab" exec --in sup -- ssh root@10.77.0.100 hostname)" "ssh after migrations"

sleep 1.5 # past the probe's loss timeout
kill -TERM "$probe"
wait "$probe" || true
[ -s "$TH_TMP/records.json" ] || th_fail "probe wrote no records"
jq -c 'select(.kind == "outage")' "$TH_TMP/records.json" >"$TH_TMP/outages" || th_fail "probe records are not JSON"
th_log "probe outages: $(wc -l <"$TH_TMP/outages")"

# every migration window holds lost probes; no outage happens outside a window
awk -v outf="$TH_TMP/outages" '
	FNR == NR { k[NR] = $1; a[NR] = $2 - 0.5; b[NR] = $3 + 1.5; dt[NR] = $4; n = NR; next }
	END {
		while ((getline line < outf) > 0) {
			match(line, /"start":[0-9.]+/); s = substr(line, RSTART + 8, RLENGTH - 8) + 0
			match(line, /"duration_ms":[0-9.]+/); d = substr(line, RSTART + 14, RLENGTH - 14) + 0
			hit = 0
			for (i = 1; i <= n; i++) if (s >= a[i] && s <= b[i]) { hit = i; if (d > o[i]) o[i] = d }
			if (!hit) { printf "outage at %s (%s ms) outside every migration\n", s, d; bad = 1 }
		}
		for (i = 1; i <= n; i++) printf "FIG %d %d %.1f\n", k[i], dt[i], o[i] + 0
		exit bad
	}' "$TH_TMP/windows" >"$TH_TMP/figures" || th_fail "$(grep -v '^FIG' "$TH_TMP/figures")"
jq -r 'select(.kind == "second") | "\(.t) \(.lost_up + .lost_down + .lost_unknown)"' \
	"$TH_TMP/records.json" >"$TH_TMP/losses"
while read -r k a b _; do
	lost=$(awk -v a="$a" -v b="$b" '$1 >= int(a) && $1 <= int(b) + 1 { s += $2 } END { print s + 0 }' "$TH_TMP/losses")
	[ "$lost" -gt 0 ] || th_fail "migration $k: the probe lost no probe at all"
done <"$TH_TMP/windows"
awk '/^FIG/ { printf "migration %d: QEMU downtime %d ms, probe outage %.1f ms, difference %.1f ms\n", $2, $3, $4, $4 - $3 }' "$TH_TMP/figures" >&2
awk 'BEGIN { n = 0 } /^FIG/ { d[n] = $3; o[n] = $4; x[n] = $4 - $3; n++ }
	function med(v, n,   i, j, t, w) { for (i = 0; i < n; i++) w[i] = v[i]
		for (i = 0; i < n; i++) for (j = i + 1; j < n; j++) if (w[j] < w[i]) { t = w[i]; w[i] = w[j]; w[j] = t }
		return n % 2 ? w[int(n / 2)] : (w[n / 2 - 1] + w[n / 2]) / 2 }
	function mx(v, n,   i, m) { m = v[0]; for (i = 1; i < n; i++) if (v[i] > m) m = v[i]; return m }
	END { printf "figures over %d migrations: QEMU downtime median %.1f max %.1f ms; probe outage median %.1f max %.1f ms; difference median %.1f max %.1f ms\n",
		n, med(d, n), mx(d, n), med(o, n), mx(o, n), med(x, n), mx(x, n) }' "$TH_TMP/figures" >&2

# an injected failure is a real one: the destination QEMU dies mid-migration, QEMU reports
# failed, the endpoint rolls back (3 records, USER_TEMPLATE/ERROR) and the guest keeps running
host=$src
nrec=$(($(one_doc "$(call one.vm.info "$auth" i:0)" | grep -o '<HISTORY>' | wc -l)))
"$lab" fault vm0 fail
r=$(call one.vm.migrate "$auth" i:0 "i:$((1 - host))" b:1)
case $r in *'<boolean>1</boolean>'*) ;; *) th_fail "migrate with fault refused: $r" ;; esac
rolled() { [ -n "$(one_hist "$(one_doc "$(call one.vm.info "$auth" i:0)")" $((nrec + 1)) HID)" ]; }
th_wait_for 120 rolled
d=$(one_doc "$(call one.vm.info "$auth" i:0)")
th_assert_eq 3 "$(one_field "$d" LCM_STATE)" "after failed migration LCM"
th_assert_eq "$host" "$(one_hist "$d" $((nrec + 1)) HID)" "rollback record host"
th_assert_eq 0 "$(one_hist "$d" "$nrec" RSTIME)" "failed record never ran"
th_assert_match "MIGRATE: qemu: migration of vm0 from host$host to host$((1 - host)) failed" "$d" "ERROR"
th_assert_match "^vm=vm0 src=host$host dst=host$((1 - host)) start=[0-9]+ status=failed" "$("$lab" migrate-info vm0)" "migrate-info after failure"
"$lab" status | grep -qx "vm0: 10.77.0.100 qemu on host$host" || th_fail "guest not on host$host after failure"
th_assert_eq vm0 "$("$lab" exec --in sup -- ssh root@10.77.0.100 hostname)" "ssh after failed migration"

# lose: both QEMUs die, POWEROFF; resume boots the guest again on its host
"$lab" fault vm0 lose
call one.vm.migrate "$auth" i:0 "i:$((1 - host))" b:1 >/dev/null
poweroff() { [ "$(one_field "$(one_doc "$(call one.vm.info "$auth" i:0)")" STATE)" = 8 ]; }
th_wait_for 120 poweroff
"$lab" status | grep -qx "vm0: 10.77.0.100 qemu on none" || th_fail "a QEMU survived the loss"
r=$(call one.vm.action "$auth" s:resume i:0)
case $r in *'<boolean>1</boolean>'*) ;; *) th_fail "resume refused: $r" ;; esac
th_wait_for 300 "$lab" exec --in sup -- ssh -o ConnectTimeout=2 root@10.77.0.100 true
th_assert_eq 3 "$(one_field "$(one_doc "$(call one.vm.info "$auth" i:0)")" LCM_STATE)" "resumed LCM"

# down leaves nothing behind
"$lab" down
if ip netns list | grep -q "^$THEMIS_LAB_PREFIX-"; then th_fail "namespaces left: $(ip netns list)"; fi
[ ! -e "$THEMIS_LAB_DIR" ] || th_fail "lab directory left: $THEMIS_LAB_DIR"
if pgrep -f "$THEMIS_LAB_DIR" >/dev/null; then th_fail "processes left: $(pgrep -af "$THEMIS_LAB_DIR")"; fi
if ip -o link show | grep -q ' tvm[0-9]'; then th_fail "taps left in the root namespace"; fi
"$lab" status >/dev/null && th_fail "status says up after down"
# down is idempotent
"$lab" down
th_log "lab boot ${boot_ms} ms; $N live migrations checked"
