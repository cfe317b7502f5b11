# shellcheck shell=bash
# graph-prune.sh — `themis-graph prune`: removes the archive files of closed sessions older than
# a given age, by the rule of the plugin's ArchiveRetention (collectd-themis(5)): a session
# whose <vm>/<session>.json says closed_by other than "open" and whose "last" second is older
# than now - DUR loses <session>.rrd, .json, .pending and .queue. Nothing else is ever removed:
# not summaries.jsonl, not availability.jsonl, not open sessions, not other files.

TH_PRUNE_SUFFIXES="rrd json pending queue"

# th_prune_verdict JSON SESSION CUTOFF: print "prune", "keep" or "bad" (not a session file:
# not one JSON object whose "session" is SESSION, with a string closed_by and a number last).
th_prune_verdict() {
	jq -r --arg s "$2" --argjson cutoff "$3" '
		if type == "object" and .session == $s and (.closed_by | type) == "string"
			and (.last | type) == "number"
		then if .closed_by != "open" and .last < $cutoff then "prune" else "keep" end
		else "bad" end' "$1" 2>/dev/null || printf 'bad\n'
}

# th_prune ARCHIVE AGE_S DRY_RUN: the command (DRY_RUN "yes": print, remove nothing).
th_prune() {
	local archive=$1 age=$2 dry=$3 cutoff json session verdict suffix f sessions=0 files=0
	local LC_ALL=C # the listing in byte order, whatever the locale
	th_check_archive "$archive"
	cutoff=$(($(date +%s) - age))
	for json in "$archive"/*/*.json; do
		[ ! -L "$json" ] || continue # a link may point outside the archive
		[ -f "$json" ] || continue
		session=$(basename "$json" .json)
		th_valid_session_id "$session" || continue
		verdict=$(th_prune_verdict "$json" "$session" "$cutoff")
		case $verdict in
		prune) ;;
		keep) continue ;;
		*)
			th_warn "$json is not a session file (one JSON object naming session $session, with closed_by and last): kept"
			continue
			;;
		esac
		sessions=$((sessions + 1))
		# The .json last: a run stopped half-way leaves a session that is still found.
		for suffix in $TH_PRUNE_SUFFIXES; do
			[ "$suffix" != json ] || continue
			f="${json%.json}.$suffix"
			[ -e "$f" ] || [ -L "$f" ] || continue
			th_prune_one "$f" "$dry" && files=$((files + 1))
		done
		th_prune_one "$json" "$dry" && files=$((files + 1))
	done
	if [ "$dry" = yes ]; then
		printf 'would prune %d session(s), %d file(s) in %s\n' "$sessions" "$files" "$archive"
	else
		printf 'pruned %d session(s), %d file(s) in %s\n' "$sessions" "$files" "$archive"
	fi
}

# th_prune_one FILE DRY_RUN: remove FILE (or say it would), naming it on stdout.
th_prune_one() {
	if [ "$2" = yes ]; then
		printf 'would remove %s\n' "$1"
	else
		rm -f -- "$1" || th_die "$TH_EXIT_USAGE" "cannot remove $1"
		printf 'removed %s\n' "$1"
	fi
}
