# shellcheck shell=bash
# trigger-lib.sh — helpers for the trigger's integration tests (sourced after
# tests/common/lib.sh): a private sshd's configuration and the SIGTERM-during-a-migration check.

# tt_sshd_config PORT ADDRESS: prints an sshd_config for `sshd -D -e` listening on
# ADDRESS:PORT, host key $TH_TMP/host_key, keys from $TH_TMP/authorized_keys, key logins only.
tt_sshd_config() {
	cat <<CONF
Port $1
ListenAddress $2
HostKey $TH_TMP/host_key
PidFile none
StrictModes no
AuthorizedKeysFile $TH_TMP/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin prohibit-password
CONF
}

# tt_sigterm_aborts PID LIMIT_MS MARKERS: SIGTERM to a running `themis-trigger run` (a child of
# this shell); it must exit with status 1 within LIMIT_MS and its last marker in MARKERS must
# close the session as aborted.
tt_sigterm_aborts() {
	local pid=$1 limit=$2 markers=$3 rc=0 t0 t1
	t0=$(date +%s%N)
	kill -TERM "$pid"
	wait "$pid" || rc=$?
	t1=$(date +%s%N)
	th_assert_eq 1 "$rc" "exit status after SIGTERM"
	[ $(((t1 - t0) / 1000000)) -lt "$limit" ] ||
		th_fail "SIGTERM took $(((t1 - t0) / 1000000)) ms to end the run"
	th_assert_eq "session-end aborted" \
		"$(tail -n 1 "$markers" | jq -r '"\(.event) \(.outcome)"')" "last marker after SIGTERM"
}
