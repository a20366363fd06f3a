#!/usr/bin/env bash
# Guest side of the kind VM (run by scripts/vm/run.sh exec; cwd /mnt/share, which holds bin/kind
# and the files the host passes). One step per call, so the host can time and log each:
#   kind.sh dockerd                  kernel modules + sysctls for docker/kube-proxy/CNI, /dev/vdb
#                                    (the pre-loaded data-root) on /var/lib/docker, dockerd started
#   kind.sh create NAME IMAGE CONFIG kind create cluster; writes kubeconfig-vm (server 0.0.0.0:6443)
#   kind.sh load NAME ARCHIVE...     kind load image-archive (docker save output from the host)
#   kind.sh logs NAME DIR            kind export logs + dockerd log + iscsi/multipath state into DIR
#   kind.sh delete NAME              kind delete cluster (before poweroff, so nothing dangles)
set -euo pipefail
export PATH=/mnt/share/bin:$PATH
up() { cut -d' ' -f1 /proc/uptime; }
step() { echo "=== [guest $(up)s] $*"; }

cmd=${1:?dockerd|create|load|logs|delete}
shift
case $cmd in
dockerd)
	step "modules and sysctls"
	modprobe -a overlay br_netfilter veth bridge nf_conntrack ip_tables iptable_filter iptable_nat \
		iptable_mangle iptable_raw ip6_tables ip6table_filter ip6table_nat ip6table_mangle nf_tables \
		nft_compat nft_chain_nat nft_ct nft_masq nft_nat nft_reject_inet xt_conntrack xt_MASQUERADE \
		xt_addrtype xt_comment xt_mark xt_multiport xt_nat xt_statistic xt_tcpudp xt_set ip_set \
		ipt_REJECT ip6t_REJECT nf_reject_ipv4 xt_physdev tun loop ext4 xfs
	sysctl -qw net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1 \
		net.bridge.bridge-nf-call-ip6tables=1 fs.inotify.max_user_watches=524288 \
		fs.inotify.max_user_instances=512 kernel.pid_max=4194304
	step "data-root /dev/vdb on /var/lib/docker"
	[ -b /dev/vdb ] || { echo "no /dev/vdb: run.sh --disk <data-root disk>"; exit 1; }
	mkdir -p /var/lib/docker
	mountpoint -q /var/lib/docker || timeout 120 mount -o noatime /dev/vdb /var/lib/docker
	if ! timeout 10 docker info >/dev/null 2>&1; then
		step "starting dockerd"
		# setsid + every fd redirected: the daemon must outlive this job and not hold its output pipe.
		setsid dockerd --storage-driver overlay2 </dev/null >/var/log/dockerd.log 2>&1 &
		for i in $(seq 600); do
			timeout 10 docker info >/dev/null 2>&1 && break
			((i < 600)) || { tail -30 /var/log/dockerd.log; echo "dockerd not up after 300 s"; exit 1; }
			sleep 0.5
		done
	fi
	step "dockerd $(docker version -f '{{.Server.Version}}') up; images:"
	docker images --format '  {{.Repository}}:{{.Tag}} {{.Size}}'
	;;
create)
	name=$1 image=$2 config=$3
	timeout 60 docker image inspect "$image" >/dev/null || { echo "$image not in the VM's dockerd"; exit 1; }
	timeout 300 kind delete cluster --name "$name" >/dev/null 2>&1 || true
	step "kind create cluster $name ($image)"
	# --retain: a failed node stays for `kind export logs`; the VM is thrown away anyway.
	timeout 3500 kind create cluster --name "$name" --image "$image" --config "$config" --retain \
		--wait 20m --kubeconfig /root/kubeconfig
	cp /root/kubeconfig kubeconfig-vm
	step "cluster up"
	;;
load)
	name=$1
	shift
	for a in "$@"; do
		step "kind load image-archive $a"
		timeout 1200 kind load image-archive --name "$name" "$a"
	done
	step "loaded"
	;;
logs)
	name=$1 dir=$2
	mkdir -p "$dir"
	timeout 600 kind export logs "$dir/kind" --name "$name" >/dev/null 2>&1 || echo "kind export logs failed"
	cp /var/log/dockerd.log "$dir/" 2>/dev/null || true
	{
		echo "# iscsiadm -m session"; timeout 30 iscsiadm -m session -P 1 2>&1 || true
		echo "# multipath -ll"; timeout 30 multipath -ll 2>&1 || true
		echo "# lsblk"; lsblk 2>&1 || true
		echo "# free -m"; free -m; echo "# df -h"; df -h; echo "# loadavg"; cat /proc/loadavg
		echo "# docker stats"; timeout 30 docker stats --no-stream 2>&1 || true
	} >"$dir/vm-state.txt" 2>&1
	dmesg >"$dir/dmesg.txt" 2>&1 || true
	;;
delete)
	timeout 600 kind delete cluster --name "$1" || true
	;;
*)
	echo "unknown step $cmd" >&2
	exit 2
	;;
esac
