#!/usr/bin/env bash
# mcs-emulator on the host, set up to be used from the test VM (run.sh):
#   emulator.sh up DIR        start it (state, keys, config and logs in DIR); prints DIR/emulator.env
#   emulator.sh cli DIR CMD…  run one array CLI command over SSH (pinned host key, key auth)
#   emulator.sh down DIR      stop it (by pid)
# Its iSCSI portals listen on 127.0.0.1:P and 127.0.0.2:P (P = EMU_ISCSI_PORT, default the first
# free port from 13270) and are
# advertised in SendTargets as 10.0.2.100:3260 / 10.0.2.101:3260, the addresses run.sh forwards
# (start the VM with --portal-port P --ssh-port S). SSH listens on 127.0.0.1:S (EMU_SSH_PORT, first
# free from 12222; EMU_SSH_HOST moves it, e.g. to a docker bridge's address for a containerised
# controller), seen from the guest as 10.0.2.100:2222.
#
# DIR/emulator.env (shell syntax) gives what a driver config or a test needs:
#   EMU_PID EMU_SSH_PORT EMU_ISCSI_PORT EMU_USER EMU_PASSWORD_FILE EMU_KEY (private key)
#   EMU_SSH_HOST EMU_KNOWN_HOSTS (for EMU_SSH_HOST:S) EMU_GUEST_KNOWN_HOSTS (for 10.0.2.100:2222) EMU_FINGERPRINT
# Env: EMULATOR (binary; default: go build into DIR)  EMU_PRESET (default|two-site)
#      EMU_TOPOLOGY (YAML file: the config's topology, replacing the preset; two arrays seen by one
#        initiator need distinct clusterIDs, since the vdisk_UID, hence the multipath WWID, embeds it)
#      EMU_ADVERTISE (guest-visible portal pair "A:P,B:P"; default 10.0.2.100:3260,10.0.2.101:3260)
#      EMU_GUEST_SSH (guest-visible SSH address pinned in guest_known_hosts; default 10.0.2.100:2222)
# A second array for the same VM takes another pair (e.g. 10.0.2.102/103, SSH 10.0.2.102:2222) and
# run.sh --fwd lines for it. A DIR/password written before "up" is kept (arrays sharing a secret).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
cmd=${1:?up|cli|down} D=${2:?state dir}
shift 2

cli() {
	# shellcheck disable=SC1091
	. "$D/emulator.env"
	timeout 60 ssh -q -i "$EMU_KEY" -p "$EMU_SSH_PORT" -o BatchMode=yes -o StrictHostKeyChecking=yes \
		-o UserKnownHostsFile="$EMU_KNOWN_HOSTS" -o ConnectTimeout=10 "$EMU_USER@${EMU_SSH_HOST:-127.0.0.1}" "$*"
}

case $cmd in
cli)
	cli "$@"
	exit
	;;
down)
	pid=$(cat "$D/emulator.pid" 2>/dev/null) || exit 0
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null || true
	rm -f "$D/emulator.pid"
	exit 0
	;;
up) ;;
*) vm_die "usage: emulator.sh up|cli|down DIR" ;;
esac

ISCSI_PORT=${EMU_ISCSI_PORT:-$(vm_free_port 13270)} SSH_PORT=${EMU_SSH_PORT:-$(vm_free_port 12222)} USER_NAME=superuser
SSH_HOST=${EMU_SSH_HOST:-127.0.0.1}
[[ $ISCSI_PORT =~ ^[0-9]+$ && $SSH_PORT =~ ^[0-9]+$ ]] || vm_die "ports must be numbers"
[[ $SSH_HOST =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]] || vm_die "EMU_SSH_HOST: want an IPv4 address, got $SSH_HOST"
ADVERTISE=${EMU_ADVERTISE:-10.0.2.100:3260,10.0.2.101:3260} GUEST_SSH=${EMU_GUEST_SSH:-10.0.2.100:2222}
[[ $ADVERTISE =~ ^([0-9.]+:[0-9]+),([0-9.]+:[0-9]+)$ ]] || vm_die "EMU_ADVERTISE: want A:P,B:P, got $ADVERTISE"
ADV1=${BASH_REMATCH[1]} ADV2=${BASH_REMATCH[2]}
[[ $GUEST_SSH =~ ^[0-9.]+:[0-9]+$ ]] || vm_die "EMU_GUEST_SSH: want IP:PORT, got $GUEST_SSH"
vm_apt_install openssh-client socat
mkdir -p "$D"
D=$(cd "$D" && pwd)
[ -f "$D/emulator.pid" ] && kill -0 "$(cat "$D/emulator.pid")" 2>/dev/null && vm_die "an emulator already runs for $D"
EMULATOR=${EMULATOR:-}
if [ -z "$EMULATOR" ]; then
	EMULATOR=$D/mcs-emulator
	export PATH=$PATH:/usr/local/go/bin
	(cd "$REPO" && timeout 900 go build -o "$EMULATOR" ./emulator/cmd/mcs-emulator) || vm_die "go build mcs-emulator failed"
fi
[ -f "$D/id" ] || ssh-keygen -q -t ed25519 -N '' -C vm-harness -f "$D/id"
[ -f "$D/password" ] || (umask 077 && head -c 18 /dev/urandom | base64 >"$D/password")
cat >"$D/emulator.yaml" <<YAML
stateDir: $D/array
ssh:
  addr: $SSH_HOST:$SSH_PORT
control:
  addr: "off"
users:
  - name: $USER_NAME
    passwordFile: $D/password
    authorizedKeysFile: $D/id.pub
$(if [ -n "${EMU_TOPOLOGY:-}" ]; then echo "topology:"; sed 's/^/  /' "$EMU_TOPOLOGY"; else echo "preset: ${EMU_PRESET:-default}"; fi)
iscsi:
  enabled: true
  port: $ISCSI_PORT
  advertise:
    "127.0.0.1:$ISCSI_PORT": "$ADV1"
    "127.0.0.2:$ISCSI_PORT": "$ADV2"
YAML
"$EMULATOR" serve --config "$D/emulator.yaml" >"$D/emulator.log" 2>&1 &
echo $! >"$D/emulator.pid"
HOSTKEY=$D/array/ssh_host_ed25519_key
for i in $(seq 151); do
	((i < 151)) || { "$0" down "$D"; vm_die "mcs-emulator not listening on $SSH_HOST:$SSH_PORT after 30 s"; }
	kill -0 "$(cat "$D/emulator.pid")" 2>/dev/null || { tail -20 "$D/emulator.log" >&2; vm_die "mcs-emulator exited"; }
	[ -s "$HOSTKEY" ] && timeout 2 socat -u /dev/null "TCP:$SSH_HOST:$SSH_PORT" 2>/dev/null && break
	sleep 0.2
done
# Host keys are pinned from the key file the emulator wrote, never learnt from the wire.
pub=$(ssh-keygen -y -f "$HOSTKEY")
echo "[$SSH_HOST]:$SSH_PORT $pub" >"$D/known_hosts"
echo "[${GUEST_SSH%:*}]:${GUEST_SSH##*:} $pub" >"$D/guest_known_hosts"
cat >"$D/emulator.env" <<ENV
EMU_PID=$(cat "$D/emulator.pid")
EMU_SSH_HOST=$SSH_HOST
EMU_SSH_PORT=$SSH_PORT
EMU_ISCSI_PORT=$ISCSI_PORT
EMU_USER=$USER_NAME
EMU_PASSWORD_FILE=$D/password
EMU_KEY=$D/id
EMU_KNOWN_HOSTS=$D/known_hosts
EMU_GUEST_KNOWN_HOSTS=$D/guest_known_hosts
EMU_GUEST_SSH=$GUEST_SSH
EMU_ADVERTISE=$ADVERTISE
EMU_FINGERPRINT=$(ssh-keygen -l -E sha256 -f "$D/known_hosts" | awk '{print $2}')
ENV
cli mcsinq lssystem -delim ! >/dev/null || { "$0" down "$D"; vm_die "CLI over SSH does not answer"; }
# A portal that cannot bind stops the emulator (caught above); no listener here means the build
# has the target disabled. Callers may fall back to tgt.sh then, so this only warns.
for a in 127.0.0.1 127.0.0.2; do
	vm_listening "$a:$ISCSI_PORT" || vm_log "WARNING: no iSCSI portal on $a:$ISCSI_PORT"
done
vm_log "mcs-emulator up (pid $(cat "$D/emulator.pid"), ssh $SSH_HOST:$SSH_PORT, portals 127.0.0.{1,2}:$ISCSI_PORT)"
echo "$D/emulator.env"
