#!/bin/bash
# debian-packages.sh — the Debian packages as an operator gets them: the tracked files of this
# checkout (as they are in the work tree) are copied apart and built with
# `DEB_BUILD_OPTIONS="nocheck parallel=2" dpkg-buildpackage -b -us -uc`; lintian finds no error
# in the .changes and its .debs; the five packages install with dpkg -i; a real collectd whose
# collectd.conf only includes /etc/collectd/collectd.conf.d (as Debian's does) loads themis.so
# from /usr/lib/collectd, both types.db files through the snippet's TypesDB, and its endpoint
# takes a record that a writer stores; the installed reflector, started the way its unit's
# ExecStart says, echoes every probe of the installed themis-agent; `dpkg --purge` leaves none
# of their files, no unit enablement and no package state behind. Packages left by an aborted
# run are purged first and at exit, so the machine ends as it was.
# timeout: 1800
# slow
: "${top_srcdir:?run through make check}"
# shellcheck source=tests/common/lib.sh
. "$top_srcdir/tests/common/lib.sh"
th_require_root
th_require_cmd dpkg-buildpackage dpkg-dev
th_require_cmd dh debhelper
th_require_cmd lintian lintian
th_require_cmd fakeroot fakeroot
th_require_cmd git git
th_require_cmd curl curl
[ -x /usr/sbin/collectd ] || th_error "/usr/sbin/collectd not found: install collectd-core"
git -C "$top_srcdir" rev-parse --is-inside-work-tree >/dev/null 2>&1 ||
	th_skip "$top_srcdir is not a git checkout: the packages are built from its tracked files"

PKGS=(themis-reflector themis-agent collectd-themis themis-trigger themis-lab)
purge_all() { dpkg --purge "${PKGS[@]}" >>"$TH_TMP/purge.log" 2>&1; }
installed() { dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null | grep -q '^.i'; }
purge_all || th_error "cannot purge packages left by an earlier run: $(tail -n 5 "$TH_TMP/purge.log")"
th_on_exit dpkg --purge "${PKGS[@]}"
# Where systemd runs, installing would start the reflector on every address: policy-rc.d (101:
# action forbidden) keeps deb-systemd-invoke from starting anything while this test installs.
if [ -d /run/systemd/system ] && [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	th_on_exit rm -f /usr/sbin/policy-rc.d
fi

# --- build from a copy of the tracked files
src="$TH_TMP/build/themis"
mkdir -p "$src"
(cd "$top_srcdir" && git ls-files -z | while IFS= read -r -d '' f; do
	[ -e "$f" ] || [ -L "$f" ] && printf '%s\0' "$f"
done | xargs -0 cp -P --parents -t "$src")
[ -x "$src/debian/rules" ] || th_fail "debian/rules is not a tracked executable file"
start=$(date +%s)
(cd "$src" && DEB_BUILD_OPTIONS="nocheck parallel=2" dpkg-buildpackage -b -us -uc) \
	>"$TH_TMP/build.log" 2>&1 || {
	tail -n 60 "$TH_TMP/build.log" >&2
	th_fail "dpkg-buildpackage -b -us -uc failed (log above)"
}
th_log "packages built in $(($(date +%s) - start)) s"
version=$(cd "$src" && dpkg-parsechangelog -S Version)
arch=$(dpkg --print-architecture)
changes="$TH_TMP/build/themis_${version}_${arch}.changes"
[ -f "$changes" ] || th_fail "no $changes"
debs=()
for p in "${PKGS[@]}"; do
	deb="$TH_TMP/build/${p}_${version}_${arch}.deb"
	[ -f "$deb" ] || th_fail "package $p not built ($deb missing)"
	debs+=("$deb")
done

# --- lintian: errors fail, warnings are shown
lintian --fail-on error --tag-display-limit 0 "$changes" >"$TH_TMP/lintian.log" 2>&1 || {
	cat "$TH_TMP/lintian.log" >&2
	th_fail "lintian: $(grep -c '^E:' "$TH_TMP/lintian.log") error(s) (log above)"
}
th_log "lintian: $(grep -c '^E:' "$TH_TMP/lintian.log") errors, $(grep -c '^W:' "$TH_TMP/lintian.log") warnings"
grep '^[EW]:' "$TH_TMP/lintian.log" >&2 || true

# --- install
dpkg -i "${debs[@]}" >"$TH_TMP/install.log" 2>&1 || {
	cat "$TH_TMP/install.log" >&2
	th_error "dpkg -i failed (a missing dependency: tools/install-deps.sh)"
}
for p in "${PKGS[@]}"; do
	installed "$p" || th_fail "$p not installed after dpkg -i"
	dpkg -L "$p" >"$TH_TMP/files.$p"
done
# what each package owns, typed by its .deb (dpkg -L cannot tell a directory from /lib, a link
# to one on merged-/usr systems): files and links must go at purge, directories unless shared
for deb in "${debs[@]}"; do
	dpkg-deb -c "$deb" | awk '{ p = $6; sub(/^\./, "", p); sub(/\/$/, "", p)
		if (p != "") print substr($1, 1, 1), p }'
done >"$TH_TMP/owned"
awk '$1 == "d" { print $2 }' "$TH_TMP/owned" | sort -u >"$TH_TMP/owned.dirs"
cat "${PKGS[@]/#/$TH_TMP/files.}" | grep -vx '/\.' | sort -u | comm -23 - "$TH_TMP/owned.dirs" \
	>"$TH_TMP/owned.files"
awk '$1 != "d" { print $2 }' "$TH_TMP/owned" | sort -u | cmp -s - "$TH_TMP/owned.files" ||
	th_fail "dpkg -L and the .debs' contents differ"
for f in /usr/bin/themis-agent /usr/lib/collectd/themis.so /usr/share/themis/types.db \
	/etc/collectd/collectd.conf.d/themis.conf /lib/systemd/system/themis-reflector.service; do
	grep -qx "$f" "$TH_TMP/owned.files" || th_fail "$f is in no package"
done
[ "$(readlink -f /usr/lib/collectd/themis-types.db)" = /usr/share/themis/types.db ] ||
	th_fail "/usr/lib/collectd/themis-types.db does not lead to /usr/share/themis/types.db"
wants=/etc/systemd/system/multi-user.target.wants
[ -L "$wants/themis-reflector.service" ] || th_fail "themis-reflector.service not enabled at install"
[ ! -e "$wants/themis-watch.service" ] || th_fail "themis-watch.service enabled at install"

# --- (a) collectd with Debian's Include line loads the plugin and both types lists
ns=$(th_netns_add pkg)
mkdir -p "$TH_TMP/collectd"
cat >"$TH_TMP/collectd.conf" <<CONF
Hostname "pkgtest"
FQDNLookup false
BaseDir "$TH_TMP/collectd"
PIDFile "$TH_TMP/collectd.pid"
Interval 1
LoadPlugin logfile
<Plugin logfile>
  LogLevel info
  File "$TH_TMP/collectd-file.log"
</Plugin>
LoadPlugin load
LoadPlugin csv
<Plugin csv>
  DataDir "$TH_TMP/csv"
</Plugin>
<Include "/etc/collectd/collectd.conf.d">
	Filter "*.conf"
</Include>
CONF
/usr/sbin/collectd -t -C "$TH_TMP/collectd.conf" >"$TH_TMP/collectd.check" 2>&1 ||
	th_fail "collectd -t refused the configuration: $(cat "$TH_TMP/collectd.check")"
ip netns exec "$ns" /usr/sbin/collectd -f -C "$TH_TMP/collectd.conf" >"$TH_TMP/collectd.log" 2>&1 &
cpid=$!
th_on_exit kill -KILL "$cpid"
health() { ip netns exec "$ns" curl -fsS http://127.0.0.1:8741/v1/health; }
th_poll_for 20 health || {
	cat "$TH_TMP/collectd.log" "$TH_TMP/collectd-file.log" >&2
	th_fail "the plugin's endpoint on 127.0.0.1:8741 (the snippet's Listen) did not answer"
}
h=$(health)
th_assert_eq '"ok" "0.1.0"' "$(jq -c '.status, .version' <<<"$h" | paste -sd ' ')" "health status and version"
grep -q 'plugin_load: plugin "themis" successfully loaded' "$TH_TMP/collectd-file.log" ||
	th_fail "no 'plugin \"themis\" successfully loaded' in the log"
grep -q 'themis plugin: listening on 127.0.0.1 port 8741 (plain HTTP)' "$TH_TMP/collectd-file.log" ||
	th_fail "no 'listening on 127.0.0.1 port 8741' in the log"
t=$(($(date +%s) - 5))
rec=$(printf '{"kind":"second","vm":"pkgvm","stream":"s1","t":%s,"interval_ms":10,"sent":100,' "$t")
rec+='"received":97,"lost_up":3,"lost_down":0,"lost_unknown":0,"late":0,"dup":0,'
rec+='"rtt_min_ms":0.5,"rtt_avg_ms":1.5,"rtt_max_ms":9,"jitter_ms":0.25,"max_gap_ms":10}'
reply=$(ip netns exec "$ns" curl -sS -H 'Content-Type: application/json' --data-binary "[$rec]" \
	-w ' %{http_code}' http://127.0.0.1:8741/v1/records)
th_assert_eq '{"accepted":1,"duplicates":0} 200' "${reply//$'\n'/}" "POST /v1/records reply"
day=$(date -u -d "@$t" +%F)
probe_csv="$TH_TMP/csv/pkgtest/themis-pkgvm/themis_probe-$day"
th_poll_for 10 test -s "$probe_csv" || {
	ls -R "$TH_TMP/csv" >&2 || true
	cat "$TH_TMP/collectd-file.log" >&2
	th_fail "no themis_probe values written ($probe_csv): the snippet's types.db not loaded?"
}
th_assert_eq "$t.000,100.000000,97.000000,3.000000,0.000000,0.000000,0.000000,0.000000" \
	"$(grep "^$t" "$probe_csv" | head -n 1)" "themis_probe row of second $t"
# a stock type (load) still works: the snippet names /usr/share/collectd/types.db too
th_poll_for 10 test -s "$TH_TMP/csv/pkgtest/load/load-$(date +%F)" ||
	th_fail "no load values: the stock types.db is not loaded with the snippet's TypesDB"
! grep -E '\[error\]|Dataset not found' "$TH_TMP/collectd-file.log" ||
	th_fail "collectd logged errors (above)"
th_log "collectd with the snippet: plugin loaded from /usr/lib/collectd, record stored, stock and themis types read"
kill -TERM "$cpid"
th_wait_for 20 sh -c "! kill -0 $cpid"

# --- (b) the reflector as the unit starts it answers the installed agent's probes
unit=/lib/systemd/system/themis-reflector.service
exec_line=$(sed -n 's/^ExecStart=//p' "$unit")
read -ra words <<<"$exec_line"
cmd=()
for w in "${words[@]}"; do
	# shellcheck disable=SC2016 # the unit's literal variable reference
	if [ "$w" = '$THEMIS_REFLECT_ARGS' ]; then cmd+=(--listen 127.0.0.1:7300); else cmd+=("$w"); fi
done
[ "${#cmd[@]}" -gt "${#words[@]}" ] || th_fail "ExecStart does not pass \$THEMIS_REFLECT_ARGS: $exec_line"
th_assert_eq /usr/bin/themis-reflector "${cmd[0]}" "the unit's program (the static reflector)"
dpkg -S "${cmd[0]}" >/dev/null 2>&1 || th_fail "ExecStart's ${cmd[0]} belongs to no package"
ip netns exec "$ns" "${cmd[@]}" >"$TH_TMP/reflector.log" 2>&1 &
rpid=$!
th_on_exit kill -KILL "$rpid"
sleep 0.5
kill -0 "$rpid" 2>/dev/null || th_fail "reflector (${cmd[*]}) exited: $(cat "$TH_TMP/reflector.log")"
ip netns exec "$ns" /usr/bin/themis-agent probe --target 127.0.0.1:7300 --vm pkgvm --duration 2 \
	--report "$TH_TMP/records" 2>"$TH_TMP/probe.log" || {
	cat "$TH_TMP/probe.log" >&2
	th_fail "themis-agent probe against the installed reflector failed"
}
th_assert_match 'sent 200 received 200 lost up 0 down 0 unknown 0' "$(cat "$TH_TMP/probe.log")" \
	"probe summary against ${cmd[*]}"
th_log "installed ${cmd[*]}: $(grep -o 'sent [0-9]* received [0-9]*' "$TH_TMP/probe.log")"
kill -TERM "$rpid"

# --- (c) purge leaves nothing of theirs
purge_all || th_fail "dpkg --purge failed: $(tail -n 5 "$TH_TMP/purge.log")"
for p in "${PKGS[@]}"; do
	! installed "$p" || th_fail "$p still installed after purge"
	! dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -vq '^pn' ||
		th_fail "$p leaves package state: $(dpkg-query -W -f='${db:Status-Abbrev}' "$p")"
done
while IFS= read -r f; do
	if [ -e "$f" ] || [ -L "$f" ]; then th_fail_later "$f left after purge"; fi
done <"$TH_TMP/owned.files"
while IFS= read -r d; do
	[ -d "$d" ] || continue
	dpkg-query -S "$d" >/dev/null 2>&1 || th_fail_later "directory $d left after purge, owned by no package"
done <"$TH_TMP/owned.dirs"
left=$(find /etc/systemd/system /var/lib/systemd/deb-systemd-helper-enabled \
	/var/lib/systemd/deb-systemd-helper-masked -name 'themis-*' 2>/dev/null || true)
[ -z "$left" ] || th_fail_later "systemd enablement left after purge: $left"
th_check_failures
th_log "$(wc -l <"$TH_TMP/owned.files") files and links installed by ${#PKGS[@]} packages, none left after purge"
