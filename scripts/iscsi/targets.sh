#!/bin/bash
# Shared helpers: start/stop tgt and the emulator's target on the same
# backing file and portals (127.0.0.1:3260 node1, 127.0.0.2:3260 node2).
# PORT overrides 3260 for both. Sourced by conformance.sh and perf.sh. Processes are stopped by PID only.
IQN1=iqn.2004-12.com.inspur:mcs.cluster0.node1
IQN2=iqn.2004-12.com.inspur:mcs.cluster0.node2
PORT=${PORT:-3260}  # another port keeps a shared host's 3260 free
TGT_CTL=${TGT_CTL:-31}  # tgtd control port: never talk to someone else's tgtd
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

need_tools() {
  local missing=()
  for t in tgtd tgtadm iscsi-test-cu iscsi-perf iscsi-ls bc; do
    command -v "$t" >/dev/null || missing+=("$t")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing tgt libiscsi-bin bc (missing: ${missing[*]})" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tgt libiscsi-bin bc >/dev/null
  fi
}

wait_port() { # ip
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/$1/$PORT") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "portal $1:$PORT did not come up" >&2
  return 1
}

wait_port_free() {
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null || return 0
    sleep 0.1
  done
  echo "127.0.0.1:$PORT still busy" >&2
  return 1
}

# tgt_up STATE IMG THIN(0|1): tgtd with LUN 1 on both portals, one target.
tgt_up() {
  local state=$1 img=$2 thin=$3
  wait_port_free || return 1
  tgtd -f -C "$TGT_CTL" --iscsi portal=127.0.0.1:$PORT >"$state/tgtd.log" 2>&1 &
  echo $! >"$state/tgtd.pid"
  for _ in $(seq 50); do tgtadm -C "$TGT_CTL" --lld iscsi --op show --mode sys >/dev/null 2>&1 && break; sleep 0.1; done
  tgtadm -C "$TGT_CTL" --lld iscsi --op new --mode portal --param portal=127.0.0.2:$PORT
  tgtadm -C "$TGT_CTL" --lld iscsi --op new --mode target --tid 1 -T "$IQN1"
  tgtadm -C "$TGT_CTL" --lld iscsi --op new --mode logicalunit --tid 1 --lun 1 -b "$img"
  tgtadm -C "$TGT_CTL" --lld iscsi --op update --mode logicalunit --tid 1 --lun 1 \
    --params vendor_id=INSPUR,product_id=MCS,product_rev=0001,scsi_sn=MCS0000001,scsi_id=MCS-LUN-0001,thin_provisioning="$thin"
  tgtadm -C "$TGT_CTL" --lld iscsi --op bind --mode target --tid 1 -I ALL
  wait_port 127.0.0.1 && wait_port 127.0.0.2
}

tgt_down() {
  local state=$1 pid
  [ -f "$state/tgtd.pid" ] || return 0
  pid=$(cat "$state/tgtd.pid")
  # tgtd ignores SIGTERM; the supported shutdown is "delete --mode system".
  tgtadm -C "$TGT_CTL" --op delete --mode system >/dev/null 2>&1 || true
  for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  wait "$pid" 2>/dev/null
  rm -f "$state/tgtd.pid"
}

# emu_up STATE IMG THIN(0|1): the Go target (mcs-iscsi-target) on the file.
emu_up() {
  local state=$1 img=$2 thin=$3
  local bin=$state/mcs-iscsi-target
  [ -x "$bin" ] || (cd "$ROOT" && go build -o "$bin" ./emulator/iscsi/cmd/mcs-iscsi-target) || return 1
  wait_port_free || return 1
  "$bin" -port "$PORT" -file "$img" -thin="$([ "$thin" = 1 ] && echo true || echo false)" >"$state/emu.log" 2>&1 &
  echo $! >"$state/emu.pid"
  wait_port 127.0.0.1 && wait_port 127.0.0.2
}

emu_down() {
  local state=$1 pid
  [ -f "$state/emu.pid" ] || return 0
  pid=$(cat "$state/emu.pid")
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  wait "$pid" 2>/dev/null
  rm -f "$state/emu.pid"
}
