#!/usr/bin/env bash
# dataroot.sh IMAGE — a raw ext4 disk holding a docker data-root with IMAGE (the offline kind node
# image) already loaded, for the kind VM's dockerd (/var/lib/docker on /dev/vdb). Filled on the
# host by a throwaway dockerd of the same docker.io as the guest, then packed with mkfs.ext4 -d (no
# loop mount): `docker import` of the 1.3 GB node image inside the VM costs ~144 s under TCG.
#
# Prints the disk path (last line). Cache: $CACHE/vm/kind-dataroot-<key>/disk.img, key = the image
# ID + dockerd version + this script; run.sh boots it with snapshot=on, so it stays pristine.
# Needs DOCKER_HOST pointing at a daemon that has IMAGE (scripts/k8s/dockerd.sh). Env: FORCE=1,
# DATAROOT_SIZE (sparse size, 40G: room for the kind node's containers and the volumes' writes).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${CACHE:-$ROOT/.cache}
IMAGE=${1:?usage: dataroot.sh IMAGE}
SIZE=${DATAROOT_SIZE:-40G}
log() { printf '%s vmkind: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
[ "$(id -u)" = 0 ] || die "dataroot.sh needs root (dockerd, device nodes)"
command -v dockerd >/dev/null || PATH=$PATH:/usr/sbin

t0=$SECONDS
id=$(timeout 60 docker image inspect -f '{{.Id}}' "$IMAGE") || die "$IMAGE not in $DOCKER_HOST (scripts/k8s/node-image.sh)"
ver=$(dockerd --version | awk '{print $3}' | tr -d ,)
key=$( { echo "${id#sha256:}" "$ver" "$SIZE"; cat "$0"; } | sha256sum | cut -c1-12)
OUT=$CACHE/vm/kind-dataroot-$key
if [ -f "$OUT/ok" ] && [ -z "${FORCE:-}" ]; then
	log "cached: $OUT/disk.img ($IMAGE ${id:7:12})"
	echo "$OUT/disk.img"
	exit 0
fi
mkdir -p "$CACHE/vm"
W=$(mktemp -d "$CACHE/vm/dataroot.XXXXXX")
pid=''
cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
		kill -9 "$pid" 2>/dev/null || true
	fi
	# the daemon's exec-root holds mounts (netns, overlay) until it exits; umount what is left
	grep -o " $W/[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT

# A daemon of its own (socket, exec-root, pidfile under W): the machine's dockerds are not touched.
# No bridge and no iptables: it only loads an image.
dockerd --data-root "$W/root" --exec-root "$W/exec" -H "unix://$W/sock" --pidfile "$W/pid" \
	--storage-driver overlay2 --bridge none --iptables=false --ip-masq=false >"$W/dockerd.log" 2>&1 &
pid=$!
for i in $(seq 120); do
	timeout 5 docker -H "unix://$W/sock" version >/dev/null 2>&1 && break
	kill -0 "$pid" 2>/dev/null || { tail -20 "$W/dockerd.log" >&2; die "throwaway dockerd exited"; }
	((i < 120)) || die "throwaway dockerd not up after 60 s"
	sleep 0.5
done
tl=$SECONDS
timeout 900 docker save "$IMAGE" | timeout 900 docker -H "unix://$W/sock" load -q >&2 || die "docker save | load of $IMAGE failed"
log "loaded $IMAGE into the throwaway data-root in $((SECONDS - tl)) s"
kill "$pid"
for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
kill -0 "$pid" 2>/dev/null && die "throwaway dockerd did not stop"
pid=''
# Only the image store travels: the guest's dockerd makes its own networks and runtime state.
rm -rf "$W/root/network" "$W/root/containers" "$W/root/runtimes" "$W/root/tmp" "$W/root/swarm" "$W/root/buildkit"
tm=$SECONDS
mkfs.ext4 -q -F -L kinddocker -E lazy_itable_init=1,lazy_journal_init=1 -d "$W/root" "$W/disk.img" "$SIZE"
log "mkfs.ext4 -d took $((SECONDS - tm)) s ($(du -sm "$W/root" | cut -f1) MB of data-root)"
rm -rf "$OUT"
mkdir -p "$OUT"
mv "$W/disk.img" "$OUT/disk.img"
echo "$IMAGE ${id} docker $ver" >"$OUT/ok"
# Disks of older node images go once untouched for a day (a running VM keeps its open file).
find "$CACHE/vm" -mindepth 1 -maxdepth 1 -name 'kind-dataroot-*' ! -path "$OUT" -mmin +1440 -exec rm -rf {} + 2>/dev/null || true
log "built $OUT/disk.img in $((SECONDS - t0)) s"
echo "$OUT/disk.img"
