#!/usr/bin/env bash
# Start/stop mcs-emulator in the background with a pidfile, for demos and tests.
#
#   scripts/emulator/emulator.sh start [serve flags...]   # e.g. --user admin:secret
#   scripts/emulator/emulator.sh status
#   scripts/emulator/emulator.sh stop
#
# Environment: STATE_DIR (default .cache/emulator), BIN (default bin/mcs-emulator,
# built with `go build` when missing), READY_TIMEOUT seconds (default 60).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STATE_DIR="${STATE_DIR:-$ROOT/.cache/emulator}"
BIN="${BIN:-$ROOT/bin/mcs-emulator}"
READY_TIMEOUT="${READY_TIMEOUT:-60}"
PIDFILE="$STATE_DIR/mcs-emulator.pid"
OUT="$STATE_DIR/mcs-emulator.out"
LOG="$STATE_DIR/mcs-emulator.log"

running() {
	[[ -f "$PIDFILE" ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null
}

start() {
	if running; then
		echo "mcs-emulator already running (pid $(cat "$PIDFILE"))"
		grep '^mcs-emulator ready' "$OUT" || true
		return 0
	fi
	if [[ ! -x "$BIN" ]]; then
		mkdir -p "$(dirname "$BIN")"
		(cd "$ROOT" && go build -o "$BIN" ./emulator/cmd/mcs-emulator)
	fi
	mkdir -p "$STATE_DIR"
	: >"$OUT"
	nohup "$BIN" serve --state-dir "$STATE_DIR" "$@" >"$OUT" 2>"$LOG" </dev/null &
	echo $! >"$PIDFILE"
	local deadline=$((SECONDS + READY_TIMEOUT))
	until grep -q '^mcs-emulator ready' "$OUT"; do
		if ! running; then
			echo "mcs-emulator exited during start; last log lines:" >&2
			tail -n 20 "$LOG" >&2
			rm -f "$PIDFILE"
			return 1
		fi
		if ((SECONDS > deadline)); then
			echo "mcs-emulator not ready after ${READY_TIMEOUT}s; see $LOG" >&2
			return 1
		fi
		sleep 0.2
	done
	grep '^mcs-emulator ready' "$OUT"
	echo "pid $(cat "$PIDFILE"), log $LOG, known_hosts $STATE_DIR/known_hosts"
}

stop() {
	if ! running; then
		echo "mcs-emulator not running"
		rm -f "$PIDFILE"
		return 0
	fi
	local pid
	pid="$(cat "$PIDFILE")"
	kill -TERM "$pid"
	for _ in $(seq 1 75); do
		kill -0 "$pid" 2>/dev/null || { rm -f "$PIDFILE"; echo "stopped"; return 0; }
		sleep 0.2
	done
	echo "no exit 15s after SIGTERM; sending SIGKILL" >&2
	kill -KILL "$pid" 2>/dev/null || true
	rm -f "$PIDFILE"
}

status() {
	if running; then
		echo "running (pid $(cat "$PIDFILE"))"
		grep '^mcs-emulator ready' "$OUT" || true
	else
		echo "not running"
		return 1
	fi
}

cmd="${1:-}"
shift || true
case "$cmd" in
start) start "$@" ;;
stop) stop ;;
status) status ;;
*)
	echo "usage: $0 start [serve flags...] | stop | status" >&2
	exit 2
	;;
esac
