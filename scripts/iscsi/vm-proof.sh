#!/bin/bash
# Real-kernel proof for the emulator's iSCSI target: mcs-iscsi-target on the
# host (two node portals, advertising the VM-visible addresses), the
# scripts/vm harness booting a Debian VM (qemu TCG) that runs vm-job.sh.
# Afterwards the host checks the discard reached the file (holes punched).
# Usage: scripts/iscsi/vm-proof.sh   env: OUT (default /var/tmp/mcs-iscsi-vm),
#        PORT (host portal port, default 13291).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${OUT:-/var/tmp/mcs-iscsi-vm}
PORT=${PORT:-13291}
UID_HEX=600507600000000000000000000000C1
CL=cluster0
IQN1=iqn.2004-12.com.inspur:mcs.$CL.node1 IQN2=iqn.2004-12.com.inspur:mcs.$CL.node2
mkdir -p "$OUT"
rm -f "$OUT/vdisk.img"
truncate -s 256M "$OUT/vdisk.img"
(cd "$ROOT" && go build -o "$OUT/mcs-iscsi-target" ./emulator/iscsi/cmd/mcs-iscsi-target)
"$OUT/mcs-iscsi-target" -file "$OUT/vdisk.img" -uid "$UID_HEX" -thin -port "$PORT" -cluster "$CL" \
  -advertise "127.0.0.1:$PORT=10.0.2.100:3260,127.0.0.2:$PORT=10.0.2.101:3260" >"$OUT/target.log" 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT
IMAGE=$("$ROOT/scripts/vm/build.sh" | tail -1)
cat "$ROOT/scripts/vm/jobs/lib.sh" "$HERE/vm-job.sh" >"$OUT/job.sh"
rc=0
"$ROOT/scripts/vm/run.sh" --image "$IMAGE" --portal-port "$PORT" --timeout 400 \
  --env "UID_HEX=$UID_HEX" --env "IQN1=$IQN1" --env "IQN2=$IQN2" --job "$OUT/job.sh" || rc=$?
alloc=$(du -k "$OUT/vdisk.img" | cut -f1)
echo "vdisk file allocation after discard: ${alloc} KiB (of 262144)"
if [ "$rc" = 0 ] && [ "$alloc" -gt 4096 ]; then
  echo "FAIL: discard did not punch holes"; rc=1
fi
exit "$rc"
