#!/usr/bin/env bash
# build-sidecars.sh — wrap the sidecar binaries that scripts/k8s/build-k8s.sh
# built from their upstream modules into images under their official names
# (registry.k8s.io/sig-storage/<name>:<tag>), so the manifests need no change.
# Also tags snapshot-controller for the cluster's snapshot set-up.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../k8s/versions.sh
source "$HERE/../k8s/versions.sh"
CACHE=$(cd "${CACHE:-.cache}" && pwd)
BIN=$CACHE/k8s/common/sidecars-prov$PROVISIONER_VERSION-att$ATTACHER_VERSION-snap$SNAPSHOTTER_VERSION-rsz$RESIZER_VERSION/bin
[[ -f $BIN/.done ]] || { echo "sidecars not built: run scripts/k8s/build-k8s.sh <version> sidecars" >&2; exit 1; }
export DOCKER_BUILDKIT=${DOCKER_BUILDKIT:-0}
img() { # BINARY IMAGE
	docker build -q --build-arg BIN="$1" -f "$HERE/../../deploy/images/sidecar/Dockerfile" -t "$2" "$BIN" >/dev/null
	echo "$2"
}
img csi-provisioner "registry.k8s.io/sig-storage/csi-provisioner:$PROVISIONER_VERSION"
img csi-attacher "registry.k8s.io/sig-storage/csi-attacher:$ATTACHER_VERSION"
img csi-snapshotter "registry.k8s.io/sig-storage/csi-snapshotter:$SNAPSHOTTER_VERSION"
img snapshot-controller "registry.k8s.io/sig-storage/snapshot-controller:$SNAPSHOTTER_VERSION"
img csi-resizer "registry.k8s.io/sig-storage/csi-resizer:$RESIZER_VERSION"
