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
#   → benchmark (D: NODE_BENCH_ROUNDS interleaved rounds, medians) → clean (no sd/dm/session left).
# NODE_TARGET=tgt runs the same Node service phases against a private tgtd (scripts/vm/tgt.sh: one
# LUN, NAA 6 WWID 6000…0001, two portals) for when the emulator's iSCSI target is not available:
#   fs-write → fs-verify (new process: data intact) → unstage (new process, from the record)
#   → block → benchmark → clean. No snapshot/expand there (tgt has neither).
# Env: NODE_TARGET (auto|emulator|tgt; auto = emulator if its iSCSI portal answers, else tgt), EMULATOR (prebuilt mcs-emulator), NODE_TEST (prebuilt
#      node.test), EMU_ISCSI_PORT (13280), EMU_SSH_PORT (12232), TGT_PORT (13290), KEEP_STATE=1.
# Exit code 0 when every phase passed.
set -euo pipefail
# shellcheck source=../vm/lib.sh
. "$(dirname "$0")/../vm/lib.sh"
NODE_DIR=$(cd "$(dirname "$0")" && pwd)
t0=$(vm_now_ms)
ISCSI_PORT=${EMU_ISCSI_PORT:-13280} SSH_PORT=${EMU_SSH_PORT:-12232}
TARGET=${NODE_TARGET:-auto}
[ "$TARGET" = tgt ] && ISCSI_PORT=${TGT_PORT:-13290}
GUEST_IQN=iqn.1993-08.org.debian:01:instorage-node-vm
HOST=vmnode STORAGE=storage-01
P1=10.0.2.100:3260 P2=10.0.2.101:3260

IMAGE=$("$VM_DIR/build.sh" | tail -1)
mkdir -p "$CACHE/vm/runs"
ST=$(mktemp -d "$CACHE/vm/runs/node.XXXXXX")
SHARE=$ST/share
mkdir -p "$SHARE/out"
EMU_UP=''
cleanup() {
	"$VM_DIR/run.sh" stop --state "$ST/vm" >/dev/null 2>&1 || true
	[ -n "$EMU_UP" ] && "$VM_DIR/emulator.sh" down "$ST/emu" || true
	[ "$TARGET" = tgt ] && TGT_PORT=$ISCSI_PORT TGT_CTL=27 "$VM_DIR/tgt.sh" down "$ST/tgt" || true
	[ "${KEEP_STATE:-}" = 1 ] || rm -rf "$SHARE"
}
trap cleanup EXIT

if [ -z "${NODE_TEST:-}" ]; then
	NODE_TEST=$ST/node.test
	(cd "$REPO" && CGO_ENABLED=0 nice -n 10 timeout 600 go test -c -o "$NODE_TEST" ./driver/pkg/node) || vm_die "go test -c ./driver/pkg/node failed"
fi
cp "$NODE_TEST" "$SHARE/node.test"

# ctx UID LUN IQN1 IQN2: the publish context ControllerPublishVolume would return, as guest env.
ctx() {
	ENVS=(--env "NODE_VOLUME_ID=$STORAGE:$1"
		--env "NODE_PUBLISH_CONTEXT={\"linkType\":\"iscsi\",\"vdiskUID\":\"$1\",\"targetPortals\":\"$P1,$P2\",\"targetIQNs\":\"$3,$4\",\"targetLUNs\":\"$2,$2\"}"
		--env "VDISK_UID=$1" --env "LUN=$2" --env "IQN1=$3" --env "IQN2=$4")
}
ENVS=()
cat "$VM_DIR/jobs/lib.sh" "$NODE_DIR/guest-node.sh" >"$ST/guest-node.sh"
cat "$VM_DIR/jobs/lib.sh" "$NODE_DIR/guest-baseline.sh" >"$ST/guest-baseline.sh"
phase() { "$VM_DIR/run.sh" exec --state "$ST/vm" --timeout 620 "${ENVS[@]}" "$@" | tee -a "$ST/phases.log"; }
# bench: ROUNDS interleaved runs of the bare script and of NodeStage+NodePublish (fs-write) on the
# volume in ENVS, baseline first; both format an empty disk every time.
ROUNDS=${NODE_BENCH_ROUNDS:-3}
bench() {
	local i
	for i in $(seq "$ROUNDS"); do
		vm_log "benchmark round $i/$ROUNDS"
		phase "$ST/guest-baseline.sh" | sed -n 's/^TIMING baseline_ms=/BENCH base baseline_ms=/p' >>"$ST/phases.log"
		phase "$ST/guest-node.sh" fs-write | sed -n 's/^TIMING stage_ms=[0-9]* stage_publish_ms=/BENCH ours stage_publish_ms=/p' >>"$ST/phases.log"
	done
}

if [ "$TARGET" = auto ]; then
	# The emulator when its iSCSI target answers, else tgt (the Node flows are the same).
	EMU_ISCSI_PORT=$ISCSI_PORT EMU_SSH_PORT=$SSH_PORT EMULATOR=${EMULATOR:-} "$VM_DIR/emulator.sh" up "$ST/emu" >/dev/null
	EMU_UP=1
	if timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$ISCSI_PORT" 2>/dev/null; then
		TARGET=emulator
	else
		vm_log "mcs-emulator serves no iSCSI portal on 127.0.0.1:$ISCSI_PORT: falling back to tgt (no snapshot/expand phases)"
		"$VM_DIR/emulator.sh" down "$ST/emu"
		EMU_UP='' TARGET=tgt ISCSI_PORT=${TGT_PORT:-13290}
	fi
fi
if [ "$TARGET" = tgt ]; then
	TGT_IQN=iqn.2004-12.com.inspur:mcs.tgt.node1
	TGT_PORT=$ISCSI_PORT TGT_CTL=27 TGT_IQN=$TGT_IQN "$VM_DIR/tgt.sh" up "$ST/tgt"
	"$VM_DIR/run.sh" start --image "$IMAGE" --state "$ST/vm" --share "$SHARE" --iqn "$GUEST_IQN" \
		--portal-port "$ISCSI_PORT" >/dev/null
	# tgt's VPD 0x83 NAA for tid 1 LUN 1 (measured by scripts/vm/smoke-tgt.sh).
	ctx 60000000000000000000000000000001 1 "$TGT_IQN" "$TGT_IQN"
	vm_log "tgt LUN 1: fs-write, fs-verify, unstage (each a new plugin process)"
	phase "$ST/guest-node.sh" fs-write
	phase "$ST/guest-node.sh" fs-verify
	phase "$ST/guest-node.sh" unstage
	vm_log "tgt LUN 1 as a block volume"
	phase "$ST/guest-node.sh" block
	bench
	phase "$ST/guest-node.sh" clean
else
	# The array: scripts/vm/emulator.sh (portals advertised as the guest's addresses, pinned host key).
	if [ -z "$EMU_UP" ]; then
		EMU_ISCSI_PORT=$ISCSI_PORT EMU_SSH_PORT=$SSH_PORT EMULATOR=${EMULATOR:-} "$VM_DIR/emulator.sh" up "$ST/emu" >/dev/null
		EMU_UP=1
	fi
	mcs() { "$VM_DIR/emulator.sh" cli "$ST/emu" "$@"; }
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
	# envs NAME: ctx for vdisk NAME as mapped to the VM host.
	envs() {
		local u l
		u=$(uid "$1") l=$(lun "$1")
		[ -n "$u" ] && [ -n "$l" ] || vm_die "vdisk $1: uid '$u' lun '$l'"
		ctx "$u" "$l" "${IQNS[0]}" "${IQNS[1]}"
	}

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
	mcs mcsop mklcmap -source nodeS -target nodeB -copyrate 100 -autodelete >/dev/null
	LC2=$(mcs mcsinq lslcmap -delim ! | awk -F'!' 'NR>1 && /nodeB/ {print $1; exit}')
	mcs mcsop startlcmap -prep "$LC2"
	map nodeB && envs nodeB
	phase "$ST/guest-node.sh" fs-verify

	vm_log "array: wait for the restore's lcmap to finish and delete itself (expand refuses a mapped target, §7.3)"
	for _ in $(seq 120); do
		mcs mcsinq lslcmap -delim ! | awk -F'!' 'NR>1' | grep -q '!nodeB!' || break
		sleep 1
	done
	mcs mcsinq lslcmap -delim ! | awk -F'!' 'NR>1' | grep -q '!nodeB!' && vm_die "restore lcmap S→B still present after 120 s"
	vm_log "array: expandvdisksize B +1 GiB"
	mcs mcsop expandvdisksize -size 1 -unit gb nodeB
	CAP=$(mcs mcsinq lsvdisk -bytes -delim ! nodeB | field capacity)
	ENVS+=(--env "NODE_EXPECT_BYTES=$CAP")
	phase "$ST/guest-node.sh" expand

	vm_log "C: block volume"
	mkvol nodeC && map nodeC && envs nodeC
	phase "$ST/guest-node.sh" block

	for v in nodeA nodeB nodeC; do
		envs "$v"
		phase "$ST/guest-node.sh" clean
	done
	# Only the benchmark volume stays mapped, so the bare script's automatic login scan finds
	# one LUN, as the driver's targeted scan does: the two sides do the same work.
	for v in nodeA nodeB nodeC; do mcs mcsop rmvdiskhostmap -host "$HOST" "$v"; done
	vm_log "D: benchmark volume"
	mkvol nodeD && map nodeD && envs nodeD
	bench
	phase "$ST/guest-node.sh" clean
fi
median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
ours=$(grep -o 'BENCH ours stage_publish_ms=[0-9]*' "$ST/phases.log" | cut -d= -f2 | median)
base=$(grep -o 'BENCH base baseline_ms=[0-9]*' "$ST/phases.log" | cut -d= -f2 | median)
vm_log "benchmark, median of $ROUNDS interleaved rounds: NodeStage+NodePublish ${ours} ms, bare script ${base} ms, ratio $(awk -v a="$ours" -v b="$base" 'BEGIN{printf "%.2f", a/b}') (goal <= 1.2)"
vm_log "vm-node OK in $(($(vm_now_ms) - t0)) ms; logs in $ST"
