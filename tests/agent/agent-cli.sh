#!/bin/bash
# agent-cli.sh — themis-agent reflect/probe command lines: every bad argument is refused with
# exit status 2 and a message naming it; a targets file and several targets run in one process
# against one reflector serving them all; --report appends; SIGINT flushes every pending second
# and exits 0; keys must match on both sides, and a mismatch is counted, not measured.
# timeout: 120
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
th_require_root
th_require_cmd jq jq
AGENT="${top_builddir:?}/agent/themis-agent"

# refuse EXPECTED_MESSAGE_REGEX ARGS...: exit status 2 and the message on stderr
refuse() {
	local want=$1 rc=0 err
	shift
	err=$("$AGENT" "$@" 2>&1 >/dev/null) || rc=$?
	th_assert_eq 2 "$rc" "exit status of: $*"
	th_assert_match "$want" "$err" "message of: $*"
}

refuse 'unknown command "bogus"' bogus
refuse 'no target' probe --vm a
refuse 'target 127.0.0.1:9 has no --vm NAME' probe --target 127.0.0.1:9
refuse 'port must be 1..65535' probe --target 127.0.0.1:0 --vm a
refuse 'expected ADDR:PORT' probe --target 127.0.0.1 --vm a
refuse 'expected \[IPv6\]:PORT' probe --target '[::1' --vm a
# an IPv6 address with a port must be bracketed, by every subcommand alike (lib/th-addr.h)
refuse 'address "fe80::1:7300" is ambiguous: write an IPv6 address in brackets, \[ADDR\]:PORT' probe --target fe80::1:7300 --vm a
rc=0
err=$("$AGENT" reflect --listen ::1:7300 2>&1 >/dev/null) || rc=$?
th_assert_eq 1 "$rc" "exit status of: reflect --listen ::1:7300"
th_assert_match 'address "::1:7300" is ambiguous' "$err" "message of: reflect --listen ::1:7300"
refuse 'send: --target "fe80::1:7300" is ambiguous' send --target fe80::1:7300
refuse 'receive: --listen "::1:7300" is ambiguous' receive --listen ::1:7300 --vm a
refuse '--interval 0.05: must be between 0.1 and 60000 ms' probe --target 127.0.0.1:9 --vm a --interval 0.05
refuse '--interval "10x": not a number of ms' probe --target 127.0.0.1:9 --vm a --interval 10x
refuse '--loss-timeout 0: must be between' probe --target 127.0.0.1:9 --vm a --loss-timeout 0
refuse '--min-lost 0: must be between 1 and' probe --target 127.0.0.1:9 --vm a --min-lost 0
refuse '--min-lost "-3": not a whole number' probe --target 127.0.0.1:9 --vm a --min-lost -3
refuse '--duration "soon": not a number of s' probe --target 127.0.0.1:9 --vm a --duration soon
refuse '--vm "a b": character 2 is not allowed' probe --target 127.0.0.1:9 --vm 'a b'
refuse 'unknown option or missing value: --frobnicate' probe --frobnicate
refuse 'unexpected argument "extra"' probe --target 127.0.0.1:9 --vm a extra
refuse 'key file /nonexistent: No such file' probe --target 127.0.0.1:9 --vm a --key-file /nonexistent
head -c 16 /dev/urandom >"$TH_TMP/short.key"
chmod 600 "$TH_TMP/short.key"
refuse 'has 16 bytes, at least 32 needed' probe --target 127.0.0.1:9 --vm a --key-file "$TH_TMP/short.key"
head -c 32 /dev/urandom >"$TH_TMP/open.key"
chmod 644 "$TH_TMP/open.key"
refuse "key file $TH_TMP/open.key is readable by everyone \\(mode 0644\\): chmod o-r $TH_TMP/open.key" \
	probe --target 127.0.0.1:9 --vm a --key-file "$TH_TMP/open.key"
refuse "key file $TH_TMP/open.key is readable by everyone" reflect --listen 127.0.0.1:9 --key-file "$TH_TMP/open.key"
refuse '--report /nonexistent/dir/x: No such file' probe --target 127.0.0.1:9 --vm a --report /nonexistent/dir/x
refuse '--report ftp://h/x: only http:// and https:// URLs are accepted' probe --target 127.0.0.1:9 --vm a --report ftp://h/x
refuse '--spool-max 10K: must be between 65536 and 1099511627776 bytes' probe --target 127.0.0.1:9 --vm a --spool-max 10K
refuse '--spool-max "12X": not a size' probe --target 127.0.0.1:9 --vm a --spool-max 12X
refuse '--spool-max 2T: must be between' iperf --spool-max 2T -- -c 127.0.0.1
# --spool-max reaches the spool: a 75 KB batch left by an earlier run in a spool capped at 64K is
# deleted, counted and reported when the first record needs room
mkdir -p "$TH_TMP/capspool"
awk 'BEGIN { for (i = 0; i < 3000; i++) printf "{\"kind\":\"second\",\"t\":%d}\n", 1000000 + i }' \
	>"$TH_TMP/capspool/00000000000000000001.batch"
rc=0
"$AGENT" probe --target 127.0.0.1:9 --vm a --duration 1.5 --report http://127.0.0.1:9 \
	--spool-dir "$TH_TMP/capspool" --spool-max 64K --quiet 2>"$TH_TMP/cap.err" || rc=$?
th_assert_eq 1 "$rc" "exit status with records left in the spool"
grep -q "reached --spool-max (65536 bytes): deleting the oldest batches" "$TH_TMP/cap.err" ||
	th_fail "--spool-max 64K did not reach the spool: $(cat "$TH_TMP/cap.err")"
grep -q "^themis-agent: report: 3000 records were deleted from spool $TH_TMP/capspool" "$TH_TMP/cap.err" ||
	th_fail "the deleted records were not counted: $(cat "$TH_TMP/cap.err")"
[ ! -e "$TH_TMP/capspool/00000000000000000001.batch" ] || th_fail "the oldest batch is still there"
printf '127.0.0.1:9 vm1\n\n# comment\n127.0.0.1:10 vm2 interval=0.01\n' >"$TH_TMP/bad-targets"
refuse "bad-targets:4: --interval 0.01: must be between" probe --targets-file "$TH_TMP/bad-targets"
printf '127.0.0.1:9\n' >"$TH_TMP/novm-targets"
refuse 'novm-targets:1: target 127.0.0.1:9 has no VM name' probe --targets-file "$TH_TMP/novm-targets"
printf '127.0.0.1:9 vm1 colour=blue\n' >"$TH_TMP/key-targets"
refuse 'key-targets:1: unknown setting --colour' probe --targets-file "$TH_TMP/key-targets"
refuse '--listen ADDR:PORT is required' reflect
refuse '--max-streams 0: must be between 1 and 1000000' reflect --listen 127.0.0.1:9 --max-streams 0
refuse '--active-window -1: must be between 0 and 86400 s' reflect --listen 127.0.0.1:9 --active-window -1
refuse '--new-streams-rate 2000000: must be between 0 and 1000000' reflect --listen 127.0.0.1:9 --new-streams-rate 2000000
refuse '--new-streams-burst 0: must be between 1 and 1000000' reflect --listen 127.0.0.1:9 --new-streams-burst 0
"$AGENT" probe --help | grep -q -- '--targets-file' || th_fail "probe --help lists the options"

ns=$(th_netns_add cli)
th_on_exit th_netns_del "$ns"
run() { ip netns exec "$ns" "$@"; }
# background processes are started with "ip netns exec" itself, so that $! is the agent
ip netns exec "$ns" "$AGENT" reflect --listen 127.0.0.1:9911 2>"$TH_TMP/reflect.log" &
refl=$!
th_on_exit kill -KILL "$refl"
th_wait_for 5 grep -q listening "$TH_TMP/reflect.log"

# three targets from a file plus one on the command line, all to the same reflector
printf '127.0.0.1:9911 vm1\n127.0.0.1:9911 vm2 interval=5 stream=s2\n# none\n127.0.0.1:9911 vm3 min-lost=3\n' \
	>"$TH_TMP/targets"
ip netns exec "$ns" "$AGENT" probe --interval 20 --targets-file "$TH_TMP/targets" --target 127.0.0.1:9911 --vm vm4 \
	--report "$TH_TMP/out" --report - >"$TH_TMP/stdout" 2>"$TH_TMP/probe.log" &
probe=$!
th_on_exit kill -KILL "$probe"
sleep 2.6
kill -INT "$probe"
rc=0
wait "$probe" || rc=$?
cat "$TH_TMP/probe.log" >&2
th_assert_eq 0 "$rc" "exit status after SIGINT"
cmp -s "$TH_TMP/out" "$TH_TMP/stdout" || th_fail "file and stdout outputs differ"
th_assert_eq "s2" "$(jq -r 'select(.vm == "vm2") | .stream' "$TH_TMP/out" | sort -u)" "stream from the targets file"
th_assert_eq "5.000" "$(jq -r 'select(.vm == "vm2") | .interval_ms' "$TH_TMP/out" | sort -u | awk '{ printf "%.3f", $1 }')" "interval from the targets file"
th_assert_eq "20.000" "$(jq -r 'select(.vm == "vm4") | .interval_ms' "$TH_TMP/out" | sort -u | awk '{ printf "%.3f", $1 }')" "default interval"
for vm in vm1 vm2 vm3 vm4; do
	# every probe sent is in a second record (the last, partial second was flushed), none lost
	sent=$(sed -n "s/.*: $vm (.*sent \\([0-9]*\\) received.*/\\1/p" "$TH_TMP/probe.log")
	th_assert_eq "$sent" "$(jq -s "[.[] | select(.vm == \"$vm\") | .sent] | add" "$TH_TMP/out")" "$vm: every probe in the records"
	th_assert_eq 0 "$(jq -s "[.[] | select(.vm == \"$vm\") | .lost_up + .lost_down + .lost_unknown] | add" "$TH_TMP/out")" "$vm: nothing lost"
	[ "$sent" -gt 100 ] || th_fail "$vm: only $sent probes"
done

# --report FILE appends
lines=$(wc -l <"$TH_TMP/out")
run "$AGENT" probe --target 127.0.0.1:9911 --vm vm5 --duration 1.2 --report "$TH_TMP/out" --quiet 2>"$TH_TMP/q.log"
[ "$(wc -l <"$TH_TMP/out")" -gt "$lines" ] || th_fail "--report FILE did not append"
th_assert_eq 0 "$(wc -c <"$TH_TMP/q.log")" "--quiet prints nothing"

# stopped during an outage (nothing answers): it waits one loss timeout for echoes, sleeping,
# then reports the open outage with an unknown direction; a second SIGINT ends the wait at once
ip netns exec "$ns" "$AGENT" probe --target 127.0.0.1:9913 --vm dark --loss-timeout 3000 \
	--report "$TH_TMP/dark" 2>"$TH_TMP/dark.log" &
dark=$!
th_on_exit kill -KILL "$dark"
cpu() { awk '{ print $14 + $15 }' "/proc/$dark/stat"; } # user + system clock ticks
sleep 4.5
kill -INT "$dark"
c0=$(cpu)
sleep 1.5
c1=$(cpu)
t0=$EPOCHREALTIME
kill -INT "$dark"
wait "$dark"
t1=$EPOCHREALTIME
cat "$TH_TMP/dark.log" >&2
[ $((c1 - c0)) -le "$(($(getconf CLK_TCK) / 5))" ] || th_fail "prober busy while draining: $((c1 - c0)) ticks in 1.5 s"
awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a < 0.5) }' || th_fail "second SIGINT did not end the drain"
th_assert_eq unknown "$(jq -r 'select(.kind == "outage") | .direction' "$TH_TMP/dark")" "open outage direction"
th_assert_eq 0 "$(jq -s '[.[] | select(.kind == "second") | .received] | add' "$TH_TMP/dark")" "nothing received"

# keys: matching keys measure; a keyless reflector refuses authenticated probes and counts them
head -c 32 /dev/urandom >"$TH_TMP/k1"
head -c 32 /dev/urandom >"$TH_TMP/k2"
chmod 600 "$TH_TMP/k1" "$TH_TMP/k2"
ip netns exec "$ns" "$AGENT" reflect --listen 127.0.0.1:9912 --key-file "$TH_TMP/k1" 2>"$TH_TMP/rk.log" &
rk=$!
th_on_exit kill -KILL "$rk"
th_wait_for 5 grep -q listening "$TH_TMP/rk.log"
run "$AGENT" probe --target 127.0.0.1:9912 --vm k --key-file "$TH_TMP/k1" --duration 1 --report "$TH_TMP/k.out" 2>"$TH_TMP/k.log"
th_assert_eq 0 "$(jq -s '[.[] | select(.kind == "second") | .lost_up + .lost_down + .lost_unknown] | add' "$TH_TMP/k.out")" "keyed: nothing lost"
run "$AGENT" probe --target 127.0.0.1:9912 --vm k --key-file "$TH_TMP/k2" --duration 1 --report "$TH_TMP/k2.out" 2>"$TH_TMP/k2.log"
run "$AGENT" probe --target 127.0.0.1:9912 --vm k --duration 1 --report "$TH_TMP/k3.out" 2>"$TH_TMP/k3.log"
kill -TERM "$rk"
wait "$rk" || true
cat "$TH_TMP/rk.log" >&2
wrong=$(sed -n 's/.*sent \([0-9]*\) received 0 .*/\1/p' "$TH_TMP/k2.log")
none=$(sed -n 's/.*sent \([0-9]*\) received 0 .*/\1/p' "$TH_TMP/k3.log")
if [ -z "$wrong" ] || [ -z "$none" ]; then th_fail "probes with the wrong key or none were answered"; fi
th_assert_eq "$wrong" "$(sed -n 's/.* forged \([0-9]*\).*/\1/p' "$TH_TMP/rk.log")" "wrong key counted as forged"
th_assert_eq "$none" "$(sed -n 's/.* unauthenticated \([0-9]*\).*/\1/p' "$TH_TMP/rk.log")" "no key counted as unauthenticated"
