#!/bin/bash
# overlay-alignment.sh — sessions thousands of seconds apart, with known losses at known offsets
# from their migration-start marker, line up row for row in `themis-graph xport`; the median
# column is the median of the cycles; other markers and data sources align the same way; the
# overlay PNG has one or more pixels per second and labels negative offsets "−0:30".
# timeout: 120
# shellcheck source=tests/common/lib.sh
. "${top_srcdir:?}/tests/common/lib.sh"
# shellcheck source=tests/graph/fixture.sh
. "$top_srcdir/tests/graph/fixture.sh"
th_require_cmd jq jq

A="$TH_TMP/archive"
# Three cycles of vm1 at 1700000000, +4321 s and +9876 s; migration-start 40, 55 and 25 s after
# each session's first second; losses (offset:up:down) chosen so each row has a known median.
fx_session "$A" vm1 c1 def 1 1700000000 120 40 "3:10:0 4:100:0 5:40:20"
fx_session "$A" vm1 c2 def 2 1700004321 150 55 "3:30:0 4:100:0 5:0:0 6:5:5"
fx_session "$A" vm1 c3 def 3 1700009876 100 25 "4:100:0 5:100:0 6:0:1"
# Another VM and another definition: never part of vm1's overlay.
fx_session "$A" vm2 x1 def 1 1700000000 120 40 "4:7:7"
fx_session "$A" vm1 other other 1 1700020000 120 40 "4:99:0"

out=$(th_graph xport "$A" --vm vm1 --definition def --before 2 --after 8)
expected='offset_s,c1,c2,c3,median
-2,0,0,0,0
-1,0,0,0,0
0,0,0,0,0
1,0,0,0,0
2,0,0,0,0
3,10,30,0,10
4,100,100,100,100
5,60,0,100,60
6,0,10,1,1
7,0,0,0,0
8,0,0,0,0'
th_assert_eq "$expected" "$out" "lost probes aligned on migration-start"

# Two cycles: the median of an even count is the mean of the middle two.
mkdir -p "$TH_TMP/two/vm1"
cp "$A"/vm1/c1.* "$A"/vm1/c2.* "$TH_TMP/two/vm1/"
out=$(th_graph xport "$TH_TMP/two" --vm vm1 --before 0 --after 6 | sed -n '5,7p')
th_assert_eq $'3,10,30,20\n4,100,100,100\n5,60,0,30' "$out" "median of two cycles"

# RTT avg is 1 + offset/1000 ms in every session: equal across the row, offset by offset.
out=$(th_graph xport "$A" --vm vm1 --definition def --ds rtt_avg --before 3 --after 2)
th_assert_eq 'offset_s,c1,c2,c3,median
-3,0.997,0.997,0.997,0.997
-2,0.998,0.998,0.998,0.998
-1,0.999,0.999,0.999,0.999
0,1,1,1,1
1,1.001,1.001,1.001,1.001
2,1.002,1.002,1.002,1.002' "$out" "rtt_avg aligned"

# Aligned on migration-request (two seconds earlier in every fixture): the same losses two
# rows later.
out=$(th_graph xport "$A" --vm vm1 --definition def --align migration-request --before 0 --after 7 | tail -n 3)
th_assert_eq $'5,10,30,0,10\n6,100,100,100,100\n7,60,0,100,60' "$out" "aligned on migration-request"

# Seconds outside a session's data are empty, not zero: c3 has 25 s before its marker.
out=$(th_graph xport "$A" --vm vm1 --definition def --before 27 --after 0 | sed -n 2,4p)
th_assert_eq $'-27,0,0,,0\n-26,0,0,,0\n-25,0,0,0,0' "$out" "unknown before c3's first second"

# The default window runs 30 s before the marker and to the longest migration-end + 30 s
# (fixture: migration-end 8 s after migration-start, so at least 60 s).
rows=$(th_graph xport "$A" --vm vm1 --definition def | sed 1d)
th_assert_eq 91 "$(printf '%s\n' "$rows" | wc -l)" "default window rows"
th_assert_eq -30 "$(printf '%s\n' "$rows" | head -n 1 | cut -d, -f1)" "default window start"
th_assert_eq 60 "$(printf '%s\n' "$rows" | tail -n 1 | cut -d, -f1)" "default window end"

# The PNG: rrdtool's size equals the file's; its data area spans 91 s at 9 px per second.
size=$(th_graph overlay "$A" --vm vm1 --definition def -o "$TH_TMP/ov.png")
th_assert_match '^[0-9]+x[0-9]+$' "$size" "overlay prints its size"
th_assert_eq "$size" "$(identify -format '%wx%h' "$TH_TMP/ov.png")" "overlay PNG size"
w=${size%x*}
{ [ "$w" -gt 819 ] && [ "$w" -lt 1000 ]; } || th_fail "overlay width $w: expected the 819 px data area plus axes"
colours=$(identify -format '%k' "$TH_TMP/ov.png")
[ "$colours" -ge 8 ] || th_fail "overlay PNG has only $colours colours"

# The x labels are offsets, written under the axis every 30 s: the marker's rule (purple, one
# column) gives the 0:00 column and the bottom of the data area; a label is centred 270 px (30 s
# at 9 px) either side, and "−0:30" is wider than "0:30" by its minus sign (not rrdtool's 59:30,
# which is as wide as 00:30).
if command -v convert >/dev/null 2>&1; then
	# box FILE GEOMETRY COLOUR FUZZ: "W H X Y" of the pixels within FUZZ of COLOUR in that crop.
	box() {
		convert "$1" -crop "$2" +repage -fuzz "$4" -fill black -opaque "$3" -fill white +opaque black \
			-negate -trim -format '%w %h %X %Y' info: 2>/dev/null | tr -d '+'
	}
	read -r _ _ vx _ <<<"$(box "$TH_TMP/ov.png" "${w}x60+0+60" '#7b3fb5' 3%)"
	read -r _ vh _ vy <<<"$(box "$TH_TMP/ov.png" "3x400+$((vx - 1))+0" '#7b3fb5' 3%)"
	bottom=$((vy + vh))
	label_w() { box "$TH_TMP/ov.png" "60x14+$(($1 - 30))+$((bottom + 1))" '#222222' 12% | cut -d' ' -f1; }
	neg=$(label_w $((vx - 270)))
	zero=$(label_w "$vx")
	pos=$(label_w $((vx + 270)))
	th_log "marker column $vx, data area bottom $bottom; label widths −0:30 $neg, 0:00 $zero, 0:30 $pos"
	[ "${zero:-0}" -ge 15 ] || th_fail "no 0:00 label under the marker (width ${zero:-none})"
	[ "${pos:-0}" -ge 15 ] || th_fail "no 0:30 label 30 s after the marker (width ${pos:-none})"
	[ "${neg:-0}" -ge $((pos + 4)) ] || th_fail "the label 30 s before the marker is not −0:30 (width ${neg:-none}, 0:30 is $pos)"
fi

# Selection errors.
rc=0
err=$(th_graph xport "$A" --vm nosuchvm 2>&1 >/dev/null) || rc=$?
th_assert_eq 2 "$rc" "unknown VM exit status"
th_assert_match "no session of VM nosuchvm" "$err" "unknown VM message"
rc=0
err=$(th_graph xport "$A" --vm vm1 --ds nosuchds 2>&1 >/dev/null) || rc=$?
th_assert_eq 1 "$rc" "unknown data source exit status"
th_assert_match "unknown data source 'nosuchds'" "$err" "unknown data source message"
rc=0
err=$(th_graph xport "$A" --vm vm1 --align no-such-event 2>&1 >/dev/null) || rc=$?
th_assert_eq 2 "$rc" "no session with the marker: exit status"
th_assert_match "has no no-such-event marker" "$err" "missing marker named"
