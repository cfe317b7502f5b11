#!/bin/bash
# trigger-xml-limits.sh — an OpenNebula endpoint answering with hostile XML (one-hostile): a
# billion-laughs DTD in the XML-RPC envelope (7 levels: 300 MB if expanded), one in the <VM_POOL>
# document carried as a string, a bare <!DOCTYPE>, and replies larger than the response limit,
# streamed without a length or announced by Content-Length. `themis-trigger list-vms` refuses
# each with its exact message (exit status 2) and its peak resident memory (VmHWM, from
# /usr/bin/time) stays within a few MiB of a well-behaved call's — or, for the oversized
# replies, of the response limit.
# timeout: 120
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
th_require_cmd /usr/bin/time time
trig="$top_builddir/trigger/themis-trigger"
hostile="$top_builddir/tests/trigger/one-hostile"
listening() { ss -Htln "sport = :$1" | grep -q .; }

printf 'oneadmin:pw\n' >"$TH_TMP/one_auth"
chmod 600 "$TH_TMP/one_auth"
export ONE_AUTH="$TH_TMP/one_auth"

# serve MODE [N]: (re)start the endpoint answering every call but one.system.version by MODE
serve() {
	if [ -n "${srv_pid:-}" ]; then
		kill "$srv_pid" 2>/dev/null || true
		wait "$srv_pid" 2>/dev/null || true
	fi
	port=$(th_free_port)
	th_spawn srv_pid "$hostile" "$port" "$@"
	th_wait_for 10 listening "$port"
	url="http://127.0.0.1:$port/RPC2"
}

# list_vms ARGS...: run list-vms against the endpoint; sets rc, out (stdout and stderr) and
# rss_kb (peak resident set of the trigger, KiB)
list_vms() {
	rc=0
	/usr/bin/time -f %M -o "$TH_TMP/rss" "$trig" list-vms --one-xmlrpc "$url" "$@" \
		>"$TH_TMP/out" 2>&1 || rc=$?
	out=$(cat "$TH_TMP/out")
	rss_kb=$(tail -n 1 "$TH_TMP/rss")
}

# refused RSS_LIMIT_KB MESSAGE WHAT: the last call exited 2 saying MESSAGE, within RSS_LIMIT_KB
refused() {
	th_assert_eq 2 "$rc" "exit status ($3)"
	th_assert_eq "themis-trigger: $2" "$out" "message ($3)"
	[ "$rss_kb" -le "$1" ] || th_fail "$3: peak RSS $rss_kb KiB, more than $1 KiB"
	th_log "$3: refused, peak RSS $rss_kb KiB"
}

# the well-behaved endpoint: the baseline, also under the smallest response limit
serve pool
list_vms
th_assert_eq 0 "$rc" "exit status of a well-behaved list-vms: $out"
th_assert_match '^0 +vm0 +RUNNING' "$(sed -n 2p "$TH_TMP/out")" "VM line"
base_kb=$rss_kb
th_log "baseline peak RSS $base_kb KiB"
list_vms --max-response 4K
th_assert_eq 0 "$rc" "exit status with --max-response 4K and a 600-byte reply: $out"
small=$((base_kb + 8 * 1024))

# billion laughs in the envelope: refused before xmlrpc-c (which would expand it) sees it
serve envelope-laughs 7
list_vms
refused "$small" "one.vmpool.info: reply has a document type declaration (<!DOCTYPE>): refused, its entities could expand without bound" "envelope billion laughs"
serve doctype
list_vms
refused "$small" "one.vmpool.info: reply has a document type declaration (<!DOCTYPE>): refused, its entities could expand without bound" "bare DOCTYPE in the envelope"

# billion laughs inside the document: libxml2's own limit (no XML_PARSE_HUGE) stops it
serve vm-laughs 7
list_vms
refused "$small" "<VM_POOL> document is not well-formed XML: Detected an entity reference loop" "document billion laughs"
# a shallow one parses, and the DTD is refused
serve vm-laughs 1
list_vms
refused "$small" "<VM_POOL> document has a DTD (<!DOCTYPE>): refused" "document with a DTD"

# 200 MiB: read up to the limit (64 MiB by default), then refused (under AddressSanitizer a
# growing buffer is copied and the old one quarantined: up to three times the limit)
big=$((base_kb + 80 * 1024))
[ -z "${THEMIS_ASAN_PRELOAD:-}" ] || big=$((base_kb + 3 * 64 * 1024))
serve stream 200
list_vms
refused "$big" "one.vmpool.info: reply from $url is larger than the response limit of 64 MiB: refused (raise it with --max-response)" "200 MiB streamed, default limit"
list_vms --max-response 1M
refused "$small" "one.vmpool.info: reply from $url is larger than the response limit of 1 MiB: refused (raise it with --max-response)" "200 MiB streamed, --max-response 1M"
# a length announced over the limit: refused before the body is read
serve declared 200
list_vms --max-response 512K
refused "$small" "one.vmpool.info: reply from $url is larger than the response limit of 512 KiB: refused (raise it with --max-response)" "200 MiB announced, --max-response 512K"

# the option's own checks
list_vms --max-response 2G
th_assert_eq 2 "$rc" "exit status of --max-response 2G"
th_assert_eq 'themis-trigger: --max-response: "2G" is not a size in [4096, 1073741824] bytes (digits with an optional K, M or G)' \
	"$(head -n 1 "$TH_TMP/out")" "message of --max-response 2G"
th_log "all XML limit cases passed"
