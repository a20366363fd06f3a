# Guest-side helpers for VM jobs. Host scripts prepend this file to a job script (cat lib.sh job.sh),
# so every job stays one self-contained file in the queue. Every command that talks to the kernel
# or the target runs under timeout(1): a hung login must fail the job, not the whole CI run.
# shellcheck shell=bash
set -euo pipefail

up() { cut -d' ' -f1 /proc/uptime; }
JOB_T0=$(up)
step() { echo "=== [+$(awk -v a="$(up)" -v b="$JOB_T0" 'BEGIN{printf "%.1f", a-b}')s] $*"; }
fail() { echo "FAIL: $*"; exit 1; }
t() { timeout "${T:-120}" "$@"; } # bounded command (generous: TCG on a loaded host is slow)

# wait_for SECONDS DESCRIPTION CMD...: polls CMD every 0.2 s until it succeeds or the deadline passes.
wait_for() {
	local secs=$1 what=$2 i
	shift 2
	for ((i = 0; i < secs * 5; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	fail "timed out after ${secs}s waiting for $what"
}

# iscsi_login IQN PORTAL...: node records for the portals as the guest reaches them, then login and
# a rescan (a session can come up with no LUN scanned; -R makes it deterministic).
iscsi_login() {
	local iqn=$1 p
	shift
	for p in "$@"; do
		t iscsiadm -m node -o new -T "$iqn" -p "$p" >/dev/null
		t iscsiadm -m node -T "$iqn" -p "$p" -o update -n node.startup -v manual
		t iscsiadm -m node -T "$iqn" -p "$p" --login
	done
	t iscsiadm -m session -R >/dev/null
	# No "udevadm settle": callers wait for the one link they need, not for every queued event.
}

# iscsi_logout IQN: logs out of every portal of IQN and deletes its node records.
iscsi_logout() {
	t iscsiadm -m node -T "$1" --logout || true
	t iscsiadm -m node -T "$1" -o delete || true
}

# path_dev PORTAL IQN LUN: the sd device of one path, via its by-path link.
path_dev() { readlink -f "/dev/disk/by-path/ip-$1-iscsi-$2-lun-$3"; }

# wwid DEV: the SCSI WWID udev and multipath use (3 + NAA designator from VPD 0x83).
wwid() { t /lib/udev/scsi_id -g -u -d "$1"; }

# mpath_paths WWID: the number of paths in state "active ready running" in the map.
mpath_paths() { t multipath -ll "$1" | grep -c 'active ready running' || true; }

# fs_roundtrip DEV MIB: mkfs.ext4, mount, write MIB of random data, drop caches, remount, verify.
fs_roundtrip() {
	local dev=$1 mib=$2 mnt=/mnt/roundtrip s1 s2
	t mkfs.ext4 -F -q -E nodiscard "$dev"
	mkdir -p "$mnt"
	t mount "$dev" "$mnt"
	T=120 t dd if=/dev/urandom of="$mnt/blob" bs=1M count="$mib" conv=fsync status=none
	s1=$(T=120 t sha256sum <"$mnt/blob")
	t umount "$mnt"
	echo 3 >/proc/sys/vm/drop_caches
	t mount "$dev" "$mnt"
	s2=$(T=120 t sha256sum <"$mnt/blob")
	t umount "$mnt"
	echo "sha256 written=${s1%% *} read-back=${s2%% *}"
	[ "$s1" = "$s2" ] || fail "read-back checksum differs"
}
