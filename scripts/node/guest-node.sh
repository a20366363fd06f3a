# shellcheck shell=bash
# Guest job (prepend scripts/vm/jobs/lib.sh): one phase of the Node service's
# real-kernel test (driver/pkg/node TestRealKernel) from the shared dir.
# Args: PHASE. Env: NODE_VOLUME_ID, NODE_PUBLISH_CONTEXT, NODE_EXPECT_BYTES.
PHASE=${1:?phase}
step "node plugin phase $PHASE"
export NODE_REALKERNEL=1 NODE_PHASE=$PHASE NODE_STATE_DIR=/var/lib/kubelet/plugins/csi-instorage/node NODE_OUT=/mnt/share/out
mkdir -p "$NODE_OUT"
# Run from tmpfs: every phase would otherwise read the 18 MB binary over 9p (uncached) again.
[ /tmp/node.test -nt ./node.test ] || cp ./node.test /tmp/node.test
T=600 t /tmp/node.test -test.run '^TestRealKernel$' -test.v -test.count=1 -test.timeout 590s 2>&1
rc=$?
echo "--- sessions:"; iscsiadm -m session 2>&1 || true
echo "--- maps:"; multipath -l 2>&1 | head -20 || true
echo "--- block:"; lsblk -o NAME,SIZE,TYPE,MOUNTPOINT 2>&1 | grep -v '^vda' || true
exit $rc
