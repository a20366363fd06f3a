#!/usr/bin/env bash
# make sanity-node: the Node service on a real kernel.
#  1. csi-sanity's "Node Service" suite in the scripts/vm guest against the all-in-one
#     instorage-csi binary, which drives mcs-emulator on the host over SSH (guest-sanity.sh);
#  2. scripts/node/vm-stale.sh: the stale-LUN proof (a stale device at a reused LUN number is
#     never mounted; NodeUnstage of a remapped volume writes nothing onto the new LU);
#  3. scripts/node/vm-node.sh: data test (snapshot/restore checksums, online expand, block,
#     nothing left after unstage) and the NodeStage+NodePublish benchmark.
# Env: SANITY_ONLY=1 skips step 3; STALE=0 skips step 2; KEEP_STATE=1 keeps the run dir.
#      Ports: EMU_ISCSI_PORT (13300), EMU_SSH_PORT (12252).
set -euo pipefail
# shellcheck source=../vm/lib.sh
. "$(dirname "$0")/../vm/lib.sh"
NODE_DIR=$(cd "$(dirname "$0")" && pwd)
t0=$(vm_now_ms)
ISCSI_PORT=${EMU_ISCSI_PORT:-13300} SSH_PORT=${EMU_SSH_PORT:-12252}
GUEST_IQN=iqn.1993-08.org.debian:01:instorage-sanity-vm
IMAGE=$("$VM_DIR/build.sh" | tail -1)
mkdir -p "$CACHE/vm/runs"
ST=$(mktemp -d "$CACHE/vm/runs/sanity-node.XXXXXX")
SHARE=$ST/share
mkdir -p "$SHARE/out"
EMU_UP=''
cleanup() {
	"$VM_DIR/run.sh" stop --state "$ST/vm" >/dev/null 2>&1 || true
	[ -n "$EMU_UP" ] && "$VM_DIR/emulator.sh" down "$ST/emu" || true
}
trap cleanup EXIT

vm_log "build instorage-csi, csi-sanity, node.test (static)"
(cd "$REPO" && CGO_ENABLED=0 nice -n 10 timeout 900 go build -o "$SHARE/instorage-csi" ./driver/cmd/instorage-csi &&
	CGO_ENABLED=0 nice -n 10 timeout 900 go build -o "$SHARE/csi-sanity" github.com/kubernetes-csi/csi-test/v5/cmd/csi-sanity &&
	CGO_ENABLED=0 nice -n 10 timeout 900 go test -c -o "$SHARE/node.test" ./driver/pkg/node) || vm_die "build failed"

EMU_ISCSI_PORT=$ISCSI_PORT EMU_SSH_PORT=$SSH_PORT "$VM_DIR/emulator.sh" up "$ST/emu" >/dev/null
EMU_UP=1
# shellcheck disable=SC1091
. "$ST/emu/emulator.env"
cp "$EMU_GUEST_KNOWN_HOSTS" "$SHARE/guest_known_hosts"
# The password sits in the share only for this throwaway run; production uses secretDir/shadow.
cat >"$SHARE/instorage.yaml" <<YAML
host:
  link: iscsi
  multipathSearchRetryTimes: 10
  iscsiPathCheckRetryTimes: 10
storage:
- name: storage-01
  type: AS18000
  host: 10.0.2.100:2222
  username: $EMU_USER
  password: "$(cat "$EMU_PASSWORD_FILE")"
  knownHostsFile: /mnt/share/guest_known_hosts
YAML
printf 'volPoolName: Pool0\n' >"$SHARE/params.yaml"
cat "$VM_DIR/jobs/lib.sh" "$NODE_DIR/guest-sanity.sh" >"$ST/guest-sanity.sh"

"$VM_DIR/run.sh" start --image "$IMAGE" --state "$ST/vm" --share "$SHARE" --iqn "$GUEST_IQN" \
	--portal-port "$ISCSI_PORT" --ssh-port "$SSH_PORT" >/dev/null
rc=0
"$VM_DIR/run.sh" exec --state "$ST/vm" --timeout 1800 "$ST/guest-sanity.sh" || rc=$?
vm_log "csi-sanity Node Service rc=$rc in $(($(vm_now_ms) - t0)) ms; logs in $ST (share/out/driver.log)"
((rc == 0)) || exit "$rc"
cleanup
trap - EXIT
# The later steps reuse this run's node.test and mcs-emulator builds.
[ "${STALE:-}" = 0 ] || NODE_TEST=$SHARE/node.test EMULATOR=$ST/emu/mcs-emulator "$NODE_DIR/vm-stale.sh"
[ "${SANITY_ONLY:-}" = 1 ] || NODE_TEST=$SHARE/node.test EMULATOR=$ST/emu/mcs-emulator "$NODE_DIR/vm-node.sh"
