# shellcheck shell=bash
# Guest job (prepend jobs/lib.sh): the kernel initiator against mcs-emulator's iSCSI target.
# Argument: the phase, run in order by scripts/vm/iscsi-emulator.sh with array changes in between:
#   attach  SendTargets must advertise the addresses the guest reaches; login on both nodes; the
#           wwn-0x<vdisk_UID> link; one map with ALUA path groups; filesystem round trip
#   grow    after expandvdisksize: rescan, every path and the map report EXPECT_BYTES, the
#           filesystem grows online and the data written in "attach" is intact
#   unmap   after rmvdiskhostmap: the paths fail (TUR), and after flush + delete + rescan the LUN
#           does not come back; logout leaves no session
# Env: VDISK_UID (as lsvdisk prints it), LUN, IQN1, IQN2 (node targets), EXPECT_BYTES (grow).
PHASE=${1:?phase: attach|grow|unmap}
UID_LC=$(echo "${VDISK_UID:?}" | tr 'A-F' 'a-f')
LUN=${LUN:?} IQN1=${IQN1:?} IQN2=${IQN2:?}
P1=10.0.2.100:3260 P2=10.0.2.101:3260
W=3$UID_LC # the multipath WWID / map name (user_friendly_names no)
MNT=/mnt/vdisk
paths() { path_dev "$P1" "$IQN1" "$LUN"; path_dev "$P2" "$IQN2" "$LUN"; }

# discover PORTAL IQN: SendTargets on PORTAL must list IQN at exactly PORTAL (the emulator's
# advertised portal); the records it creates are the ones we log in with, as the driver does.
discover() {
	local out
	out=$(t iscsiadm -m discovery -t sendtargets -p "$1" -o new)
	echo "$out"
	grep -q "^$1,[0-9]* $2\$" <<<"$out" || fail "SendTargets on $1 does not advertise $2 at $1"
}

case $PHASE in
attach)
	step "SendTargets: advertised portals must be the guest-visible ones"
	discover "$P1" "$IQN1"
	discover "$P2" "$IQN2"
	step "login: node1 via $P1, node2 via $P2"
	t iscsiadm -m node -T "$IQN1" -p "$P1" --login
	t iscsiadm -m node -T "$IQN2" -p "$P2" --login
	t iscsiadm -m session -R >/dev/null
	t iscsiadm -m session
	wait_for 60 "path via $P1" test -b "/dev/disk/by-path/ip-$P1-iscsi-$IQN1-lun-$LUN"
	wait_for 60 "path via $P2" test -b "/dev/disk/by-path/ip-$P2-iscsi-$IQN2-lun-$LUN"
	for d in $(paths); do
		echo "$d: wwid $(wwid "$d")"
		[ "$(wwid "$d")" = "$W" ] || fail "$d: VPD 0x83 WWID is not 3<vdisk_UID> ($W)"
		t sg_inq "$d" | grep -E 'Vendor identification|Product identification'
		t sg_vpd -p sn "$d" | tail -1
	done
	step "by-id link for the vdisk_UID"
	wait_for 60 "/dev/disk/by-id/wwn-0x$UID_LC" test -b "/dev/disk/by-id/wwn-0x$UID_LC"
	ls -l "/dev/disk/by-id/wwn-0x$UID_LC"
	step "one multipath map, ALUA path groups"
	wait_for 60 "/dev/mapper/$W" test -b "/dev/mapper/$W"
	for _ in $(seq 50); do [ "$(mpath_paths "$W")" = 2 ] && break; sleep 0.2; done
	# dm-multipath marks a path group "active" only once it has routed I/O; until the first
	# request both groups read "enabled" (seen on CI at +5 s). Read through the map, then poll.
	for _ in $(seq 50); do
		T=10 t dd if="/dev/mapper/$W" of=/dev/null bs=4k count=1 iflag=direct status=none || true
		ll=$(t multipath -ll "$W")
		grep -q "prio=50 status=active" <<<"$ll" && break
		sleep 0.2
	done
	echo "$ll"
	[ "$(mpath_paths "$W")" = 2 ] || fail "map $W does not have 2 active paths"
	grep -q "hwhandler='1 alua'" <<<"$ll" || fail "map has no ALUA hardware handler"
	grep -q "prio=50 status=active" <<<"$ll" || fail "no active/optimized (prio 50) path group in use"
	grep -q "prio=10 status=enabled" <<<"$ll" || fail "no active/non-optimized (prio 10) standby group"
	if t multipath -ll 2>&1 | grep -q 'alua failed'; then fail "ALUA prioritizer fell back"; fi
	[ "$(readlink -f "/dev/disk/by-id/wwn-0x$UID_LC")" = "$(readlink -f "/dev/mapper/$W")" ] ||
		fail "wwn-0x$UID_LC does not point at the multipath map"
	n=$(t multipath -ll | grep -c ' dm-[0-9]') || true
	[ "$n" = 1 ] || fail "expected exactly one multipath map, got $n"
	step "filesystem round trip on the map"
	t mkfs.ext4 -F -q -E nodiscard "/dev/mapper/$W"
	mkdir -p "$MNT"
	t mount "/dev/mapper/$W" "$MNT"
	T=120 t dd if=/dev/urandom of="$MNT/blob" bs=1M count=16 conv=fsync status=none
	T=120 t sha256sum "$MNT/blob" | tee /run/emulator-blob.sha256
	t umount "$MNT"
	echo 3 >/proc/sys/vm/drop_caches
	t mount "/dev/mapper/$W" "$MNT"
	T=120 t sha256sum -c /run/emulator-blob.sha256 || fail "read-back checksum differs"
	t umount "$MNT"
	step "ATTACH OK"
	;;
grow)
	want=${EXPECT_BYTES:?}
	step "rescan after expandvdisksize (expect $want bytes)"
	t iscsiadm -m session -R >/dev/null
	for d in $(paths); do echo 1 >"/sys/block/${d#/dev/}/device/rescan"; done
	t udevadm settle -t 30
	for d in $(paths); do
		sz=$(t blockdev --getsize64 "$d")
		echo "$d: $sz bytes"
		[ "$sz" = "$want" ] || fail "$d did not grow to $want"
	done
	t multipathd resize map "$W"
	sz=$(t blockdev --getsize64 "/dev/mapper/$W")
	echo "/dev/mapper/$W: $sz bytes"
	[ "$sz" = "$want" ] || fail "map did not grow to $want"
	t multipath -ll "$W" | head -2
	step "online filesystem resize, data intact"
	t mount "/dev/mapper/$W" "$MNT"
	T=120 t resize2fs "/dev/mapper/$W"
	df -B1 "$MNT" | tail -1
	fs=$(df -B1 --output=size "$MNT" | tail -1)
	((fs > want * 9 / 10)) || fail "filesystem is $fs bytes after resize, device $want"
	T=120 t sha256sum -c /run/emulator-blob.sha256 || fail "data changed across the resize"
	t umount "$MNT"
	step "GROW OK"
	;;
unmap)
	step "after rmvdiskhostmap: paths must fail"
	mapfile -t devs < <(paths)
	t iscsiadm -m session -R >/dev/null
	for _ in $(seq 100); do [ "$(mpath_paths "$W")" = 0 ] && break; sleep 0.2; done
	t multipath -ll "$W" || true
	[ "$(mpath_paths "$W")" = 0 ] || fail "paths still active after the unmap"
	for d in "${devs[@]}"; do
		if T=10 t sg_turs "$d" 2>&1; then fail "$d still answers TEST UNIT READY"; fi
	done
	step "flush the map, delete the paths, rescan: the LUN must not come back"
	t multipathd disablequeueing map "$W" || true
	t multipath -f "$W"
	for d in "${devs[@]}"; do echo 1 >"/sys/block/${d#/dev/}/device/delete"; done
	t iscsiadm -m session -R >/dev/null
	t udevadm settle -t 30
	sleep 2 # give a (wrongly) re-reported LUN time to show up before checking it did not
	t udevadm settle -t 30
	for l in "/dev/disk/by-path/ip-$P1-iscsi-$IQN1-lun-$LUN" "/dev/disk/by-path/ip-$P2-iscsi-$IQN2-lun-$LUN" \
		"/dev/disk/by-id/wwn-0x$UID_LC" "/dev/mapper/$W"; do
		[ ! -e "$l" ] || fail "$l is back after the rescan"
	done
	t lsscsi -t || true
	step "logout"
	iscsi_logout "$IQN1"
	iscsi_logout "$IQN2"
	out=$(t iscsiadm -m session 2>&1 || true)
	echo "$out"
	case $out in *"No active sessions"*) ;; *) fail "sessions left after logout" ;; esac
	step "UNMAP OK"
	;;
*) fail "unknown phase $PHASE" ;;
esac
