#!/usr/bin/env bash
# Real-kernel proof of the Node service (driver/pkg/node, driver/pkg/host): mcs-emulator serves
# the array on the host; the array CLI (over SSH) creates, snapshots, restores and expands vdisks
# and maps them to the VM's initiator; inside the scripts/vm guest the Node service (built as
# node.test, TestRealKernel) stages/publishes/expands/unstages them with the real iSCSI initiator,
# dm-multipath, ext4 and block devices. Each phase is a new plugin process working from the stage
# records the previous one left. Also times NodeStage+NodePublish against a bare script
# (guest-baseline.sh) on a same-size fresh vdisk: the benchmark ratio.
#
# Phases: fs-write (A: stage, mkfs, publish, write 16 MiB, unpublish, unstage, nothing left)
#   → array: snapshot A→S (copyrate 0), restore S→B (new vdisk), map B
#   → fs-verify (B: checksums equal; stays published) → array: expandvdisksize B +1 GiB
#   → expand (B, new process: rescan, multipathd resize, resize2fs online; data intact; unstage)
#   → block (C: block volume publish, write/read through the published file, unstage)
#   → baseline (D) → clean (no sd/dm/session of any of them).
# Env: EMULATOR (prebuilt mcs-emulator), NODE_TEST (prebuilt node.test), EMU_ISCSI_PORT (13280),
#      EMU_SSH_PORT (12232), KEEP_STATE=1. Exit code 0 when every phase passed.
set -euo pipefail
# shellcheck source=../vm/lib.sh
. "$(dirname "$0")/../vm/lib.sh"
NODE_DIR=$(cd "$(dirname "$0")" && pwd)
t0=$(vm_now_ms)
ISCSI_PORT=${EMU_ISCSI_PORT:-13280} SSH_PORT=${EMU_SSH_PORT:-12232}
GUEST_IQN=iqn.1993-08.org.debian:01:instorage-node-vm
HOST=vmnode USER_NAME=superuser STORAGE=storage-01
P1=10.0.2.100:3260 P2=10.0.2.101:3260

vm_apt_install openssh-client
IMAGE=$("$VM_DIR/build.sh" | tail -1)
mkdir -p "$CACHE/vm/runs"
ST=$(mktemp -d "$CACHE/vm/runs/node.XXXXXX")
SHARE=$ST/share
mkdir -p "$SHARE/out"
EMU_PID=''
cleanup() {
	"$VM_DIR/run.sh" stop --state "$ST/vm" >/dev/null 2>&1 || true
	if [ -n "$EMU_PID" ]; then
		kill -TERM "$EMU_PID" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$EMU_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$EMU_PID" 2>/dev/null || true
	fi
	[ "${KEEP_STATE:-}" = 1 ] || rm -rf "$SHARE"
}
trap cleanup EXIT

if [ -z "${EMULATOR:-}" ]; then
	EMULATOR=$ST/mcs-emulator
	(cd "$REPO" && nice -n 10 timeout 600 go build -o "$EMULATOR" ./emulator/cmd/mcs-emulator) || vm_die "go build mcs-emulator failed"
fi
if [ -z "${NODE_TEST:-}" ]; then
	NODE_TEST=$ST/node.test
	(cd "$REPO" && CGO_ENABLED=0 nice -n 10 timeout 600 go test -c -o "$NODE_TEST" ./driver/pkg/node) || vm_die "go test -c ./driver/pkg/node failed"
fi
cp "$NODE_TEST" "$SHARE/node.test"

ssh-keygen -q -t ed25519 -N '' -C vm-node -f "$ST/id"
"$EMULATOR" serve \
	--state-dir "$ST/array" \
	--ssh-listen "127.0.0.1:$SSH_PORT" \
	--ssh-host-key "$ST/hostkey" \
	--ssh-authorized-keys "$USER_NAME=$ST/id.pub" \
	--iscsi-port "$ISCSI_PORT" \
	--iscsi-advertise "127.0.0.1:$ISCSI_PORT=$P1,127.0.0.2:$ISCSI_PORT=$P2" \
	>"$ST/emulator.log" 2>&1 &
EMU_PID=$!
for _ in $(seq 150); do
	[ -s "$ST/hostkey" ] && timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$SSH_PORT" 2>/dev/null && break
	kill -0 "$EMU_PID" 2>/dev/null || { tail -20 "$ST/emulator.log" >&2; vm_die "mcs-emulator exited"; }
	sleep 0.2
done
echo "[127.0.0.1]:$SSH_PORT $(ssh-keygen -y -f "$ST/hostkey")" >"$ST/known_hosts"
mcs() {
	timeout 60 ssh -q -i "$ST/id" -p "$SSH_PORT" -o BatchMode=yes -o StrictHostKeyChecking=yes \
		-o UserKnownHostsFile="$ST/known_hosts" -o ConnectTimeout=10 "$USER_NAME@127.0.0.1" "$*"
}
col() { awk -F'!' -v c="$1" 'NR==1{for(i=1;i<=NF;i++) if($i==c) k=i; next} k{print $k}'; }
field() { awk -F'!' -v c="$1" '$1==c{print $2; exit}'; }

mapfile -t IQNS < <(mcs mcsinq lsnode -delim ! | col iscsi_name)
((${#IQNS[@]} >= 2)) || vm_die "lsnode lists ${#IQNS[*]} nodes"
mcs mcsop mkhost -force -iscsiname "$GUEST_IQN" -name "$HOST" >/dev/null

# mkvol NAME: a 1 GiB vdisk.   uid NAME / lun NAME: its vdisk_UID / SCSI_id for the VM host.
mkvol() { mcs mcsop mkvdisk -name "$1" -size 1 -unit gb -mdiskgrp Pool0 -iogrp 0 >/dev/null; }
uid() { mcs mcsinq lsvdisk -bytes -delim ! "$1" | field vdisk_UID; }
lun() { mcs mcsinq lsvdiskhostmap -delim ! "$1" | col SCSI_id | head -1; }
map() { mcs mcsop mkvdiskhostmap -force -host "$HOST" "$1" >/dev/null; }
# envs NAME: the publish context ControllerPublishVolume would return, as guest env.
ENVS=()
envs() {
	local u l
	u=$(uid "$1") l=$(lun "$1")
	[ -n "$u" ] && [ -n "$l" ] || vm_die "vdisk $1: uid '$u' lun '$l'"
	ENVS=(--env "NODE_VOLUME_ID=$STORAGE:$u"
		--env "NODE_PUBLISH_CONTEXT={\"linkType\":\"iscsi\",\"vdiskUID\":\"$u\",\"targetPortals\":\"$P1,$P2\",\"targetIQNs\":\"${IQNS[0]},${IQNS[1]}\",\"targetLUNs\":\"$l,$l\"}"
		--env "VDISK_UID=$u" --env "LUN=$l" --env "IQN1=${IQNS[0]}" --env "IQN2=${IQNS[1]}")
}
cat "$VM_DIR/jobs/lib.sh" "$NODE_DIR/guest-node.sh" >"$ST/guest-node.sh"
cat "$VM_DIR/jobs/lib.sh" "$NODE_DIR/guest-baseline.sh" >"$ST/guest-baseline.sh"
phase() { "$VM_DIR/run.sh" exec --state "$ST/vm" --timeout 620 "${ENVS[@]}" "$@" | tee -a "$ST/phases.log"; }

"$VM_DIR/run.sh" start --image "$IMAGE" --state "$ST/vm" --share "$SHARE" --iqn "$GUEST_IQN" \
	--portal-port "$ISCSI_PORT" --ssh-port "$SSH_PORT" >/dev/null

vm_log "A: create, map; fs-write"
mkvol nodeA && map nodeA && envs nodeA
phase "$ST/guest-node.sh" fs-write

vm_log "array: snapshot A→S (copyrate 0), restore S→B, map B"
mkvol nodeS && mkvol nodeB
mcs mcsop mklcmap -source nodeA -target nodeS -copyrate 0 >/dev/null
LC1=$(mcs mcsinq lslcmap -delim ! | awk -F'!' 'NR>1 && /nodeS/ {print $1; exit}')
mcs mcsop startlcmap -prep "$LC1"
mcs mcsop mklcmap -source nodeS -target nodeB -copyrate 100 >/dev/null
LC2=$(mcs mcsinq lslcmap -delim ! | awk -F'!' 'NR>1 && /nodeB/ {print $1; exit}')
mcs mcsop startlcmap -prep "$LC2"
map nodeB && envs nodeB
phase "$ST/guest-node.sh" fs-verify

vm_log "array: expandvdisksize B +1 GiB"
mcs mcsop expandvdisksize -size 1 -unit gb nodeB
CAP=$(mcs mcsinq lsvdisk -bytes -delim ! nodeB | field capacity)
ENVS+=(--env "NODE_EXPECT_BYTES=$CAP")
phase "$ST/guest-node.sh" expand

vm_log "C: block volume"
mkvol nodeC && map nodeC && envs nodeC
phase "$ST/guest-node.sh" block

vm_log "D: bare-script baseline (login + wait + mkfs + mount)"
mkvol nodeD && map nodeD && envs nodeD
phase "$ST/guest-baseline.sh"

for v in nodeA nodeB nodeC; do
	envs "$v"
	phase "$ST/guest-node.sh" clean
done
ours=$(grep -o 'stage_publish_ms=[0-9]*' "$ST/phases.log" | head -1 | cut -d= -f2)
base=$(grep -o 'baseline_ms=[0-9]*' "$ST/phases.log" | head -1 | cut -d= -f2)
vm_log "NodeStage+NodePublish (fresh 1 GiB, 2 paths, mkfs) ${ours} ms; bare script ${base} ms; ratio $(awk -v a="$ours" -v b="$base" 'BEGIN{printf "%.2f", a/b}')"
vm_log "vm-node OK in $(($(vm_now_ms) - t0)) ms; logs in $ST"
