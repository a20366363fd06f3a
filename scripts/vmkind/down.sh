#!/usr/bin/env bash
# down.sh RUNDIR [CLUSTER] — stop what scripts/vmkind/e2e.sh started: the kind cluster CLUSTER
# (default instorage-e2e), the VM and both emulators of RUNDIR (by their pid files only).
# Idempotent. The VM's disks are snapshot=on: nothing to clean in the cache.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
S=${1:?usage: down.sh RUNDIR [CLUSTER]}
[[ -d $S/vm ]] && VM_STATE=$S/vm "$HERE/../vm/run.sh" stop
timeout 300 kind delete cluster --name "${2:-instorage-e2e}" >/dev/null 2>&1
for e in emu1 emu2; do
	[[ -d $S/$e ]] && "$HERE/../vm/emulator.sh" down "$S/$e"
done
true
