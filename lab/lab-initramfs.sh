#!/bin/bash
# lab-initramfs.sh OUT KVER KEYDIR [AGENT] — build the lab guests' initramfs (gzip'd newc cpio)
# from the running system's Debian packages: busybox-static, the virtio-net modules of kernel
# KVER in dependency order, dropbear with the guests' host keys and authorized_keys from KEYDIR
# (vm*.dropbear, authorized_keys), and themis-agent (with its shared libraries) when given.
# The guest's /init (lab-guest-init) reads th.name= and th.ip= from the kernel command line.
set -eu
out=${1:?usage: lab-initramfs.sh OUT KVER KEYDIR [AGENT]}
kver=${2:?kernel version}
keydir=${3:?key directory}
agent=${4:-}
here=$(cd "$(dirname "$0")" && pwd)
init_src=${THEMIS_LAB_GUEST_INIT:-$here/lab-guest-init}

die() { echo "lab-initramfs: $*" >&2; exit 1; }
[ -x /bin/busybox ] || die "/bin/busybox missing: install busybox-static"
ldd /bin/busybox 2>&1 | grep -q 'not a dynamic' || die "/bin/busybox is not static: install busybox-static"
[ -x /usr/sbin/dropbear ] || die "/usr/sbin/dropbear missing: install dropbear-bin"
[ -d "/lib/modules/$kver" ] || die "/lib/modules/$kver missing: install linux-image-amd64"
[ -f "$init_src" ] || die "$init_src missing"

root=$(mktemp -d "${TMPDIR:-/tmp}/themis-initramfs.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,etc/dropbear,proc,sys,dev,tmp,root/.ssh,lib/modules,usr/bin,var/run,run}
cp /bin/busybox "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
install -m 0755 "$init_src" "$root/init"

# copy PROGRAM and the shared libraries ldd names (keeping their paths)
copy_prog() {
	local prog=$1 dest=$2 lib
	install -D -m 0755 "$prog" "$root$dest"
	for lib in $(ldd "$prog" | grep -o '/[^ ]*'); do
		[ -e "$root$lib" ] || install -D -m 0755 "$lib" "$root$lib"
	done
}
copy_prog /usr/sbin/dropbear /usr/sbin/dropbear
if [ -n "$agent" ]; then
	[ -x "$agent" ] || die "agent $agent is not an executable"
	copy_prog "$agent" /usr/bin/themis-agent
	# also at the path it has on this machine: the supervisor namespace shares this file
	# system, so one --agent-path serves the guest and the supervisor alike
	agent_abs=$(readlink -f "$agent")
	if [ "$agent_abs" != /usr/bin/themis-agent ]; then
		mkdir -p "$root$(dirname "$agent_abs")"
		ln -s /usr/bin/themis-agent "$root$agent_abs"
	fi
fi

# virtio-net and its dependencies, dependencies first (busybox insmod resolves nothing)
order=()
add_mod() {
	local name=$1 dep path
	for dep in $(modinfo -k "$kver" -F depends "$name" | tr ',' ' '); do
		add_mod "$dep"
	done
	path=$(modinfo -k "$kver" -n "$name")
	case " ${order[*]-} " in *" $(basename "$path") "*) return ;; esac
	case $path in
	*.ko) cp "$path" "$root/lib/modules/" ;;
	*.ko.xz) xz -dc "$path" >"$root/lib/modules/$(basename "$path" .xz)" ;;
	*.ko.zst) zstd -qdc "$path" >"$root/lib/modules/$(basename "$path" .zst)" ;;
	*) [ "$path" = "(builtin)" ] && return; die "module $name: unexpected file $path" ;;
	esac
	order+=("$(basename "${path%.xz}" .zst)")
}
for m in virtio_pci virtio_net; do add_mod "$m"; done
printf '%s\n' "${order[@]}" >"$root/etc/modules.order"

# users, SSH
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"
printf '/bin/sh\n' >"$root/etc/shells"
install -m 0600 "$keydir/authorized_keys" "$root/root/.ssh/authorized_keys"
chmod 0700 "$root/root" "$root/root/.ssh"
for k in "$keydir"/vm*.dropbear; do
	[ -e "$k" ] || die "no guest host keys in $keydir"
	install -m 0600 "$k" "$root/etc/dropbear/$(basename "$k")"
done

(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$out.tmp"
mv "$out.tmp" "$out"
