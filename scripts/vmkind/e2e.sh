#!/usr/bin/env bash
# e2e.sh — `make e2e` on a host without an iSCSI initiator: a kind cluster on this host (control
# plane, CSI controller, snapshot-controller: native speed) plus one worker node that is a qemu TCG
# VM with the stock Debian kernel (open-iscsi + multipathd as VM daemons, containerd + kubelet
# joined to the kind cluster by a bootstrap token). The node plugin and every test pod run in the
# VM, so the data-path specs log in, build multipath maps and mount through a real initiator. The
# two arrays (mcs-emulator, two-site) run on this host. Layout and addresses: scripts/vmkind/README.md.
#
# Called by scripts/k8s/e2e.sh (E2E_NODES=vm), which has built the Kubernetes artefacts, started
# the private dockerd, built the node image and the project images. Env (set by e2e.sh):
#   KV (v1.37.1)  ARTIFACTS  CACHE  KB (k8s bin dir)  TOOLS (kind dir)  LABELS  FOCUS  SKIP
#   SKIP_EXTERNAL  EXTERNAL_FOCUS  KEEP_CLUSTER=1 (leave cluster, VM, emulators up; prints how to stop)
#   VM_MEM (4G)  VM_SMP (2)
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
CP=$CLUSTER-control-plane
VMNODE=$CLUSTER-vm
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

# ---- host side: VM image, scratch disk, emulator binary ---------------------------------------
VM_PKGS=containerd,runc,containernetworking-plugins,iptables
IMAGE_DIR=$(VM_EXTRA_PKGS=$VM_PKGS nice -n 5 "$ROOT/scripts/vm/build.sh" 2> >(tee -a "$ARTIFACTS/vm-build.log" >&2) | tail -1)
# containerd's and the kubelet's state: a sparse scratch disk (snapshot=on: writes go to qemu's
# temporary overlay, the file stays empty ext4 and is reused).
SCRATCH=$CACHE/vm/node-scratch-20G.img
if [[ ! -s $SCRATCH ]]; then
	truncate -s 20G "$SCRATCH.tmp" && mkfs.ext4 -q -F -L k8s "$SCRATCH.tmp" && mv "$SCRATCH.tmp" "$SCRATCH"
fi
log "VM image $IMAGE_DIR, scratch disk $SCRATCH"
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
		log "KEEP_CLUSTER: cluster, VM and emulators left running. KUBECONFIG=$KUBECONFIG; stop with:"
		log "  $HERE/down.sh $S $CLUSTER"
	else
		"$HERE/down.sh" "$S" "$CLUSTER" || true
	fi
	log "done rc=$rc in $((SECONDS - T0)) s; artefacts in $ARTIFACTS"
	[[ -f $TIMES ]] && column -t -s $'\t' "$TIMES" | sed 's/^/  /' | tee -a "$ARTIFACTS/steps.log"
	exit "$rc"
}
collect() {
	[[ -f $KUBECONFIG ]] || return 0
	log "collecting logs into $ARTIFACTS"
	KTMO=60 k get nodes -o wide >"$ARTIFACTS/nodes.txt" 2>&1 || true
	KTMO=60 k get all,pvc,pv,volumeattachments,volumesnapshots,volumesnapshotcontents -A -o wide >"$ARTIFACTS/objects.txt" 2>&1 || true
	KTMO=60 k get events -A --sort-by=.lastTimestamp >"$ARTIFACTS/events.txt" 2>&1 || true
	local p
	for p in $(KTMO=30 k -n instorage-csi get pods -o name 2>/dev/null); do
		KTMO=60 k -n instorage-csi logs "$p" --all-containers --prefix --timestamps >"$ARTIFACTS/${p#pod/}.log" 2>&1 || true
		KTMO=60 k -n instorage-csi logs "$p" --all-containers --prefix --previous >"$ARTIFACTS/${p#pod/}.previous.log" 2>/dev/null || true
	done
	timeout 300 kind export logs "$ARTIFACTS/kind" --name "$CLUSTER" >/dev/null 2>&1 || true
	if [[ -f $S/vm/qemu.pid ]]; then
		vm --timeout 300 "$HERE/guest/node.sh" logs vm-logs >"$ARTIFACTS/vm-logs.out" 2>&1 || true
		[[ -d $S/share/vm-logs ]] && cp -r "$S/share/vm-logs" "$ARTIFACTS/" || true
	fi
	for e in emu1 emu2; do cp "$S/$e/emulator.log" "$ARTIFACTS/$e.log" 2>/dev/null || true; done
	cp "$S/vm/console.log" "$ARTIFACTS/console.log" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- kind on the host ------------------------------------------------------------------------------
timed "kind create (host)" bash -c 'kind delete cluster --name "$0" >/dev/null 2>&1; kind create cluster --name "$0" \
	--image "localhost/kindnode:$1" --config "$2" --kubeconfig "$KUBECONFIG" --wait 5m' \
	"$CLUSTER" "$KV" "$ROOT/scripts/k8s/kind-config-vm.yaml"
timed "kind load project images" kind load docker-image --name "$CLUSTER" \
	ghcr.io/instorage-csi/instorage-csi:dev ghcr.io/instorage-csi/livenessprobe-lite:dev
APIPORT=$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}' | sed -n 's#^https://127.0.0.1:\([0-9]*\)$#\1#p')
[[ -n $APIPORT ]] || { log "kind's kubeconfig does not point at 127.0.0.1:PORT"; exit 1; }
# The host's address on the kind network: the emulators' SSH listens there for the controller (a
# pod in the kind node), and qemu forwards its :10250 to the VM's kubelet.
GW=$(docker network inspect kind -f '{{range .IPAM.Config}}{{.Gateway}} {{end}}' | tr ' ' '\n' | grep -m1 -E '^[0-9.]+$' || true)
SUBNET=$(docker network inspect kind -f '{{range .IPAM.Config}}{{.Subnet}} {{end}}' | tr ' ' '\n' | grep -m1 -E '^[0-9.]+/[0-9]+$' || true)
[[ -n $GW && -n $SUBNET ]] || { log "no IPv4 gateway/subnet on docker network kind"; exit 1; }
log "apiserver 127.0.0.1:$APIPORT, kind network $SUBNET, gateway $GW"
# The control plane keeps its data-path-free pods; every other pod goes to the VM. kube-proxy is
# not needed there (the VM's pods use no Services) and would cost the TCG guest CPU.
k taint node "$CP" node-role.kubernetes.io/control-plane=:NoSchedule --overwrite >/dev/null
k -n kube-system patch daemonset kube-proxy --type merge \
	-p '{"spec":{"template":{"spec":{"nodeSelector":{"node-role.kubernetes.io/control-plane":""}}}}}' >/dev/null

# ---- emulators -------------------------------------------------------------------------------------
timed "emulator storage-01" env EMU_PRESET=two-site EMU_SSH_HOST="$GW" "$ROOT/scripts/vm/emulator.sh" up "$S/emu1"
timed "emulator storage-02" env EMU_TOPOLOGY="$HERE/topology-storage-02.yaml" EMU_SSH_HOST="$GW" \
	EMU_ADVERTISE=10.0.2.102:3260,10.0.2.103:3260 "$ROOT/scripts/vm/emulator.sh" up "$S/emu2"
# shellcheck disable=SC1091
P1=$(. "$S/emu1/emulator.env" && echo "$EMU_ISCSI_PORT") S1=$(. "$S/emu1/emulator.env" && echo "$EMU_SSH_PORT")
# shellcheck disable=SC1091
P2=$(. "$S/emu2/emulator.env" && echo "$EMU_ISCSI_PORT") S2=$(. "$S/emu2/emulator.env" && echo "$EMU_SSH_PORT")
# Host keys pinned from the emulators' key files: [GW]:S1 and [GW]:S2, for the suite and the controller.
cat "$S/emu1/known_hosts" "$S/emu2/known_hosts" >"$S/known_hosts"

# ---- the VM worker -----------------------------------------------------------------------------------
# TLS bootstrap as kubeadm join does it: a short-lived token of the kind cluster, the cluster CA.
TOKEN=$(docker exec "$CP" kubeadm token create --ttl 2h --description "instorage-csi e2e VM node")
kubectl config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority-data}' | base64 -d >"$S/share/ca.crt"
(umask 077 && cat >"$S/share/bootstrap.kubeconfig" <<EOT
apiVersion: v1
kind: Config
clusters:
- name: kind
  cluster: {server: "https://10.0.2.200:6443", certificate-authority: /etc/kubernetes/pki/ca.crt}
users:
- name: bootstrap
  user: {token: "$TOKEN"}
contexts:
- name: bootstrap
  context: {cluster: kind, user: bootstrap}
current-context: bootstrap
EOT
)
unset TOKEN
cp "$KB/kubelet" "$S/share/bin/"
# shellcheck disable=SC1091
PAUSE_IMAGE=registry.k8s.io/pause:$(. "$CACHE/k8s/${KV#v}/images.env" && echo "$PAUSE_TAG")
echo "$PAUSE_IMAGE" >"$S/share/pause-image"
VM_IMAGES=("$PAUSE_IMAGE" ghcr.io/instorage-csi/instorage-csi:dev ghcr.io/instorage-csi/csi-node-driver-registrar-lite:dev
	ghcr.io/instorage-csi/livenessprobe-lite:dev)
read -ra TEST_POD_IMAGES <<<"${TEST_IMAGES:?}" # busybox (+ agnhost, nginx): scripts/k8s/test-images.sh
VM_IMAGES+=("${TEST_POD_IMAGES[@]}")
timed "docker save VM node images" timeout 600 docker save -o "$S/share/images.tar" "${VM_IMAGES[@]}"

timed "VM boot" env VM_KERNEL_ARGS="quiet systemd.unified_cgroup_hierarchy=1 cgroup_no_v1=all" \
	"$ROOT/scripts/vm/run.sh" start --state "$S/vm" --image "$IMAGE_DIR" --disk "$SCRATCH" \
	--share "$S/share" --mem "${VM_MEM:-4G}" --smp "${VM_SMP:-2}" --max-life "${VM_MAX_LIFE:-14400}" \
	--iqn iqn.1993-08.org.debian:01:instorage-e2e-vm \
	--portal-port "$P1" --ssh-port "$S1" \
	--fwd "10.0.2.102:3260=127.0.0.1:$P2" --fwd "10.0.2.103:3260=127.0.0.2:$P2" \
	--fwd "10.0.2.200:6443=127.0.0.1:$APIPORT" \
	--hostfwd "$GW:10250=10250"
timed "VM joins the cluster" vm --timeout 900 "$HERE/guest/node.sh" join "$VMNODE" "$GW" "$SUBNET"
rm -f "$S/share/bootstrap.kubeconfig"
timed "VM node images" vm --timeout 1800 "$HERE/guest/node.sh" images images.tar
timed "VM node Ready" k wait --for=condition=Ready "node/$VMNODE" --timeout=600s

# ---- cluster add-ons and the driver ---------------------------------------------------------------
deploy() {
	local client_dir snap_dir ov=$S/overlay
	client_dir=$(go mod download -json "$SNAPSHOTTER_CLIENT_MOD@$SNAPSHOTTER_VERSION" | jq -r .Dir)
	snap_dir=$(go mod download -json "$SNAPSHOTTER_MOD@$SNAPSHOTTER_VERSION" | jq -r .Dir)
	KTMO=300 k apply -k "$client_dir/config/crd"
	KTMO=300 k wait --for=condition=Established --timeout=240s crd/volumesnapshots.snapshot.storage.k8s.io \
		crd/volumesnapshotcontents.snapshot.storage.k8s.io crd/volumesnapshotclasses.snapshot.storage.k8s.io
	mkdir -p "$ov/snapshot-controller"
	cat >"$ov/snapshot-controller/kustomization.yaml" <<EOT
resources: [$(realpath --relative-to="$ov/snapshot-controller" "$snap_dir/deploy/kubernetes/snapshot-controller")]
images:
  - name: registry.k8s.io/sig-storage/snapshot-controller
    newTag: $SNAPSHOTTER_VERSION
patches:
  - target: {kind: Deployment, name: snapshot-controller}
    patch: |-
      - op: add
        path: /spec/template/spec/tolerations
        value: [{key: node-role.kubernetes.io/control-plane, effect: NoSchedule}]
      - op: add
        path: /spec/template/spec/nodeSelector
        value: {node-role.kubernetes.io/control-plane: ""}
EOT
	KTMO=300 k apply -k "$ov/snapshot-controller"
	k create namespace instorage-csi --dry-run=client -o yaml | k apply -f -
	# The arrays' credentials and pinned host keys (contract: keys username, password, known_hosts).
	k -n instorage-csi create secret generic mcs-emulator-credentials --from-literal=username=superuser \
		--from-file=password="$S/password" --from-file=known_hosts="$S/known_hosts" \
		--dry-run=client -o yaml | k apply -f - >/dev/null
	# The overlay with this run's array addresses (the emulators' SSH on the kind bridge).
	sed -e "s#^\(    host: \)192\.0\.2\.1:2222\b#\1$GW:$S1#" -e "s#^\(    host: \)192\.0\.2\.2:2222\b#\1$GW:$S2#" \
		deploy/kubernetes/overlays/kind-vm/instorage.yaml >"$ov/instorage.yaml"
	grep -q "host: $GW:$S1" "$ov/instorage.yaml" && grep -q "host: $GW:$S2" "$ov/instorage.yaml" ||
		{ log "kind-vm/instorage.yaml lacks the placeholders host: 192.0.2.1:2222 and 192.0.2.2:2222"; return 1; }
	cat >"$ov/kustomization.yaml" <<EOT
resources: [$(realpath --relative-to="$ov" deploy/kubernetes/overlays/kind-vm)]
configMapGenerator:
  - name: csi-instorage-config
    namespace: instorage-csi
    behavior: replace
    files: [instorage.yaml]
EOT
	KTMO=300 k apply -k "$ov"
	KTMO=960 k -n instorage-csi rollout status deployment/csi-instorage-controller --timeout=15m
	KTMO=960 k -n instorage-csi rollout status daemonset/csi-instorage-node --timeout=15m
	KTMO=960 k -n kube-system rollout status deployment/snapshot-controller --timeout=15m
}
timed "deploy snapshot CRDs, controller and the kind-vm overlay" deploy

# ---- the suites ---------------------------------------------------------------------------------------
rc=0
LABEL_FILTER=${LABELS-!scale}
timed "project e2e suite (labels: ${LABEL_FILTER:-all})" \
	bash -o pipefail -c 'go test -v -count=1 -timeout "$0" ./e2e -args "${@}" 2>&1 | tee "$ARTIFACTS/e2e-instorage.log"' \
	"${E2E_TIMEOUT:-150m}" -kubeconfig="$KUBECONFIG" -ginkgo.v -timeout=10m \
	-ginkgo.junit-report="$ARTIFACTS/junit-instorage.xml" -ginkgo.label-filter="$LABEL_FILTER" \
	-arrays "storage-01=$GW:$S1,storage-02=$GW:$S2" -array-user superuser \
	-array-password-file "$S/password" -array-known-hosts "$S/known_hosts" \
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
