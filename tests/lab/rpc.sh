#!/bin/bash
# rpc.sh — a tiny XML-RPC client written for the lab tests (curl + hand-written XML), so the
# endpoint is checked by something that shares no code with themis-trigger. Source it.
#   one_call URL METHOD ARG...   ARG = s:TEXT | i:N | b:0/1 | I:N (i8)   prints the response on
#                                one line with the XML-RPC wire text exactly as received
#   one_doc RESPONSE             the XML document carried in item 1, unescaped
#   one_hist DOC SEQ FIELD       FIELD of history record SEQ ("" if absent)
#   one_field DOC FIELD          first <FIELD> of the document

one_call() {
	local url=$1 method=$2 arg body
	shift 2
	body="<?xml version=\"1.0\"?><methodCall><methodName>$method</methodName><params>"
	for arg in "$@"; do
		case $arg in
		s:*) body+="<param><value><string>${arg#s:}</string></value></param>" ;;
		i:*) body+="<param><value><i4>${arg#i:}</i4></value></param>" ;;
		b:*) body+="<param><value><boolean>${arg#b:}</boolean></value></param>" ;;
		I:*) body+="<param><value><i8>${arg#I:}</i8></value></param>" ;;
		*)
			echo "one_call: bad argument $arg" >&2
			return 2
			;;
		esac
	done
	body+="</params></methodCall>"
	curl -sS --max-time 10 -H 'Content-Type: text/xml' --data-binary "$body" "$url" | tr -d '\r\n'
}

one_doc() {
	printf '%s' "$1" | sed -e 's/^.*<value><string>//' -e 's|</string></value>.*$||' \
		-e 's/&lt;/</g' -e 's/&gt;/>/g' -e 's/&quot;/"/g' -e 's/&amp;/\&/g'
}

one_hist() {
	printf '%s' "$1" | grep -o "<HISTORY><OID>[0-9]*</OID><SEQ>$2</SEQ>.*" |
		sed -e 's|</HISTORY>.*||' | grep -o "<$3>[^<]*</$3>" | sed -e 's/<[^>]*>//g' | head -n 1
}

one_field() {
	printf '%s' "$1" | grep -o "<$2>[^<]*</$2>" | head -n 1 | sed -e 's/<[^>]*>//g'
}
