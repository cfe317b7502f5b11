# shellcheck shell=bash
# tests/agent/agent-common.sh — shared by the themis-agent network tests (sourced after
# tests/common/lib.sh). A supervisor namespace linked to N "VM" namespaces (10.77.<i>.1 ↔
# 10.77.<i>.2), a reflector in each VM, nftables rules in each VM that drop probes (up) or
# echoes (down) and are switched through one long-running "nft -i" per VM, so the switch time is
# known to well under a millisecond (read from bash's EPOCHREALTIME around the commit).
# Expected loss and outages are written to $TA_EXPECT and compared with the records by
# ta_check.

th_require_root
th_require_cmd nft nftables
th_require_cmd jq jq
th_require_cmd ip iproute2

AGENT="${top_builddir:?}/agent/themis-agent"
[ -x "$AGENT" ] || th_error "themis-agent not built: $AGENT"
TA_PORT=9911
TA_EXPECT="$TH_TMP/expect"
: >"$TA_EXPECT"
TA_NOISE_FILE="$TH_TMP/noise"
: >"$TA_NOISE_FILE"
TA_VM=()
TA_W=()
TA_R=()
TA_H_IN=()
TA_H_OUT=()
TA_REFL=()
# shellcheck disable=SC2034 # veth names, for the tests that shape traffic
TA_IF_SUP=()
# shellcheck disable=SC2034
TA_IF_VM=()

# ta_setup N [REFLECT_ARGS...]: namespaces, links, rules, one reflector per VM.
ta_setup() {
	local n=$1 i vm
	shift
	# th_netns_add runs in a command substitution here, so its own cleanup entry is lost:
	# register the deletion in this shell
	TA_SUP=$(th_netns_add sup)
	th_on_exit th_netns_del "$TA_SUP"
	for ((i = 1; i <= n; i++)); do
		vm=$(th_netns_add "vm$i")
		th_on_exit th_netns_del "$vm"
		TA_VM[i]=$vm
		read -r "TA_IF_SUP[i]" "TA_IF_VM[i]" < <(th_netns_link "$TA_SUP" "10.77.$i.1/24" "$vm" "10.77.$i.2/24")
		ip netns exec "$vm" nft -f - <<-NFT
			table inet themis_test {
				chain in { type filter hook input priority 0; udp dport $TA_PORT counter; }
				chain out { type filter hook output priority 0; udp sport $TA_PORT counter; }
			}
		NFT
		TA_H_IN[i]=$(ip netns exec "$vm" nft -a list chain inet themis_test in |
			sed -n 's/.*udp dport.*# handle \([0-9]*\).*/\1/p')
		TA_H_OUT[i]=$(ip netns exec "$vm" nft -a list chain inet themis_test out |
			sed -n 's/.*udp sport.*# handle \([0-9]*\).*/\1/p')
		ta_nft_start "$i"
		ip netns exec "$vm" "$AGENT" reflect --listen "10.77.$i.2:$TA_PORT" "$@" \
			2>"$TH_TMP/reflect$i.log" &
		TA_REFL[i]=$!
		th_on_exit kill -KILL "${TA_REFL[i]}"
	done
	for ((i = 1; i <= n; i++)); do
		th_wait_for 5 grep -q listening "$TH_TMP/reflect$i.log"
	done
}

# ta_nft_start I: a persistent "nft -e -a -i" in VM I, fed through a fifo.
ta_nft_start() {
	local i=$1 in="$TH_TMP/nft$1.in" out="$TH_TMP/nft$1.out" w r
	mkfifo "$in" "$out"
	ip netns exec "${TA_VM[i]}" nft -e -a -i <"$in" >"$out" 2>&1 &
	th_on_exit kill -KILL "$!"
	exec {w}>"$in"
	exec {r}<"$out"
	TA_W[i]=$w
	TA_R[i]=$r
}

# ta_rule I up|down|both drop|counter: switch rules of VM I; prints the epoch time of the
# commit (middle of a window of well under 1 ms, logged to stderr when wider than 1 ms).
ta_rule() {
	local i=$1 dir=$2 verdict=$3 t0 t1 line cmd=""
	case $dir in
	up | both) cmd="replace rule inet themis_test in handle ${TA_H_IN[i]} udp dport $TA_PORT $verdict" ;;
	esac
	case $dir in
	down | both) cmd="${cmd:+$cmd; }replace rule inet themis_test out handle ${TA_H_OUT[i]} udp sport $TA_PORT $verdict" ;;
	esac
	t0=$EPOCHREALTIME
	printf '%s\n' "$cmd" >&"${TA_W[i]}"
	while read -r -t 5 -u "${TA_R[i]}" line; do
		case $line in "# new generation"*) break ;; esac
	done
	t1=$EPOCHREALTIME
	# the half window is how far the commit may lie from the time printed: ta_check widens
	# its bounds by the largest one
	awk -v a="$t0" -v b="$t1" -v f="$TA_NOISE_FILE" 'BEGIN {
		if (b - a > 0.001) printf "nft commit took %.3f ms\n", (b - a) * 1000 > "/dev/stderr"
		printf "nft %.3f\n", (b - a) * 500 >> f
		printf "%.6f\n", (a + b) / 2 }'
}

# ta_inject I KIND SECONDS: an outage of about SECONDS in VM I; KIND up, down, or both (echoes
# dropped first, probes too from a third of the way, both released together). Records what
# must be seen into $TA_EXPECT: "loss STREAM DIR FROM TO" and "outage STREAM DIR FROM TO".
ta_inject() {
	local i=$1 kind=$2 len=$3 ta tb tm stream="vm$1"
	case $kind in
	up | down)
		ta=$(ta_rule "$i" "$kind" drop)
		sleep "$len"
		tb=$(ta_rule "$i" "$kind" counter)
		printf 'loss %s %s %s %s\noutage %s %s %s %s\n' "$stream" "$kind" "$ta" "$tb" \
			"$stream" "$kind" "$ta" "$tb" >>"$TA_EXPECT"
		;;
	both)
		ta=$(ta_rule "$i" down drop)
		sleep "$(awk -v l="$len" 'BEGIN { print l / 3 }')"
		tm=$(ta_rule "$i" up drop)
		sleep "$(awk -v l="$len" 'BEGIN { print l * 2 / 3 }')"
		tb=$(ta_rule "$i" both counter)
		printf 'loss %s down %s %s\nloss %s up %s %s\noutage %s both %s %s\n' \
			"$stream" "$ta" "$tm" "$stream" "$tm" "$tb" "$stream" "$ta" "$tb" >>"$TA_EXPECT"
		;;
	esac
	th_log "injected $kind in vm$i: $ta .. $tb"
}

# ta_slips PROBE_LOG: "stall MS" and "slip MS" lines, the prober's largest stall and send slip
# (from its summary lines).
ta_slips() {
	sed -n 's/.* stalls [0-9]* (max \([0-9.]*\) ms.*/stall \1/p; s/.* slips [0-9]* (skipped [0-9]*, max \([0-9.]*\) ms).*/slip \1/p' "$1"
}

# ta_noise_ms RECORDS PROBE_LOG: how far this machine's scheduling moved probes in this run, in
# ms: the largest of the prober's send slip and stall (its summary lines), the largest RTT of
# any second (a probe or echo held in a queue or a descheduled reflector) and the largest half
# window of an nft commit. A few ms on a quiet 2-vCPU VM (2 to 9 ms measured), tens of ms
# where the host steals CPU time.
ta_noise_ms() {
	{
		ta_slips "$2"
		jq -r 'select(.kind == "second" and .rtt_max_ms != null) | "rtt \(.rtt_max_ms)"' "$1"
		cat "$TA_NOISE_FILE"
	} | awk '$2 > m { m = $2; w = $1 } END { printf "%.3f %s\n", m, w }'
}

# ta_check RECORDS INTERVAL_MS [PROBE_LOG]: every expected outage is reported within
# INTERVAL + 2 ms + noise (start, end; twice the noise for the duration) with its direction, no
# other outage is reported, and every second's lost_up/lost_down matches the probes scheduled
# inside the injected windows (±1 per edge, each edge moved by up to the noise; exactly 0 in a
# direction whose windows, so widened, do not touch that second), with nothing lost in an
# unknown direction and sent = received + lost everywhere. The noise is ta_noise_ms of this run
# (default probe log: $TH_TMP/probe.log): the bounds stay those of a quiet machine there and
# widen only by what the run itself measured of a noisy one.
ta_check() {
	local records=$1 iv=$2 plog=${3:-$TH_TMP/probe.log} noise src
	read -r noise src < <(ta_noise_ms "$records" "$plog")
	th_log "scheduling noise of this run: $noise ms (largest: $src)"
	jq -r 'if .kind == "second" then
		"second \(.vm) \(.t) \(.sent) \(.received) \(.lost_up) \(.lost_down) \(.lost_unknown)"
		elif .kind == "outage" then
		"outage \(.vm) \(.direction) \(.start) \(.end) \(.duration_ms) \(.lost)"
		else empty end' "$records" >"$TH_TMP/got"
	awk -v iv="$iv" -v nz="$noise" -v tol="$(awk -v i="$iv" -v n="$noise" 'BEGIN { print (i + 2 + n) / 1000 }')" '
	function ov(a, b, c, d,  lo, hi) { lo = a > c ? a : c; hi = b < d ? b : d; return hi > lo ? hi - lo : 0 }
	function abs(x) { return x < 0 ? -x : x }
	FNR == NR {
		if ($1 == "loss") { nl++; ls[nl] = $2; ld[nl] = $3; la[nl] = $4; lb[nl] = $5 }
		if ($1 == "outage") { no++; os[no] = $2; od[no] = $3; oa[no] = $4; ob[no] = $5 }
		next
	}
	$1 == "second" {
		ns++
		if ($4 != $5 + $6 + $7 + $8) { print "second " $2 " " $3 ": sent " $4 " != received+lost"; bad++ }
		if ($8 != 0) { print "second " $2 " " $3 ": " $8 " lost in unknown direction"; bad++ }
		# expected probes lost: lo with every window narrowed by the noise, hi widened by it
		ulo = uhi = dlo = dhi = 0; n = nz / 1000
		for (k = 1; k <= nl; k++) if (ls[k] == $2) {
			lo = ov($3, $3 + 1, la[k] + n, lb[k] - n) * 1000 / iv
			hi = ov($3, $3 + 1, la[k] - n, lb[k] + n) * 1000 / iv
			if (ld[k] == "up") { ulo += lo; uhi += hi } else { dlo += lo; dhi += hi }
		}
		# no overlap with a window of one direction: not a single probe lost that way
		if ($6 < ulo - 1.2 || $6 > uhi + 1.2 || $7 < dlo - 1.2 || $7 > dhi + 1.2 ||
		    (uhi == 0 && $6 != 0) || (dhi == 0 && $7 != 0)) {
			printf "second %s %s: lost up/down %d/%d, expected %.1f..%.1f/%.1f..%.1f\n", $2, $3, $6, $7, ulo, uhi, dlo, dhi; bad++
		}
		tl += $6 + $7
		next
	}
	$1 == "outage" {
		nout++
		hit = 0
		for (k = 1; k <= no; k++) if (os[k] == $2 && abs($4 - oa[k]) <= tol) hit = k
		if (!hit) { print "unexpected outage: " $0; bad++; next }
		seen[hit]++
		want = (ob[hit] - oa[hit]) * 1000
		printf "outage %s %s: injected %.3f ms, reported %.3f ms (error %.3f ms), start error %.3f ms, end error %.3f ms, lost %d\n", \
			$2, $3, want, $6, $6 - want, ($4 - oa[hit]) * 1000, ($5 - ob[hit]) * 1000, $7
		if ($3 != od[hit]) { print "  direction " $3 ", expected " od[hit]; bad++ }
		if (abs($6 - want) > iv + 2 + 2 * nz) { print "  duration off by more than " iv + 2 + 2 * nz " ms"; bad++ }
		if (abs($5 - ob[hit]) > tol) { print "  end off by more than " tol * 1000 " ms"; bad++ }
		next
	}
	END {
		for (k = 1; k <= no; k++) if (seen[k] != 1) {
			printf "expected outage %s %s %.6f..%.6f reported %d times\n", os[k], od[k], oa[k], ob[k], seen[k]; bad++
		}
		printf "%d second records, %d outages, %d probes lost\n", ns, nout, tl
		exit bad > 0
	}' "$TA_EXPECT" "$TH_TMP/got" || {
		th_log "expected:"
		cat "$TA_EXPECT" >&2
		th_fail "records do not match the injected outages"
	}
}
