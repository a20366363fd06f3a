#!/usr/bin/env bash
# node-image.sh VERSION — assemble the kind node image localhost/kindnode:v<version>
# without any registry: kind's base files from the sigs.k8s.io/kind module zip,
# kubelet/kubeadm/kubectl from build-k8s.sh, and every image the cluster needs
# (control plane, etcd, coredns, pause, kube-proxy, CSI sidecars,
# snapshot-controller, the test busybox) pre-imported into the node's containerd.
# `kind build node-image` cannot do this offline: it pulls those images.
# Needs: docker (scripts/k8s/dockerd.sh), base images (scripts/images/base-image.sh kindnode).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=versions.sh
source "$HERE/versions.sh"
KV=v$(k8s_patch "${1:?usage: $0 VERSION}")
CACHE=$(cd "${CACHE:-.cache}" && pwd)
KB=$CACHE/k8s/${KV#v}/bin
TAG=${NODE_IMAGE:-localhost/kindnode:$KV}
BASE=localhost/kindnode-base:bookworm
export DOCKER_BUILDKIT=0
if docker image inspect "$TAG" >/dev/null 2>&1 && [[ -z ${FORCE:-} ]]; then
	echo "$TAG: cached"
	exit 0
fi
[[ -f $KB/.k8s-done && -f $KB/etcd && -f $KB/coredns ]] || { echo "run scripts/k8s/build-k8s.sh ${KV#v} first" >&2; exit 1; }
# shellcheck disable=SC1091
source "$CACHE/k8s/${KV#v}/images.env" # ETCD_TAG COREDNS_TAG PAUSE_TAG
docker image inspect "$BASE" >/dev/null 2>&1 || "$ROOT/scripts/images/base-image.sh" kindnode

W=$(mktemp -d)
C=""
trap 'rm -rf "$W"; [[ -n $C ]] && docker rm -f "$C" >/dev/null 2>&1; true' EXIT
mkdir -p "$W/images" "$W/ctx"

# scratch_image TAG BINARY-PATH [ENTRYPOINT]: a static binary in /usr/local/bin.
scratch_image() {
	local d=$W/ctx/$(basename "$2")
	mkdir -p "$d" && cp "$2" "$d/"
	{
		echo "FROM scratch"
		echo "ENV PATH=/usr/local/bin:/usr/bin:/bin"
		echo "COPY $(basename "$2") /usr/local/bin/$(basename "$2")"
		[[ -n ${3:-} ]] && echo "ENTRYPOINT [\"$3\"]"
	} >"$d/Dockerfile"
	docker build -q -t "$1" "$d" >/dev/null
	echo "$1"
}

for c in kube-apiserver kube-controller-manager kube-scheduler; do
	scratch_image "registry.k8s.io/$c:$KV" "$KB/$c"
done
scratch_image "registry.k8s.io/etcd:$ETCD_TAG" "$KB/etcd"
scratch_image "registry.k8s.io/coredns/coredns:$COREDNS_TAG" "$KB/coredns" /usr/local/bin/coredns
mkdir -p "$W/pause" && (cd "$ROOT" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$W/pause/pause" ./scripts/k8s/pause)
scratch_image "registry.k8s.io/pause:$PAUSE_TAG" "$W/pause/pause" /usr/local/bin/pause
# kube-proxy needs iptables and conntrack from a distribution.
mkdir -p "$W/ctx/kube-proxy" && cp "$KB/kube-proxy" "$W/ctx/kube-proxy/"
printf 'FROM %s\nCOPY kube-proxy /usr/local/bin/kube-proxy\nENTRYPOINT []\nCMD []\n' "$BASE" >"$W/ctx/kube-proxy/Dockerfile"
docker build -q -t "registry.k8s.io/kube-proxy:$KV" "$W/ctx/kube-proxy" >/dev/null

# The test pods' busybox, from Debian's busybox-static (the e2e suites use this tag).
BUSYBOX_TAG=$(e2e_image_tag "$KV" BusyBox)
[[ -n $BUSYBOX_TAG ]] || { echo "node-image.sh: no busybox tag for $KV" >&2; exit 1; }
mkdir -p "$W/ctx/busybox" && (cd "$W/ctx/busybox" && apt-get download busybox-static >/dev/null && dpkg -x busybox-static_*.deb x)
cp "$W/ctx/busybox/x/bin/busybox" "$W/ctx/busybox/busybox"
printf 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\nRUN ["/bin/busybox", "mkdir", "-m", "1777", "/tmp"]\nENV PATH=/bin\n' >"$W/ctx/busybox/Dockerfile"
docker build -q -t "registry.k8s.io/e2e-test-images/busybox:$BUSYBOX_TAG" "$W/ctx/busybox" >/dev/null

# Sidecars ride along when built (make e2e always builds them first); without
# them the image still makes a working cluster and they can be `kind load`ed later.
SIDECAR_IMAGES=()
if "$ROOT/scripts/images/build-sidecars.sh"; then
	SIDECAR_IMAGES=(
		"registry.k8s.io/sig-storage/csi-provisioner:$PROVISIONER_VERSION" "registry.k8s.io/sig-storage/csi-attacher:$ATTACHER_VERSION"
		"registry.k8s.io/sig-storage/csi-snapshotter:$SNAPSHOTTER_VERSION" "registry.k8s.io/sig-storage/csi-resizer:$RESIZER_VERSION"
		"registry.k8s.io/sig-storage/snapshot-controller:$SNAPSHOTTER_VERSION"
	)
else
	echo "warning: $TAG without CSI sidecars" >&2
fi
IMAGES=(
	"registry.k8s.io/kube-apiserver:$KV" "registry.k8s.io/kube-controller-manager:$KV"
	"registry.k8s.io/kube-scheduler:$KV" "registry.k8s.io/kube-proxy:$KV"
	"registry.k8s.io/etcd:$ETCD_TAG" "registry.k8s.io/coredns/coredns:$COREDNS_TAG" "registry.k8s.io/pause:$PAUSE_TAG"
	"registry.k8s.io/e2e-test-images/busybox:$BUSYBOX_TAG"
	"${SIDECAR_IMAGES[@]}"
)
for i in "${IMAGES[@]}"; do
	docker save "$i" >"$W/images/$(tr '/:' '__' <<<"$i").tar"
done

# Node filesystem: kind's base files (entrypoint, containerd config, kubelet units).
KIND=$(go mod download -json "sigs.k8s.io/kind@$KIND_VERSION" | jq -r .Dir)
R=$W/root
mkdir -p "$R/kind" "$R/usr/bin" "$R/usr/local/bin" "$R/etc/cni/net.d"
cp -r "$KIND/images/base/files/." "$R/" && chmod -R u+w "$R" && chmod +x "$R"/usr/local/bin/* "$R"/kind/bin/*
cp "$KB/kubeadm" "$KB/kubelet" "$KB/kubectl" "$R/usr/bin/"
cp "$CACHE/k8s/common/tools-kind$KIND_VERSION-crictl$CRICTL_VERSION-helm$HELM_VERSION/bin/crictl" "$R/usr/local/bin/"
echo "$KV" >"$R/kind/version"
# Debian's containerd keeps CNI plugins in /usr/lib/cni.
cat >>"$R/etc/containerd/config.toml" <<'EOT'
[plugins."io.containerd.grpc.v1.cri".cni]
  bin_dir = "/usr/lib/cni"
  conf_dir = "/etc/cni/net.d"
EOT
# The sandbox image is the pause this release's kubeadm expects (kind pins its own tag).
sed -i "s|sandbox_image = .*|sandbox_image = \"registry.k8s.io/pause:$PAUSE_TAG\"|" "$R/etc/containerd/config.toml"
# Without CAP_SYS_RESOURCE, CRI must clamp oom_score_adj instead of failing.
sed -i 's/restrict_oom_score_adj = false/restrict_oom_score_adj = true/' "$R/etc/containerd/config.toml"
# On cgroup v1 kind starts kubeadm as soon as the entrypoint logs "detected cgroup v1",
# before systemd is up; reworded, kind waits for multi-user.target instead.
sed -i 's/detected cgroup v1/detected legacy cgroup (v1)/' "$R/usr/local/bin/entrypoint"
cat >"$R/etc/cni/net.d/10-bridge.conflist" <<'EOT'
{"cniVersion":"1.0.0","name":"kindbridge","plugins":[
 {"type":"bridge","bridge":"cni0","isGateway":true,"ipMasq":true,"hairpinMode":true,
  "ipam":{"type":"host-local","ranges":[[{"subnet":"10.244.0.0/24"}]],"routes":[{"dst":"0.0.0.0/0"}]}},
 {"type":"portmap","capabilities":{"portMappings":true}}]}
EOT
ctr oci spec | jq 'del(.process.rlimits)' >"$R/etc/containerd/cri-base.json"
# The unit set of kind's own base image (images/base/Dockerfile): nothing but containerd, kubelet
# and kind's mount fix starts; no getty, whose start on the console stops systemd from logging
# "Reached target Multi-User System", the line kind waits for. The node's own iscsid and
# multipathd stay masked: they live in the host's (or VM's) initial namespaces, and the node plugin
# reaches them through nsenter (a second multipathd in the node would race for the same maps).
cat >"$W/Dockerfile" <<EOT
FROM $BASE
COPY root/ /
RUN mkdir -p /opt/cni && ln -sfn /usr/lib/cni /opt/cni/bin \
 && ln -sf /usr/bin/containerd /usr/local/bin/containerd \
 && find /lib/systemd/system/sysinit.target.wants/ -name systemd-tmpfiles-setup.service -delete \
 && rm -f /lib/systemd/system/multi-user.target.wants/* /etc/systemd/system/*.wants/* \
   /lib/systemd/system/local-fs.target.wants/* /lib/systemd/system/sockets.target.wants/*udev* \
   /lib/systemd/system/sockets.target.wants/*initctl* /lib/systemd/system/basic.target.wants/* \
 && echo ReadKMsg=no >>/etc/systemd/journald.conf \
 && systemctl enable kubelet.service containerd.service undo-mount-hacks.service \
 && systemctl mask systemd-binfmt.service iscsid.socket iscsid.service open-iscsi.service \
   multipathd.socket multipathd.service \
 && mkdir -p /var/lib/kubelet /etc/kubernetes/manifests
ENV container=docker
STOPSIGNAL SIGRTMIN+3
ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]
EOT
docker build -q -t "$TAG-stage1" -f "$W/Dockerfile" "$W" >/dev/null
# Pre-import into the image's own containerd (content store under /var, which kind
# copies into the node's /var volume); --no-unpack: CRI unpacks on first use.
C=$(docker run -d --privileged -v "$W/images:/images:ro" --entrypoint sleep "$TAG-stage1" infinity)
docker exec "$C" sh -c 'containerd >/tmp/containerd.log 2>&1 & p=$!
for i in $(seq 60); do ctr version >/dev/null 2>&1 && break; sleep 0.5; done
for f in /images/*.tar; do ctr -n k8s.io images import --no-unpack --digests "$f" >/dev/null || exit 1; done
kill $p; wait $p; true'
docker commit --change 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' --change 'CMD []' "$C" "$TAG" >/dev/null
docker rm -f "$C" >/dev/null && C=""
docker rmi "$TAG-stage1" >/dev/null
echo "$TAG built ($(docker image inspect -f '{{.Size}}' "$TAG" | numfmt --to=iec))"
