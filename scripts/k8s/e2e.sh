#!/usr/bin/env bash
# e2e.sh — `make e2e`: create a kind cluster for K8S_VERSION, build and load the
# images, install the snapshot CRDs and controller, deploy the driver with the
# in-cluster emulator, run the project's e2e suite and Kubernetes' external
# storage suite, save logs, delete the cluster.
#
# Works without a registry: Kubernetes, kind, the sidecars and e2e.test come from
# the Go module proxy, base images from Debian (build-k8s.sh, node-image.sh,
# base-image.sh), all cached under ${CACHE:-.cache} keyed by version.
#
# Where the kind node runs (E2E_NODES):
#   vm    kind on this host plus a worker node that is a qemu TCG VM with a real kernel
#         initiator, arrays on this host (scripts/vmkind/); the default when this host has no iSCSI initiator
#         (iscsi_tcp neither loaded nor loadable, e.g. containers, Firecracker).
#   host  kind on this host with the in-cluster emulator (the default where iscsi_tcp
#         loads, e.g. GitHub's Ubuntu runners).
#
# Env: K8S_VERSION (default: newest supported), E2E_NODES (vm|host), OVERLAY (host
# mode: offline|demo; default offline), ARTIFACTS (logs; default
# $CACHE/e2e/<version>-<time>), KEEP_CLUSTER=1, FOCUS/SKIP (Ginkgo regexps for the
# project suite), LABELS (Ginkgo label filter; vm default '!scale', host default
# '!datapath && !scale': host kind nodes cannot log in to iSCSI targets, see
# e2e/README.md; DATAPATH=1 runs them), EXTERNAL_FOCUS, SKIP_EXTERNAL=1.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
cd "$ROOT"
# shellcheck source=versions.sh
source "$HERE/versions.sh"
export CACHE=${CACHE:-$ROOT/.cache}
mkdir -p "$CACHE" && CACHE=$(cd "$CACHE" && pwd)
KV=v$(k8s_patch "${K8S_VERSION:-$K8S_DEFAULT}")
OVERLAY=${OVERLAY:-offline}
CLUSTER=instorage-e2e-${KV//./-}
ARTIFACTS=${ARTIFACTS:-$CACHE/e2e/${KV#v}-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$ARTIFACTS"
KB=$CACHE/k8s/${KV#v}/bin
TOOLS=$CACHE/k8s/common/tools-kind$KIND_VERSION-crictl$CRICTL_VERSION-helm$HELM_VERSION/bin
export PATH=$KB:$TOOLS:$PATH
export KUBECONFIG=$ARTIFACTS/kubeconfig
log() { echo "[$(date -u +%H:%M:%S)] $*" | tee -a "$ARTIFACTS/steps.log"; }
T0=$SECONDS
# iscsi_initiator: true when this kernel has (or can load) the iSCSI initiator.
iscsi_initiator() { [[ -d /sys/module/iscsi_tcp ]] || modprobe -n -q iscsi_tcp 2>/dev/null; }
if [[ -z ${E2E_NODES:-} ]]; then
	E2E_NODES=host
	iscsi_initiator || E2E_NODES=vm
fi
[[ $E2E_NODES == vm || $E2E_NODES == host ]] || { echo "E2E_NODES: want vm or host, got $E2E_NODES" >&2; exit 2; }
log "E2E_NODES=$E2E_NODES"

log "artefacts for $KV (cached after the first run)"
# e2e.test (the external suite) is the slowest part to build cold; SKIP_EXTERNAL needs none of it.
PARTS=(k8s cp-tools sidecars tools)
[[ -n ${SKIP_EXTERNAL:-} ]] || PARTS+=(e2e)
nice -n 10 "$HERE/build-k8s.sh" "$KV" "${PARTS[@]}" >"$ARTIFACTS/build-k8s.log" 2>&1 || { tail -30 "$ARTIFACTS/build-k8s.log"; exit 1; }
"$HERE/dockerd.sh" start
eval "$("$HERE/dockerd.sh" env)"
"$ROOT/scripts/images/base-image.sh" slim
"$ROOT/scripts/images/base-image.sh" kindnode
"$HERE/node-image.sh" "$KV"
log "project images"
BASE=debian:bookworm-slim "$ROOT/scripts/images/build.sh" driver emulator helper >"$ARTIFACTS/images.log" 2>&1 ||
	{ tail -30 "$ARTIFACTS/images.log"; exit 1; }
# The test pods' images: busybox at this release's tag and at the project suite's; agnhost and nginx
# only when Kubernetes' external storage suite runs.
WITH_EXTERNAL=external
[[ -z ${SKIP_EXTERNAL:-} ]] || WITH_EXTERNAL=
TEST_IMAGES=$("$HERE/test-images.sh" "$KV" $WITH_EXTERNAL | tr '\n' ' ')
export TEST_IMAGES
log "artefacts ready in $((SECONDS - T0)) s"
# The overlays and the chart rendered by the real kubectl and helm, and compared (the unit-test
# stage skips this: it has neither binary).
HELM=$TOOLS/helm KUBECTL=$KB/kubectl go test -count=1 ./deploy/ >"$ARTIFACTS/manifests.log" 2>&1 ||
	{ tail -30 "$ARTIFACTS/manifests.log"; exit 1; }
log "manifests: overlays and chart render and agree (go test ./deploy with kubectl and helm)"

if [[ $E2E_NODES == vm ]]; then
	export KV ARTIFACTS CACHE KB TOOLS
	exec "$ROOT/scripts/vmkind/e2e.sh"
fi

collect() {
	log "collecting logs into $ARTIFACTS"
	kubectl get all,pvc,pv,volumeattachments,volumesnapshots,volumesnapshotcontents -A -o wide >"$ARTIFACTS/objects.txt" 2>&1 || true
	kubectl get events -A --sort-by=.lastTimestamp >"$ARTIFACTS/events.txt" 2>&1 || true
	for p in $(kubectl -n instorage-csi get pods -o name 2>/dev/null); do
		kubectl -n instorage-csi logs "$p" --all-containers --prefix --timestamps >"$ARTIFACTS/${p#pod/}.log" 2>&1 || true
		kubectl -n instorage-csi logs "$p" --all-containers --prefix --previous >"$ARTIFACTS/${p#pod/}.previous.log" 2>/dev/null || true
	done
	kind export logs "$ARTIFACTS/kind" --name "$CLUSTER" >/dev/null 2>&1 || true
}
cleanup() {
	local rc=$?
	collect
	if [[ -z ${KEEP_CLUSTER:-} ]]; then
		kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true
	fi
	log "done rc=$rc in $((SECONDS - T0))s; artefacts in $ARTIFACTS"
	exit "$rc"
}
trap cleanup EXIT

log "kind cluster $CLUSTER"
kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true
kind create cluster --name "$CLUSTER" --image "localhost/kindnode:$KV" --config "$HERE/kind-config.yaml" \
	--kubeconfig "$KUBECONFIG" --wait 5m
for i in instorage-csi mcs-emulator csi-node-driver-registrar-lite livenessprobe-lite; do
	kind load docker-image --name "$CLUSTER" "ghcr.io/instorage-csi/$i:dev"
done
# shellcheck disable=SC2086 # image names, no spaces
kind load docker-image --name "$CLUSTER" $TEST_IMAGES
# A node image cached from a run without sidecars lacks them; loading is idempotent.
"$ROOT/scripts/images/build-sidecars.sh" | while read -r img; do
	docker exec "$CLUSTER-control-plane" crictl inspecti "$img" >/dev/null 2>&1 ||
		kind load docker-image --name "$CLUSTER" "$img"
done

log "snapshot CRDs and snapshot-controller $SNAPSHOTTER_VERSION"
CLIENT_DIR=$(go mod download -json "$SNAPSHOTTER_CLIENT_MOD@$SNAPSHOTTER_VERSION" | jq -r .Dir)
SNAP_DIR=$(go mod download -json "$SNAPSHOTTER_MOD@$SNAPSHOTTER_VERSION" | jq -r .Dir)
kubectl apply -k "$CLIENT_DIR/config/crd"
kubectl wait --for=condition=Established --timeout=60s crd/volumesnapshots.snapshot.storage.k8s.io \
	crd/volumesnapshotcontents.snapshot.storage.k8s.io crd/volumesnapshotclasses.snapshot.storage.k8s.io
kubectl apply -k "$SNAP_DIR/deploy/kubernetes/snapshot-controller"
kubectl -n kube-system set image deployment/snapshot-controller \
	"snapshot-controller=registry.k8s.io/sig-storage/snapshot-controller:$SNAPSHOTTER_VERSION"

log "driver: deploy/kubernetes/overlays/$OVERLAY"
kubectl apply -k "deploy/kubernetes/overlays/$OVERLAY"
kubectl -n instorage-csi rollout status statefulset/mcs-emulator --timeout=5m
kubectl -n instorage-csi rollout status deployment/csi-instorage-controller --timeout=5m
kubectl -n instorage-csi rollout status daemonset/csi-instorage-node --timeout=5m
kubectl -n kube-system rollout status deployment/snapshot-controller --timeout=5m

rc=0
LABEL_FILTER=${LABELS:-$([[ -n ${DATAPATH:-} ]] && echo '!scale' || echo '!datapath && !scale')}
log "project e2e suite (labels: ${LABEL_FILTER:-all})"
go test -v -count=1 -timeout 90m ./e2e -args -kubeconfig="$KUBECONFIG" -ginkgo.v \
	-ginkgo.junit-report="$ARTIFACTS/junit-instorage.xml" -ginkgo.label-filter="$LABEL_FILTER" \
	${FOCUS:+-ginkgo.focus="$FOCUS"} ${SKIP:+-ginkgo.skip="$SKIP"} 2>&1 | tee "$ARTIFACTS/e2e-instorage.log" || rc=1

if [[ -z ${SKIP_EXTERNAL:-} ]]; then
	# Nearly every external-storage spec starts pods on the volume, which needs the
	# node data path; on kind (no DATAPATH) the suite only loads testdriver.yaml and
	# lists the specs it would run.
	EXTERNAL_ARGS=()
	[[ -n ${DATAPATH:-} || -n ${EXTERNAL_FOCUS:-} ]] || EXTERNAL_ARGS+=(-ginkgo.dry-run)
	log "Kubernetes external storage suite (e2e.test $KV) ${EXTERNAL_ARGS[*]}"
	"$KB/e2e.test" -kubeconfig="$KUBECONFIG" -storage.testdriver="$ROOT/e2e/testdriver.yaml" \
		-ginkgo.focus="${EXTERNAL_FOCUS:-External.Storage}" \
		-ginkgo.skip='\[Disruptive\]|\[Serial\]|\[Feature:|\[Slow\]' \
		-ginkgo.junit-report="$ARTIFACTS/junit-external.xml" -ginkgo.timeout=2h -ginkgo.v \
		-report-dir="$ARTIFACTS" "${EXTERNAL_ARGS[@]}" 2>&1 | tee "$ARTIFACTS/e2e-external.log" || rc=1
fi
exit "$rc"
