#!/usr/bin/env bash
# test-images.sh VERSION [external] — the test images the nodes need, at the tags of that release,
# one name per line; make e2e puts them on the nodes that run test pods.
#   busybox  the release's tag (node-image.sh VERSION builds it from Debian's busybox-static) and the
#            project suite's default -image tag (e2e/e2e_test.go), which may belong to another
#            release: the same image under both, so `make e2e K8S_VERSION=1.35` on a fresh machine
#            has what both suites ask for.
# With "external" (Kubernetes' external storage suite runs), also:
#   agnhost  the real program: $CACHE/k8s/<version>/bin/agnhost (build-k8s.sh VERSION e2e), on top
#            of the busybox test image so `sh` is there as upstream (subPath specs run its mounttest).
#   nginx    a STAND-IN: the busybox test image under nginx's tag. The storage suite's only use of
#            nginx is "volumes should allow exec of files on the volume", which runs /bin/sh -ec in
#            it and never nginx; no registry here serves the real image. Any other suite that
#            starts nginx would fail against this stand-in, so it is never put on a node otherwise.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=versions.sh
source "$HERE/versions.sh"
KV=v$(k8s_patch "${1:?usage: test-images.sh VERSION [external]}")
CACHE=${CACHE:-$ROOT/.cache}
tag() { e2e_image_tag "$KV" "$1"; }
BUSYBOX=registry.k8s.io/e2e-test-images/busybox:$(tag BusyBox)
[[ $BUSYBOX != *: ]] || { echo "test-images.sh: no busybox tag for $KV" >&2; exit 1; }
docker image inspect "$BUSYBOX" >/dev/null 2>&1 || { echo "test-images.sh: $BUSYBOX missing (scripts/k8s/node-image.sh builds it)" >&2; exit 1; }
echo "$BUSYBOX"
SUITE_BUSYBOX=$(sed -n 's/.*"image", "\(.*\)", "image of the test pods.*/\1/p' "$ROOT/e2e/e2e_test.go")
[[ -n $SUITE_BUSYBOX ]] || { echo "test-images.sh: no default -image in e2e/e2e_test.go" >&2; exit 1; }
if [[ $SUITE_BUSYBOX != "$BUSYBOX" ]]; then
	docker tag "$BUSYBOX" "$SUITE_BUSYBOX"
	echo "$SUITE_BUSYBOX"
fi
[[ ${2:-} == external ]] || exit 0

BIN=$CACHE/k8s/${KV#v}/bin/agnhost
[[ -x $BIN ]] || { echo "test-images.sh: $BIN missing; run scripts/k8s/build-k8s.sh ${KV#v} e2e" >&2; exit 1; }
AGNHOST=registry.k8s.io/e2e-test-images/agnhost:$(tag Agnhost)
[[ $AGNHOST != *: ]] || { echo "test-images.sh: no agnhost tag for $KV" >&2; exit 1; }
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cp "$BIN" "$W/agnhost"
printf 'FROM %s\nCOPY agnhost /agnhost\nENTRYPOINT ["/agnhost"]\nCMD ["pause"]\n' "$BUSYBOX" >"$W/Dockerfile"
docker build -q -t "$AGNHOST" "$W" >/dev/null
echo "$AGNHOST"
NGINX=registry.k8s.io/e2e-test-images/nginx:$(tag Nginx)
[[ $NGINX != *: ]] || { echo "test-images.sh: no nginx tag for $KV" >&2; exit 1; }
docker tag "$BUSYBOX" "$NGINX"
echo "$NGINX"
