#!/usr/bin/env bash
# Build the real-kernel test VM: the stock Debian kernel, a tiny stage-1 initramfs (busybox +
# virtio/ext4 modules) and an ext4 root disk image made from a debootstrap minbase rootfs with the
# iSCSI initiator, multipath and filesystem tools. Root only (debootstrap, device nodes).
#
# Output (printed on stdout as the last line): $CACHE/vm/<suite>-<kernel>-<key>/ with
#   kernel (ELF vmlinux, or bzImage)  initrd.cpio  disk.img  manifest
# The key hashes the suite, the package list, the kernel package version, the module set and the
# guest files, so a warm run only resolves the kernel version and returns the directory.
#
# Env: SUITE (bookworm)  MIRROR (first URI of the machine's apt sources)  CACHE (<repo>/.cache)
#      VM_EXTRA_PKGS (comma list added to the guest)  DISK_SIZE (4G, sparse)  FORCE=1 (rebuild)
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

SUITE=${SUITE:-bookworm}
PKGS=open-iscsi,multipath-tools,e2fsprogs,xfsprogs,util-linux,sg3-utils,lsscsi,udev,kmod,iproute2,procps
[ -n "${VM_EXTRA_PKGS:-}" ] && PKGS=$PKGS,$VM_EXTRA_PKGS
DISK_SIZE=${DISK_SIZE:-4G}
# Module trees left out of the guest: hardware a TCG VM never has. Everything else stays, so jobs
# (node plugin tests, later kind) can modprobe what they need without a rebuild.
MOD_EXCLUDE=(drivers/gpu drivers/media drivers/net/wireless drivers/infiniband drivers/staging
	drivers/bluetooth drivers/isdn drivers/iio drivers/hid drivers/input drivers/usb drivers/video
	sound net/bluetooth net/wireless net/mac80211)
# Stage 1 only needs to reach the root disk.
STAGE1_MODS=(virtio_pci virtio_blk ext4)

[ "$(id -u)" = 0 ] || vm_die "build.sh must run as root (debootstrap)"
t0=$(vm_now_ms)
vm_apt_install debootstrap busybox-static kmod e2fsprogs xz-utils qemu-system-x86 socat

mirror() {
	[ -n "${MIRROR:-}" ] && { echo "$MIRROR"; return; }
	local f=/etc/apt/sources.list.d/debian.sources
	if [ -f "$f" ]; then awk '/^URIs:/{print $2; exit}' "$f"; return; fi
	awk '$1=="deb"{for(i=2;i<=NF;i++) if ($i ~ /^https?:/) {print $i; exit}}' /etc/apt/sources.list
}
MIRROR=$(mirror)
[ -n "$MIRROR" ] || vm_die "no apt mirror found; set MIRROR"

# Resolve linux-image-amd64 to the versioned package it depends on, in one apt-cache call
# (it is the only work a warm run does): "Depends: linux-image-6.1.0-56-amd64 (= 6.1.192-2)".
kpkg() {
	apt-cache show --no-all-versions linux-image-amd64 2>/dev/null |
		sed -n 's/^Depends:.*\(linux-image-[0-9][^ ,]*\) (= \([^)]*\)).*/\1 \2/p' | head -1
}
# apt-cache takes seconds on a loaded host; its answer only changes when the package lists do.
RESOLVED=$CACHE/vm/kernel-resolved
LISTS_STAMP=$(stat -c %Y /var/lib/apt/lists 2>/dev/null || echo none) # apt-get update renames files in
KPKG='' KDEBVER=''
if [ -f "$RESOLVED" ] && [ "$(head -1 "$RESOLVED")" = "$LISTS_STAMP" ]; then
	read -r KPKG KDEBVER < <(sed -n 2p "$RESOLVED") || true
fi
[ -n "$KPKG" ] || read -r KPKG KDEBVER < <(kpkg) || true
if [ -z "${KPKG:-}" ]; then
	timeout 600 apt-get -o DPkg::Lock::Timeout=600 update -qq || vm_die "apt-get update failed"
	read -r KPKG KDEBVER < <(kpkg) || true
fi
[ -n "${KPKG:-}" ] && [ -n "${KDEBVER:-}" ] || vm_die "cannot resolve linux-image-amd64 (apt sources?)"
mkdir -p "$CACHE/vm"
LISTS_STAMP=$(stat -c %Y /var/lib/apt/lists 2>/dev/null || echo none)
printf '%s\n%s %s\n' "$LISTS_STAMP" "$KPKG" "$KDEBVER" >"$RESOLVED.tmp" && mv "$RESOLVED.tmp" "$RESOLVED"
KVER=${KPKG#linux-image-}

sha() { sha256sum | cut -c1-12; }
RKEY=$(printf '%s\n' "$SUITE" "$PKGS" | sha)
GUEST_SUM=$(cat "$VM_DIR/build.sh" "$VM_DIR"/guest/* | sha)
KEY=$(printf '%s\n' "$RKEY" "$KPKG=$KDEBVER" "${MOD_EXCLUDE[*]}" "${STAGE1_MODS[*]}" "$DISK_SIZE" "$GUEST_SUM" | sha)
OUT=$CACHE/vm/$SUITE-$KVER-$KEY
if [ -f "$OUT/manifest" ] && [ -z "${FORCE:-}" ]; then
	vm_log "cached: $OUT ($(($(vm_now_ms) - t0)) ms)"
	echo "$OUT"
	exit 0
fi
mkdir -p "$CACHE/vm"
WORK=$(mktemp -d "$CACHE/vm/build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# 1. kernel package, unpacked once per version (modules.dep is not shipped: depmod it).
KROOT=$CACHE/vm/kernel-$KPKG-$KDEBVER
if [ ! -f "$KROOT/ok" ]; then
	vm_log "downloading $KPKG $KDEBVER"
	rm -rf "$KROOT"; mkdir -p "$KROOT.dl"
	(cd "$KROOT.dl" && timeout 900 apt-get download "$KPKG=$KDEBVER" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2 || true)
	deb=$(ls "$KROOT.dl"/"$KPKG"_*.deb 2>/dev/null | head -1)
	[ -n "$deb" ] || vm_die "apt-get download $KPKG failed"
	mkdir -p "$KROOT.tmp"; dpkg-deb -x "$deb" "$KROOT.tmp"
	depmod -b "$KROOT.tmp" "$KVER"
	rm -rf "$KROOT.dl"; mv "$KROOT.tmp" "$KROOT"; touch "$KROOT/ok"
fi

# 2. rootfs, debootstrapped once per suite + package list (the slow part: ~2 min).
ROOTFS=$CACHE/vm/rootfs-$SUITE-$RKEY
if [ ! -f "$ROOTFS.ok" ]; then
	vm_log "debootstrap $SUITE ($PKGS) from $MIRROR"
	rm -rf "$ROOTFS" "$ROOTFS.tmp"
	tb=$(vm_now_ms)
	timeout 1800 nice -n 10 debootstrap --variant=minbase --include="$PKGS" "$SUITE" "$ROOTFS.tmp" "$MIRROR" \
		>"$WORK/debootstrap.log" 2>&1 || { tail -30 "$WORK/debootstrap.log" >&2; vm_die "debootstrap failed"; }
	rm -rf "$ROOTFS.tmp"/usr/share/{doc,man,info,locale,i18n} "$ROOTFS.tmp"/var/cache/apt/* "$ROOTFS.tmp"/var/lib/apt/lists/*
	mv "$ROOTFS.tmp" "$ROOTFS"; touch "$ROOTFS.ok"
	vm_log "debootstrap took $(($(vm_now_ms) - tb)) ms"
fi

# 3. stage-1 initramfs: busybox and the modules to mount /dev/vda, in dependency order.
I=$WORK/initrd
mkdir -p "$I/bin" "$I/mods"
cp /bin/busybox "$I/bin/busybox"
install -m 755 "$VM_DIR/guest/init1" "$I/init"
for m in "${STAGE1_MODS[@]}"; do
	modprobe -d "$KROOT" -S "$KVER" --show-depends "$m" | awk '$1=="insmod"{print $2}'
done | awk '!seen[$0]++' | while read -r ko; do
	cp "$ko" "$I/mods/"; basename "$ko"
done >"$I/mods.order"
(cd "$I" && find . -print | busybox cpio -o -H newc 2>/dev/null) >"$WORK/initrd.cpio"

# 4. root disk: the cached rootfs + kernel modules + guest init and config, as a sparse ext4 image
#    written with mkfs.ext4 -d (no loop mount needed). run.sh boots it with snapshot=on, so the
#    image stays pristine and several VMs can share it.
R=$WORK/rootfs
cp -a "$ROOTFS" "$R"
mkdir -p "$R/lib/modules"
excl=(); for d in "${MOD_EXCLUDE[@]}"; do excl+=(--exclude="kernel/$d"); done
tar -C "$KROOT/lib/modules" "${excl[@]}" -cf - "$KVER" | tar -C "$R/lib/modules" -xf -
depmod -b "$R" "$KVER"
install -m 755 "$VM_DIR/guest/vm-init" "$R/sbin/vm-init"
install -m 644 "$VM_DIR/guest/multipath.conf" "$R/etc/multipath.conf"
echo "InitiatorName=iqn.1993-08.org.debian:01:instorage-vm" >"$R/etc/iscsi/initiatorname.iscsi"
echo instorage-vm >"$R/etc/hostname"
printf '127.0.0.1 localhost\n10.0.2.15 instorage-vm\n' >"$R/etc/hosts"
: >"$R/etc/resolv.conf"
mkdir -p "$R/mnt/share" "$R/run/vm"
tm=$(vm_now_ms)
mkfs.ext4 -q -F -L vmroot -E lazy_itable_init=1,lazy_journal_init=1 -d "$R" "$WORK/disk.img" "$DISK_SIZE"
vm_log "mkfs.ext4 -d took $(($(vm_now_ms) - tm)) ms"

# The kernel as an uncompressed ELF: qemu boots it through its PVH entry (Debian sets CONFIG_PVH),
# which skips decompressing the xz bzImage under TCG (measured 3-10 s less to boot). Falls back
# to the bzImage when the payload is not xz or not an ELF.
vmlinuz=$KROOT/boot/vmlinuz-$KVER
off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$vmlinuz" | head -1 | cut -d: -f1)
# xz exits non-zero on the bytes that follow the payload; the ELF check below is the real test.
[ -n "$off" ] && { tail -c +$((off + 1)) "$vmlinuz" | xz -dcq >"$WORK/vmlinux" 2>/dev/null || true; }
if [ -s "$WORK/vmlinux" ] && [ "$(head -c 4 "$WORK/vmlinux" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then
	mv "$WORK/vmlinux" "$WORK/kernel"
else
	vm_log "kernel payload not xz/ELF; booting the bzImage"
	cp "$vmlinuz" "$WORK/kernel"
fi
{
	echo "suite=$SUITE"
	echo "mirror=$MIRROR"
	echo "packages=$PKGS"
	echo "kernel=$KPKG $KDEBVER"
	echo "built=$(date -u +%FT%TZ)"
	echo "rootfs_mb=$(du -sm "$R" | cut -f1)"
} >"$WORK/manifest.tmp"
rm -rf "$OUT"; mkdir -p "$OUT"
mv "$WORK/kernel" "$WORK/initrd.cpio" "$WORK/disk.img" "$OUT/"
mv "$WORK/manifest.tmp" "$OUT/manifest" # last: its presence marks a complete build
# Older images of this suite are superseded. Only ones untouched for an hour go: a concurrent
# run may have just been handed one (a VM already running keeps its open file either way).
find "$CACHE/vm" -mindepth 1 -maxdepth 1 -name "$SUITE-*" ! -path "$OUT" -mmin +60 -exec rm -rf {} + 2>/dev/null || true
vm_log "built $OUT in $(($(vm_now_ms) - t0)) ms"
echo "$OUT"
