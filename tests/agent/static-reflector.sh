#!/bin/bash
# static-reflector.sh — themis-reflector is one self-contained binary: its ELF headers name no
# program interpreter and no shared library; started under "env -i" with an empty
# LD_LIBRARY_PATH, chrooted into a directory that holds only itself and its key, in a VM
# namespace, it echoes every probe of the real "themis-agent probe" with the same key (100 of
# 100), drops and counts as forged every probe of a prober with another key, prints its counters
# on SIGUSR1 and when it stops, and refuses a name in --listen (it resolves nothing: no NSS).
# Skips only when configure did not build it (sanitizers, fuzzing, --disable-static-reflector).
# timeout: 120
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"

REFL="${top_builddir:?}/agent/themis-reflector"
AGENT="$top_builddir/agent/themis-agent"
case ${THEMIS_STATIC_REFLECTOR:-yes} in
yes) ;;
*) th_skip "themis-reflector is not built in this configuration: $THEMIS_STATIC_REFLECTOR" ;;
esac
[ -x "$REFL" ] || th_error "themis-reflector not built: $REFL"
th_require_root
th_require_cmd readelf binutils
th_require_cmd ip iproute2
th_require_cmd chroot coreutils
th_require_cmd jq jq
CHROOT=$(command -v chroot)
PORT=7300

# field NAME of the last counters line of reflector log $1
field() { sed -n "s/.* $2 \([0-9]*\).*/\1/p" "$1" | tail -n 1; }

# 1. the ELF headers: no interpreter, no dynamic section at all
hdr=$(readelf -l -d "$REFL")
th_assert_eq 0 "$(grep -c 'INTERP\|program interpreter' <<<"$hdr" || true)" "PT_INTERP in $REFL"
th_assert_eq 0 "$(grep -c 'NEEDED' <<<"$hdr" || true)" "DT_NEEDED in $REFL"
th_assert_match 'There is no dynamic section' "$hdr" "readelf -d $REFL"

# 2. names are refused, not resolved; same exit status as themis-agent reflect's bad --listen
rc=0
err=$(env -i "$REFL" --listen localhost:$PORT 2>&1) || rc=$?
th_assert_eq 1 "$rc" "exit status of --listen localhost:$PORT"
th_assert_match '--listen localhost:7300: not a numeric address \(themis-reflector is static' \
	"$err" "message of --listen localhost:$PORT"
th_assert_match "^themis-reflector [0-9]" "$("$REFL" --version)" "--version"

# 3. a root holding the binary and its key only
root="$TH_TMP/root"
mkdir -m 0755 "$root"
cp "$REFL" "$root/themis-reflector"
(umask 077 && head -c 32 /dev/urandom >"$root/reflect.key")
(umask 077 && head -c 32 /dev/urandom >"$TH_TMP/other.key")
cp "$root/reflect.key" "$TH_TMP/probe.key"
th_assert_eq "$root/reflect.key $root/themis-reflector" "$(find "$root" -mindepth 1 | sort | tr '\n' ' ' | sed 's/ $//')" \
	"files in the chroot"

sup=$(th_netns_add sup)
th_on_exit th_netns_del "$sup"
vm=$(th_netns_add vm)
th_on_exit th_netns_del "$vm"
th_netns_link "$sup" 10.77.1.1/24 "$vm" 10.77.1.2/24 >/dev/null
ip netns exec "$vm" env -i LD_LIBRARY_PATH= "$CHROOT" "$root" /themis-reflector \
	--listen "10.77.1.2:$PORT" --key-file /reflect.key 2>"$TH_TMP/reflect.log" &
refl=$!
th_on_exit kill -KILL "$refl"
th_wait_for 5 grep -q listening "$TH_TMP/reflect.log"
th_assert_eq "themis-agent reflect: listening on 10.77.1.2:$PORT (authenticated)" \
	"$(head -n 1 "$TH_TMP/reflect.log")" "first line of the reflector"
# the process that answers is the static binary itself, in the chroot, with no environment
th_assert_eq themis-reflecto "$(cat "/proc/$refl/comm")" "command of the reflector process"
th_assert_eq "$(readlink -f "$root")" "$(readlink "/proc/$refl/root")" "root of the reflector"
th_assert_eq "LD_LIBRARY_PATH=" "$(tr '\0' '\n' <"/proc/$refl/environ")" "environment"
th_assert_eq 0 "$(grep -c '\.so' "/proc/$refl/maps" || true)" "shared objects mapped"

# 4. 100 keyed probes of the real prober, all echoed
ip netns exec "$sup" "$AGENT" probe --target "10.77.1.2:$PORT" --vm good --interval 10 \
	--duration 1 --key-file "$TH_TMP/probe.key" --report "$TH_TMP/good.rec" 2>"$TH_TMP/good.log"
cat "$TH_TMP/good.log" >&2
th_assert_match '\(vm/good/7300\): sent 100 received 100 lost up 0 down 0 unknown 0 ' \
	"$(cat "$TH_TMP/good.log")" "keyed prober"
th_assert_eq 100 "$(jq -s '[.[] | select(.kind == "second") | .received] | add' "$TH_TMP/good.rec")" \
	"echoes in the records"

# 5. another key: 100 probes, none echoed, all counted as forged
ip netns exec "$sup" "$AGENT" probe --target "10.77.1.2:$PORT" --vm bad --interval 10 \
	--duration 1 --key-file "$TH_TMP/other.key" --report "$TH_TMP/bad.rec" 2>"$TH_TMP/bad.log"
th_assert_match '\(vm/bad/7300\): sent 100 received 0 ' "$(cat "$TH_TMP/bad.log")" \
	"prober with another key"

# 6. the counters on SIGUSR1, then again when it stops
kill -USR1 "$refl"
th_wait_for 5 grep -q received "$TH_TMP/reflect.log"
log="$TH_TMP/reflect.log"
cat "$log" >&2
th_assert_eq 200 "$(field "$log" received)" "received"
th_assert_eq 100 "$(field "$log" echoed)" "echoed"
th_assert_eq 100 "$(field "$log" forged)" "forged"
th_assert_eq 1 "$(field "$log" streams)" "streams"
th_assert_eq 0 "$(field "$log" send-errors)" "send-errors"
kill -TERM "$refl"
rc=0
wait "$refl" || rc=$?
th_assert_eq 0 "$rc" "exit status after SIGTERM"
th_assert_eq 2 "$(grep -c '^themis-agent reflect: received 200 echoed 100 ' "$log")" \
	"counters lines (SIGUSR1, stop)"
