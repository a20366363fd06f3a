#!/usr/bin/env bash
# e2e.sh — `make e2e` on a host without an iSCSI initiator: kind runs INSIDE a qemu TCG VM (stock
# Debian kernel, open-iscsi + multipathd as VM daemons), the two arrays (mcs-emulator, two-site)
# run on the host and are reached through slirp guestfwd; the host runs the suites against the
# apiserver through hostfwd. Layout and addresses: scripts/vmkind/README.md.
#
# Called by scripts/k8s/e2e.sh (E2E_NODES=vm), which has built the Kubernetes artefacts, started
# the private dockerd, built the node image and the project images. Env (set by e2e.sh):
#   KV (v1.37.1)  ARTIFACTS  CACHE  KB (k8s bin dir)  TOOLS (kind dir)  LABELS  FOCUS  SKIP
#   SKIP_EXTERNAL  EXTERNAL_FOCUS  KEEP_CLUSTER=1 (leave VM + emulators up; prints how to stop)
#   VM_MEM (7G)  VM_SMP (2)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
cd "$ROOT"
# shellcheck source=../k8s/versions.sh
source "$ROOT/scripts/k8s/versions.sh"
: "${KV:?} ${ARTIFACTS:?} ${CACHE:?} ${KB:?} ${TOOLS:?}"
export PATH=$KB:$TOOLS:$PATH
export KUBECONFIG=$ARTIFACTS/kubeconfig ARTIFACTS
CLUSTER=instorage-e2e
NODE_IMAGE=localhost/kindnode:$KV
S=$ARTIFACTS/run # emulators, VM state, 9p share
mkdir -p "$S/share/bin" "$S/emu1" "$S/emu2"
T0=$SECONDS
TIMES=$ARTIFACTS/times.tsv
log() { echo "[$(date -u +%H:%M:%S)] $*" | tee -a "$ARTIFACTS/steps.log"; }
# timed NAME CMD...: runs CMD, records its wall time in times.tsv, fails with its exit code.
timed() {
	local name=$1 t=$SECONDS rc=0
	shift
	log "$name"
	"$@" || rc=$?
	printf '%s\t%d\t%d\n' "$name" $((SECONDS - t)) "$rc" >>"$TIMES"
	log "$name: $((SECONDS - t)) s rc=$rc"
	return "$rc"
}
vm() { VM_STATE=$S/vm "$ROOT/scripts/vm/run.sh" exec "$@"; }
k() { timeout "${KTMO:-120}" kubectl "$@"; }

# ---- host side: images, VM image, data-root disk, emulators -------------------------------------
VM_PKGS=docker.io,iptables
IMAGE_DIR=$(VM_EXTRA_PKGS=$VM_PKGS nice -n 5 "$ROOT/scripts/vm/build.sh" 2> >(tee -a "$ARTIFACTS/vm-build.log" >&2) | tail -1)
DATAROOT=$("$HERE/dataroot.sh" "$NODE_IMAGE" 2> >(tee -a "$ARTIFACTS/dataroot.log" >&2) | tail -1)
log "VM image $IMAGE_DIR, data-root $DATAROOT ($(du -sh --apparent-size "$DATAROOT" | cut -f1) sparse, $(du -sh "$DATAROOT" | cut -f1) used)"

cp "$TOOLS/kind" "$HERE/guest/docker" "$S/share/bin/"
cp "$ROOT/scripts/k8s/kind-config-vm.yaml" "$S/share/kind-config.yaml"
PROJECT_IMAGES=(ghcr.io/instorage-csi/instorage-csi:dev ghcr.io/instorage-csi/csi-node-driver-registrar-lite:dev
	ghcr.io/instorage-csi/livenessprobe-lite:dev)
timed "docker save project images" timeout 600 docker save -o "$S/share/images.tar" "${PROJECT_IMAGES[@]}"

EMULATOR=$S/mcs-emulator
timed "go build mcs-emulator" timeout 900 go build -o "$EMULATOR" ./emulator/cmd/mcs-emulator
export EMULATOR
# One random password for both arrays (the cluster Secret holds one), never in git or in logs.
(umask 077 && head -c 18 /dev/urandom | base64 >"$S/password")
cp "$S/password" "$S/emu1/password" && cp "$S/password" "$S/emu2/password"

cleanup() {
	local rc=$?
	trap - EXIT
	collect || true
	if [[ -n ${KEEP_CLUSTER:-} ]]; then
		log "KEEP_CLUSTER: VM and emulators left running. KUBECONFIG=$KUBECONFIG; stop with:"
		log "  $HERE/down.sh $S"
	else
		"$HERE/down.sh" "$S" || true
	fi
	log "done rc=$rc in $((SECONDS - T0)) s; artefacts in $ARTIFACTS"
	[[ -f $TIMES ]] && column -t -s $'\t' "$TIMES" | sed 's/^/  /' | tee -a "$ARTIFACTS/steps.log"
	exit "$rc"
}
collect() {
	[[ -f $S/vm/qemu.pid ]] || return 0
	log "collecting logs into $ARTIFACTS"
	KTMO=60 k get all,pvc,pv,volumeattachments,volumesnapshots,volumesnapshotcontents -A -o wide >"$ARTIFACTS/objects.txt" 2>&1 || true
	KTMO=60 k get events -A --sort-by=.lastTimestamp >"$ARTIFACTS/events.txt" 2>&1 || true
	local p
	for p in $(KTMO=30 k -n instorage-csi get pods -o name 2>/dev/null); do
		KTMO=60 k -n instorage-csi logs "$p" --all-containers --prefix --timestamps >"$ARTIFACTS/${p#pod/}.log" 2>&1 || true
		KTMO=60 k -n instorage-csi logs "$p" --all-containers --prefix --previous >"$ARTIFACTS/${p#pod/}.previous.log" 2>/dev/null || true
	done
	vm --timeout 900 "$HERE/guest/kind.sh" logs "$CLUSTER" vm-logs >"$ARTIFACTS/vm-logs.out" 2>&1 || true
	[[ -d $S/share/vm-logs ]] && cp -r "$S/share/vm-logs" "$ARTIFACTS/" || true
	for e in emu1 emu2; do cp "$S/$e/emulator.log" "$ARTIFACTS/$e.log" 2>/dev/null || true; done
	cp "$S/vm/console.log" "$ARTIFACTS/console.log" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

timed "emulator storage-01" env EMU_PRESET=two-site "$ROOT/scripts/vm/emulator.sh" up "$S/emu1"
timed "emulator storage-02" env EMU_TOPOLOGY="$HERE/topology-storage-02.yaml" \
	EMU_ADVERTISE=10.0.2.102:3260,10.0.2.103:3260 EMU_GUEST_SSH=10.0.2.102:2222 \
	"$ROOT/scripts/vm/emulator.sh" up "$S/emu2"
# shellcheck disable=SC1091
P1=$(. "$S/emu1/emulator.env" && echo "$EMU_ISCSI_PORT") S1=$(. "$S/emu1/emulator.env" && echo "$EMU_SSH_PORT")
# shellcheck disable=SC1091
P2=$(. "$S/emu2/emulator.env" && echo "$EMU_ISCSI_PORT") S2=$(. "$S/emu2/emulator.env" && echo "$EMU_SSH_PORT")
cat "$S/emu1/known_hosts" "$S/emu2/known_hosts" >"$S/host_known_hosts"           # [127.0.0.1]:S1/S2, for the suite
cat "$S/emu1/guest_known_hosts" "$S/emu2/guest_known_hosts" >"$S/guest_known_hosts" # [10.0.2.100/102]:2222, for the driver

# ---- the VM: boot, dockerd, kind -----------------------------------------------------------------
source "$ROOT/scripts/vm/lib.sh"
APIPORT=$(vm_free_port 16443)
# cgroup v2 only: the kind node's systemd and kubelet expect the unified hierarchy.
timed "VM boot" env VM_KERNEL_ARGS="quiet systemd.unified_cgroup_hierarchy=1 cgroup_no_v1=all" \
	"$ROOT/scripts/vm/run.sh" start --state "$S/vm" --image "$IMAGE_DIR" --disk "$DATAROOT" \
	--share "$S/share" --mem "${VM_MEM:-7G}" --smp "${VM_SMP:-2}" --max-life "${VM_MAX_LIFE:-14400}" \
	--iqn iqn.1993-08.org.debian:01:instorage-kind-vm \
	--portal-port "$P1" --ssh-port "$S1" \
	--fwd "10.0.2.102:3260=127.0.0.1:$P2" --fwd "10.0.2.103:3260=127.0.0.2:$P2" \
	--fwd "10.0.2.102:2222=127.0.0.1:$S2" \
	--hostfwd "127.0.0.1:$APIPORT=6443"
timed "VM dockerd" vm --timeout 600 "$HERE/guest/kind.sh" dockerd
timed "kind create" vm --timeout 3600 "$HERE/guest/kind.sh" create "$CLUSTER" "$NODE_IMAGE" kind-config.yaml
sed "s#server: https://0.0.0.0:6443#server: https://127.0.0.1:$APIPORT#" "$S/share/kubeconfig-vm" >"$KUBECONFIG"
grep -q "127.0.0.1:$APIPORT" "$KUBECONFIG" || { log "unexpected server in the VM's kubeconfig"; exit 1; }
# readyz flaps (etcd check) for a while after kind returns under TCG: wait for it, bounded.
apiserver_ready() {
	local i
	for i in $(seq 60); do
		KTMO=30 k get --raw /readyz >/dev/null 2>&1 && return 0
		sleep 5
	done
	KTMO=30 k get --raw '/readyz?verbose'
}
timed "apiserver from the host" apiserver_ready
timed "kind load project images" vm --timeout 1200 "$HERE/guest/kind.sh" load "$CLUSTER" images.tar

# ---- cluster add-ons and the driver ---------------------------------------------------------------
deploy() {
	local client_dir snap_dir
	client_dir=$(go mod download -json "$SNAPSHOTTER_CLIENT_MOD@$SNAPSHOTTER_VERSION" | jq -r .Dir)
	snap_dir=$(go mod download -json "$SNAPSHOTTER_MOD@$SNAPSHOTTER_VERSION" | jq -r .Dir)
	KTMO=300 k apply -k "$client_dir/config/crd"
	KTMO=300 k wait --for=condition=Established --timeout=240s crd/volumesnapshots.snapshot.storage.k8s.io \
		crd/volumesnapshotcontents.snapshot.storage.k8s.io crd/volumesnapshotclasses.snapshot.storage.k8s.io
	KTMO=300 k apply -k "$snap_dir/deploy/kubernetes/snapshot-controller"
	k -n kube-system set image deployment/snapshot-controller \
		"snapshot-controller=registry.k8s.io/sig-storage/snapshot-controller:$SNAPSHOTTER_VERSION"
	k create namespace instorage-csi --dry-run=client -o yaml | k apply -f -
	# The arrays' credentials and pinned host keys (contract: keys username, password, known_hosts).
	k -n instorage-csi create secret generic mcs-emulator-credentials --from-literal=username=superuser \
		--from-file=password="$S/password" --from-file=known_hosts="$S/guest_known_hosts" \
		--dry-run=client -o yaml | k apply -f - >/dev/null
	KTMO=300 k apply -k deploy/kubernetes/overlays/kind-vm
	KTMO=960 k -n instorage-csi rollout status deployment/csi-instorage-controller --timeout=15m
	KTMO=960 k -n instorage-csi rollout status daemonset/csi-instorage-node --timeout=15m
	KTMO=960 k -n kube-system rollout status deployment/snapshot-controller --timeout=15m
}
timed "deploy snapshot CRDs, controller and the kind-vm overlay" deploy

# ---- the suites ---------------------------------------------------------------------------------------
rc=0
LABEL_FILTER=${LABELS-!scale}
timed "project e2e suite (labels: ${LABEL_FILTER:-all})" \
	bash -o pipefail -c 'go test -count=1 -timeout "$0" ./e2e -args "${@}" 2>&1 | tee "$ARTIFACTS/e2e-instorage.log"' \
	"${E2E_TIMEOUT:-150m}" -kubeconfig="$KUBECONFIG" -ginkgo.v -timeout=10m \
	-ginkgo.junit-report="$ARTIFACTS/junit-instorage.xml" -ginkgo.label-filter="$LABEL_FILTER" \
	-arrays "storage-01=127.0.0.1:$S1,storage-02=127.0.0.1:$S2" -array-user superuser \
	-array-password-file "$S/password" -array-known-hosts "$S/host_known_hosts" \
	${FOCUS:+-ginkgo.focus="$FOCUS"} ${SKIP:+-ginkgo.skip="$SKIP"} || rc=1

if [[ -z ${SKIP_EXTERNAL:-} ]]; then
	timed "Kubernetes external storage suite (e2e.test $KV)" \
		bash -o pipefail -c '"$0" "$@" 2>&1 | tee "$ARTIFACTS/e2e-external.log"' \
		"$KB/e2e.test" -kubeconfig="$KUBECONFIG" -storage.testdriver="$ROOT/e2e/testdriver.yaml" \
		-ginkgo.focus="${EXTERNAL_FOCUS:-External.Storage}" \
		-ginkgo.skip='\[Disruptive\]|\[Serial\]|\[Feature:|\[Slow\]' \
		-ginkgo.junit-report="$ARTIFACTS/junit-external.xml" -ginkgo.timeout=3h -ginkgo.v \
		-report-dir="$ARTIFACTS" || rc=1
fi
exit "$rc"
