# shellcheck shell=bash
# plugin-lib.sh — helpers for the collectd plugin's integration tests (sourced after
# tests/common/lib.sh): a private collectd with the stock rrdtool plugin and ours, curl posts,
# and exact reads of RRD rows.

TP_SO="${top_builddir:?}/collectd-plugin/.libs/themis.so"
# shellcheck disable=SC2034 # used by the test scripts
TP_TYPES="${top_srcdir:?}/collectd-plugin/themis-types.db"
TP_TOKEN=tok-$$-secret

tp_require() {
	th_require_cmd "${THEMIS_COLLECTD:-collectd}" collectd-core
	th_require_cmd rrdtool rrdtool
	th_require_cmd curl curl
	th_require_cmd jq jq
	[ -f "$TP_SO" ] || th_error "$TP_SO not built (make first)"
}

# tp_plugindir DIR PLUGIN...: real copies (collectd refuses symlinks) of stock plugins + ours.
tp_plugindir() {
	local dir=$1 p
	shift
	mkdir -p "$dir"
	for p in "$@"; do
		cp -L "/usr/lib/collectd/$p.so" "$dir/$p.so"
	done
	cp -L "$TP_SO" "$dir/themis.so"
}

# tp_conf_base HOST FILE PLUGINDIR [LOGFILE-LINE...]: prints the start of a collectd.conf: host
# HOST, PID file $TH_TMP/FILE.pid, plugins from PLUGINDIR, the stock types and ours, a 1 s
# interval, one write thread (keeps per-second values in order for the rrdtool plugin,
# collectd-themis(5)) and the logfile plugin at info into $TH_TMP/FILE-file.log, with each
# LOGFILE-LINE added to its block.
tp_conf_base() {
	local line
	cat <<CONF
Hostname "$1"
BaseDir "$TH_TMP"
PIDFile "$TH_TMP/$2.pid"
PluginDir "$3"
TypesDB "/usr/share/collectd/types.db" "$TP_TYPES"
Interval 1
WriteThreads 1
LoadPlugin logfile
<Plugin logfile>
  LogLevel info
  File "$TH_TMP/$2-file.log"
CONF
	for line in "${@:4}"; do
		printf '  %s\n' "$line"
	done
	printf '</Plugin>\n'
}

# tp_conf_rrdtool: prints the stock rrdtool plugin's block, writing under $TH_TMP/rrd.
tp_conf_rrdtool() {
	cat <<CONF
LoadPlugin rrdtool
<Plugin rrdtool>
  DataDir "$TH_TMP/rrd"
</Plugin>
CONF
}

# tp_start NAME CONF: run collectd -f with CONF; sets TP_PID_<NAME>; log in $TH_TMP/NAME.log.
tp_start() {
	local name=$1 conf=$2 pid
	"${THEMIS_COLLECTD:-collectd}" -t -C "$conf" >"$TH_TMP/$name.check" 2>&1 ||
		th_fail "collectd -t refused $conf: $(cat "$TH_TMP/$name.check")"
	LD_PRELOAD="${THEMIS_ASAN_PRELOAD:-}" "${THEMIS_COLLECTD:-collectd}" -f -C "$conf" \
		>>"$TH_TMP/$name.log" 2>&1 &
	pid=$!
	th_on_exit kill -KILL "$pid"
	printf -v "TP_PID_$name" '%s' "$pid"
}

# tp_stop PID: SIGTERM and wait for a clean exit (bounded).
tp_stop() {
	local pid=$1
	kill -TERM "$pid" 2>/dev/null || return 0
	for _ in $(seq 1 200); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
		sleep 0.1
	done
	th_fail "collectd $pid did not stop within 20 s"
}

tp_health() { curl -fsS "http://127.0.0.1:$1/v1/health" >/dev/null; }
# tp_health_json PORT: the health document with its counters (they need the token).
tp_health_json() { curl -fsS -H "Authorization: Bearer $TP_TOKEN" "http://127.0.0.1:$1/v1/health"; }

# tp_post PORT PATH DATA [TOKEN]: prints "<status> <body>".
tp_post() {
	local out code
	out=$(curl -sS -o "$TH_TMP/post.body" -w '%{http_code}' -X POST \
		-H "Authorization: Bearer ${4-$TP_TOKEN}" -H 'Content-Type: application/json' \
		--data-binary "$3" "http://127.0.0.1:$1$2")
	code=$out
	printf '%s %s\n' "$code" "$(cat "$TH_TMP/post.body")"
}

# tp_expect_post STATUS PORT PATH DATA [TOKEN]: the reply status must be STATUS; prints body.
tp_expect_post() {
	local want=$1 got
	shift
	got=$(tp_post "$@")
	[ "${got%% *}" = "$want" ] || th_fail "POST $2: expected HTTP $want, got '$got'"
	printf '%s\n' "${got#* }"
}

# tp_second VM STREAM T RECEIVED [RTT_AVG]: one "second" record (sent 100).
tp_second() {
	printf '{"kind":"second","vm":"%s","stream":"%s","t":%s,"interval_ms":10,"sent":100,' "$1" "$2" "$3"
	printf '"received":%s,"lost_up":%s,"lost_down":0,"lost_unknown":0,"late":0,"dup":0,' "$4" "$((100 - $4))"
	printf '"rtt_min_ms":0.5,"rtt_avg_ms":%s,"rtt_max_ms":9,"jitter_ms":0.25,"max_gap_ms":10}' "${5:-1.5}"
}

# tp_fetch FILE T DS: value of data source DS at second T (AVERAGE, 1 s), as %.10g or "nan".
tp_fetch() {
	rrdtool fetch "$1" AVERAGE -r 1 -s "$(($2 - 1))" -e "$2" | awk -v t="$2:" -v ds="$3" '
		NR == 1 { for (i = 1; i <= NF; i++) if ($i == ds) col = i + 1 }
		$1 == t { v = $col; if (v ~ /nan/) print "nan"; else printf "%.10g\n", v }'
}

# tp_assert_fetch FILE T DS EXPECTED
tp_assert_fetch() {
	local got
	got=$(tp_fetch "$1" "$2" "$3")
	[ "$got" = "$4" ] || th_fail "$1 @$2 $3: expected $4, got '${got:-<no row>}'"
}

# tp_fetch_range FILE FROM TO DS: "<t> <value>" for every second FROM..TO (AVERAGE, 1 s), the
# value as %.10g or "nan", in one rrdtool fetch.
tp_fetch_range() {
	rrdtool fetch "$1" AVERAGE -r 1 -s "$(($2 - 1))" -e "$3" | awk -v from="$2" -v to="$3" -v ds="$4" '
		NR == 1 { for (i = 1; i <= NF; i++) if ($i == ds) col = i + 1 }
		{ t = $1; sub(":", "", t) }
		$1 ~ /:$/ && t >= from && t <= to {
			v = $col; if (v ~ /nan/) print t, "nan"; else printf "%d %.10g\n", t, v }'
}

# tp_assert_range FILE DS EXPECTED_FILE: tp_fetch_range over the seconds EXPECTED_FILE lists
# ("<t> <value>" lines, in order) must print exactly that file.
tp_assert_range() {
	local from to
	from=$(head -n 1 "$3" | cut -d' ' -f1)
	to=$(tail -n 1 "$3" | cut -d' ' -f1)
	tp_fetch_range "$1" "$from" "$to" "$2" >"$3.got"
	diff "$3" "$3.got" >"$3.diff" ||
		th_fail "$1 $2 $from..$to differs (expected < > got): $(head -n 8 "$3.diff")"
}

# tp_post_seconds PORT VM STREAM FROM TO BATCH: post one "second" record per second FROM..TO,
# BATCH per request, received = (t * 7) % 101 and rtt_avg = (t % 50) / 4 (tp_expected gives
# the same figures back).
tp_post_seconds() {
	local port=$1 vm=$2 stream=$3 t=$4 to=$5 n=$6 batch i
	while [ "$t" -le "$to" ]; do
		batch=""
		for ((i = 0; i < n && t <= to; i++, t++)); do
			batch="$batch${batch:+,}$(tp_second "$vm" "$stream" "$t" "$((t * 7 % 101))" \
				"$((t % 50 / 4)).$((t % 50 % 4 * 25))")"
		done
		tp_expect_post 200 "$port" /v1/records "[$batch]" >/dev/null
	done
}

# tp_expected FROM TO DS: the "<t> <value>" lines tp_post_seconds stored (DS received, rtt_avg).
tp_expected() {
	awk -v from="$1" -v to="$2" -v ds="$3" 'BEGIN {
		for (t = from; t <= to; t++)
			printf "%d %.10g\n", t, ds == "received" ? (t * 7) % 101 : (t % 50) / 4 }'
}

# tp_start_in NS NAME CONF: tp_start inside network namespace NS.
tp_start_in() {
	local ns=$1 name=$2 conf=$3 pid
	"${THEMIS_COLLECTD:-collectd}" -t -C "$conf" >"$TH_TMP/$name.check" 2>&1 ||
		th_fail "collectd -t refused $conf: $(cat "$TH_TMP/$name.check")"
	ip netns exec "$ns" env LD_PRELOAD="${THEMIS_ASAN_PRELOAD:-}" \
		"${THEMIS_COLLECTD:-collectd}" -f -C "$conf" >>"$TH_TMP/$name.log" 2>&1 &
	pid=$!
	th_on_exit kill -KILL "$pid"
	printf -v "TP_PID_$name" '%s' "$pid"
}

# tp_stop_within SECONDS PID: SIGTERM; returns 0 once PID exited within SECONDS (reaped), 1 if
# it still runs then (left running: the caller decides).
tp_stop_within() {
	local deadline=$(($(date +%s%N) + $1 * 1000000000))
	kill -TERM "$2" 2>/dev/null || return 0
	while kill -0 "$2" 2>/dev/null; do
		[ "$(date +%s%N)" -lt "$deadline" ] || return 1
		sleep 0.05
	done
	wait "$2" 2>/dev/null || true
}

# tp_lastupdate FILE: the epoch second of FILE's last update (empty when unreadable).
tp_lastupdate() {
	rrdtool lastupdate "$1" 2>/dev/null | awk 'NR == 3 { sub(":", "", $1); print $1 }'
}

# tp_wait_health PORT NAME: th_wait_for 20 tp_health PORT, failing with the end of the logs of
# the collectd started as NAME (tp_start) when it does not answer.
tp_wait_health() {
	th_poll_for 20 tp_health "$1" ||
		th_fail "collectd $2 does not answer on port $1 after 20 s: $(tail -n 5 "$TH_TMP/$2.log" \
			"$TH_TMP"/*-file.log 2>/dev/null | tr '\n' ' ' | cut -c1-1500)"
}
