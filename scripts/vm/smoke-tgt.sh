#!/usr/bin/env bash
# End-to-end harness smoke test: build (or reuse) the VM, start a private tgtd on two loopback
# portals, boot the VM and run the kernel initiator cycle (jobs/tgt-cycle.sh) in it, stop everything.
# Exit code: the guest job's. Env: TGT_PORT (default: first free port from 13260).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
t0=$(vm_now_ms)
IMAGE=$("$VM_DIR/build.sh" | tail -1)
t_build=$(vm_now_ms)
mkdir -p "$CACHE/vm/runs"
ST=$(mktemp -d "$CACHE/vm/runs/smoke-tgt.XXXXXX")
export TGT_IQN=iqn.2004-12.com.inspur:mcs.tgt.node1
trap '"$VM_DIR/tgt.sh" down "$ST/tgt"' EXIT
TGT_PORT=$("$VM_DIR/tgt.sh" up "$ST/tgt" | tail -1)
cat "$VM_DIR/jobs/lib.sh" "$VM_DIR/jobs/tgt-cycle.sh" >"$ST/tgt-cycle.sh"
rc=0
"$VM_DIR/run.sh" --image "$IMAGE" --state "$ST/vm" --portal-port "$TGT_PORT" --timeout 900 \
	--env "IQN=$TGT_IQN" --job "$ST/tgt-cycle.sh" || rc=$?
t1=$(vm_now_ms)
vm_log "smoke-tgt rc=$rc: build/cache $((t_build - t0)) ms, whole run $((t1 - t0)) ms; logs in $ST"
exit "$rc"
