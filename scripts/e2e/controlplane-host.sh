#!/usr/bin/env bash
# The e2e suite's `controlplane` specs against a real Kubernetes API in minutes, with no VM and no
# kind: etcd, kube-apiserver and kube-controller-manager as host processes on loopback, the driver
# (controller mode) with csi-provisioner and csi-resizer next to them, and two mcs-emulator arrays
# (two-site; storage-02 with its own cluster id) on this host. The driver loads the kind-vm overlay's
# instorage.yaml with only the array addresses and mount paths changed, and the suite checks the
# arrays directly over SSH (-arrays HOST:PORT, host keys pinned). Nothing is attached to a node, so
# `datapath` specs need `make e2e`; the snapshot spec needs snapshot-controller and is skipped.
#
#   scripts/e2e/controlplane-host.sh            run, then tear everything down (rc = the suite's)
#   KEEP=1 scripts/e2e/controlplane-host.sh     leave it running (state and logs in $STATE)
#   scripts/e2e/controlplane-host.sh stop       stop what a KEEP=1 run left
#
# Needs: Go, openssl, and the Kubernetes binaries and sidecars `make e2e` builds into .cache
# (scripts/k8s/build-k8s.sh). Env: K8S_VERSION (default: the newest cached), STATE, GINKGO_ARGS.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/vm/lib.sh
. "$HERE/../vm/lib.sh" # REPO, CACHE, vm_log, vm_die, vm_free_port
# shellcheck source=scripts/k8s/versions.sh
. "$REPO/scripts/k8s/versions.sh"
STATE=${STATE:-$CACHE/e2e-controlplane-host}
SIDECARS=$CACHE/k8s/common/sidecars-prov$PROVISIONER_VERSION-att$ATTACHER_VERSION-snap$SNAPSHOTTER_VERSION-rsz$RESIZER_VERSION

stop() {
	local f pids=() p i
	for f in "$STATE"/pids/*; do
		[ -f "$f" ] || continue
		pids+=("$(cat "$f")")
		rm -f "$f"
	done
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	# kube-apiserver drains for a while after TERM; wait, then make sure.
	for p in "${pids[@]}"; do
		for i in $(seq 60); do kill -0 "$p" 2>/dev/null || break; sleep 0.5; done
		kill -KILL "$p" 2>/dev/null || true
	done
	for a in emu1 emu2; do [ -d "$STATE/$a" ] && "$REPO/scripts/vm/emulator.sh" down "$STATE/$a"; done
	return 0
}
if [[ ${1:-} == stop ]]; then
	stop
	exit 0
fi

if [[ -n ${K8S_VERSION:-} ]]; then
	KBIN=$(printf "%s\n" "$CACHE"/k8s/"$K8S_VERSION"*/bin | sort -V | tail -1)
else
	KBIN=$(printf "%s\n" "$CACHE"/k8s/1.*/bin | sort -V | tail -1)
fi
for b in etcd kube-apiserver kube-controller-manager kubectl; do
	[ -x "$KBIN/$b" ] || vm_die "$KBIN/$b missing: build it with scripts/k8s/build-k8s.sh"
done
for b in csi-provisioner csi-resizer; do
	[ -x "$SIDECARS/bin/$b" ] || vm_die "$SIDECARS/bin/$b missing: scripts/k8s/build-k8s.sh builds the sidecars"
done
command -v openssl >/dev/null || vm_die "openssl is needed for the API server's certificates"

stop
rm -rf "$STATE"
mkdir -p "$STATE"/{pids,logs,pki,secret,barrier}
[[ -n ${KEEP:-} ]] || trap stop EXIT
P=$STATE/pki
export KUBECONFIG=$P/admin.kubeconfig
k() { timeout 120 "$KBIN/kubectl" "$@"; }
start() {
	local n=$1
	shift
	"$@" >"$STATE/logs/$n.log" 2>&1 &
	echo $! >"$STATE/pids/$n"
}

vm_log "PKI and a token for the suite (127.0.0.1 only, valid 2 days)"
(
	cd "$P"
	openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj /CN=e2e-ca 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -keyout apiserver.key -out apiserver.csr -subj /CN=kube-apiserver 2>/dev/null
	openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out apiserver.crt -days 2 \
		-extfile <(echo "subjectAltName=IP:127.0.0.1,DNS:localhost") 2>/dev/null
	openssl genrsa -out sa.key 2048 2>/dev/null
	openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
	umask 077
	token=$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
	printf '%s,e2e-admin,1,"system:masters"\n' "$token" >tokens.csv
)
ETCD=$(vm_free_port 23790) ETCD_PEER=$(vm_free_port 23890) API=$(vm_free_port 26443) KCM=$(vm_free_port 10457)
printf 'apiVersion: v1\nkind: Config\nclusters: [{name: e2e, cluster: {server: "https://127.0.0.1:%s", certificate-authority-data: %s}}]\nusers: [{name: e2e, user: {token: %s}}]\ncontexts: [{name: e2e, context: {cluster: e2e, user: e2e}}]\ncurrent-context: e2e\n' \
	"$API" "$(base64 -w0 "$P/ca.crt")" "$(cut -d, -f1 "$P/tokens.csv")" >"$KUBECONFIG"
chmod 600 "$KUBECONFIG"

vm_log "etcd :$ETCD, kube-apiserver :$API, kube-controller-manager"
start etcd "$KBIN/etcd" --data-dir "$STATE/etcd" --unsafe-no-fsync \
	--listen-client-urls "http://127.0.0.1:$ETCD" --advertise-client-urls "http://127.0.0.1:$ETCD" \
	--listen-peer-urls "http://127.0.0.1:$ETCD_PEER" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER" \
	--initial-cluster "default=http://127.0.0.1:$ETCD_PEER"
# A loopback advertise address is refused by the endpoint reconciler; nothing here uses the
# kubernetes Service, so the reconciler is off and any private address will do.
start kube-apiserver "$KBIN/kube-apiserver" --etcd-servers "http://127.0.0.1:$ETCD" --bind-address 127.0.0.1 \
	--secure-port "$API" --advertise-address 10.0.2.200 --endpoint-reconciler-type none \
	--tls-cert-file "$P/apiserver.crt" --tls-private-key-file "$P/apiserver.key" --client-ca-file "$P/ca.crt" \
	--token-auth-file "$P/tokens.csv" --authorization-mode RBAC --service-cluster-ip-range 10.96.0.0/16 \
	--service-account-issuer https://kubernetes.default.svc --service-account-key-file "$P/sa.pub" \
	--service-account-signing-key-file "$P/sa.key"
for i in $(seq 241); do
	((i < 241)) || vm_die "kube-apiserver not ready after 120 s (see $STATE/logs/kube-apiserver.log)"
	k get --raw /readyz >/dev/null 2>&1 && break
	sleep 0.5
done
# Binds claims to volumes and deletes namespaces; both are what the specs wait for.
start kube-controller-manager "$KBIN/kube-controller-manager" --kubeconfig "$KUBECONFIG" --leader-elect=false \
	--controllers '*' --secure-port "$KCM" --service-account-private-key-file "$P/sa.key" --root-ca-file "$P/ca.crt"

vm_log "two arrays (one shared random password, host keys pinned from their key files)"
mkdir -p "$STATE/emu1" "$STATE/emu2"
(umask 077 && head -c 18 /dev/urandom | base64 >"$STATE/emu1/password" && cp "$STATE/emu1/password" "$STATE/emu2/password")
[ -x "$REPO/bin/mcs-emulator" ] || (cd "$REPO" && timeout 900 go build -o bin/mcs-emulator ./emulator/cmd/mcs-emulator)
EMULATOR=$REPO/bin/mcs-emulator EMU_PRESET=two-site "$REPO/scripts/vm/emulator.sh" up "$STATE/emu1" >/dev/null
EMULATOR=$REPO/bin/mcs-emulator EMU_TOPOLOGY=$REPO/scripts/vmkind/topology-storage-02.yaml \
	EMU_ADVERTISE=10.0.2.102:3260,10.0.2.103:3260 EMU_GUEST_SSH=10.0.2.102:2222 \
	"$REPO/scripts/vm/emulator.sh" up "$STATE/emu2" >/dev/null
# shellcheck disable=SC1091
S1=$(. "$STATE/emu1/emulator.env" && echo "$EMU_SSH_PORT")
# shellcheck disable=SC1091
S2=$(. "$STATE/emu2/emulator.env" && echo "$EMU_SSH_PORT")
cat "$STATE/emu1/known_hosts" "$STATE/emu2/known_hosts" >"$STATE/known_hosts"
# The driver's secretDir, laid out as the kind-vm overlay's Secret mcs-emulator-credentials.
printf superuser >"$STATE/secret/username"
cp "$STATE/emu1/password" "$STATE/secret/password"
cp "$STATE/known_hosts" "$STATE/secret/known_hosts"
sed -e "s#10.0.2.100:2222#127.0.0.1:$S1#; s#10.0.2.102:2222#127.0.0.1:$S2#" \
	-e "s#/etc/instorage/secrets/emulator#$STATE/secret#g; s#/var/lib/csi-instorage/lock#$STATE/lock#" \
	-e "s#^    type: AS18000#    type: AS18000\n    barrierPath: $STATE/barrier#" \
	"$REPO/deploy/kubernetes/overlays/kind-vm/instorage.yaml" >"$STATE/instorage.yaml"

vm_log "driver (controller mode), csi-provisioner, csi-resizer"
(cd "$REPO" && timeout 900 go build -o "$STATE/instorage-csi" ./driver/cmd/instorage-csi)
start driver "$STATE/instorage-csi" --endpoint="unix://$STATE/csi.sock" --mode=controller \
	--driver-name=csi-instorage --node-id=controlplane-host --config="$STATE/instorage.yaml" --v=4
for i in $(seq 121); do
	((i < 121)) || vm_die "driver socket missing after 60 s (see $STATE/logs/driver.log)"
	[ -S "$STATE/csi.sock" ] && break
	sleep 0.5
done
start csi-provisioner "$SIDECARS/bin/csi-provisioner" --csi-address="$STATE/csi.sock" --kubeconfig="$KUBECONFIG" \
	--timeout=120s --extra-create-metadata --default-fstype=ext4 --v=2
start csi-resizer "$SIDECARS/bin/csi-resizer" --csi-address="$STATE/csi.sock" --kubeconfig="$KUBECONFIG" \
	--timeout=300s --handle-volume-inuse-error=false --v=2
k apply -k "$SIDECARS/crd" >/dev/null
k wait --for=condition=Established --timeout=100s crd/volumesnapshotcontents.snapshot.storage.k8s.io >/dev/null
k apply -f "$REPO/deploy/kubernetes/base/csidriver.yaml" \
	-f "$REPO/deploy/kubernetes/components/e2e-classes/storageclasses.yaml" >/dev/null

vm_log "e2e suite, label controlplane (arrays storage-01=127.0.0.1:$S1, storage-02=127.0.0.1:$S2)"
rc=0
# shellcheck disable=SC2086
(cd "$REPO" && go test -v -count=1 -timeout 30m ./e2e -args -kubeconfig="$KUBECONFIG" -timeout=3m \
	-arrays "storage-01=127.0.0.1:$S1,storage-02=127.0.0.1:$S2" -array-user superuser \
	-array-password-file "$STATE/emu1/password" -array-known-hosts "$STATE/known_hosts" \
	-ginkgo.label-filter=controlplane -ginkgo.skip=snapshot -ginkgo.v -ginkgo.no-color ${GINKGO_ARGS:-}) 2>&1 |
	tee "$STATE/logs/e2e.log" || rc=$?
vm_log "suite rc=$rc; logs in $STATE/logs"
exit "$rc"
