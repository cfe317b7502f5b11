#!/bin/sh
# install-deps.sh — install the Debian 12 packages listed in tools/deps.txt. Idempotent: when
# every package is already installed it does nothing (not even apt-get update).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
missing=""
while read -r p; do
	case $p in '' | '#'*) continue ;; esac
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$st" = "install ok installed" ] || missing="$missing $p"
done <"$here/deps.txt"
if [ -z "$missing" ]; then
	echo "install-deps: all $(grep -cv '^#' "$here/deps.txt") packages present"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages:$missing — run as root (sudo)" >&2
	exit 2
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086 # word splitting of the package list is intended
apt-get install -y -q --no-install-recommends $missing
