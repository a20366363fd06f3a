#!/usr/bin/env bash
# The kernel proof for the emulator's iSCSI target (issue 3 "Must show"): mcs-emulator serves on the
# host, its CLI (over SSH) creates a vdisk, a host for the VM's initiator IQN and the mapping, and a
# real Linux initiator in the VM logs in on both nodes' portals, sees wwn-0x<vdisk_UID> and one
# multipath map with ALUA path groups, round-trips a filesystem, follows expandvdisksize, and loses
# the LUN after rmvdiskhostmap. Runs jobs/emulator-cycle.sh in one VM boot, phase by phase.
#
# Env: EMULATOR (path to a built mcs-emulator; default: go build into the run dir)
#      EMU_ISCSI_PORT (13270)  EMU_SSH_PORT (12222)  KEEP_STATE=1
# Exit code: 0 when every phase passed; the failing phase's otherwise.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
t0=$(vm_now_ms)
ISCSI_PORT=${EMU_ISCSI_PORT:-13270} SSH_PORT=${EMU_SSH_PORT:-12222}
[[ $ISCSI_PORT =~ ^[0-9]+$ && $SSH_PORT =~ ^[0-9]+$ ]] || vm_die "ports must be numbers"
GUEST_IQN=iqn.1993-08.org.debian:01:instorage-vm-emu
VDISK=vmproof$$ HOST=vmhost$$ USER_NAME=superuser

vm_apt_install openssh-client socat
IMAGE=$("$VM_DIR/build.sh" | tail -1)
mkdir -p "$CACHE/vm/runs"
ST=$(mktemp -d "$CACHE/vm/runs/iscsi-emulator.XXXXXX")
EMU_PID=''
cleanup() {
	local rc=$?
	((rc == 0)) || vm_log "FAILED (rc=$rc); logs: $ST (emulator.log, vm/console.log, vm/socat.log)"
	"$VM_DIR/run.sh" stop --state "$ST/vm" || true
	if [ -n "$EMU_PID" ]; then
		kill -TERM "$EMU_PID" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$EMU_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$EMU_PID" 2>/dev/null || true
	fi
}
trap cleanup EXIT

if [ -z "${EMULATOR:-}" ]; then
	EMULATOR=$ST/mcs-emulator
	export PATH=$PATH:/usr/local/go/bin
	(cd "$REPO" && timeout 600 go build -o "$EMULATOR" ./emulator/cmd/mcs-emulator) || vm_die "go build mcs-emulator failed"
fi

# --- the emulator: portals 127.0.0.1/127.0.0.2:ISCSI_PORT advertised as the VM's guestfwd addresses
ssh-keygen -q -t ed25519 -N '' -C vm-proof -f "$ST/id"
# The emulator's config (emulator/config): portals listen on 127.0.0.1/127.0.0.2:ISCSI_PORT and are
# advertised in SendTargets as the addresses the VM reaches them at (README "Network").
cat >"$ST/emulator.yaml" <<YAML
stateDir: $ST/array
ssh:
  addr: 127.0.0.1:$SSH_PORT
control:
  addr: "off"
users:
  - name: $USER_NAME
    authorizedKeysFile: $ST/id.pub
preset: default
iscsi:
  enabled: true
  port: $ISCSI_PORT
  advertise:
    "127.0.0.1:$ISCSI_PORT": "10.0.2.100:3260"
    "127.0.0.2:$ISCSI_PORT": "10.0.2.101:3260"
YAML
"$EMULATOR" serve --config "$ST/emulator.yaml" >"$ST/emulator.log" 2>&1 &
EMU_PID=$!
HOSTKEY=$ST/array/ssh_host_ed25519_key
for _ in $(seq 150); do
	[ -s "$HOSTKEY" ] && timeout 2 socat -u /dev/null "TCP:127.0.0.1:$SSH_PORT" 2>/dev/null && break
	kill -0 "$EMU_PID" 2>/dev/null || { tail -20 "$ST/emulator.log" >&2; vm_die "mcs-emulator exited"; }
	sleep 0.2
done
# Host key verified: known_hosts comes from the key the emulator wrote, never from the wire.
echo "[127.0.0.1]:$SSH_PORT $(ssh-keygen -y -f "$HOSTKEY")" >"$ST/known_hosts"

# mcs CMD...: one array CLI command over SSH (key auth, pinned host key, bounded).
mcs() {
	timeout 60 ssh -q -i "$ST/id" -p "$SSH_PORT" -o BatchMode=yes -o StrictHostKeyChecking=yes \
		-o UserKnownHostsFile="$ST/known_hosts" -o ConnectTimeout=10 "$USER_NAME@127.0.0.1" "$*"
}
# col NAME: the NAME column of a "-delim !" list view (header row first).
col() { awk -F'!' -v c="$1" 'NR==1{for(i=1;i<=NF;i++) if($i==c) k=i; next} k{print $k}'; }
# field NAME: the NAME value of a "-delim !" detail view.
field() { awk -F'!' -v c="$1" '$1==c{print $2; exit}'; }

# --- the VM
"$VM_DIR/run.sh" start --image "$IMAGE" --state "$ST/vm" --iqn "$GUEST_IQN" \
	--portal-port "$ISCSI_PORT" --ssh-port "$SSH_PORT" >/dev/null
cat "$VM_DIR/jobs/lib.sh" "$VM_DIR/jobs/emulator-cycle.sh" >"$ST/emulator-cycle.sh"
phase() { "$VM_DIR/run.sh" exec --state "$ST/vm" --timeout 300 "${ENVS[@]}" "$ST/emulator-cycle.sh" "$1"; }

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
