#!/bin/bash
# context-script.sh — context/themis-context, the guest side of OpenNebula contextualization,
# under busybox sh and dash in a temporary root (THEMIS_CONTEXT_ROOT): THEMIS_TYPE absent does
# nothing; a keyed context writes the key file (0600 in a 0700 directory, exactly the key's
# bytes) and starts the real reflector (a themis-reflector shim over themis-agent reflect) that
# answers a real themis-agent probe holding the same key and nothing else; a second run replaces
# the running reflector; a keyless context starts a keyless one; a bad port or key is refused
# naming the variable and starts nothing; `themis-context context.sh` reads OpenNebula's file;
# with systemd it writes /etc/default/themis-reflector and restarts the unit.
# timeout: 120
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
th_require_cmd jq jq
th_require_cmd busybox busybox-static
th_require_cmd dash dash
th_require_cmd openssl openssl

script="$top_srcdir/context/themis-context"
agent="$top_builddir/agent/themis-agent"
[ -x "$agent" ] || th_error "$agent not built (make -C agent)"

# the reflector the guest would have: themis-reflector on PATH
mkdir "$TH_TMP/bin"
printf '#!/bin/sh\nexec %s reflect "$@"\n' "$agent" >"$TH_TMP/bin/themis-reflector"
chmod +x "$TH_TMP/bin/themis-reflector"
key=$(openssl rand -hex 32)
printf '%s' "$key" >"$TH_TMP/probe.key"
chmod 600 "$TH_TMP/probe.key"
printf '%s' "$(openssl rand -hex 32)" >"$TH_TMP/other.key"
chmod 600 "$TH_TMP/other.key"

# stop every reflector a case left (pid files of all roots)
stop_all() {
	local f
	for f in "$TH_TMP"/root-*/run/themis-reflector.pid; do
		[ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
	return 0
}
th_on_exit stop_all

# probes PORT [KEYFILE]: "sent received" of a 1 s probe at 50 ms on loopback
probes() {
	local rep="$TH_TMP/probe.$RANDOM.jsonl"
	"$agent" probe --target "127.0.0.1:$1" --vm ctx --interval 50 --duration 1 \
		${2:+--key-file "$2"} --report "$rep" --quiet 2>"$rep.err" ||
		th_fail "probe exited $?: $(cat "$rep.err")"
	jq -s -r '[.[] | select(.kind == "second")] | "\(map(.sent) | add) \(map(.received) | add)"' "$rep"
}

# ctx SHELL ROOT VAR=VALUE... : run the script in ROOT with exactly these context variables
ctx() {
	local root=$2
	shift 2
	env -i PATH="$TH_TMP/bin:$PATH" THEMIS_CONTEXT_ROOT="$root" "$@" "${shc[@]}" "$script"
}

for sh in "busybox sh" dash; do
	read -r -a shc <<<"$sh"
	tag=${shc[0]}
	root="$TH_TMP/root-$tag"
	mkdir "$root"
	port=$(th_free_port)

	# THEMIS_TYPE absent, or another value: exit 0, nothing written, nothing started
	ctx "$sh" "$root" THEMIS_REFLECT_PORT="$port" THEMIS_REFLECT_KEY="$key" ||
		th_fail "$sh: exit $? without THEMIS_TYPE"
	ctx "$sh" "$root" THEMIS_TYPE=HOST ||
		th_fail "$sh: exit $? with THEMIS_TYPE=HOST"
	th_assert_eq "" "$(find "$root" -mindepth 1)" "$sh: files written without THEMIS_TYPE=VM"

	# keyed: the key file holds exactly the key's bytes; the reflector answers keyed probes only
	ctx "$sh" "$root" THEMIS_TYPE=VM THEMIS_REFLECT_PORT="$port" THEMIS_REFLECT_KEY="$key" \
		2>"$TH_TMP/err" || th_fail "$sh: keyed context exited $?: $(cat "$TH_TMP/err")"
	th_assert_eq "700 600 64" \
		"$(stat -c %a "$root/etc/themis") $(stat -c '%a %s' "$root/etc/themis/reflect.key")" \
		"$sh: key directory mode, key file mode and bytes"
	cmp -s "$TH_TMP/probe.key" "$root/etc/themis/reflect.key" ||
		th_fail "$sh: key file differs from THEMIS_REFLECT_KEY"
	pid1=$(cat "$root/run/themis-reflector.pid")
	th_assert_eq "$agent reflect --listen 0.0.0.0:$port --key-file $root/etc/themis/reflect.key" \
		"$(tr '\0' ' ' <"/proc/$pid1/cmdline" | sed 's/ $//')" "$sh: reflector command line"
	th_assert_eq "$pid1" "$(ps -o sid= -p "$pid1" | tr -d ' ')" "$sh: reflector leads its own session (setsid)"
	th_assert_eq "themis-agent reflect: listening on 0.0.0.0:$port (authenticated)" \
		"$(head -n 1 "$root/var/log/themis-reflector.log")" "$sh: reflector log"
	th_assert_eq "20 20" "$(probes "$port" "$TH_TMP/probe.key")" "$sh: keyed probes sent, answered"
	th_assert_eq "20 0" "$(probes "$port" "$TH_TMP/other.key")" "$sh: probes with another key sent, answered"
	th_assert_eq "20 0" "$(probes "$port")" "$sh: unauthenticated probes sent, answered"

	# a second run (one-context runs again on reconfiguration) replaces the running reflector
	port2=$(th_free_port)
	ctx "$sh" "$root" THEMIS_TYPE=VM THEMIS_REFLECT_PORT="$port2" THEMIS_REFLECT_KEY="$key" \
		2>"$TH_TMP/err" || th_fail "$sh: second run exited $?: $(cat "$TH_TMP/err")"
	pid2=$(cat "$root/run/themis-reflector.pid")
	[ "$pid2" != "$pid1" ] || th_fail "$sh: second run kept pid $pid1"
	! kill -0 "$pid1" 2>/dev/null || th_fail "$sh: the first reflector (pid $pid1) still runs"
	th_assert_eq "20 20" "$(probes "$port2" "$TH_TMP/probe.key")" "$sh: replaced reflector, keyed probes"

	# bad values: refused naming the variable; the running reflector is left alone, none started
	for bad in 0 65536 99999999999999999999 7300x ' 7300' -1; do
		rc=0
		ctx "$sh" "$root" THEMIS_TYPE=VM THEMIS_REFLECT_PORT="$bad" THEMIS_REFLECT_KEY="$key" \
			2>"$TH_TMP/err" || rc=$?
		th_assert_eq 1 "$rc" "$sh: exit status with THEMIS_REFLECT_PORT='$bad'"
		th_assert_match "^themis-context: THEMIS_REFLECT_PORT" "$(cat "$TH_TMP/err")" \
			"$sh: message for THEMIS_REFLECT_PORT='$bad'"
	done
	rc=0
	ctx "$sh" "$root" THEMIS_TYPE=VM THEMIS_REFLECT_PORT="$port" THEMIS_REFLECT_KEY=0123456789abcdef0123456789abcde \
		2>"$TH_TMP/err" || rc=$?
	th_assert_eq "1" "$rc" "$sh: exit status with a 31-character key"
	th_assert_eq "themis-context: THEMIS_REFLECT_KEY has 31 characters: 32 to 256 needed (openssl rand -hex 32)" \
		"$(cat "$TH_TMP/err")" "$sh: message for a short key"
	rc=0
	ctx "$sh" "$root" THEMIS_TYPE=VM THEMIS_REFLECT_PORT="$port" THEMIS_REFLECT_KEY="$key
$key" 2>"$TH_TMP/err" || rc=$?
	th_assert_eq "1" "$rc" "$sh: exit status with a key holding a newline"
	th_assert_eq "themis-context: THEMIS_REFLECT_KEY holds a newline: give the key on one line" \
		"$(cat "$TH_TMP/err")" "$sh: message for a key with a newline"
	th_assert_eq "$pid2" "$(cat "$root/run/themis-reflector.pid")" "$sh: pid file after refused values"
	kill -0 "$pid2" || th_fail "$sh: a refused context stopped the running reflector"
	th_assert_eq "0" "$(pgrep -c -f "reflect --listen 0.0.0.0:$port( |\$)" || true)" \
		"$sh: reflectors started by refused contexts"

	# keyless, from OpenNebula's context.sh given as argument: no key file, unauthenticated probes
	cat >"$TH_TMP/context.sh" <<CTX
# Context variables generated by OpenNebula
ETH0_IP='127.0.0.1'
NETWORK='YES'
THEMIS_REFLECT_PORT='$port'
THEMIS_TYPE='VM'
CTX
	env -i PATH="$TH_TMP/bin:$PATH" THEMIS_CONTEXT_ROOT="$root" "${shc[@]}" "$script" "$TH_TMP/context.sh" \
		2>"$TH_TMP/err" || th_fail "$sh: keyless context.sh exited $?: $(cat "$TH_TMP/err")"
	th_assert_eq "themis-context: no THEMIS_REFLECT_KEY: the reflector answers unauthenticated probes" \
		"$(head -n 1 "$TH_TMP/err")" "$sh: keyless warning"
	[ ! -e "$root/etc/themis/reflect.key" ] || th_fail "$sh: key file left by a keyless context"
	pid3=$(cat "$root/run/themis-reflector.pid")
	th_assert_eq "$agent reflect --listen 0.0.0.0:$port" \
		"$(tr '\0' ' ' <"/proc/$pid3/cmdline" | sed 's/ $//')" "$sh: keyless reflector command line"
	th_assert_eq "20 20" "$(probes "$port")" "$sh: keyless reflector, unauthenticated probes"
	kill "$pid3"

	# with systemd: the unit's arguments file, then enable and restart
	sroot="$TH_TMP/sys-$tag"
	mkdir -p "$sroot/run/systemd/system" "$TH_TMP/sbin-$tag"
	printf '#!/bin/sh\necho "$*" >>%s\n' "$TH_TMP/systemctl-$tag.log" >"$TH_TMP/sbin-$tag/systemctl"
	chmod +x "$TH_TMP/sbin-$tag/systemctl"
	env -i PATH="$TH_TMP/sbin-$tag:$PATH" THEMIS_CONTEXT_ROOT="$sroot" THEMIS_TYPE=VM \
		THEMIS_REFLECT_KEY="$key" "${shc[@]}" "$script" 2>"$TH_TMP/err" ||
		th_fail "$sh: systemd context exited $?: $(cat "$TH_TMP/err")"
	th_assert_eq "THEMIS_REFLECT_ARGS=\"--listen 0.0.0.0:7300 --key-file $sroot/etc/themis/reflect.key\"" \
		"$(grep -v '^#' "$sroot/etc/default/themis-reflector")" "$sh: /etc/default/themis-reflector"
	th_assert_eq "enable themis-reflector.service restart themis-reflector.service" \
		"$(tr '\n' ' ' <"$TH_TMP/systemctl-$tag.log" | sed 's/ $//')" "$sh: systemctl calls"
	[ ! -e "$sroot/run/themis-reflector.pid" ] || th_fail "$sh: reflector started beside systemd"
	th_log "$sh: all cases passed"
done
