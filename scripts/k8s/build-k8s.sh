#!/usr/bin/env bash
# build-k8s.sh VERSION [PART...] — build the Kubernetes artefacts an offline kind
# cluster needs, from the Go module proxy only, into ${CACHE:-.cache}/k8s/...
#
# Parts (default: all):
#   k8s       kube-apiserver, -controller-manager, -scheduler, -proxy, kubelet, kubeadm, kubectl
#             -> $CACHE/k8s/<version>/bin
#   e2e       e2e.test (framework + storage/external) -> $CACHE/k8s/<version>/bin/e2e.test
#   cp-tools  etcd and coredns at the tags kubeadm <version> expects -> $CACHE/k8s/<version>/bin
#   sidecars  csi-provisioner, -attacher, -snapshotter, -resizer, snapshot-controller and the
#             snapshot CRDs -> $CACHE/k8s/common/sidecars-<versions>/
#   tools     kind, crictl, helm -> $CACHE/k8s/common/tools-<versions>/
# A part whose output stamp exists is skipped, so a warm cache costs nothing.
# Output is static (CGO_ENABLED=0). Run heavy builds with `nice`: it is CPU-bound.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.sh
source "$HERE/versions.sh"

[[ $# -ge 1 ]] || { echo "usage: $0 VERSION [k8s|e2e|cp-tools|sidecars|tools]..." >&2; exit 2; }
KV=v$(k8s_patch "$1"); shift
PARTS=${*:-k8s e2e cp-tools sidecars tools}
CACHE=$(mkdir -p "${CACHE:-.cache}" && cd "${CACHE:-.cache}" && pwd)
OUT=$CACHE/k8s/${KV#v}
COMMON=$CACHE/k8s/common
SIDECARS=$COMMON/sidecars-prov$PROVISIONER_VERSION-att$ATTACHER_VERSION-snap$SNAPSHOTTER_VERSION-rsz$RESIZER_VERSION
TOOLS=$COMMON/tools-kind$KIND_VERSION-crictl$CRICTL_VERSION-helm$HELM_VERSION
mkdir -p "$OUT/bin" "$OUT/src" "$SIDECARS/bin" "$TOOLS/bin"
# One build at a time per cache: CI starts this in the background early and
# make e2e calls it again; the second waits, then finds every part stamped.
exec 9>"$CACHE/k8s/.build.lock"
flock 9

export CGO_ENABLED=0 GOFLAGS=-mod=mod
# The proxy serves sigs.k8s.io/* but the checksum database answers 404 for some of them
# (knftables, cri-tools); every wrapper module starts from the upstream go.sum, so the
# rest of the graph is still verified.
export GONOSUMDB=sigs.k8s.io

log() { echo "[$(date -u +%H:%M:%S)] $*"; }
timed() { local s=$SECONDS; "$@"; log "done in $((SECONDS - s))s: $*"; }

# kube_ldflags: version stamps kubeadm and kind check (without them the binaries say v0.0.0).
kube_ldflags() {
	local minor; minor=$(cut -d. -f2 <<<"$KV")
	local ld="-s -w" p
	for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		ld+=" -X $p.gitVersion=$KV -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
		ld+=" -X $p.buildDate=2026-01-01T00:00:00Z"
	done
	echo "$ld"
}

# kube_wrapper DIR: a module that requires k8s.io/kubernetes@KV with its ./staging replaces
# turned into the published k8s.io/* modules of the same release.
kube_wrapper() {
	local dir=$1 mod gov sv=v0${KV#v1}
	mkdir -p "$dir"
	mod=$(go mod download -json "k8s.io/kubernetes@$KV" | jq -r .GoMod)
	gov=$(go mod edit -json "$mod" | jq -r .Go)
	{
		printf 'module example.com/kbuild\n\ngo %s\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' "$gov" "$KV"
		go mod edit -json "$mod" | jq -r '.Replace[]? | select(.New.Path | startswith("./staging/")) | .Old.Path' |
			while read -r m; do printf '\t%s => %s %s\n' "$m" "$m" "$sv"; done
		printf ')\n'
	} >"$dir/go.mod"
	cp "$(go mod download -json "k8s.io/kubernetes@$KV" | jq -r .Dir)/go.sum" "$dir/go.sum"
	chmod u+w "$dir/go.sum"
}

part_k8s() {
	local cmds="kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubelet kubeadm kubectl"
	[[ -f $OUT/bin/.k8s-done ]] && { log "k8s $KV: cached"; return; }
	local w=$OUT/src/kbuild c pkgs=()
	kube_wrapper "$w"
	{
		printf '//go:build tools\n\npackage tools\n\nimport (\n'
		for c in $cmds; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$c"; pkgs+=("k8s.io/kubernetes/cmd/$c"); done
		printf ')\n'
	} >"$w/tools.go"
	(cd "$w" && go mod tidy && go build -trimpath -ldflags "$(kube_ldflags)" -o "$OUT/bin/" "${pkgs[@]}")
	touch "$OUT/bin/.k8s-done"
}

part_e2e() {
	local w=$OUT/src/ke2e
	if [[ -f $OUT/bin/e2e.test ]]; then
		log "e2e.test $KV: cached"
	else
		kube_wrapper "$w"
		# The external-storage suite and its framework only; a testdriver.yaml selects the specs.
		cp "$HERE/e2e_external_test.go.txt" "$w/e2e_test.go"
		(cd "$w" && go mod tidy && go test -c -trimpath -ldflags "$(kube_ldflags)" -o "$OUT/bin/e2e.test" .)
	fi
	# agnhost, the suite's second test image (subPath specs run its mounttest), from the same
	# module; its extra dependencies (e.g. sctp) are resolved with -mod=mod in a copy of the wrapper.
	if [[ -f $OUT/bin/agnhost ]]; then
		log "agnhost $KV: cached"
	else
		local a=$OUT/src/kagnhost
		rm -rf "$a" && mkdir -p "$a" && cp "$w/go.mod" "$w/go.sum" "$a/"
		(cd "$a" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w" \
			-o "$OUT/bin/agnhost.tmp" k8s.io/kubernetes/test/images/agnhost) && mv "$OUT/bin/agnhost.tmp" "$OUT/bin/agnhost"
	fi
}

# kubeadm_const NAME: a version constant from kubeadm's source for this release.
kubeadm_const() {
	local dir
	dir=$(go mod download -json "k8s.io/kubernetes@$KV" | jq -r .Dir)
	sed -n "s/^[[:space:]]*$1 *= *\"\(.*\)\"/\1/p" "$dir/cmd/kubeadm/app/constants/constants.go" | head -1
}

# wrapped OUTDIR MODULE VERSION PKG...: build main packages of a module whose go.mod has
# replace directives (which `go install pkg@v` refuses), by copying its replaces into a wrapper.
wrapped() {
	local out=$1 m=$2 v=$3; shift 3
	local w modf dir
	w=$(dirname "$out")/src/$(tr '/@' '__' <<<"$m@$v")
	rm -rf "$w" && mkdir -p "$w"
	modf=$(go mod download -json "$m@$v" | jq -r .GoMod)
	dir=$(go mod download -json "$m@$v" | jq -r .Dir)
	printf 'module example.com/wrap\n\ngo %s\n' "$(go mod edit -json "$modf" | jq -r '.Go // "1.24"')" >"$w/go.mod"
	[[ -f $dir/go.sum ]] && cp "$dir/go.sum" "$w/go.sum" && chmod u+w "$w/go.sum"
	(
		cd "$w"
		go mod edit -require="$m@$v"
		go mod edit -json "$modf" | jq -r '.Replace[]? | [.Old.Path, .New.Path, (.New.Version // "")] | @tsv' |
			while IFS=$'\t' read -r old new ver; do
				case $new in
				# etcd guards against importing itself with replaces to a dir that does not exist.
				*/FORBIDDEN_DEPENDENCY) ;;
				./* | ../*) go mod edit -replace="$old=$old@$v" ;;
				*) go mod edit -replace="$old=$new@$ver" ;;
				esac
			done
		{
			printf '//go:build tools\n\npackage tools\n\nimport (\n'
			printf '\t_ "%s"\n' "$@"
			printf ')\n'
		} >tools.go
		go mod tidy
		go build -trimpath -ldflags "-s -w" -o "$out/" "$@"
	)
}

part_cp_tools() {
	local etcd coredns
	etcd=$(kubeadm_const DefaultEtcdVersion)
	coredns=$(kubeadm_const CoreDNSVersion)
	log "kubeadm $KV expects etcd $etcd, coredns $coredns"
	echo "ETCD_TAG=$etcd COREDNS_TAG=$coredns PAUSE_TAG=$(kubeadm_const PauseVersion)" >"$OUT/images.env"
	if [[ ! -f $OUT/bin/etcd ]]; then
		wrapped "$OUT/bin" go.etcd.io/etcd/server/v3 "v${etcd%-*}" go.etcd.io/etcd/server/v3
		# go build names a ".../server/v3" main "server".
		mv "$OUT/bin/server" "$OUT/bin/etcd"
	fi
	if [[ ! -f $OUT/bin/coredns ]]; then
		wrapped "$OUT/bin" github.com/coredns/coredns "$coredns" github.com/coredns/coredns
	fi
}

part_sidecars() {
	[[ -f $SIDECARS/bin/.done ]] && { log "sidecars: cached"; return; }
	wrapped "$SIDECARS/bin" "$PROVISIONER_MOD" "$PROVISIONER_VERSION" "$PROVISIONER_MOD/cmd/csi-provisioner"
	wrapped "$SIDECARS/bin" "$ATTACHER_MOD" "$ATTACHER_VERSION" "$ATTACHER_MOD/cmd/csi-attacher"
	wrapped "$SIDECARS/bin" "$SNAPSHOTTER_MOD" "$SNAPSHOTTER_VERSION" \
		"$SNAPSHOTTER_MOD/cmd/csi-snapshotter" "$SNAPSHOTTER_MOD/cmd/snapshot-controller"
	wrapped "$SIDECARS/bin" "$RESIZER_MOD" "$RESIZER_VERSION" "$RESIZER_MOD/cmd/csi-resizer"
	# Snapshot CRDs and the controller's RBAC/Deployment ship in the client and main module zips.
	local dir
	dir=$(go mod download -json "$SNAPSHOTTER_CLIENT_MOD@$SNAPSHOTTER_VERSION" | jq -r .Dir)
	mkdir -p "$SIDECARS/crd" && cp "$dir"/config/crd/*.yaml "$SIDECARS/crd/" && chmod -R u+w "$SIDECARS/crd"
	touch "$SIDECARS/bin/.done"
}

part_tools() {
	[[ -f $TOOLS/bin/kind ]] || wrapped "$TOOLS/bin" sigs.k8s.io/kind "$KIND_VERSION" sigs.k8s.io/kind
	[[ -f $TOOLS/bin/crictl ]] || wrapped "$TOOLS/bin" sigs.k8s.io/cri-tools "$CRICTL_VERSION" sigs.k8s.io/cri-tools/cmd/crictl
	[[ -f $TOOLS/bin/helm ]] || wrapped "$TOOLS/bin" helm.sh/helm/v3 "$HELM_VERSION" helm.sh/helm/v3/cmd/helm
}

T0=$SECONDS
for p in $PARTS; do
	case $p in
	k8s) timed part_k8s ;;
	e2e) timed part_e2e ;;
	cp-tools) timed part_cp_tools ;;
	sidecars) timed part_sidecars ;;
	tools) timed part_tools ;;
	*) echo "unknown part $p" >&2; exit 2 ;;
	esac
done
log "build-k8s $KV ($PARTS): $((SECONDS - T0))s total; outputs in $OUT and $COMMON"
