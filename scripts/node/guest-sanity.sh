# shellcheck shell=bash
# Guest job (prepend scripts/vm/jobs/lib.sh): csi-sanity's Node Service suite against the
# all-in-one instorage-csi binary in the VM, which drives mcs-emulator on the host over SSH
# (10.0.2.100:2222) and stages through the real initiator. Files in the share: instorage-csi,
# csi-sanity, instorage.yaml, params.yaml, guest_known_hosts.
# The emulator advertises the forwarded portals 10.0.2.100/101:3260, and its lsportip
# reports them, so the controller publishes addresses the guest reaches directly.
step "instorage-csi --mode all-in-one"
./instorage-csi --mode all-in-one --endpoint unix:///tmp/csi.sock --node-id vmnode \
	--config /mnt/share/instorage.yaml --node-state-dir /var/lib/kubelet/plugins/csi-instorage/node \
	-v=4 >out/driver.log 2>&1 &
DRV=$!
wait_for 120 "CSI socket" test -S /tmp/csi.sock
rm -rf /tmp/csi-stage /tmp/csi-mnt # csi-sanity creates them itself
step "csi-sanity (Node Service)"
T=1700 t ./csi-sanity --csi.endpoint=unix:///tmp/csi.sock --csi.testvolumeparameters=/mnt/share/params.yaml \
	--csi.testvolumesize=1073741824 --csi.stagingdir=/tmp/csi-stage --csi.mountdir=/tmp/csi-mnt \
	--ginkgo.focus='Node Service' --ginkgo.v --ginkgo.no-color 2>&1 | grep -vE '^\s*$' | tail -150
rc=${PIPESTATUS[0]}
kill "$DRV" 2>/dev/null
echo "--- driver log tail:"; tail -40 out/driver.log
echo "--- sessions:"; iscsiadm -m session 2>&1 || true
exit "$rc"
