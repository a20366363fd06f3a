#!/usr/bin/env bash
# agnhost-image.sh VERSION — registry.k8s.io/e2e-test-images/agnhost:<tag of that release>, built
# from $CACHE/k8s/<version>/bin/agnhost (build-k8s.sh VERSION e2e) on top of the release's busybox
# test image (node-image.sh VERSION builds it), so `sh` is there as in the upstream image. Only
# Kubernetes' external storage suite needs it (subPath specs run `agnhost mounttest`); make e2e
# loads it when that suite runs. Prints the image name.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=versions.sh
source "$HERE/versions.sh"
KV=v$(k8s_patch "${1:?usage: agnhost-image.sh VERSION}")
CACHE=${CACHE:-$ROOT/.cache}
BIN=$CACHE/k8s/${KV#v}/bin/agnhost
[[ -x $BIN ]] || { echo "agnhost-image.sh: $BIN missing; run scripts/k8s/build-k8s.sh ${KV#v} e2e" >&2; exit 1; }
MANIFEST=$(go mod download -json "k8s.io/kubernetes@$KV" | jq -r .Dir)/test/utils/image/manifest.go
tag() { sed -n "s/.*configs\[$1\] = Config{list.PromoterE2eRegistry, \"[a-z]*\", \"\(.*\)\"}.*/\1/p" "$MANIFEST"; }
BUSYBOX=registry.k8s.io/e2e-test-images/busybox:$(tag BusyBox)
AGNHOST=registry.k8s.io/e2e-test-images/agnhost:$(tag Agnhost)
[[ $AGNHOST != *: ]] || { echo "agnhost-image.sh: no agnhost tag in $MANIFEST" >&2; exit 1; }
docker image inspect "$BUSYBOX" >/dev/null 2>&1 || { echo "agnhost-image.sh: $BUSYBOX missing (scripts/k8s/node-image.sh builds it)" >&2; exit 1; }
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cp "$BIN" "$W/agnhost"
printf 'FROM %s\nCOPY agnhost /agnhost\nENTRYPOINT ["/agnhost"]\nCMD ["pause"]\n' "$BUSYBOX" >"$W/Dockerfile"
docker build -q -t "$AGNHOST" "$W" >/dev/null
echo "$AGNHOST"
