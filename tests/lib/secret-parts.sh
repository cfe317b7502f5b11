#!/bin/bash
# secret-parts.sh — the three readers of a bearer token file agree (lib/th-secret.h): for every
# file of a table (blanks and line ends, empty, spaces inside, NUL, two lines, the length limit,
# modes, a directory, a missing file), themis-agent probe --token-file, themis-trigger watch
# --token-file and the collectd plugin's TokenFile (a real collectd -T) accept it or refuse it
# alike, as the table expects. Each part is stopped by a setup error just after the token is
# read, so no packet is sent: the agent by a --spool-dir that is a file, the trigger by a missing
# OpenNebula auth file, collectd -T by nothing (it starts, reads once and stops). A refusal must
# name the token file; an acceptance must reach that next step.
# timeout: 60
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
# shellcheck source=tests/plugin/plugin-lib.sh
. "$top_srcdir/tests/plugin/plugin-lib.sh"
tp_require
agent="$top_builddir/agent/themis-agent"
trigger="$top_builddir/trigger/themis-trigger"
[ -x "$agent" ] || th_error "$agent not built (make first)"
[ -x "$trigger" ] || th_error "$trigger not built (make first)"

d=$TH_TMP
port=$(th_free_port)
tp_plugindir "$d/plugins" logfile
: >"$d/not-a-dir"
tok="tok-$$-secret"
long=$(printf '%*s' 1023 '' | tr ' ' x) # the longest token: 1023 bytes, 1024 with its LF

# The table: NAME MODE VERDICT; mk NAME makes the file.
cases="plain 600 accept
lf 600 accept
crlf 600 accept
trailing-space 600 accept
trailing-tab 600 accept
trailing-blanks 600 accept
group-readable 640 accept
owner-only 400 accept
longest 600 accept
empty 600 refuse
only-whitespace 600 refuse
leading-space 600 refuse
inner-space 600 refuse
inner-tab 600 refuse
nul 600 refuse
two-lines 600 refuse
blank-line-first 600 refuse
over-long 600 refuse
over-long-no-lf 600 refuse
world-readable 644 refuse
other-readable 604 refuse
directory 700 refuse
missing - refuse"

mk() {
	case $1 in
	directory) mkdir "$d/tok.$1" && return ;;
	missing) return ;;
	esac
	case $1 in
	plain | group-readable | owner-only | world-readable | other-readable) printf '%s' "$tok" ;;
	lf) printf '%s\n' "$tok" ;;
	crlf) printf '%s\r\n' "$tok" ;;
	trailing-space) printf '%s \n' "$tok" ;;
	trailing-tab) printf '%s\t\n' "$tok" ;;
	trailing-blanks) printf '%s \t\r\n\n' "$tok" ;;
	longest) printf '%s\n' "$long" ;;
	empty) printf '' ;;
	only-whitespace) printf ' \t\r\n' ;;
	leading-space) printf ' %s\n' "$tok" ;;
	inner-space) printf 'tok %s\n' "$tok" ;;
	inner-tab) printf 'tok\t%s\n' "$tok" ;;
	nul) printf 'tok\0%s\n' "$tok" ;;
	two-lines) printf '%s\nsecond\n' "$tok" ;;
	blank-line-first) printf '\n%s\n' "$tok" ;;
	over-long) printf '%sx\n' "$long" ;;
	over-long-no-lf) printf '%sx' "$long" ;;
	*) th_error "no content for case $1" ;;
	esac >"$d/tok.$1"
}

# verdict PART FILE: prints accept or refuse; anything else is an error of the test.
verdict() {
	local part=$1 f=$2 rc=0 out
	case $part in
	agent)
		out=$("$agent" probe --target "127.0.0.1:$port" --vm v1 --duration 1 \
			--report "http://127.0.0.1:$port/v1/records" --token-file "$f" \
			--spool-dir "$d/not-a-dir" 2>&1 >/dev/null) || rc=$?
		[ "$rc" -ne 0 ] || th_error "agent ran with --spool-dir a file ($f)"
		case $out in
		*"token file $f"*) echo refuse ;;
		*"cannot open $d/not-a-dir/lock"*) echo accept ;;
		*) th_error "agent, $f: exit $rc, unexpected: $out" ;;
		esac
		;;
	trigger)
		out=$("$trigger" watch --all --events none --plugin-url "http://127.0.0.1:$port" \
			--token-file "$f" --one-auth "$d/no-auth" 2>&1 >/dev/null) || rc=$?
		[ "$rc" -ne 0 ] || th_error "trigger ran without an OpenNebula auth file ($f)"
		case $out in
		*"--token-file $f"*) echo refuse ;;
		*"cannot read OpenNebula auth file $d/no-auth"*) echo accept ;;
		*) th_error "trigger, $f: exit $rc, unexpected: $out" ;;
		esac
		;;
	plugin)
		{
			tp_conf_base edge plugin "$d/plugins"
			printf 'LoadPlugin themis\n<Plugin themis>\n'
			printf '  Listen "127.0.0.1" "%s"\n  TokenFile "%s"\n</Plugin>\n' "$port" "$f"
		} >"$d/plugin.conf"
		: >"$d/plugin-file.log"
		LD_PRELOAD="${THEMIS_ASAN_PRELOAD:-}" "${THEMIS_COLLECTD:-collectd}" -T \
			-C "$d/plugin.conf" >"$d/plugin.out" 2>&1 || rc=$?
		out=$(cat "$d/plugin.out" "$d/plugin-file.log")
		case $rc:$out in
		[1-9]*:*"themis plugin: TokenFile $f"*) echo refuse ;;
		0:*"themis plugin: listening on 127.0.0.1 port $port"*"(bearer token required)"*)
			echo accept
			;;
		*) th_error "collectd -T, $f: exit $rc, unexpected: $out" ;;
		esac
		;;
	esac
}

n=0
while read -r name mode want; do
	mk "$name"
	f="$d/tok.$name"
	[ "$mode" = - ] || chmod "$mode" "$f"
	a=$(verdict agent "$f")
	t=$(verdict trigger "$f")
	p=$(verdict plugin "$f")
	th_log "$name (mode $mode): agent $a, trigger $t, plugin $p (expected $want)"
	if [ "$a" != "$t" ] || [ "$t" != "$p" ]; then
		th_fail_later "$name: the parts disagree: agent $a, trigger $t, plugin $p"
	fi
	[ "$a $t $p" = "$want $want $want" ] ||
		th_fail_later "$name: expected $want, got agent $a, trigger $t, plugin $p"
	n=$((n + 1))
done <<<"$cases"
th_assert_eq 23 "$n" "files checked"
th_check_failures
