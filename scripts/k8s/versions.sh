# shellcheck shell=bash
# Pinned versions for the offline Kubernetes artefacts and the sidecar images.
# Sourced by scripts/k8s/*.sh and scripts/images/*.sh; the manifests under deploy/
# pin the same sidecar tags (deploy/manifests_test.go checks they agree).

# Kubernetes minor -> patch release served by the Go module proxy (k8s.io/kubernetes).
declare -A K8S_PATCH=([1.35]=1.35.8 [1.36]=1.36.4 [1.37]=1.37.1)
K8S_DEFAULT=1.37
K8S_ALL="1.35 1.36 1.37"

KIND_VERSION=v0.33.0
CRICTL_VERSION=v1.34.0 # the only cri-tools version the proxy serves
HELM_VERSION=v3.22.0   # renders deploy/helm in tests

# CSI sidecars: module path, version, main package(s). Image names follow registry.k8s.io/sig-storage.
PROVISIONER_MOD=github.com/kubernetes-csi/external-provisioner/v6
PROVISIONER_VERSION=v6.3.0 # v6.4.0 needs sig-storage-lib-external-provisioner v13.1.0, which the proxy refuses (403)
ATTACHER_MOD=github.com/kubernetes-csi/external-attacher/v4
ATTACHER_VERSION=v4.13.0
SNAPSHOTTER_MOD=github.com/kubernetes-csi/external-snapshotter/v8
SNAPSHOTTER_VERSION=v8.7.0
SNAPSHOTTER_CLIENT_MOD=github.com/kubernetes-csi/external-snapshotter/client/v8
RESIZER_MOD=github.com/kubernetes-csi/external-resizer/v2
RESIZER_VERSION=v2.3.0
# Not served by the module proxy: production manifests use the official images,
# offline clusters use the project's csi-node-helper substitute (deploy/images/csi-node-helper).
REGISTRAR_VERSION=v2.18.0
LIVENESSPROBE_VERSION=v2.20.0

# k8s_patch MINOR|PATCH -> full patch version (1.37 -> 1.37.1; 1.36.4 stays).
k8s_patch() {
	local v=${1#v}
	if [[ $v =~ ^[0-9]+\.[0-9]+$ ]]; then
		[[ -n ${K8S_PATCH[$v]:-} ]] || { echo "unsupported Kubernetes version $v (have: ${!K8S_PATCH[*]})" >&2; return 1; }
		v=${K8S_PATCH[$v]}
	fi
	echo "$v"
}

# e2e_image_tag VERSION ID: the tag Kubernetes VERSION's e2e suites use for test image ID (BusyBox,
# Agnhost, Nginx, ...), read from that release's test/utils/image/manifest.go; empty if unknown.
e2e_image_tag() {
	sed -n "s/.*configs\[$2\] = Config{list.PromoterE2eRegistry, \"[a-z-]*\", \"\(.*\)\"}.*/\1/p" \
		"$(go mod download -json "k8s.io/kubernetes@v${1#v}" | jq -r .Dir)/test/utils/image/manifest.go"
}
