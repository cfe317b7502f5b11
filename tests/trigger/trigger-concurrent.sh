#!/bin/bash
# trigger-concurrent.sh — two measured runs at once on one supervisor, sharing its agent binary
# and remote directory: two "VM" network namespaces reached over real sshds, the lab endpoint
# (simulated migrations of 2 s) and `themis-trigger run` twice in parallel, two cycles each.
# A 600 ms drop of the probes towards vm0 in its first cycle must show in vm0's figures only;
# every cycle of both runs must have its prober's records (a prober killed by the other run
# would leave a cycle without them) and no agent may be left behind. A `themis-trigger watch`
# runs meanwhile and turns each of the four migrations into one observed session.
# timeout: 240
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
# shellcheck source=tests/trigger/trigger-lib.sh
. "$top_srcdir/tests/trigger/trigger-lib.sh"
th_require_root
th_require_cmd jq jq
th_require_cmd nft nftables
th_require_cmd /usr/sbin/sshd openssh-server
th_require_cmd ssh-keygen openssh-client

trig="$top_builddir/trigger/themis-trigger"
one="$top_builddir/lab/themis-one"
agent="$top_builddir/agent/themis-agent"
[ -x "$one" ] || th_error "$one not built (make -C lab)"
[ -x "$agent" ] || th_error "$agent not built (make -C agent)"

sup=$(th_netns_add sup)
vm0=$(th_netns_add vm0)
vm1=$(th_netns_add vm1)
th_on_exit th_netns_del "$sup"
th_on_exit th_netns_del "$vm0"
th_on_exit th_netns_del "$vm1"
th_netns_link "$sup" 10.93.0.1/24 "$vm0" 10.93.0.2/24 >/dev/null
th_netns_link "$sup" 10.94.0.1/24 "$vm1" 10.94.0.2/24 >/dev/null
listening() { ip netns exec "$1" ss -Htln "sport = :$2" | grep -q .; }

mkdir -p /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$TH_TMP/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$TH_TMP/user_key"
cp "$TH_TMP/user_key.pub" "$TH_TMP/authorized_keys"
tt_sshd_config 2222 10.93.0.2 >"$TH_TMP/sshd0_config"
tt_sshd_config 2222 10.94.0.2 >"$TH_TMP/sshd1_config"
th_spawn sshd0_pid ip netns exec "$vm0" /usr/sbin/sshd -D -e -f "$TH_TMP/sshd0_config"
th_spawn sshd1_pid ip netns exec "$vm1" /usr/sbin/sshd -D -e -f "$TH_TMP/sshd1_config"
th_wait_for 20 listening "$vm0" 2222
th_wait_for 20 listening "$vm1" 2222
for a in 10.93.0.2 10.94.0.2; do
	printf '[%s]:2222 %s\n' "$a" "$(cut -d' ' -f1,2 "$TH_TMP/host_key.pub")"
done >"$TH_TMP/known_hosts"

th_spawn one_pid ip netns exec "$sup" "$one" --state "$TH_TMP/one" --listen 127.0.0.1:2633 \
	--auth oneadmin:pw --hosts 2 --vms 2 --sim-time 2000 --lcm-delay 50
th_wait_for 20 listening "$sup" 2633
printf 'oneadmin:pw\n' >"$TH_TMP/one_auth"
chmod 600 "$TH_TMP/one_auth"

# the watcher, polling every second (its journal only)
ip netns exec "$sup" env ONE_XMLRPC=http://127.0.0.1:2633/RPC2 ONE_AUTH="$TH_TMP/one_auth" \
	"$trig" watch --all --events none --poll 1 --lead 5 --cooldown 1 \
	--markers "$TH_TMP/watch.jsonl" >/dev/null 2>"$TH_TMP/watch.err" &
wpid=$!
th_on_exit kill -KILL "$wpid"
th_wait_for 20 grep -q 'watching VM vm1' "$TH_TMP/watch.err"

# run VM ADDR FROM TO: one measured run of two cycles in the background, its pid in run_pid
run() {
	ip netns exec "$sup" env ONE_XMLRPC=http://127.0.0.1:2633/RPC2 ONE_AUTH="$TH_TMP/one_auth" \
		"$trig" run --vm "$1" --from "$3" --to "$4" --ping-pong --cycles 2 --definition "c$1" \
		--markers "$TH_TMP/$1.jsonl" --supervisor local --vm-addr "$2" --vm-ssh-port 2222 \
		--ssh-key "$TH_TMP/user_key" --known-hosts "$TH_TMP/known_hosts" \
		--agent-path "$agent" --remote-dir "$TH_TMP" --interval 10 \
		--warmup 1 --cooldown 2 --grace 1 --poll-period 100 --json \
		>"$TH_TMP/$1.json" 2>"$TH_TMP/$1.err" &
	run_pid=$!
	th_on_exit kill -KILL "$run_pid"
}
run vm0 10.93.0.2 host0 host1
pid0=$run_pid
run vm1 10.94.0.2 host1 host0
pid1=$run_pid

# both are measuring at once: each has its own prober pid file in the shared directory
th_wait_for 30 grep -q migration-start "$TH_TMP/vm0.jsonl"
[ -e "$TH_TMP/themis-probe.vm0.pid" ] || th_fail "no prober of vm0's run"
show_errs() { tail -n 5 "$TH_TMP"/vm*.err >&2 || true; }
th_on_exit show_errs
th_wait_for 30 test -e "$TH_TMP/themis-probe.vm1.pid"
ip netns exec "$vm0" nft add table inet thdrop
ip netns exec "$vm0" nft add chain inet thdrop in '{ type filter hook input priority 0; }'
ip netns exec "$vm0" nft add rule inet thdrop in udp dport 7300 drop
sleep 0.6
ip netns exec "$vm0" nft delete table inet thdrop

pids=("$pid0" "$pid1")
for v in 0 1; do
	rc=0
	wait "${pids[$v]}" || rc=$?
	[ "$rc" -eq 0 ] || th_fail "run of vm$v exited $rc: $(cat "$TH_TMP/vm$v.err")"
	th_log "vm$v: $(jq -c '[.cycles[].summary | {outcome, downtime_ms, lost_up, lost_down}]' "$TH_TMP/vm$v.json")"
	th_assert_eq "success success" "$(jq -r '[.cycles[].summary.outcome] | join(" ")' "$TH_TMP/vm$v.json")" "vm$v outcomes"
	# every cycle had its prober's records (a killed prober leaves lost_up unknown)
	th_assert_eq 2 "$(jq '[.cycles[].summary.lost_up | numbers] | length' "$TH_TMP/vm$v.json")" "vm$v cycles with records"
	grep -q 'cannot collect\|reported no records' "$TH_TMP/vm$v.err" &&
		th_fail "vm$v lost its prober's records: $(cat "$TH_TMP/vm$v.err")"
	th_assert_eq 2 "$(jq -r 'select(.event == "session-end") | .origin' "$TH_TMP/vm$v.jsonl" | grep -c '^run$')" "vm$v session-ends with origin run"
done
# the drop shows in vm0's first cycle, and nowhere in vm1's
d0=$(jq -r '.cycles[0].summary.downtime_ms' "$TH_TMP/vm0.json")
awk -v v="$d0" 'BEGIN { exit !(v >= 590 && v <= 900) }' || th_fail "vm0 cycle 1 downtime $d0 ms, want 590..900"
th_assert_eq "0 0" "$(jq -r '[.cycles[].summary.lost_up] | join(" ")' "$TH_TMP/vm1.json")" "vm1 probes lost towards the VM"
th_assert_eq "0 0" "$(jq -r '[.cycles[].summary.downtime_ms] | join(" ")' "$TH_TMP/vm1.json")" "vm1 downtime"

# the watcher saw the four migrations, once each, and did not disturb the runs
sleep 2 # the last session's cool-down
kill -TERM "$wpid"
wait "$wpid" || th_fail "watch exited with an error: $(cat "$TH_TMP/watch.err")"
th_assert_eq 4 "$(jq -r 'select(.event == "session-end") | .session' "$TH_TMP/watch.jsonl" | sort -u | wc -l)" "observed sessions"
th_assert_eq "vm0 host0>host1 success
vm0 host1>host0 success
vm1 host0>host1 success
vm1 host1>host0 success" \
	"$(jq -r 'select(.event == "migration-end") | "\(.vm) \(.src_host)>\(.dst_host) \(.outcome)"' "$TH_TMP/watch.jsonl" | sort)" \
	"observed migrations"
th_assert_eq observed "$(jq -r .origin "$TH_TMP/watch.jsonl" | sort -u)" "origin of the watcher's markers"

# nothing left behind by either run
for f in "$TH_TMP"/themis-*.pid; do
	[ ! -e "$f" ] || th_fail "pid file left: $f"
done
for ns in "$sup" "$vm0" "$vm1"; do
	for p in $(ip netns pids "$ns"); do
		case "$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)" in
		"$agent"*) th_fail "agent still running: $(tr '\0' ' ' <"/proc/$p/cmdline")" ;;
		esac
	done
done
th_log "two concurrent runs kept apart"
