#!/bin/bash
# collectd-tls.sh — the ingest endpoint over HTTPS, with a real collectd and certificates this
# test makes (its own CA, a server certificate for 127.0.0.1/localhost, client certificates):
# a bad TLSKeyFile makes `collectd -t` fail naming the file; an agent with the test's CA delivers
# every record into the stock RRD files; with a wrong CA it fails with curl's reason and the URL,
# keeps its records in the spool and delivers all of them once restarted with the right CA;
# plain HTTP to the HTTPS port gets nothing; with TLSCAFile a client without a certificate, or
# with one from another CA, is refused with 403 and a client with a certificate is accepted (curl
# and the agent); themis-trigger posts its markers over HTTPS with a client certificate.
# timeout: 240
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
# shellcheck source=tests/plugin/plugin-lib.sh
. "$top_srcdir/tests/plugin/plugin-lib.sh"
tp_require
th_require_cmd openssl openssl
agent="$top_builddir/agent/themis-agent"
trig="$top_builddir/trigger/themis-trigger"
one="$top_builddir/lab/themis-one"
[ -x "$agent" ] || th_error "$agent not built (make -C agent)"
[ -x "$trig" ] || th_error "$trig not built (make -C trigger)"
[ -x "$one" ] || th_error "$one not built (make -C lab)"

d=$TH_TMP
port=$(th_free_port)
rport=$(th_free_port)
url="https://127.0.0.1:$port/v1/records"
printf '%s\n' "$TP_TOKEN" >"$d/token"
chmod 600 "$d/token"

# --- certificates: CA "ca" (server, client), CA "other" (rogue client)
# mkca NAME
mkca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-keyout "$d/$1.key" -out "$d/$1.pem" -subj "/CN=themis test $1" 2>"$d/openssl.log" ||
		th_error "openssl: $(cat "$d/openssl.log")"
}
# mkcert NAME CA EXTENSIONS
mkcert() {
	printf '%b\n' "$3" >"$d/$1.ext"
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$d/$1.key" -out "$d/$1.csr" -subj "/CN=$1" 2>"$d/openssl.log" ||
		th_error "openssl: $(cat "$d/openssl.log")"
	openssl x509 -req -in "$d/$1.csr" -CA "$d/$2.pem" -CAkey "$d/$2.key" \
		-set_serial "$((RANDOM + 1))" -days 2 -extfile "$d/$1.ext" \
		-out "$d/$1.pem" 2>"$d/openssl.log" || th_error "openssl: $(cat "$d/openssl.log")"
}
mkca ca
mkca other
mkcert server ca 'basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth'
mkcert client ca 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth'
mkcert rogue other 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth'

# conf FILE [EXTRA-LINE...]: collectd with rrdtool and themis over HTTPS.
conf() {
	local out=$1 line
	shift
	{
		tp_conf_base edge collectd "$d/plugins"
		tp_conf_rrdtool
		printf 'LoadPlugin themis\n<Plugin themis>\n'
		printf '  Listen "127.0.0.1" "%s"\n  TokenFile "%s"\n' "$port" "$d/token"
		printf '  TLSCertFile "%s"\n  TLSKeyFile "%s"\n' "$d/server.pem" "$d/server.key"
		printf '  ArchiveDir "%s/archive"\n  SessionGrace 1\n  ArchiveLag 1\n' "$d"
		for line in "$@"; do
			printf '  %s\n' "$line"
		done
		printf '</Plugin>\n'
	} >"$out"
}
tp_plugindir "$d/plugins" rrdtool logfile
mkdir -p "$d/archive"

# --- a key that does not match the certificate, a missing file, invalid priorities: collectd
# refuses the plugin's configuration naming them (checked with -T, as collectd 5.12's -t does
# not hand plugin blocks to the plugins)
conf "$d/mismatch.conf"
sed -i "s|TLSKeyFile \"$d/server.key\"|TLSKeyFile \"$d/client.key\"|" "$d/mismatch.conf"
: >"$d/collectd-file.log"
if LD_PRELOAD="${THEMIS_ASAN_PRELOAD:-}" "${THEMIS_COLLECTD:-collectd}" -T -C "$d/mismatch.conf" \
	>"$d/mismatch.log" 2>&1; then
	th_fail "collectd -T accepted a TLSKeyFile that does not match TLSCertFile"
fi
th_assert_match "themis plugin: TLSKeyFile $d/client.key does not match TLSCertFile $d/server.pem" \
	"$(cat "$d/mismatch.log" "$d/collectd-file.log")" "mismatched key named"
conf "$d/missing.conf"
sed -i "s|TLSKeyFile \"$d/server.key\"|TLSKeyFile \"$d/none.key\"|" "$d/missing.conf"
: >"$d/collectd-file.log"
if LD_PRELOAD="${THEMIS_ASAN_PRELOAD:-}" "${THEMIS_COLLECTD:-collectd}" -T -C "$d/missing.conf" \
	>"$d/missing.log" 2>&1; then
	th_fail "collectd -T accepted a TLSKeyFile that does not exist"
fi
th_assert_match "themis plugin: TLSKeyFile $d/none.key: No such file or directory" \
	"$(cat "$d/missing.log" "$d/collectd-file.log")" "missing key named"
conf "$d/prio.conf" 'TLSPriorities "NORMAL:+NO-SUCH-THING"'
: >"$d/collectd-file.log"
if LD_PRELOAD="${THEMIS_ASAN_PRELOAD:-}" "${THEMIS_COLLECTD:-collectd}" -T -C "$d/prio.conf" \
	>"$d/prio.log" 2>&1; then
	th_fail "collectd -T accepted an invalid TLSPriorities"
fi
th_assert_match 'themis plugin: TLSPriorities "NORMAL:\+NO-SUCH-THING": .* at \+NO-SUCH-THING' \
	"$(cat "$d/prio.log" "$d/collectd-file.log")" "invalid priorities named"

# --- HTTPS without client certificates
conf "$d/collectd.conf"
https_health() { curl -fsS --cacert "$d/ca.pem" "https://127.0.0.1:$port/v1/health"; }
tp_start edge "$d/collectd.conf"
th_wait_for 20 https_health
th_assert_match "listening on 127.0.0.1 port $port \(HTTPS\)" "$(cat "$d/collectd-file.log")" \
	"HTTPS announced"
# plain HTTP to the HTTPS port gets no answer
if curl -sS -m 5 -o /dev/null "http://127.0.0.1:$port/v1/health" 2>"$d/plain.err"; then
	th_fail "plain HTTP was answered on the HTTPS port"
fi
th_assert_match "Empty reply from server|Recv failure|Connection reset" "$(cat "$d/plain.err")" \
	"plain HTTP refused"

"$agent" reflect --listen "127.0.0.1:$rport" >>"$d/reflect.log" 2>&1 &
refl_pid=$!
th_on_exit kill -KILL "$refl_pid"

# probe VM REPORT-FILE SPOOL DURATION TLS-ARGS...: one agent run for VM, stderr in $d/VM.err;
# prints its exit status.
probe() {
	local vm=$1 file=$2 spool=$3 dur=$4 rc=0
	shift 4
	"$agent" probe --target "127.0.0.1:$rport" --vm "$vm" --stream s --interval 10 \
		--duration "$dur" --report "$file" --report "https://127.0.0.1:$port" \
		--token-file "$d/token" --spool-dir "$spool" --quiet "$@" 2>>"$d/$vm.err" || rc=$?
	printf '%s\n' "$rc"
}
rrd_of() { printf '%s/rrd/edge/themis-%s/themis_probe.rrd\n' "$d" "$1"; }
last_update() { rrdtool lastupdate "$1" 2>/dev/null | awk 'NR == 3 { sub(":", "", $1); print $1 }'; }
reached() { [ -f "$1" ] && [ "$(last_update "$1")" -ge "$2" ]; }
# same_as_rrd FILE VM: every "second" record in FILE is in VM's stock RRD file with exactly its
# sent and received counts; prints how many. A record more than 2 s (the RRD heartbeat) after the
# one before it (a second agent run) reads unknown there by RRD's rules: it must read "nan".
same_as_rrd() {
	local file=$1 rrd n=0 t sent recv prev=
	rrd=$(rrd_of "$2")
	th_wait_for 30 reached "$rrd" "$(jq -s '[.[] | select(.kind == "second") | .t] | max' "$file")"
	while read -r t sent recv; do
		if [ -n "$prev" ] && [ "$((t - prev))" -gt 2 ]; then
			sent=nan recv=nan
		fi
		tp_assert_fetch "$rrd" "$t" sent "$sent"
		tp_assert_fetch "$rrd" "$t" received "$recv"
		n=$((n + 1)) prev=$t
	done < <(jq -r 'select(.kind == "second") | "\(.t) \(.sent) \(.received)"' "$file")
	[ "$n" -ge 2 ] || th_fail "$file: only $n second records"
	printf '%s\n' "$n"
}

# right CA: everything arrives
th_assert_eq 0 "$(probe vtls1 "$d/vtls1.jsonl" "$d/spool1" 3 --cacert "$d/ca.pem")" "agent with the CA"
n1=$(same_as_rrd "$d/vtls1.jsonl" vtls1)

# wrong CA: refused with curl's reason and the URL, records kept in the spool
th_assert_eq 1 "$(probe vtls2 "$d/vtls2.jsonl" "$d/spool2" 2 --cacert "$d/other.pem")" \
	"agent with a wrong CA (records left in the spool)"
th_assert_match "themis-agent: report: $url: SSL certificate problem: unable to get local issuer certificate: keeping [0-9]+ records in $d/spool2 and retrying" \
	"$(cat "$d/vtls2.err")" "wrong CA reported"
ls "$d/spool2/"*.batch >/dev/null 2>&1 || th_fail "nothing spooled with the wrong CA"
[ ! -e "$(rrd_of vtls2)" ] || th_fail "records sent over a connection with an unverified certificate"
# restarted with the right CA: the spool goes first, then the new records, nothing lost
th_assert_eq 0 "$(probe vtls2 "$d/vtls2.jsonl" "$d/spool2" 1 --cacert "$d/ca.pem")" \
	"agent restarted with the CA"
n2=$(same_as_rrd "$d/vtls2.jsonl" vtls2)
tp_stop "${TP_PID_edge:?}"

# --- TLSCAFile: client certificates required
conf "$d/collectd-ca.conf" "TLSCAFile \"$d/ca.pem\""
tp_start edge "$d/collectd-ca.conf"
health_cert() {
	curl -fsS --cacert "$d/ca.pem" --cert "$d/client.pem" --key "$d/client.key" \
		"https://127.0.0.1:$port/v1/health"
}
th_wait_for 20 health_cert
th_assert_match "listening on 127.0.0.1 port $port \(HTTPS, client certificates required\)" \
	"$(cat "$d/collectd-file.log")" "client certificates announced"
# tls_post WHAT CURL-ARGS...: prints "<status> <body>" of one record posted with CURL-ARGS.
T0=$(($(date +%s) - 100))
tls_post() {
	local what=$1 code
	shift
	code=$(curl -sS -o "$d/post.body" -w '%{http_code}' --cacert "$d/ca.pem" "$@" \
		-H "Authorization: Bearer $TP_TOKEN" -H 'Content-Type: application/json' \
		--data-binary "[$(tp_second vtlsc s "$T0" 42)]" "$url" 2>"$d/post.err") ||
		th_fail "$what: $(cat "$d/post.err")"
	printf '%s %s\n' "$code" "$(cat "$d/post.body")"
}
th_assert_eq '403 {"error":"client certificate refused: no client certificate presented"}' \
	"$(tls_post "no client certificate")" "no client certificate"
th_assert_eq '403 {"error":"client certificate refused: The certificate is NOT trusted. The certificate issuer is unknown."}' \
	"$(tls_post "certificate of another CA" --cert "$d/rogue.pem" --key "$d/rogue.key")" \
	"client certificate of another CA"
[ ! -e "$(rrd_of vtlsc)" ] || th_fail "a refused client's record was stored"
th_assert_eq '200 {"accepted":1,"duplicates":0}' \
	"$(tls_post "client certificate" --cert "$d/client.pem" --key "$d/client.key")" \
	"client certificate of the CA"
th_wait_for 30 reached "$(rrd_of vtlsc)" "$T0"
tp_assert_fetch "$(rrd_of vtlsc)" "$T0" received 42
# the agent: without a certificate refused (403, kept), with one accepted
th_assert_eq 1 "$(probe vtls3 "$d/vtls3.jsonl" "$d/spool3" 1 --cacert "$d/ca.pem")" \
	"agent without a client certificate"
th_assert_match "themis-agent: report: $url refused this agent \(HTTP 403: \{\"error\":\"client certificate refused: no client certificate presented\"\}\): keeping [0-9]+ records" \
	"$(cat "$d/vtls3.err")" "403 reported by the agent"
th_assert_eq 0 "$(probe vtls3 "$d/vtls3.jsonl" "$d/spool3" 1 --cacert "$d/ca.pem" \
	--cert "$d/client.pem" --key "$d/client.key")" "agent with a client certificate"
n3=$(same_as_rrd "$d/vtls3.jsonl" vtls3)

# --- themis-trigger: markers over HTTPS with a client certificate
oport=$(th_free_port)
listening() { ss -Htln "sport = :$1" | grep -q .; }
th_spawn one_pid "$one" --state "$d/one" --listen "127.0.0.1:$oport" --auth oneadmin:pw \
	--hosts 2 --vms 1 --sim-time 300 --lcm-delay 50
th_wait_for 20 listening "$oport"
printf 'oneadmin:pw\n' >"$d/one_auth"
chmod 600 "$d/one_auth"
trig_run() { # trig_run MARKERS TLS-ARGS...
	local j=$1
	shift
	ONE_XMLRPC="http://127.0.0.1:$oport/RPC2" ONE_AUTH="$d/one_auth" "$trig" run --vm vm0 \
		--to host1 --warmup 0 --cooldown 0 --grace 0 --poll-period 100 --markers "$j" \
		--plugin-url "https://127.0.0.1:$port" --token-file "$d/token" --csv "$@"
}
# without the client certificate the markers stay queued and the reason is shown
trig_run "$d/m-refused.jsonl" --cacert "$d/ca.pem" >"$d/trig1.out" 2>"$d/trig1.err" || true
th_assert_match "5 markers not delivered to the plugin \(they are in the journal $d/m-refused.jsonl\)" \
	"$(cat "$d/trig1.err")" "undelivered markers counted"
th_assert_match "plugin unreachable \(POST https://127.0.0.1:$port/v1/markers: HTTP 403\)" \
	"$(cat "$d/trig1.err")" "403 shown"
trig_run "$d/m.jsonl" --cacert "$d/ca.pem" --cert "$d/client.pem" --key "$d/client.key" \
	--to host0 >"$d/trig2.out" 2>"$d/trig2.err" || th_fail "trigger run over HTTPS: $(cat "$d/trig2.err")"
session=$(jq -r .session "$d/m.jsonl" | head -n 1)
json="$d/archive/vm0/$session.json"
closed() { [ "$(jq -r .closed_by "$json" 2>/dev/null)" = session-end ]; }
th_wait_for 30 closed
th_assert_eq "$(jq -r .event "$d/m.jsonl" | tr '\n' ' ')" \
	"$(jq -r '.markers[].event' "$json" | tr '\n' ' ')" "markers delivered over HTTPS"
tp_stop "${TP_PID_edge:?}"
th_log "ok: $n1 + $n2 + $n3 seconds over HTTPS, markers of $session"
