#!/bin/bash
# ssh-exec.sh — ssh-exec.c against a real sshd on loopback: a command runs and returns its
# output and exit status (ed25519 key, ECDSA key, ssh-agent), an unknown or changed host key is
# refused naming host and file, an unauthorized key is refused, and the deadline is honoured.
# timeout: 120
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
# shellcheck source=tests/trigger/trigger-lib.sh
. "$top_srcdir/tests/trigger/trigger-lib.sh"
th_require_cmd /usr/sbin/sshd openssh-server
th_require_cmd ssh-keygen openssh-client
th_require_cmd ssh-agent openssh-client

run="$top_builddir/tests/trigger/ssh-run"
# sanitizer builds: ignore libssh2's own leak with ECDSA keys (see the file)
# (full unwinding: libcrypto has no frame pointers, the suppression needs libssh2's frame)
export LSAN_OPTIONS="suppressions=$top_srcdir/tests/trigger/lsan-libssh2.supp"
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:fast_unwind_on_malloc=0"
listening() { ss -Htln "sport = :$1" | grep -q .; }
port=$(th_free_port)
mkdir -p /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$TH_TMP/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$TH_TMP/user_ed25519"
ssh-keygen -q -t ecdsa -b 256 -N '' -f "$TH_TMP/user_ecdsa"
ssh-keygen -q -t ed25519 -N '' -f "$TH_TMP/stranger"
ssh-keygen -q -t ed25519 -N '' -f "$TH_TMP/other_host"
cat "$TH_TMP/user_ed25519.pub" "$TH_TMP/user_ecdsa.pub" >"$TH_TMP/authorized_keys"
tt_sshd_config "$port" 127.0.0.1 >"$TH_TMP/sshd_config"
th_spawn sshd_pid /usr/sbin/sshd -D -e -f "$TH_TMP/sshd_config"
th_wait_for 20 listening "$port"

user=$(id -un)
kh="$TH_TMP/known_hosts"
printf '[127.0.0.1]:%s %s\n' "$port" "$(cut -d' ' -f1,2 "$TH_TMP/host_key.pub")" >"$kh"

# 1. a command runs; stdout and exit status come back (ed25519 key)
out=$("$run" 127.0.0.1 "$port" "$user" "$TH_TMP/user_ed25519" "$kh" 10000 \
	'echo hello; echo to-stderr >&2; exit 3') || th_fail "ed25519 exec: $out"
th_assert_eq "hello
status=3" "$out" "ed25519 exec"

# 2. ECDSA key
out=$("$run" 127.0.0.1 "$port" "$user" "$TH_TMP/user_ecdsa" "$kh" 10000 'printf %s ok') || th_fail "ecdsa exec: $out"
th_assert_eq "okstatus=0" "$out" "ecdsa exec"

# 3. ssh-agent
eval "$(ssh-agent -s -a "$TH_TMP/agent.sock")" >/dev/null
th_on_exit kill "$SSH_AGENT_PID"
ssh-add -q "$TH_TMP/user_ed25519" 2>/dev/null
out=$(SSH_AUTH_SOCK="$TH_TMP/agent.sock" "$run" 127.0.0.1 "$port" "$user" - "$kh" 10000 'echo via-agent') || th_fail "agent exec: $out"
th_assert_eq "via-agent
status=0" "$out" "agent exec"

# 4. unknown host key: known_hosts without this host
: >"$TH_TMP/empty_known_hosts"
if out=$("$run" 127.0.0.1 "$port" "$user" "$TH_TMP/user_ed25519" "$TH_TMP/empty_known_hosts" 10000 'echo no'); then
	th_fail "unknown host key accepted: $out"
fi
th_assert_eq "error=authentication refused: ssh 127.0.0.1:$port: host key unknown — not in $TH_TMP/empty_known_hosts; refusing to connect (verify it, then add it with ssh-keyscan)" "$out" "unknown host key"

# 5. changed host key: known_hosts names another key for this host
printf '[127.0.0.1]:%s %s\n' "$port" "$(cut -d' ' -f1,2 "$TH_TMP/other_host.pub")" >"$TH_TMP/changed_known_hosts"
if out=$("$run" 127.0.0.1 "$port" "$user" "$TH_TMP/user_ed25519" "$TH_TMP/changed_known_hosts" 10000 'echo no'); then
	th_fail "changed host key accepted: $out"
fi
th_assert_eq "error=authentication refused: ssh 127.0.0.1:$port: host key CHANGED — it does not match $TH_TMP/changed_known_hosts; refusing to connect" "$out" "changed host key"

# 6. a key the server does not authorize
if out=$("$run" 127.0.0.1 "$port" "$user" "$TH_TMP/stranger" "$kh" 10000 'echo no'); then
	th_fail "unauthorized key accepted: $out"
fi
th_assert_match "^error=authentication refused: ssh $user@127.0.0.1:$port: key $TH_TMP/stranger refused" "$out" "wrong key"

# 7. the deadline holds while the command runs
t0=$(date +%s%N)
if out=$("$run" 127.0.0.1 "$port" "$user" "$TH_TMP/user_ed25519" "$kh" 1500 'sleep 20'); then
	th_fail "sleep 20 finished within a 1.5 s deadline: $out"
fi
t1=$(date +%s%N)
th_assert_eq "error=timed out: ssh $user@127.0.0.1:$port: timed out after 1500 ms (running the command)" "$out" "timeout"
elapsed_ms=$(((t1 - t0) / 1000000))
if [ "$elapsed_ms" -lt 1400 ] || [ "$elapsed_ms" -ge 4000 ]; then th_fail "timeout took ${elapsed_ms} ms, expected about 1500"; fi

# 8. the deadline holds against a server that accepts TCP but never speaks SSH
sport=$(th_free_port)
th_spawn silent_pid socat "TCP-LISTEN:$sport,bind=127.0.0.1,reuseaddr,fork" EXEC:'sleep 30'
th_wait_for 20 listening "$sport"
if out=$("$run" 127.0.0.1 "$sport" "$user" "$TH_TMP/user_ed25519" "$kh" 1000 'echo no'); then
	th_fail "silent server: $out"
fi
th_assert_eq "error=timed out: ssh $user@127.0.0.1:$sport: timed out after 1000 ms (handshake)" "$out" "handshake timeout"
th_log "all ssh-exec cases passed"
