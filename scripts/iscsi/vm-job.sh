# Guest job (scripts/vm/jobs/lib.sh is prepended): the Linux kernel initiator
# against the emulator's Go target on both node portals. Env: UID_HEX (vdisk
# UID), IQN1, IQN2. Proves: SendTargets with advertised addresses, login on
# both nodes, VPD 0x83 WWID == 3<uid>, by-id wwn link, ALUA path groups,
# filesystem round trip on the multipath map, discard reaching the file.
UIDL=$(echo "${UID_HEX:?}" | tr 'A-F' 'a-f')
P1=10.0.2.100:3260 P2=10.0.2.101:3260

step "SendTargets via node1's portal lists both nodes at their advertised addresses"
t iscsiadm -m discovery -t sendtargets -p "$P1" | tee /tmp/st
grep -q "^$P1,1 $IQN1\$" /tmp/st || fail "node1 not advertised as $P1"
grep -q "^$P2,2 $IQN2\$" /tmp/st || fail "node2 not advertised as $P2"

step "login to both nodes"
t iscsiadm -m node --login
t iscsiadm -m session -R >/dev/null
# Under a loaded TCG host udev can lag: settle best-effort, then poll.
T=120 t udevadm settle -t 90 || true
wait_for 90 "node1 path" test -b "/dev/disk/by-path/ip-$P1-iscsi-$IQN1-lun-1"
wait_for 90 "node2 path" test -b "/dev/disk/by-path/ip-$P2-iscsi-$IQN2-lun-1"
d1=$(path_dev "$P1" "$IQN1" 1) d2=$(path_dev "$P2" "$IQN2" 1)
w1=$(wwid "$d1") w2=$(wwid "$d2")
echo "node1 $d1 wwid $w1; node2 $d2 wwid $w2"
[ "$w1" = "3$UIDL" ] && [ "$w2" = "3$UIDL" ] || fail "WWID is not 3<vdisk_UID>"
t sg_inq "$d1" | grep -E 'Vendor|Product|TPGS' || true
t sg_vpd -p di "$d1" || true
t sg_rtpg -d "$d1" || true

step "multipath: one map, ALUA groups (node1 optimized, node2 non-optimized)"
wait_for 90 "/dev/mapper/$w1" test -b "/dev/mapper/$w1"
for _ in $(seq 50); do [ "$(mpath_paths "$w1")" = 2 ] && break; sleep 0.2; done
t multipath -ll "$w1" | tee /tmp/mp
[ "$(mpath_paths "$w1")" = 2 ] || fail "map does not have 2 active paths"
grep -q 'prio=50' /tmp/mp && grep -q 'prio=10' /tmp/mp || fail "ALUA priorities 50/10 not seen"
wait_for 10 "by-id wwn link" test -e "/dev/disk/by-id/wwn-0x$UIDL"
ls -l "/dev/disk/by-id/wwn-0x$UIDL"
t cat "/sys/block/$(basename "$(readlink -f /dev/mapper/"$w1")")/queue/discard_max_bytes"

step "filesystem round trip on the map"
fs_roundtrip "/dev/mapper/$w1" 32

step "discard the whole map (UNMAP punches holes in the vdisk file)"
t sg_get_lba_status "$d1" || true
T=120 t blkdiscard -f "/dev/mapper/$w1"
sync
t sg_get_lba_status "$d1" || true

step "teardown"
T=60 t udevadm settle -t 30 || true
# A udev probe of the discarded device can hold the map for a moment.
for i in $(seq 10); do t multipath -f "$w1" && break; [ "$i" = 10 ] && fail "multipath -f"; sleep 1; done
t iscsiadm -m node --logout
t iscsiadm -m node -o delete
out=$(t iscsiadm -m session 2>&1 || true)
case $out in *"No active sessions"*) ;; *) fail "sessions left after logout" ;; esac
step "EMULATOR ISCSI CYCLE OK"
