#!/usr/bin/env bash
# The stale-LUN proof on a real kernel (issue #5): a stale device at a reused LUN number is never
# mounted. mcs-emulator serves the array on the host; inside the scripts/vm guest the Node service
# (node.test, TestRealKernel, phases in driver/pkg/node/realkernel_stale_test.go) runs against the
# real iSCSI initiator and dm-multipath. Between guest phases the array CLI remaps LUNs behind the
# node's back, as a force-detach or a crashed node leaves them:
#
#  held: A staged+published at LUN 7 (marker written) → array: rmvdiskhostmap A, mkvdiskhostmap
#        -scsi 7 B → NodeStage(B) must be refused (A's device is still mounted at B's LUN) →
#        NodeUnstage(A) → NodeStage(B) stages B's own device: fresh fs, no A marker, every path
#        re-reads (rescan) as B → unstage.
#  lost: A staged at LUN 9, then the plugin loses track (unmount, multipath -f, record gone: A's sd
#        devices stay with A's WWID cached) → array remaps LUN 9 to B → NodeStage(B) stages B's
#        own device, never the stale one → unstage.
#  stale-clean: no sd/dm device with any of the four UIDs, no session to the portals.
#
# Env: EMULATOR (prebuilt mcs-emulator), NODE_TEST (prebuilt node.test), EMU_ISCSI_PORT (13310),
#      EMU_SSH_PORT (12262), STALE_VARIANTS ("held lost": which scenarios run), KEEP_STATE=1.
# Exit code 0 when every phase passed.
set -euo pipefail
# shellcheck source=../vm/lib.sh
. "$(dirname "$0")/../vm/lib.sh"
NODE_DIR=$(cd "$(dirname "$0")" && pwd)
t0=$(vm_now_ms)
ISCSI_PORT=${EMU_ISCSI_PORT:-13310} SSH_PORT=${EMU_SSH_PORT:-12262}
GUEST_IQN=iqn.1993-08.org.debian:01:instorage-stale-vm
HOST=vmstale STORAGE=storage-01
P1=10.0.2.100:3260 P2=10.0.2.101:3260

IMAGE=$("$VM_DIR/build.sh" | tail -1)
mkdir -p "$CACHE/vm/runs"
ST=$(mktemp -d "$CACHE/vm/runs/stale.XXXXXX")
SHARE=$ST/share
mkdir -p "$SHARE/out"
EMU_UP=''
cleanup() {
	"$VM_DIR/run.sh" stop --state "$ST/vm" >/dev/null 2>&1 || true
	[ -n "$EMU_UP" ] && "$VM_DIR/emulator.sh" down "$ST/emu" || true
	[ "${KEEP_STATE:-}" = 1 ] || rm -rf "$SHARE"
}
trap cleanup EXIT

if [ -z "${NODE_TEST:-}" ]; then
	NODE_TEST=$ST/node.test
	(cd "$REPO" && CGO_ENABLED=0 nice -n 10 timeout 600 go test -c -o "$NODE_TEST" ./driver/pkg/node) || vm_die "go test -c ./driver/pkg/node failed"
fi
cp "$NODE_TEST" "$SHARE/node.test"
cat "$VM_DIR/jobs/lib.sh" "$NODE_DIR/guest-node.sh" >"$ST/guest-node.sh"

EMU_ISCSI_PORT=$ISCSI_PORT EMU_SSH_PORT=$SSH_PORT EMULATOR=${EMULATOR:-} "$VM_DIR/emulator.sh" up "$ST/emu" >/dev/null
EMU_UP=1
mcs() { "$VM_DIR/emulator.sh" cli "$ST/emu" "$@"; }
col() { awk -F'!' -v c="$1" 'NR==1{for(i=1;i<=NF;i++) if($i==c) k=i; next} k{print $k}'; }
field() { awk -F'!' -v c="$1" '$1==c{print $2; exit}'; }
mapfile -t IQNS < <(mcs mcsinq lsnode -delim ! | col iscsi_name)
((${#IQNS[@]} >= 2)) || vm_die "lsnode lists ${#IQNS[*]} nodes"
mcs mcsop mkhost -force -iscsiname "$GUEST_IQN" -name "$HOST" >/dev/null
mkvol() { mcs mcsop mkvdisk -name "$1" -size 256 -unit mb -mdiskgrp Pool0 -iogrp 0 >/dev/null; }
uid() { mcs mcsinq lsvdisk -bytes -delim ! "$1" | field vdisk_UID; }
# map NAME LUN: map at that SCSI id; unmap NAME.
map() { mcs mcsop mkvdiskhostmap -force -host "$HOST" -scsi "$2" "$1" >/dev/null; }
unmap() { mcs mcsop rmvdiskhostmap -host "$HOST" "$1"; }
# use NAME LUN [K=V…]: the publish context ControllerPublishVolume would return, as guest env.
ENVS=()
use() {
	local u name=$1 lun=$2
	u=$(uid "$name")
	[ -n "$u" ] || vm_die "vdisk $name has no UID"
	ENVS=(--env "NODE_VOLUME_ID=$STORAGE:$u"
		--env "NODE_PUBLISH_CONTEXT={\"linkType\":\"iscsi\",\"vdiskUID\":\"$u\",\"targetPortals\":\"$P1,$P2\",\"targetIQNs\":\"${IQNS[0]},${IQNS[1]}\",\"targetLUNs\":\"$2,$2\"}")
	shift 2
	local kv
	for kv in "$@"; do ENVS+=(--env "$kv"); done
	vm_log "$name is $u at LUN $lun"
}
phase() { "$VM_DIR/run.sh" exec --state "$ST/vm" --timeout 400 "${ENVS[@]}" "$ST/guest-node.sh" "$@" | tee -a "$ST/phases.log"; }

for v in staleA1 staleB1 staleA2 staleB2; do mkvol "$v"; done
"$VM_DIR/run.sh" start --image "$IMAGE" --state "$ST/vm" --share "$SHARE" --iqn "$GUEST_IQN" \
	--portal-port "$ISCSI_PORT" --ssh-port "$SSH_PORT" >/dev/null
t1=$(vm_now_ms)

VARIANTS=" ${STALE_VARIANTS:-held lost} "
if [[ $VARIANTS == *" held "* ]]; then
	vm_log "held: A staged at LUN 7, then the array gives LUN 7 to B"
	map staleA1 7
	use staleA1 7 NODE_STALE_TAG=held
	phase stale-a-held
	unmap staleA1
	map staleB1 7
	use staleB1 7 NODE_STALE_TAG=held NODE_STALE_EXPECT=refuse
	phase stale-b
	use staleA1 7 NODE_STALE_TAG=held
	phase stale-a-unstage
	use staleB1 7 NODE_STALE_TAG=held NODE_STALE_EXPECT=stage
	phase stale-b
	unmap staleB1
fi

if [[ $VARIANTS == *" lost "* ]]; then
	vm_log "lost: A's paths left behind at LUN 9 (plugin lost track), then the array gives LUN 9 to B"
	map staleA2 9
	use staleA2 9 NODE_STALE_TAG=lost
	phase stale-a-lost
	unmap staleA2
	map staleB2 9
	use staleB2 9 NODE_STALE_TAG=lost NODE_STALE_EXPECT=stage
	phase stale-b
	unmap staleB2
fi

UIDS=$(for v in staleA1 staleB1 staleA2 staleB2; do uid "$v"; done | paste -sd,)
use staleA1 0 "NODE_STALE_UIDS=$UIDS"
phase stale-clean
vm_log "vm-stale OK: phases $(($(vm_now_ms) - t1)) ms, total $(($(vm_now_ms) - t0)) ms; logs in $ST"
