#!/usr/bin/env bash
# test-images.sh VERSION — the test images Kubernetes' external storage suite runs besides busybox
# (which node-image.sh VERSION builds), at the tags of that release; make e2e loads them when that
# suite runs. Prints one image name per line.
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
KV=v$(k8s_patch "${1:?usage: test-images.sh VERSION}")
CACHE=${CACHE:-$ROOT/.cache}
BIN=$CACHE/k8s/${KV#v}/bin/agnhost
[[ -x $BIN ]] || { echo "test-images.sh: $BIN missing; run scripts/k8s/build-k8s.sh ${KV#v} e2e" >&2; exit 1; }
MANIFEST=$(go mod download -json "k8s.io/kubernetes@$KV" | jq -r .Dir)/test/utils/image/manifest.go
tag() { sed -n "s/.*configs\[$1\] = Config{list.PromoterE2eRegistry, \"[a-z]*\", \"\(.*\)\"}.*/\1/p" "$MANIFEST"; }
BUSYBOX=registry.k8s.io/e2e-test-images/busybox:$(tag BusyBox)
AGNHOST=registry.k8s.io/e2e-test-images/agnhost:$(tag Agnhost)
[[ $AGNHOST != *: ]] || { echo "test-images.sh: no agnhost tag in $MANIFEST" >&2; exit 1; }
docker image inspect "$BUSYBOX" >/dev/null 2>&1 || { echo "test-images.sh: $BUSYBOX missing (scripts/k8s/node-image.sh builds it)" >&2; exit 1; }
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cp "$BIN" "$W/agnhost"
printf 'FROM %s\nCOPY agnhost /agnhost\nENTRYPOINT ["/agnhost"]\nCMD ["pause"]\n' "$BUSYBOX" >"$W/Dockerfile"
docker build -q -t "$AGNHOST" "$W" >/dev/null
echo "$AGNHOST"
NGINX=registry.k8s.io/e2e-test-images/nginx:$(tag Nginx)
[[ $NGINX != *: ]] || { echo "test-images.sh: no nginx tag in $MANIFEST" >&2; exit 1; }
docker tag "$BUSYBOX" "$NGINX"
echo "$NGINX"
