#!/usr/bin/env bash
# down.sh RUNDIR — stop what scripts/vmkind/e2e.sh started in RUNDIR (the VM, both emulators), by
# their pid files only. Idempotent. The VM's disks are snapshot=on: nothing to clean in the cache.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
S=${1:?usage: down.sh RUNDIR}
[[ -d $S/vm ]] && VM_STATE=$S/vm "$HERE/../vm/run.sh" stop
for e in emu1 emu2; do
	[[ -d $S/$e ]] && "$HERE/../vm/emulator.sh" down "$S/$e"
done
true
