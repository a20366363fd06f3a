#!/usr/bin/env bash
# csi-sanity against the real binaries: mcs-emulator (SSH on 127.0.0.1, no
# iSCSI) and instorage-csi --mode controller with a pinned host key, then
# SIGTERM both. Usage: scripts/sanity/binaries.sh   (from anywhere)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
WORK="$(mktemp -d)"
EMU_PID="" DRV_PID=""
cleanup() {
	[[ -n "$DRV_PID" ]] && kill -TERM "$DRV_PID" 2>/dev/null || true
	[[ -n "$EMU_PID" ]] && kill -TERM "$EMU_PID" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

cd "$ROOT"
go build -o "$WORK/mcs-emulator" ./emulator/cmd/mcs-emulator
go build -o "$WORK/instorage-csi" ./driver/cmd/instorage-csi

PASSWORD="$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
printf '%s\n' "$PASSWORD" >"$WORK/pw"
chmod 600 "$WORK/pw"
"$WORK/mcs-emulator" serve --state-dir "$WORK/state" --ssh-addr 127.0.0.1:0 --control-addr off \
	--iscsi=false --password-file "admin:$WORK/pw" >"$WORK/emu.out" 2>"$WORK/emu.log" &
EMU_PID=$!
for _ in $(seq 100); do grep -q '^mcs-emulator ready' "$WORK/emu.out" && break; sleep 0.1; done
grep -q '^mcs-emulator ready' "$WORK/emu.out" || { cat "$WORK/emu.log"; echo "emulator did not start" >&2; exit 1; }
ADDR="$(sed -n 's/.* ssh=\([^ ]*\).*/\1/p' "$WORK/emu.out")"
FP="$(sed -n 's/.* hostkey=\([^ ]*\).*/\1/p' "$WORK/emu.out")"

cat >"$WORK/instorage.yaml" <<YAML
host:
  link: iscsi
storage:
- name: storage-01
  type: AS18000
  host: "$ADDR"
  username: admin
  password: "$PASSWORD"
  hostKeyFingerprint: "$FP"
  barrierPath: "$WORK"
YAML
"$WORK/instorage-csi" --mode controller --endpoint "unix://$WORK/csi.sock" \
	--config "$WORK/instorage.yaml" >"$WORK/drv.out" 2>"$WORK/drv.log" &
DRV_PID=$!
for _ in $(seq 100); do [[ -S "$WORK/csi.sock" ]] && break; sleep 0.1; done
[[ -S "$WORK/csi.sock" ]] || { cat "$WORK/drv.log"; echo "driver did not start" >&2; exit 1; }

INSTORAGE_SANITY_CONTROLLER="unix://$WORK/csi.sock" INSTORAGE_SANITY_STORAGE=storage-01 \
	go test -count=1 ./sanity/
if grep -q "$PASSWORD" "$WORK/drv.log" "$WORK/emu.log"; then
	echo "FAIL: the array password appears in a log" >&2
	exit 1
fi
echo "sanity against the binaries passed"
