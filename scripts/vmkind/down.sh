#!/usr/bin/env bash
# down.sh RUNDIR [CLUSTER] — stop what scripts/vmkind/e2e.sh started: the kind cluster CLUSTER
# (default instorage-e2e), the VM and both emulators of RUNDIR (by their pid files only).
# Idempotent. The VM's disks are snapshot=on: nothing to clean in the cache.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
S=${1:?usage: down.sh RUNDIR [CLUSTER]}
# Run by hand after KEEP_CLUSTER=1, so find kind and the private dockerd as make e2e did: without
# them `kind delete` quietly targeted no cluster and the control-plane node kept running.
# shellcheck source=../k8s/versions.sh
source "$HERE/../k8s/versions.sh"
CACHE=${CACHE:-$(cd "$HERE/../.." && pwd)/.cache}
PATH=$CACHE/k8s/common/tools-kind$KIND_VERSION-crictl$CRICTL_VERSION-helm$HELM_VERSION/bin:$PATH
eval "$("$HERE/../k8s/dockerd.sh" env)"
[[ -d $S/vm ]] && VM_STATE=$S/vm "$HERE/../vm/run.sh" stop
timeout 300 kind delete cluster --name "${2:-instorage-e2e}" >/dev/null 2>&1 ||
	echo "down.sh: kind delete cluster ${2:-instorage-e2e} failed" >&2
for e in emu1 emu2; do
	[[ -d $S/$e ]] && "$HERE/../vm/emulator.sh" down "$S/$e"
done
true
