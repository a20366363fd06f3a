#!/usr/bin/env bash
# demo-kind.sh [start|stop|status] — `make demo-kind`: `make demo`'s story told
# with Kubernetes objects. Creates (or reuses) the kind cluster $CLUSTER,
# deploys the driver with the in-cluster emulator (deploy/kubernetes/overlays/
# offline: two emulated arrays, storage-01 and storage-02), installs the
# snapshot CRDs and snapshot-controller, then narrates PVC → VolumeSnapshot →
# clone → restore → expand → publish → list → delete, printing the kubectl view
# and the rows that changed on the arrays after each step. Leaves the cluster
# and the emulator's web console (a kubectl port-forward) running;
# `demo-kind.sh stop` (make demo-kind-stop) deletes the cluster.
#
# Works offline like make e2e: Kubernetes, kind and the sidecars come from the
# Go module proxy, base images from Debian, all cached under ${CACHE:-.cache}
# (first run: many minutes; later runs reuse everything, the cluster included).
#
# Env: K8S_VERSION (default newest supported), DEMO_KIND_CLUSTER (instorage-demo),
# DEMO_KIND_CONSOLE_PORT (2281; make demo's console has 2280), DEMO_KIND_FRESH=1
# (recreate the cluster), DEMO_KIND_DATAPATH (auto|on|off: run the pod's I/O;
# auto = when this host has an iSCSI initiator), DEMO_BROWSER_TEST (auto|on|off:
# load the console in headless Chromium while the demo's objects exist),
# DEMO_KIND_DOCKER (private|system; default private when root and dockerd exist).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/k8s/versions.sh
source "$ROOT/scripts/k8s/versions.sh"
export CACHE=${CACHE:-$ROOT/.cache}
mkdir -p "$CACHE" && CACHE=$(cd "$CACHE" && pwd)
KV=v$(k8s_patch "${K8S_VERSION:-$K8S_DEFAULT}")
CLUSTER=${DEMO_KIND_CLUSTER:-instorage-demo}
DIR=$CACHE/demo-kind/$CLUSTER
CONSOLE_PORT=${DEMO_KIND_CONSOLE_PORT:-2281}
KB=$CACHE/k8s/${KV#v}/bin
TOOLS=$CACHE/k8s/common/tools-kind$KIND_VERSION-crictl$CRICTL_VERSION-helm$HELM_VERSION/bin
export PATH=$KB:$TOOLS:$PATH
export KUBECONFIG=$DIR/kubeconfig
NS=instorage-csi
mkdir -p "$DIR"

T0=$SECONDS
say() { echo "== [$(date -u +%H:%M:%S) +$((SECONDS - T0))s] $*"; }
die() {
	echo "demo-kind: $*" >&2
	exit 1
}
# quiet LOG SECONDS CMD...: run CMD with a deadline, its output in LOG (shown only on failure).
quiet() {
	local log=$1 limit=$2
	shift 2
	if ! timeout --kill-after=30 "$limit" "$@" >"$log" 2>&1; then
		tail -n 30 "$log" >&2
		die "failed or timed out (${limit}s): $* (full log: $log)"
	fi
}

use_docker() {
	command -v docker >/dev/null ||
		die "Docker is not installed: make demo-kind runs Kubernetes in Docker containers (kind). Install it (Debian: apt-get install docker.io) or use make demo, which needs neither."
	local mode=${DEMO_KIND_DOCKER:-}
	if [[ -z $mode ]]; then
		mode=system
		if [[ $EUID -eq 0 ]] && { command -v dockerd >/dev/null || [[ -x /usr/sbin/dockerd ]]; }; then mode=private; fi
	fi
	case $mode in
	private)
		# The project's own dockerd (scripts/k8s/dockerd.sh): the host's docker, if any, stays untouched.
		"$ROOT/scripts/k8s/dockerd.sh" start >/dev/null || die "could not start the private dockerd (see /run/instorage-csi-docker/dockerd.log)"
		eval "$("$ROOT/scripts/k8s/dockerd.sh" env)"
		;;
	system)
		timeout 30 docker version >/dev/null 2>&1 ||
			die "Docker is installed but not reachable (docker version fails): start it, or run as root to use the project's private dockerd."
		export DOCKER_BUILDKIT=0
		;;
	*) die "DEMO_KIND_DOCKER=$mode: want private or system" ;;
	esac
}

cluster_exists() { timeout 60 kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; }

stop_console() {
	if [[ -f $DIR/console.pid ]]; then
		kill "$(cat "$DIR/console.pid")" 2>/dev/null || true
		rm -f "$DIR/console.pid"
	fi
}

case ${1:-start} in
stop)
	stop_console
	command -v kind >/dev/null || { echo "demo-kind: kind not built, so no cluster to delete"; exit 0; }
	use_docker
	if cluster_exists; then
		timeout 300 kind delete cluster --name "$CLUSTER"
	else
		echo "demo-kind: no cluster $CLUSTER"
	fi
	rm -f "$KUBECONFIG"
	exit 0
	;;
status)
	if ! command -v kind >/dev/null; then echo "demo-kind: kind not built, so no cluster"; exit 1; fi
	use_docker
	cluster_exists || { echo "demo-kind: no cluster $CLUSTER"; exit 1; }
	kubectl get nodes,pods -A -o wide --request-timeout=30s
	exit 0
	;;
start) ;;
*)
	echo "usage: $0 [start|stop|status]" >&2
	exit 2
	;;
esac

command -v go >/dev/null || die "Go is needed (it builds Kubernetes, kind and the images offline)"
use_docker

say "Kubernetes $KV, kind, sidecars (built from the Go module proxy once, then cached)"
quiet "$DIR/build-k8s.log" 14400 nice -n 10 "$ROOT/scripts/k8s/build-k8s.sh" "$KV" k8s cp-tools sidecars tools
command -v kind >/dev/null || die "kind is missing after build-k8s.sh tools (see $DIR/build-k8s.log)"

say "images: base, kind node, driver/emulator/helpers"
quiet "$DIR/base-slim.log" 3600 "$ROOT/scripts/images/base-image.sh" slim
quiet "$DIR/base-kindnode.log" 3600 "$ROOT/scripts/images/base-image.sh" kindnode
quiet "$DIR/node-image.log" 3600 "$ROOT/scripts/k8s/node-image.sh" "$KV"
quiet "$DIR/images.log" 3600 env BASE=debian:bookworm-slim "$ROOT/scripts/images/build.sh" driver emulator helper

if [[ -n ${DEMO_KIND_FRESH:-} ]] && cluster_exists; then
	say "DEMO_KIND_FRESH: deleting cluster $CLUSTER"
	timeout 300 kind delete cluster --name "$CLUSTER" >/dev/null 2>&1
fi
fresh=
if cluster_exists && timeout 60 kind export kubeconfig --name "$CLUSTER" --kubeconfig "$KUBECONFIG" >/dev/null 2>&1 &&
	kubectl get --raw /readyz --request-timeout=10s >/dev/null 2>&1; then
	say "kind cluster $CLUSTER: reusing it (DEMO_KIND_FRESH=1 recreates it)"
else
	say "kind cluster $CLUSTER (node image localhost/kindnode:$KV)"
	timeout 300 kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true
	quiet "$DIR/kind-create.log" 600 kind create cluster --name "$CLUSTER" --image "localhost/kindnode:$KV" \
		--config "$ROOT/scripts/k8s/kind-config.yaml" --kubeconfig "$KUBECONFIG" --wait 5m
	fresh=1
fi

say "loading images into the node"
changed=
for i in instorage-csi mcs-emulator csi-node-driver-registrar-lite livenessprobe-lite; do
	out=$(timeout 600 kind load docker-image --name "$CLUSTER" "ghcr.io/instorage-csi/$i:dev" 2>&1) || { echo "$out" >&2; die "kind load $i failed"; }
	# kind skips an image whose ID the node already has; anything else is new code.
	grep -q "found to be already present on all nodes" <<<"$out" || changed+=" $i"
done
# The node image normally carries the sidecars; one look at the node saves rebuilding them.
SIDECARS=("registry.k8s.io/sig-storage/csi-provisioner:$PROVISIONER_VERSION" "registry.k8s.io/sig-storage/csi-attacher:$ATTACHER_VERSION"
	"registry.k8s.io/sig-storage/csi-snapshotter:$SNAPSHOTTER_VERSION" "registry.k8s.io/sig-storage/csi-resizer:$RESIZER_VERSION"
	"registry.k8s.io/sig-storage/snapshot-controller:$SNAPSHOTTER_VERSION")
if ! timeout 60 docker exec "$CLUSTER-control-plane" crictl inspecti "${SIDECARS[@]}" >/dev/null 2>&1; then
	say "sidecar images missing on the node: building and loading them"
	quiet "$DIR/sidecars.log" 1800 "$ROOT/scripts/images/build-sidecars.sh"
	for img in "${SIDECARS[@]}"; do
		timeout 60 docker exec "$CLUSTER-control-plane" crictl inspecti "$img" >/dev/null 2>&1 ||
			quiet "$DIR/load-sidecars.log" 600 kind load docker-image --name "$CLUSTER" "$img"
	done
fi

say "snapshot CRDs and snapshot-controller $SNAPSHOTTER_VERSION"
CLIENT_DIR=$(timeout 600 go mod download -json "$SNAPSHOTTER_CLIENT_MOD@$SNAPSHOTTER_VERSION" | jq -r .Dir)
SNAP_DIR=$(timeout 600 go mod download -json "$SNAPSHOTTER_MOD@$SNAPSHOTTER_VERSION" | jq -r .Dir)
quiet "$DIR/snapshot.log" 120 kubectl apply --request-timeout=60s -k "$CLIENT_DIR/config/crd"
quiet "$DIR/snapshot.log" 120 kubectl wait --for=condition=Established --timeout=60s crd/volumesnapshots.snapshot.storage.k8s.io \
	crd/volumesnapshotcontents.snapshot.storage.k8s.io crd/volumesnapshotclasses.snapshot.storage.k8s.io
# Upstream's manifest names an older tag; setting ours in a kustomization (not with
# `kubectl set image` after the apply) keeps re-runs from rolling the controller twice.
mkdir -p "$DIR/snapshot-controller"
cat >"$DIR/snapshot-controller/kustomization.yaml" <<EOT
resources:
  - $(realpath --relative-to="$DIR/snapshot-controller" "$SNAP_DIR/deploy/kubernetes/snapshot-controller")
images:
  - name: registry.k8s.io/sig-storage/snapshot-controller
    newTag: $SNAPSHOTTER_VERSION
EOT
quiet "$DIR/snapshot.log" 120 kubectl apply --request-timeout=60s -k "$DIR/snapshot-controller"

say "driver and emulator: kubectl apply -k deploy/kubernetes/overlays/offline"
quiet "$DIR/deploy.log" 120 kubectl apply --request-timeout=60s -k deploy/kubernetes/overlays/offline
if [[ -z $fresh && -n $changed ]]; then
	say "new image(s)$changed: restarting the driver and the emulator (the arrays start empty)"
	quiet "$DIR/deploy.log" 120 kubectl -n "$NS" rollout restart statefulset/mcs-emulator deployment/csi-instorage-controller daemonset/csi-instorage-node
fi
for r in statefulset/mcs-emulator deployment/csi-instorage-controller daemonset/csi-instorage-node; do
	quiet "$DIR/rollout.log" 330 kubectl -n "$NS" rollout status "$r" --timeout=5m
done
quiet "$DIR/rollout.log" 330 kubectl -n kube-system rollout status deployment/snapshot-controller --timeout=5m
kubectl -n "$NS" get pods -o wide --request-timeout=30s

say "web console of storage-01 on http://127.0.0.1:$CONSOLE_PORT/ (kubectl port-forward)"
stop_console
# setsid: the forward outlives this script (and a Ctrl-C of make) until demo-kind-stop.
setsid nohup kubectl -n "$NS" port-forward --address 127.0.0.1 pod/mcs-emulator-0 "$CONSOLE_PORT:2280" \
	>"$DIR/console.log" 2>&1 </dev/null &
echo $! >"$DIR/console.pid"
for _ in $(seq 60); do
	curl -fsS --max-time 2 "http://127.0.0.1:$CONSOLE_PORT/healthz" >/dev/null 2>&1 && break
	sleep 0.5
done
curl -fsS --max-time 5 "http://127.0.0.1:$CONSOLE_PORT/healthz" >/dev/null ||
	{ cat "$DIR/console.log" >&2; die "the console port-forward on 127.0.0.1:$CONSOLE_PORT does not answer (port taken? set DEMO_KIND_CONSOLE_PORT)"; }

quiet "$DIR/build-walkthrough.log" 1800 go build -o "$ROOT/bin/demo-kind-walkthrough" ./scripts/demo/kind/walkthrough
checkpoint=()
if [[ "${DEMO_BROWSER_TEST:-auto}" != off ]] && { [[ "${DEMO_BROWSER_TEST:-auto}" == on ]] || command -v chromium >/dev/null; }; then
	# While the demo's objects exist, load the console in headless Chromium; the PV names are appended.
	checkpoint=(-- "$ROOT/scripts/demo/browser-test.sh" "http://127.0.0.1:$CONSOLE_PORT/" "$DIR/console.png" Pool0 Pool1 io_grp1 mkvdiskhostmap)
fi
curl -fsS --max-time 10 "http://127.0.0.1:$CONSOLE_PORT/metrics" >"$DIR/emulator-metrics-before.txt"
setup=$((SECONDS - T0))
say "walkthrough"
"$ROOT/bin/demo-kind-walkthrough" --kubectl "$KB/kubectl" --kubeconfig "$KUBECONFIG" \
	--datapath "${DEMO_KIND_DATAPATH:-auto}" "${checkpoint[@]}"

echo
echo "== storage-01's emulator counted these changing commands during the walkthrough (http://127.0.0.1:$CONSOLE_PORT/metrics)"
curl -fsS --max-time 10 "http://127.0.0.1:$CONSOLE_PORT/metrics" >"$DIR/emulator-metrics-after.txt"
# Counter deltas per command (exit 0 only): the emulator may have served earlier runs.
awk '/^mcs_emulator_commands_total\{/ && /exit_status="0"/ {
		match($0, /command="[^"]*"/); c = substr($0, RSTART + 9, RLENGTH - 10)
		if (FILENAME == ARGV[1]) before[c] = $NF; else after[c] = $NF
	}
	END { for (c in after) if (c !~ /^ls/ && after[c] - before[c] > 0) printf "   %-16s %d\n", c, after[c] - before[c] }' \
	"$DIR/emulator-metrics-before.txt" "$DIR/emulator-metrics-after.txt" | sort >"$DIR/emulator-commands.txt"
cat "$DIR/emulator-commands.txt"
# The story's promise: the array saw the volumes made, copied, grown, mapped and removed.
for c in mkvdisk mklcmap expandvdisksize mkvdiskhostmap rmvdiskhostmap rmvdisk; do
	grep -q "^   $c " "$DIR/emulator-commands.txt" || die "the emulator counted no $c during the walkthrough"
done

echo
echo "demo-kind finished in $((SECONDS - T0)) s (set-up $setup s, walkthrough $((SECONDS - T0 - setup)) s)"
echo "web console:   http://127.0.0.1:$CONSOLE_PORT/   (storage-01; kubectl port-forward, pid $(cat "$DIR/console.pid"))"
echo "kubectl:       export KUBECONFIG=$KUBECONFIG PATH=$KB:\$PATH"
echo "array CLI:     kubectl -n $NS exec mcs-emulator-0 -- /mcs-emulator ctl info   (SSH user/password: Secret $NS/mcs-emulator-credentials-*)"
echo "stop it all:   make demo-kind-stop   (scripts/demo/kind/demo-kind.sh stop)"
