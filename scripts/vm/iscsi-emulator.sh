#!/usr/bin/env bash
# The kernel proof for the emulator's iSCSI target (issue 3 "Must show"): mcs-emulator serves on the
# host, its CLI (over SSH) creates a vdisk, a host for the VM's initiator IQN and the mapping, and a
# real Linux initiator in the VM logs in on both nodes' portals, sees wwn-0x<vdisk_UID> and one
# multipath map with ALUA path groups, round-trips a filesystem, follows expandvdisksize, and loses
# the LUN after rmvdiskhostmap. Runs jobs/emulator-cycle.sh in one VM boot, phase by phase.
#
# Env: as emulator.sh (EMULATOR, EMU_ISCSI_PORT, EMU_SSH_PORT).
# Exit code: 0 when every phase passed; the failing phase's otherwise.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
t0=$(vm_now_ms)
GUEST_IQN=iqn.1993-08.org.debian:01:instorage-vm-emu
VDISK=vmproof$$ HOST=vmhost$$

IMAGE=$("$VM_DIR/build.sh" | tail -1)
mkdir -p "$CACHE/vm/runs"
ST=$(mktemp -d "$CACHE/vm/runs/iscsi-emulator.XXXXXX")
cleanup() {
	local rc=$?
	((rc == 0)) || vm_log "FAILED (rc=$rc); logs: $ST (emu/emulator.log, vm/console.log, vm/socat.log)"
	"$VM_DIR/run.sh" stop --state "$ST/vm" || true
	"$VM_DIR/emulator.sh" down "$ST/emu" || true
}
trap cleanup EXIT
# The emulator (maybe a go build) and the VM boot in parallel: both take tens of seconds.
EMU_ISCSI_PORT=${EMU_ISCSI_PORT:-$(vm_free_port 13270)} EMU_SSH_PORT=${EMU_SSH_PORT:-$(vm_free_port 12222)}
export EMU_ISCSI_PORT EMU_SSH_PORT
"$VM_DIR/emulator.sh" up "$ST/emu" >/dev/null &
emu_up=$!
"$VM_DIR/run.sh" start --image "$IMAGE" --state "$ST/vm" --iqn "$GUEST_IQN" \
	--portal-port "$EMU_ISCSI_PORT" --ssh-port "$EMU_SSH_PORT" >/dev/null
wait "$emu_up" || vm_die "emulator did not start"
# shellcheck disable=SC1091
. "$ST/emu/emulator.env"
mcs() { "$VM_DIR/emulator.sh" cli "$ST/emu" "$@"; }
# col NAME: the NAME column of a "-delim !" list view (header row first).
col() { awk -F'!' -v c="$1" 'NR==1{for(i=1;i<=NF;i++) if($i==c) k=i; next} k{print $k}'; }
# field NAME: the NAME value of a "-delim !" detail view.
field() { awk -F'!' -v c="$1" '$1==c{print $2; exit}'; }

cat "$VM_DIR/jobs/lib.sh" "$VM_DIR/jobs/emulator-cycle.sh" >"$ST/emulator-cycle.sh"
phase() { "$VM_DIR/run.sh" exec --state "$ST/vm" --timeout 900 "${ENVS[@]}" "$ST/emulator-cycle.sh" "$1"; }

vm_log "array: mkvdisk, mkhost, mkvdiskhostmap"
mcs mcsop mkvdisk -name "$VDISK" -size 1 -unit gb -mdiskgrp Pool0 -iogrp 0
mcs mcsop mkhost -force -iscsiname "$GUEST_IQN" -name "$HOST"
mcs mcsop mkvdiskhostmap -force -host "$HOST" "$VDISK"
VDISK_UID=$(mcs mcsinq lsvdisk -bytes -delim ! "$VDISK" | field vdisk_UID)
LUN=$(mcs mcsinq lsvdiskhostmap -delim ! "$VDISK" | col SCSI_id | head -1)
mapfile -t IQNS < <(mcs mcsinq lsnode -delim ! | col iscsi_name)
[ -n "$VDISK_UID" ] && [ -n "$LUN" ] && ((${#IQNS[@]} >= 2)) || vm_die "array views incomplete (uid=$VDISK_UID lun=$LUN nodes=${#IQNS[*]})"
vm_log "vdisk $VDISK uid $VDISK_UID lun $LUN targets ${IQNS[*]}"
ENVS=(--env "VDISK_UID=$VDISK_UID" --env "LUN=$LUN" --env "IQN1=${IQNS[0]}" --env "IQN2=${IQNS[1]}")
phase attach

vm_log "array: expandvdisksize +1 GiB"
mcs mcsop expandvdisksize -size 1 -unit gb "$VDISK"
CAP=$(mcs mcsinq lsvdisk -bytes -delim ! "$VDISK" | field capacity)
[ "$CAP" = $((2 << 30)) ] || vm_die "lsvdisk capacity $CAP after expand, want $((2 << 30))"
ENVS+=(--env "EXPECT_BYTES=$CAP")
phase grow

vm_log "array: rmvdiskhostmap"
mcs mcsop rmvdiskhostmap -host "$HOST" "$VDISK"
phase unmap

vm_log "array: cleanup (rmvdisk, rmhost) and check nothing is left"
mcs mcsop rmvdisk "$VDISK"
mcs mcsop rmhost "$HOST"
left=$(mcs mcsinq lsvdisk -delim ! | col name | grep -cx "$VDISK" || true)
[ "$left" = 0 ] || vm_die "vdisk $VDISK still listed"
vm_log "iscsi-emulator OK in $(($(vm_now_ms) - t0)) ms; logs in $ST"
