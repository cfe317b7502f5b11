#!/bin/bash
# collectd-hostile.sh — a real collectd with the themis plugin under a hostile mix while a real
# agent (reflector + prober on loopback) delivers a measured session: deep nesting on every
# endpoint, 10,000 distinct sessions and 10,000 streams, far-future and far-past times, 4 MB
# unauthenticated bodies on many connections, a finished session sent again, odd names.
# collectd stays up, its peak RSS and the archive stay under the bounds of collectd-themis(5)
# LIMITS, every limit answers its status and is counted, and every second of the legitimate
# session is in the archive exactly once with the agent's own figures.
# timeout: 420
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
# shellcheck source=tests/plugin/plugin-lib.sh
. "$top_srcdir/tests/plugin/plugin-lib.sh"
tp_require

d=$TH_TMP
agent="$top_builddir/agent/themis-agent"
port=$(th_free_port)
rport=$(th_free_port)
printf '%s\n' "$TP_TOKEN" >"$d/token"
chmod 600 "$d/token"
tp_plugindir "$d/plugins" logfile
{
	tp_conf_base edge collectd "$d/plugins"
	cat <<CONF
LoadPlugin themis
<Plugin themis>
  Listen "127.0.0.1" "$port"
  TokenFile "$d/token"
  ArchiveDir "$d/archive"
  ArchiveLag 2
  SessionGrace 1
</Plugin>
CONF
} >"$d/collectd.conf"
# Under AddressSanitizer freed memory waits in a quarantine (256 MiB by default) that would hide
# what the plugin holds: keep it small, and allow for the shadow memory and redzones.
rss_bound=128
if [ -n "${THEMIS_ASAN_PRELOAD:-}" ]; then
	export ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=16"
	rss_bound=200
fi
tp_start hostile "$d/collectd.conf"
pid=${TP_PID_hostile:?}
th_wait_for 20 tp_health "$port"
url="http://127.0.0.1:$port"
hwm() { awk '/^VmHWM/ { print $2 }' "/proc/$pid/status"; }
rss0=$(hwm)

now=$(date +%s)
marker() { # marker SESSION VM EVENT T [EXTRA]
	printf '{"kind":"marker","session":"%s","vm":"%s","event":"%s","t":%s%s}' "$1" "$2" "$3" "$4" "${5:-}"
}
# status PATH FILE [TOKEN]: POST FILE, print the HTTP status (000: no reply).
status() {
	curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer ${3-$TP_TOKEN}" \
		--data-binary "@$2" "$url$1" || true
}

# A session that finished before the mix: sending it again must not reopen it.
tp_expect_post 200 "$port" /v1/markers "[$(marker done.1 vmdone session-start "$((now - 100))"),$(marker done.1 vmdone session-end "$((now - 90))" ',"summary":{"outcome":"success","downtime_ms":412.5}')]" >/dev/null
done_json="$d/archive/vmdone/done.1.json"
closed() { [ "$(jq -r .closed_by "$1" 2>/dev/null)" = session-end ]; }
th_wait_for 20 closed "$done_json"

# The legitimate session: a real reflector and prober, records to the plugin and to a file.
"$agent" reflect --listen "127.0.0.1:$rport" >"$d/reflect.log" 2>&1 &
th_on_exit kill "$!"
t_start=$(date +%s.%N)
tp_expect_post 200 "$port" /v1/markers "[$(marker legit.1 legit session-start "$t_start")]" >/dev/null
"$agent" probe --target "127.0.0.1:$rport" --vm legit --interval 10 --duration 40 \
	--report "$url" --token-file "$d/token" --spool-dir "$d/spool" --report "$d/legit.jsonl" \
	--quiet >"$d/probe.log" 2>&1 &
probe_pid=$!
th_on_exit kill "$probe_pid"
# The legitimate stream exists before the flood of streams (MaxStreams counts first come).
legit_stream() { [ "$(tp_health_json "$port" | jq .streams)" -ge 1 ]; }
th_wait_for 20 legit_stream

# ---- the hostile mix, while the prober runs
head -c 1000000 /dev/zero | tr '\0' '[' >"$d/deep"
head -c 1000000 /dev/zero | tr '\0' ']' >>"$d/deep"
: >"$d/st.deep"
for path in /v1/markers /v1/records "/v1/iperf?vm=x&stream=y"; do
	status "$path" "$d/deep" >>"$d/st.deep"
	echo >>"$d/st.deep"
done
kill -0 "$pid" || th_fail "collectd died on deep nesting"

# 10,000 distinct sessions of 100 VMs, 1,000 markers a request.
: >"$d/st.sessions"
for b in $(seq 0 9); do
	awk -v b="$b" -v t="$now" 'BEGIN { printf "["; for (i = 0; i < 1000; i++) { n = b * 1000 + i;
		printf "%s{\"kind\":\"marker\",\"session\":\"h.%d\",\"vm\":\"hvm%d\",\"event\":\"session-start\",\"t\":%d}", i ? "," : "", n, n % 100, t }
		printf "]" }' >"$d/sessions.json"
	status /v1/markers "$d/sessions.json" >>"$d/st.sessions"
	echo >>"$d/st.sessions"
done
# 10,000 streams, 1,000 records a request.
: >"$d/st.streams"
for b in $(seq 0 9); do
	awk -v b="$b" -v t="$((now - 5))" 'BEGIN { printf "["; for (i = 0; i < 1000; i++) { n = b * 1000 + i;
		printf "%s{\"kind\":\"second\",\"vm\":\"svm%d\",\"stream\":\"s%d\",\"t\":%d,\"interval_ms\":10,\"sent\":100,\"received\":100,\"lost_up\":0,\"lost_down\":0,\"lost_unknown\":0,\"late\":0,\"dup\":0,\"rtt_min_ms\":1,\"rtt_avg_ms\":1,\"rtt_max_ms\":1,\"jitter_ms\":0,\"max_gap_ms\":10}", i ? "," : "", n % 500, n, t }
		printf "]" }' >"$d/streams.json"
	status /v1/records "$d/streams.json" >>"$d/st.streams"
	echo >>"$d/st.streams"
done
# Far-future and far-past times.
tp_second legit legit-future 4070908800 100 >"$d/future.json"
future=$(status /v1/records "$d/future.json")
marker old.1 legit session-start 1000 >"$d/past.json"
past=$(status /v1/markers "$d/past.json")
# The finished session sent again.
printf '[%s]' "$(marker done.1 vmdone session-start "$((now - 100))")" >"$d/again.json"
again=$(curl -fsS -X POST -H "Authorization: Bearer $TP_TOKEN" --data-binary "@$d/again.json" "$url/v1/markers")
# Odd names.
: >"$d/st.names"
for vm in 'a/b' '..' 'z\u0000hidden' 'new\nline' '-x' "$(printf 'v%.0s' $(seq 1 64))"; do
	printf '[%s]' "$(marker odd.1 "$vm" session-start "$now")" >"$d/odd.json"
	status /v1/markers "$d/odd.json" >>"$d/st.names"
	echo >>"$d/st.names"
done
# 4 MB unauthenticated bodies on 40 connections at once.
head -c 4000000 /dev/zero | tr '\0' '[' >"$d/big"
for i in $(seq 1 40); do
	status /v1/records "$d/big" "wrong-$i" >"$d/st.unauth.$i" &
done
wait_unauth() { [ "$(cat "$d"/st.unauth.* | wc -c)" -ge 120 ]; }
th_wait_for 60 wait_unauth
kill -0 "$pid" || th_fail "collectd died during the hostile mix"

# ---- the legitimate session ends
wait "$probe_pid" || th_fail "the prober failed: $(tail -n 5 "$d/probe.log")"
t_end=$(date +%s.%N)
tp_expect_post 200 "$port" /v1/markers "[$(marker legit.1 legit session-end "$t_end" ',"summary":{"outcome":"success","downtime_ms":0}')]" >/dev/null
th_wait_for 30 closed "$d/archive/legit/legit.1.json"
health=$(tp_health_json "$port")
rss1=$(hwm)
tp_stop "$pid"

# ---- what each hostile request got
th_log "deep nesting: $(tr '\n' ' ' <"$d/st.deep")"
while read -r st; do
	[ "$st" = 400 ] || [ "$st" = 413 ] || th_fail "deep nesting answered $st, expected 400 or 413"
done <"$d/st.deep"
th_assert_eq "429 429 429 429 429 429 429 429 429 429" "$(tr '\n' ' ' <"$d/st.sessions" | sed 's/ $//')" \
	"10,000 sessions: 429 once MaxSessions are open"
th_assert_eq 255 "$(jq .sessions <<<"$health")" \
	"open sessions: MaxSessions (256) less the legitimate one, closed since"
th_assert_eq "200 200 200 200 200 200 200 200 200 429" "$(tr '\n' ' ' <"$d/st.streams" | sed 's/ $//')" \
	"10,000 streams: MaxStreams (10000) reached in the last request"
th_assert_eq 400 "$future" "a record from 2099"
th_assert_eq 400 "$past" "a session starting in 1970"
th_assert_eq '{"accepted":0,"duplicates":1}' "$again" "a finished session sent again"
th_assert_eq "400 400 400 400 400 400" "$(tr '\n' ' ' <"$d/st.names" | sed 's/ $//')" "odd names"
for f in "$d"/st.unauth.*; do
	st=$(cat "$f")
	[ "$st" = 401 ] || [ "$st" = 000 ] || th_fail "4 MB unauthenticated body answered $st"
done
th_assert_eq session-end "$(jq -r .closed_by "$done_json")" "the finished session stays closed"
th_assert_eq 2 "$(jq '.markers | length' "$done_json")" "the finished session's markers"
th_assert_eq 412.5 "$(jq '.summary.downtime_ms' "$done_json")" "the finished session's summary"
for f in "$d/archive"/*; do
	case ${f##*/} in
	legit | vmdone | hvm* | dispatched.state | undispatched.values | summaries.jsonl | availability.jsonl) ;;
	*) th_fail "unexpected archive entry: $f" ;;
	esac
done
for k in MaxSessions MaxStreams AcceptPast/AcceptFuture; do
	[ "$(jq --arg k "$k" '.limits[$k]' <<<"$health")" -gt 0 ] || th_fail "limit $k not counted: $health"
done
th_assert_eq 1 "$(jq '.limits["finished session"]' <<<"$health")" "finished-session markers counted"

# ---- bounds: peak RSS growth and archive size (collectd-themis(5) LIMITS)
growth=$(((rss1 - rss0) / 1024))
size=$(du -sm "$d/archive" | cut -f1)
th_log "collectd VmHWM $((rss0 / 1024)) -> $((rss1 / 1024)) MiB; archive $size MiB"
[ "$growth" -le "$rss_bound" ] || th_fail "collectd's peak RSS grew by $growth MiB (bound $rss_bound)"
[ "$size" -le 64 ] || th_fail "the archive holds $size MiB (bound 64)"

# ---- every second of the legitimate session, exactly once, with the agent's figures
rrd="$d/archive/legit/legit.1.rrd"
first=$(jq .first "$d/archive/legit/legit.1.json")
last=$(jq .last "$d/archive/legit/legit.1.json")
rrdtool fetch "$rrd" AVERAGE -r 1 -s "$((first - 1))" -e "$last" >"$d/fetch"
jq -r 'select(.kind == "second") | "\(.t) \(.sent) \(.received)"' "$d/legit.jsonl" >"$d/sent"
n=0
while read -r t sent recv; do
	if [ "$t" -lt "$first" ] || [ "$t" -gt "$last" ]; then continue; fi
	row=$(awk -v ts="$t:" '$1 == ts { printf "%.10g %.10g\n", $2, $3 }' "$d/fetch")
	th_assert_eq "$sent $recv" "$row" "legit second $t (sent received)"
	n=$((n + 1))
done <"$d/sent"
[ "$n" -ge 30 ] || th_fail "only $n seconds of the legitimate session compared"
th_log "ok: $n seconds of the legitimate session stored exactly once under the hostile mix"
