# shellcheck shell=bash
# Guest job (prepend jobs/lib.sh): the kernel initiator against the host's tgtd on two portals.
# Env: IQN (target), LUN (1). Proves the harness: a single-path login already gets a map, the second
# portal joins the same map, a filesystem round trip with checksums, clean logout.
IQN=${IQN:?IQN of the target}
LUN=${LUN:-1}
P1=10.0.2.100:3260 P2=10.0.2.101:3260

step "SendTargets on both portals (tgt advertises its host-side address, so records are made by hand)"
t iscsiadm -m discovery -t sendtargets -p "$P1" -o nonpersistent
t iscsiadm -m discovery -t sendtargets -p "$P2" -o nonpersistent

step "login on portal 1 only: a single path still gets a map (find_multipaths no)"
iscsi_login "$IQN" "$P1"
wait_for 60 "path via $P1" test -b "/dev/disk/by-path/ip-$P1-iscsi-$IQN-lun-$LUN"
d1=$(path_dev "$P1" "$IQN" "$LUN")
w1=$(wwid "$d1")
[ -n "$w1" ] || fail "$d1 has no WWID"
wait_for 60 "/dev/mapper/$w1" test -b "/dev/mapper/$w1"
for _ in $(seq 50); do [ "$(mpath_paths "$w1")" = 1 ] && break; sleep 0.2; done
[ "$(mpath_paths "$w1")" = 1 ] || fail "single-path map $w1 missing"

step "login on portal 2: the same map gains the second path"
iscsi_login "$IQN" "$P2"
t iscsiadm -m session
wait_for 60 "path via $P2" test -b "/dev/disk/by-path/ip-$P2-iscsi-$IQN-lun-$LUN"
d2=$(path_dev "$P2" "$IQN" "$LUN")
w2=$(wwid "$d2")
echo "path1 $d1 wwid $w1; path2 $d2 wwid $w2"
[ "$d1" != "$d2" ] || fail "both portals resolved to one device"
[ "$w1" = "$w2" ] || fail "paths disagree on the WWID"
t lsscsi -t
for _ in $(seq 50); do [ "$(mpath_paths "$w1")" = 2 ] && break; sleep 0.2; done
t multipath -ll "$w1"
[ "$(mpath_paths "$w1")" = 2 ] || fail "map $w1 does not have 2 active paths"
n=$(t multipath -ll | grep -c ' dm-[0-9]') || true
[ "$n" = 1 ] || fail "expected exactly one multipath map, got $n"

step "filesystem round trip on the map"
fs_roundtrip "/dev/mapper/$w1" 32

step "teardown"
t multipath -f "$w1"
iscsi_logout "$IQN"
out=$(t iscsiadm -m session 2>&1 || true)
echo "$out"
case $out in *"No active sessions"*) ;; *) fail "sessions left after logout" ;; esac
[ ! -e "/dev/mapper/$w1" ] || fail "map still present"
step "TGT CYCLE OK"
