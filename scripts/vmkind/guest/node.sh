#!/usr/bin/env bash
# Guest side of scripts/vmkind/e2e.sh: turn the VM into a worker node of the kind cluster on the
# host (run by scripts/vm/run.sh exec; cwd /mnt/share). Steps, one per call so the host can time
# and log each:
#   node.sh join NAME NODE_IP KIND_SUBNET
#                               containerd + kubelet in the VM's initial namespaces, TLS bootstrap
#                               against the apiserver at 10.0.2.200:6443 (slirp guestfwd to kind's
#                               port on the host) with share/bootstrap.kubeconfig and share/ca.crt;
#                               NODE_IP is the host's kind-bridge address, where qemu forwards
#                               :10250 to this kubelet (apiserver -> kubelet for exec/logs);
#                               KIND_SUBNET is the kind network, routed back through slirp
#   node.sh images ARCHIVE      import a docker-save archive into the node's containerd (k8s.io)
#   node.sh logs DIR            kubelet/containerd logs, iSCSI sessions, multipath maps, dmesg
# iscsid and multipathd are the VM's own daemons (vm-init), as on any production node.
set -euo pipefail
up() { cut -d' ' -f1 /proc/uptime; }
step() { echo "=== [guest $(up)s] $*"; }
SOCK=/run/containerd/containerd.sock
K=/var/lib/k8s # the scratch disk (/dev/vdb): containerd's root and the kubelet's

cmd=${1:?join|images|logs}
shift
case $cmd in
join)
	name=$1 node_ip=$2 kind_subnet=$3
	step "modules, sysctls, scratch disk"
	# loop: kubelet holds every raw block volume it maps open through a loop device (losetup -f).
	modprobe -a overlay br_netfilter veth bridge loop nf_conntrack ip_tables iptable_filter iptable_nat \
		nf_tables nft_compat xt_conntrack xt_MASQUERADE xt_addrtype xt_comment xt_mark ext4 xfs
	sysctl -qw net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1 \
		fs.inotify.max_user_watches=524288 fs.inotify.max_user_instances=512
	[ -b /dev/vdb ] || { echo "no /dev/vdb: run.sh --disk <scratch disk>"; exit 1; }
	mkdir -p $K
	mountpoint -q $K || timeout 120 mount -o noatime /dev/vdb $K
	mkdir -p $K/containerd $K/kubelet /var/lib/kubelet /etc/kubernetes/pki /etc/cni/net.d /opt/cni/bin \
		/var/log/k8s /host/proc /host/dev
	mountpoint -q /var/lib/kubelet || mount --bind $K/kubelet /var/lib/kubelet
	# The node plugin's host-exec component (deploy/kubernetes/components/node-host-exec) expects
	# the iSCSI host's /proc and live /dev at /host/proc and /host/dev, as kind nodes provide them;
	# here the kubelet runs on that host itself.
	mountpoint -q /host/proc || mount --rbind /proc /host/proc
	mountpoint -q /host/dev || mount --rbind /dev /host/dev
	# The kubelet registers with NODE_IP (it must be a local address): the host's address on the
	# kind bridge, where qemu's hostfwd listens for the apiserver's kubelet connections.
	ip addr show dev lo | grep -q " $node_ip/32" || ip addr add "$node_ip/32" dev lo
	# slirp hands a hostfwd connection to the guest with its real source address unless that is
	# loopback: the apiserver's (a kind node's) replies must go back through slirp, which has no
	# default route here (on purpose: nothing else may leave the VM).
	ip route replace "$kind_subnet" via 10.0.2.2 dev eth0
	[ -s /etc/resolv.conf ] || echo "nameserver 127.0.0.1" >/etc/resolv.conf
	cp /mnt/share/bin/kubelet /usr/local/bin/kubelet
	cp /usr/lib/cni/* /opt/cni/bin/
	install -m 0644 /mnt/share/ca.crt /etc/kubernetes/pki/ca.crt
	install -m 0600 /mnt/share/bootstrap.kubeconfig /etc/kubernetes/bootstrap-kubelet.conf

	step "containerd $(containerd --version | awk '{print $3}')"
	pause=$(cat /mnt/share/pause-image)
	mkdir -p /etc/containerd
	cat >/etc/containerd/config.toml <<EOT
version = 2
root = "$K/containerd"
state = "/run/containerd"
[grpc]
  address = "$SOCK"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$pause"
[plugins."io.containerd.grpc.v1.cri".containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
[plugins."io.containerd.grpc.v1.cri".cni]
  bin_dir = "/opt/cni/bin"
  conf_dir = "/etc/cni/net.d"
EOT
	# Pods here need no network beyond the node (the node plugin is hostNetwork; test pods only do
	# I/O): a local bridge, in a range no other node's pods use.
	cat >/etc/cni/net.d/10-bridge.conflist <<'EOT'
{"cniVersion":"1.0.0","name":"vmnode","plugins":[
 {"type":"bridge","bridge":"cni0","isGateway":true,"ipMasq":false,"hairpinMode":true,
  "ipam":{"type":"host-local","ranges":[[{"subnet":"10.244.250.0/24"}]],"routes":[{"dst":"0.0.0.0/0"}]}},
 {"type":"portmap","capabilities":{"portMappings":true}}]}
EOT
	if ! timeout 10 ctr -a $SOCK version >/dev/null 2>&1; then
		# setsid + every fd redirected: the daemons must outlive this job and not hold its pipe.
		setsid containerd --config /etc/containerd/config.toml </dev/null >/var/log/k8s/containerd.log 2>&1 &
		for i in $(seq 240); do
			timeout 10 ctr -a $SOCK version >/dev/null 2>&1 && break
			((i < 240)) || { tail -30 /var/log/k8s/containerd.log; echo "containerd not up after 120 s"; exit 1; }
			sleep 0.5
		done
	fi

	step "kubelet $(kubelet --version | awk '{print $2}') as node $name ($node_ip)"
	cat >/etc/kubernetes/kubelet.yaml <<EOT
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$SOCK
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: /etc/kubernetes/pki/ca.crt}
authorization: {mode: Webhook}
clusterDNS: [10.96.0.10]
clusterDomain: cluster.local
resolvConf: /etc/resolv.conf
failSwapOn: false
rotateCertificates: true
# A TCG guest is slow: image unpacks and the first container starts take minutes, not seconds.
runtimeRequestTimeout: 15m0s
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%"}
imageGCHighThresholdPercent: 100
EOT
	if ! pgrep -x kubelet >/dev/null; then
		setsid kubelet --config /etc/kubernetes/kubelet.yaml \
			--bootstrap-kubeconfig /etc/kubernetes/bootstrap-kubelet.conf \
			--kubeconfig /etc/kubernetes/kubelet.conf --cert-dir /var/lib/kubelet/pki \
			--hostname-override "$name" --node-ip "$node_ip" --v=2 \
			</dev/null >/var/log/k8s/kubelet.log 2>&1 &
	fi
	for i in $(seq 240); do
		[ -s /etc/kubernetes/kubelet.conf ] && break
		pgrep -x kubelet >/dev/null || { tail -40 /var/log/k8s/kubelet.log; echo "kubelet exited"; exit 1; }
		((i < 240)) || { tail -40 /var/log/k8s/kubelet.log; echo "no client certificate after 120 s"; exit 1; }
		sleep 0.5
	done
	step "kubelet bootstrapped (client certificate issued)"
	;;
images)
	for a in "$@"; do
		step "ctr import $a ($(du -h "$a" | cut -f1))"
		timeout 1500 ctr -a $SOCK -n k8s.io images import "$a" | sed 's/^/  /'
	done
	step "imported"
	;;
logs)
	dir=$1
	mkdir -p "$dir"
	cp /var/log/k8s/*.log "$dir/" 2>/dev/null || true
	{
		echo "# iscsiadm -m session"; timeout 30 iscsiadm -m session -P 1 2>&1 || true
		echo "# multipath -ll"; timeout 30 multipath -ll 2>&1 || true
		echo "# lsblk"; lsblk 2>&1 || true
		echo "# mounts"; grep -v ' /proc\| /sys\| cgroup' /proc/mounts || true
		echo "# free -m"; free -m; echo "# df -h"; df -h; echo "# loadavg"; cat /proc/loadavg
		echo "# crictl-less container list"; timeout 30 ctr -a $SOCK -n k8s.io containers ls 2>&1 || true
	} >"$dir/vm-state.txt" 2>&1
	dmesg >"$dir/dmesg.txt" 2>&1 || true
	;;
*)
	echo "unknown step $cmd" >&2
	exit 2
	;;
esac
