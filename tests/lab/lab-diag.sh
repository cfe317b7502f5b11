# tests/lab/lab-diag.sh — what a failed lab test prints about the lab it ran (sourced; needs
# THEMIS_LAB_DIR and THEMIS_LAB_PREFIX set). Register with: th_on_fail lab_diag
# shellcheck shell=bash
lab_diag() {
	local d=${THEMIS_LAB_DIR:?} p=${THEMIS_LAB_PREFIX:?} f n
	echo "----- lab diagnostics ($d) -----"
	"$top_builddir/lab/themis-lab" status 2>&1
	for f in "$d"/log/*.serial "$d"/log/qemu.log "$d"/log/themis-one.log; do
		[ -s "$f" ] || continue
		echo "--- tail of $f"
		tail -n 25 "$f" | tr -d '\r'
	done
	for n in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$p-"); do
		echo "--- $n: links, bridge fdb (dynamic), neighbours"
		ip -n "$n" -br link 2>&1
		bridge -n "$n" fdb show 2>/dev/null | grep -v permanent
		ip -n "$n" neigh 2>&1
	done
	echo "----- end of lab diagnostics -----"
}
