#!/usr/bin/env bash
# make demo: build, start the emulator (two I/O groups on two sites, two
# pools) and the driver in all-in-one mode against it, then walk through the
# CSI API printing what changes on the array. Leaves the emulator (and its
# web console) running; `scripts/demo/demo.sh stop` stops everything.
#
# Environment: DEMO_DIR (default .cache/demo), DEMO_SSH_PORT (2222),
# DEMO_CONTROL_PORT (2280), DEMO_METRICS_PORT (9809).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DEMO_DIR="${DEMO_DIR:-$ROOT/.cache/demo}"
SSH_PORT="${DEMO_SSH_PORT:-2222}"
CONTROL_PORT="${DEMO_CONTROL_PORT:-2280}"
METRICS_PORT="${DEMO_METRICS_PORT:-9809}"
BIN="$ROOT/bin"
SOCK="$DEMO_DIR/csi.sock"

stop() {
	if [[ -f "$DEMO_DIR/driver.pid" ]]; then
		kill "$(cat "$DEMO_DIR/driver.pid")" 2>/dev/null || true
		rm -f "$DEMO_DIR/driver.pid"
	fi
	STATE_DIR="$DEMO_DIR/emulator" BIN="$BIN/mcs-emulator" "$ROOT/scripts/emulator/emulator.sh" stop || true
}

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
	local deadline=$((SECONDS + $1)) what=$2
	shift 2
	until "$@" >/dev/null 2>&1; do
		if ((SECONDS > deadline)); then
			echo "demo: timed out waiting for $what" >&2
			return 1
		fi
		sleep 0.2
	done
}

if [[ "${1:-}" == stop ]]; then
	stop
	exit 0
fi

start=$SECONDS
echo "== building"
mkdir -p "$BIN"
(cd "$ROOT" && go build -o "$BIN/mcs-emulator" ./emulator/cmd/mcs-emulator &&
	go build -o "$BIN/instorage-csi" ./driver/cmd/instorage-csi &&
	go build -o "$BIN/csi-walkthrough" ./scripts/demo/walkthrough)

stop
rm -rf "$DEMO_DIR"
mkdir -p "$DEMO_DIR"
password="demo-$(head -c 9 /dev/urandom | base64 | tr -d '/+=')"

echo "== starting the emulator (two-site topology) on 127.0.0.1:$SSH_PORT"
STATE_DIR="$DEMO_DIR/emulator" BIN="$BIN/mcs-emulator" "$ROOT/scripts/emulator/emulator.sh" start \
	--preset two-site --user "admin:$password" --ssh-addr "127.0.0.1:$SSH_PORT" \
	--control-addr "127.0.0.1:$CONTROL_PORT" --iscsi-port -1

umask 077
cat >"$DEMO_DIR/instorage.yaml" <<YAML
log:
  enabled: false
host:
  link: iscsi
storage:
  - name: demo-array
    type: AS18000
    host: 127.0.0.1:$SSH_PORT
    username: admin
    password: "$password"
    knownHostsFile: $DEMO_DIR/emulator/known_hosts
task:
  maxCreateVolumeNumber: 4
YAML

echo "== starting instorage-csi (all-in-one) on $SOCK"
nohup "$BIN/instorage-csi" --mode all-in-one --endpoint "unix://$SOCK" --node-id demo-node \
	--config "$DEMO_DIR/instorage.yaml" --metrics-addr "127.0.0.1:$METRICS_PORT" \
	>"$DEMO_DIR/driver.log" 2>&1 </dev/null &
echo $! >"$DEMO_DIR/driver.pid"
if ! wait_for 30 "the driver socket" test -S "$SOCK"; then
	tail -n 30 "$DEMO_DIR/driver.log" >&2
	exit 1
fi

checkpoint=()
if [[ "${DEMO_BROWSER_TEST:-auto}" != off ]] && { [[ "${DEMO_BROWSER_TEST:-auto}" == on ]] || command -v chromium >/dev/null; }; then
	# While the demo's objects exist, load the web console in headless Chromium.
	checkpoint=(-- "$ROOT/scripts/demo/browser-test.sh" "http://127.0.0.1:$CONTROL_PORT/" "$DEMO_DIR/console.png"
		pvc-demo-data pvc-demo-clone pvc-demo-restore snapshot-demo-1 demo-node Pool0 Pool1 io_grp1 mkvdiskhostmap)
fi
"$BIN/csi-walkthrough" --endpoint "unix://$SOCK" --config "$DEMO_DIR/instorage.yaml" "${checkpoint[@]}"

echo
echo "== metrics (non-zero counters of what the walkthrough did)"
echo "driver   http://127.0.0.1:$METRICS_PORT/metrics:"
curl -fsS "http://127.0.0.1:$METRICS_PORT/metrics" >"$DEMO_DIR/driver-metrics.txt"
grep -E '^csi_plugin_operations_seconds_count|^instorage_ssh_dials_total' "$DEMO_DIR/driver-metrics.txt" | grep -v ' 0$' | sed 's/^/   /'
echo "emulator http://127.0.0.1:$CONTROL_PORT/metrics:"
curl -fsS "http://127.0.0.1:$CONTROL_PORT/metrics" >"$DEMO_DIR/emulator-metrics.txt"
grep -E '^mcs_emulator_commands_total|^mcs_emulator_ssh_connections_total' "$DEMO_DIR/emulator-metrics.txt" | grep -v ' 0$' | sed 's/^/   /'
# The demo's promise: both endpoints counted what was done.
grep -qE '^csi_plugin_operations_seconds_count\{.*CreateVolume.*\} [1-9]' "$DEMO_DIR/driver-metrics.txt"
grep -qE '^mcs_emulator_commands_total\{.*mkvdisk.*\} [1-9]' "$DEMO_DIR/emulator-metrics.txt"

echo
echo "demo finished in $((SECONDS - start)) s"
echo "web console:   http://127.0.0.1:$CONTROL_PORT/"
echo "array CLI:     ssh -p $SSH_PORT -o UserKnownHostsFile=$DEMO_DIR/emulator/known_hosts admin@127.0.0.1 'mcsinq lsvdisk -delim !'   (password in $DEMO_DIR/instorage.yaml)"
echo "stop it all:   scripts/demo/demo.sh stop"
