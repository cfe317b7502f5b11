#!/bin/bash
# lab-initramfs.sh OUT KVER KEYDIR [AGENT] — build the lab guests' initramfs (gzip'd newc cpio)
# from the running system's Debian packages: busybox-static, the modules of kernel KVER for
# virtio-net and for the context CD (IDE CD-ROM: ata_piix, sr_mod, isofs) in dependency order,
# dropbear with the guests' host keys and authorized_keys from KEYDIR (vm*.dropbear,
# authorized_keys), themis-agent (with its shared libraries) when given, the static
# themis-reflector ($THEMIS_REFLECTOR_BIN, no library copied for it) and the context script
# ($THEMIS_CONTEXT_SCRIPT) as /usr/bin/themis-context, the workload themis-guest-load
# ($THEMIS_GUEST_LOAD_BIN, static when built so) and iperf3 (Debian's, with its shared
# libraries: the iperf3 server `themis-trigger run --bandwidth` starts on the VM).
# /etc/initramfs.libs lists every shared library copied and the program it was copied for. The
# guest's /init is lab-guest-init.
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
mkdir -p "$root"/{bin,sbin,etc/dropbear,proc,sys,dev,tmp,root/.ssh,lib/modules,usr/bin,var/run,var/log,run,mnt/context}
cp /bin/busybox "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
install -m 0755 "$init_src" "$root/init"

log() { echo "lab-initramfs: $*" >&2; }
: >"$root/etc/initramfs.libs"

# copy PROGRAM and the shared libraries ldd names (keeping their paths), noted in
# /etc/initramfs.libs as "DEST LIB"
copy_prog() {
	local prog=$1 dest=$2 lib
	install -D -m 0755 "$prog" "$root$dest"
	for lib in $(ldd "$prog" 2>/dev/null | grep -o '/[^ ]*' || true); do
		printf '%s %s\n' "$dest" "$lib" >>"$root/etc/initramfs.libs"
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

# the reflector the guest's context starts: the static themis-reflector, copied alone (no
# PT_INTERP, no shared library); without it the context script falls back to themis-agent
reflector=${THEMIS_REFLECTOR_BIN:-}
if [ -z "$reflector" ] && [ -n "$agent" ]; then
	reflector=$(dirname "$agent")/themis-reflector
fi
if [ -n "$reflector" ] && [ -x "$reflector" ]; then
	if readelf -lW "$reflector" 2>/dev/null | grep -q 'INTERP' ||
		readelf -dW "$reflector" 2>/dev/null | grep -q '(NEEDED)'; then
		log "$reflector is dynamically linked: copied with its shared libraries"
		copy_prog "$reflector" /usr/bin/themis-reflector
	else
		install -D -m 0755 "$reflector" "$root/usr/bin/themis-reflector"
	fi
else
	log "no themis-reflector at ${reflector:-(none)}: the guests' context starts themis-agent reflect"
fi

# copy_any PROGRAM DEST: alone when static, else with its shared libraries
copy_any() {
	if readelf -lW "$1" 2>/dev/null | grep -q 'INTERP' ||
		readelf -dW "$1" 2>/dev/null | grep -q '(NEEDED)'; then
		copy_prog "$1" "$2"
	else
		install -D -m 0755 "$1" "$root$2"
	fi
}

# the workload of `themis-lab load`
guest_load=${THEMIS_GUEST_LOAD_BIN:-}
if [ -n "$guest_load" ] && [ -x "$guest_load" ]; then
	copy_any "$guest_load" /usr/bin/themis-guest-load
else
	log "no themis-guest-load at ${guest_load:-(none)}: themis-lab load will not work in the guests"
fi

# iperf3 for the --bandwidth load (its server runs in the guest)
if [ -x /usr/bin/iperf3 ]; then
	copy_any /usr/bin/iperf3 /usr/bin/iperf3
else
	log "no /usr/bin/iperf3 (install iperf3): themis-trigger run --bandwidth has no server in the guests"
fi

# the context script: /usr/bin/themis-context (lab-guest-init runs it on the CD's context.sh)
context_script=${THEMIS_CONTEXT_SCRIPT:-}
if [ -n "$context_script" ] && [ -f "$context_script" ]; then
	install -D -m 0755 "$context_script" "$root/usr/bin/themis-context"
else
	log "no context script at ${context_script:-(none)}: the guests use a minimal inline one"
	cat >"$root/usr/bin/themis-context" <<'SH'
#!/bin/sh
# themis-context [CONTEXT.SH] — minimal stand-in: source the context, start the reflector
[ $# -gt 0 ] && . "$1"
[ "${THEMIS_TYPE:-}" = VM ] || exit 0
port=${THEMIS_REFLECT_PORT:-7300}
log=${THEMIS_REFLECT_LOG:-/var/log/themis-reflector.log}
mkdir -p /etc/themis /var/log /run
chmod 700 /etc/themis
set --
if [ -n "${THEMIS_REFLECT_KEY:-}" ]; then
	(umask 077 && printf '%s' "$THEMIS_REFLECT_KEY" >/etc/themis/reflect.key)
	set -- --key-file /etc/themis/reflect.key
fi
if [ -f /run/themis-reflector.pid ]; then
	kill "$(cat /run/themis-reflector.pid)" 2>/dev/null
	rm -f /run/themis-reflector.pid
fi
if command -v themis-reflector >/dev/null 2>&1; then
	setsid themis-reflector --listen "0.0.0.0:$port" "$@" </dev/null >>"$log" 2>&1 &
else
	setsid themis-agent reflect --listen "0.0.0.0:$port" "$@" </dev/null >>"$log" 2>&1 &
fi
echo $! >/run/themis-reflector.pid
SH
	chmod 0755 "$root/usr/bin/themis-context"
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
# the context CD is an IDE CD-ROM as OpenNebula attaches it: PIIX IDE (the i440fx machine's own
# controller), the SCSI CD-ROM driver and ISO 9660
for m in virtio_pci virtio_net ata_piix sr_mod isofs; do add_mod "$m"; done
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
