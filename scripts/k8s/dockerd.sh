#!/usr/bin/env bash
# dockerd.sh start|stop|env — a private dockerd for image builds and kind, so the
# machine's own docker (if any) is never reconfigured. Its default runtime is
# runc-nosysres (privileged containers on hosts missing CAP_SYS_RESOURCE).
# Use it with: eval "$(scripts/k8s/dockerd.sh env)"
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
STATE=${INSTORAGE_DOCKER_STATE:-/var/lib/instorage-csi-docker}
RUN=/run/instorage-csi-docker
SOCK=$RUN/docker.sock
BRIDGE=iscsi-dk0
SUBNET=${INSTORAGE_DOCKER_SUBNET:-172.30.0.1/24}

up() { docker -H "unix://$SOCK" version >/dev/null 2>&1; }

case ${1:-} in
start)
	if up; then echo "dockerd already up on $SOCK"; exit 0; fi
	command -v dockerd >/dev/null || PATH=$PATH:/usr/sbin
	mkdir -p "$STATE" "$RUN"
	install -m 0755 "$HERE/runc-nosysres" "$RUN/runc-nosysres"
	ip link show "$BRIDGE" >/dev/null 2>&1 || {
		ip link add "$BRIDGE" type bridge
		ip addr add "$SUBNET" dev "$BRIDGE"
		ip link set "$BRIDGE" up
	}
	cat >"$RUN/daemon.json" <<EOT
{ "runtimes": {"runc-nosysres": {"path": "$RUN/runc-nosysres"}},
  "default-runtime": "runc-nosysres" }
EOT
	# iptables off: nothing here needs NAT to the outside, and the host's rules stay untouched.
	nohup dockerd --config-file "$RUN/daemon.json" -H "unix://$SOCK" \
		--data-root "$STATE/data" --exec-root "$RUN/exec" --pidfile "$RUN/dockerd.pid" \
		--bridge "$BRIDGE" --iptables=false --ip-masq=false >"$RUN/dockerd.log" 2>&1 &
	for _ in $(seq 60); do
		if up; then echo "dockerd up on $SOCK"; exit 0; fi
		sleep 1
	done
	tail -20 "$RUN/dockerd.log" >&2
	exit 1
	;;
stop)
	if [[ -f $RUN/dockerd.pid ]]; then
		pid=$(cat "$RUN/dockerd.pid")
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
	fi
	ip link del "$BRIDGE" 2>/dev/null || true
	;;
env)
	echo "export DOCKER_HOST=unix://$SOCK DOCKER_BUILDKIT=0"
	;;
*)
	echo "usage: $0 start|stop|env" >&2
	exit 2
	;;
esac
