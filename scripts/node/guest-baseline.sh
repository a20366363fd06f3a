# shellcheck shell=bash
# Guest job (prepend scripts/vm/jobs/lib.sh): the bare-script baseline for the
# node benchmark — node records, login on both portals, wait for the multipath
# map, mkfs.ext4, mount — timed like NodeStage+NodePublish, then torn down (filesystem
# signature wiped, so the next timed NodeStage formats an empty disk too).
# Env: VDISK_UID, LUN, IQN1, IQN2.
UID_LC=$(echo "${VDISK_UID:?}" | tr 'A-F' 'a-f') W=3$UID_LC
P1=10.0.2.100:3260 P2=10.0.2.101:3260
MNT=/mnt/baseline
t0=$(date +%s%N)
for pt in "$P1 ${IQN1:?}" "$P2 ${IQN2:?}"; do
	set -- $pt
	t iscsiadm -m node -p "$1" -T "$2" -o new >/dev/null
	t iscsiadm -m node -p "$1" -T "$2" --login >/dev/null || fail "login $1"
done
wait_for 120 "/dev/mapper/$W" test -b "/dev/mapper/$W"
t mkfs.ext4 -q -F -m0 "/dev/mapper/$W" || fail mkfs
mkdir -p $MNT && t mount "/dev/mapper/$W" $MNT || fail mount
t1=$(date +%s%N)
echo "TIMING baseline_ms=$(((t1 - t0) / 1000000))"
umount $MNT
wipefs -a -q "/dev/mapper/$W" # the next timed stage must also find an empty disk and mkfs it
t multipath -f "$W" || true
for d in /sys/block/sd*; do
	[ "$(cat "$d/device/wwid" 2>/dev/null)" = "naa.$UID_LC" ] && echo 1 >"$d/device/delete"
done
for pt in "$P1 $IQN1" "$P2 $IQN2"; do
	set -- $pt
	t iscsiadm -m node -p "$1" -T "$2" --logout >/dev/null || true
	t iscsiadm -m node -p "$1" -T "$2" -o delete >/dev/null || true
done
