#!/usr/bin/env bash
# Boot the real-kernel test VM under qemu TCG and run job scripts inside it. See README.md.
#
#   run.sh [OPTIONS] --job FILE [--job FILE ...]   boot, run the jobs in order, power off; exit code =
#                                                   the first failing job's (0 if all pass)
#   run.sh start [OPTIONS]                          boot in the background, wait until ready,
#                                                   print the state dir (pass it as --state / VM_STATE)
#   run.sh exec [--state DIR] [--timeout S] [--env K=V]... FILE [ARG...]
#                                                   run one job in a started VM, stream its output
#   run.sh stop [--state DIR]                       kill the VM (always safe; idempotent)
#
# OPTIONS: --share DIR (mounted rw at /mnt/share, the jobs' cwd)  --mem 2G  --smp 2
#   --timeout S (per job, 600)  --boot-timeout S (300)
#   --max-life S (qemu hard limit; one-shot: boot + jobs' timeouts; start: 7200)
#   --state DIR  --image DIR (skip build.sh)  --iqn IQN (guest initiator name)
#   --portal-port P (host port of both portals, 3260)  --ssh-port P (host port of the emulator SSH, 2222)
#   --fwd GUESTIP:PORT=HOSTIP:PORT (extra guest->host forward)  --hostfwd HOSTIP:PORT=GUESTPORT
#   --env K=V (exported to every job)
#   --disk FILE (extra raw disk, /dev/vdb, /dev/vdc… in order; snapshot=on: guest writes are thrown away)
# Env: VM_KERNEL_ARGS (extra kernel command line; default "quiet")
# Exit codes: job's own; 124 job timed out; 125 VM failed (no boot / died).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

MODE=oneshot
case ${1:-} in start | exec | stop) MODE=$1; shift ;; esac

SHARE='' MEM=2G SMP=2 TMO=600 BOOT_TMO=300 MAX_LIFE='' STATE=${VM_STATE:-} IMAGE='' IQN=''
PORTAL_PORT=3260 SSH_PORT=2222
JOBS=() FWDS=() HOSTFWDS=() ENVS=() DISKS=()
while (($#)); do
	case $1 in
	--share) SHARE=$(cd "$2" && pwd); shift 2 ;;
	--mem) MEM=$2; shift 2 ;;
	--smp) SMP=$2; shift 2 ;;
	--timeout) TMO=$2; shift 2 ;;
	--boot-timeout) BOOT_TMO=$2; shift 2 ;;
	--max-life) MAX_LIFE=$2; shift 2 ;;
	--state) STATE=$2; shift 2 ;;
	--image) IMAGE=$2; shift 2 ;;
	--iqn) IQN=$2; shift 2 ;;
	--portal-port) PORTAL_PORT=$2; shift 2 ;;
	--ssh-port) SSH_PORT=$2; shift 2 ;;
	--fwd) FWDS+=("$2"); shift 2 ;;
	--hostfwd) HOSTFWDS+=("$2"); shift 2 ;;
	--env) ENVS+=("$2"); shift 2 ;;
	--disk) DISKS+=("$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"); shift 2 ;;
	--job) JOBS+=("$2"); shift 2 ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
	--) shift; break ;;
	-*) vm_die "unknown option $1" ;;
	*) break ;;
	esac
done
for n in "$TMO" "$BOOT_TMO" "${MAX_LIFE:-0}" "$PORTAL_PORT" "$SSH_PORT" "$SMP"; do
	[[ $n =~ ^[0-9]+$ ]] || vm_die "not a number: $n"
done
# qemu's hard lifetime: one-shot runs need boot + their jobs; started VMs default to two hours.
if [ -z "$MAX_LIFE" ]; then
	MAX_LIFE=7200
	[ "$MODE" = oneshot ] && MAX_LIFE=$((BOOT_TMO + ${#JOBS[@]} * (TMO + 30) + 60))
fi

# qemu_args prints the qemu command line, one argument per line.
qemu_args() {
	local fwd=(
		"10.0.2.100:3260=127.0.0.1:$PORTAL_PORT" # portal 1
		"10.0.2.101:3260=127.0.0.2:$PORTAL_PORT" # portal 2
		"10.0.2.100:2222=127.0.0.1:$SSH_PORT"    # emulator CLI over SSH
		"${FWDS[@]}"
	)
	local net="user,id=n0,restrict=on" f socat_log=$STATE/socat.log
	[[ $socat_log == *[[:space:],]* ]] && socat_log=/dev/null # qemu splits cmd: on spaces, options on commas
	for f in "${fwd[@]}"; do
		[[ $f =~ ^([0-9.]+):([0-9]+)=([0-9.]+):([0-9]+)$ ]] || vm_die "bad --fwd $f (GUESTIP:PORT=HOSTIP:PORT)"
		# slirp forks one socat per guest connection (cmd: is split on spaces, no shell). socat's
		# stderr would reach the guest inside the TCP stream, so its messages go to a log file.
		net+=",guestfwd=tcp:${BASH_REMATCH[1]}:${BASH_REMATCH[2]}-cmd:socat -lf $socat_log - TCP:${BASH_REMATCH[3]}:${BASH_REMATCH[4]}"
	done
	for f in "${HOSTFWDS[@]}"; do
		[[ $f =~ ^([0-9.]+):([0-9]+)=([0-9]+)$ ]] || vm_die "bad --hostfwd $f (HOSTIP:PORT=GUESTPORT)"
		net+=",hostfwd=tcp:${BASH_REMATCH[1]}:${BASH_REMATCH[2]}-10.0.2.15:${BASH_REMATCH[3]}"
	done
	printf '%s\n' -M pc -accel tcg,thread=multi,tb-size=256 -cpu max -smp "$SMP" -m "$MEM" \
		-nodefaults -display none -vga none -no-reboot -serial stdio \
		-kernel "$IMAGE/kernel" -initrd "$IMAGE/initrd.cpio" \
		-append "console=ttyS0 panic=-1 net.ifnames=0 ${VM_KERNEL_ARGS:-quiet}" \
		-drive "file=$IMAGE/disk.img,format=raw,if=virtio,snapshot=on,cache=unsafe,aio=threads" \
		-netdev "$net" -device virtio-net-pci,netdev=n0 \
		-fsdev "local,id=fs0,path=$STATE/ctl,security_model=none" -device virtio-9p-pci,fsdev=fs0,mount_tag=vmctl \
		-pidfile "$STATE/qemu.pid"
	for f in "${DISKS[@]}"; do
		[[ $f == *,* ]] && vm_die "--disk path must not contain a comma: $f" # qemu's option separator
		printf '%s\n' -drive "file=$f,format=raw,if=virtio,snapshot=on,cache=unsafe,aio=threads"
	done
	if [ -n "$SHARE" ]; then
		printf '%s\n' -fsdev "local,id=fs1,path=$SHARE,security_model=none" -device virtio-9p-pci,fsdev=fs1,mount_tag=share
	fi
}

# timestamp prefixes each console line with the seconds since qemu started.
timestamp() {
	local t0=${EPOCHREALTIME/./} t l
	echo "# console of $STATE, qemu started $(date -u +%FT%TZ)"
	while IFS= read -r l; do
		t=${EPOCHREALTIME/./}
		printf '[%8.2f] %s\n' "$(((t - t0) / 10000))e-2" "${l%$'\r'}"
	done
}

vm_start() {
	if [ -z "$IMAGE" ]; then IMAGE=$("$VM_DIR/build.sh" | tail -1); fi
	for f in kernel initrd.cpio disk.img; do [ -f "$IMAGE/$f" ] || vm_die "$IMAGE/$f missing (build.sh)"; done
	for f in "${DISKS[@]}"; do [ -f "$f" ] || vm_die "--disk $f: no such file"; done
	vm_apt_install qemu-system-x86 socat
	mkdir -p "$CACHE/vm/runs"
	# Run directories (console logs) older than a day are pruned; no VM lives that long (--max-life).
	find "$CACHE/vm/runs" -mindepth 1 -maxdepth 1 -mmin +1440 -exec rm -rf {} + 2>/dev/null || true
	if [ -z "$STATE" ]; then STATE=$(mktemp -d "$CACHE/vm/runs/run.XXXXXX"); fi
	STATE=$(mkdir -p "$STATE" && cd "$STATE" && pwd)
	[ -f "$STATE/qemu.pid" ] && kill -0 "$(cat "$STATE/qemu.pid")" 2>/dev/null && vm_die "a VM already runs in $STATE"
	rm -rf "$STATE/ctl" "$STATE/qemu.pid"
	mkdir -p "$STATE/ctl/q"
	: >"$STATE/ctl/env"
	[ -n "$IQN" ] && printf 'VM_IQN=%q\n' "$IQN" >>"$STATE/ctl/env"
	printf '%s\n' "${ENVS[@]}" >"$STATE/ctl/jobenv"
	local args
	mapfile -t args < <(qemu_args)
	local t0
	t0=$(vm_now_ms)
	# timeout(1) bounds the VM's life even if our caller dies without calling stop.
	(exec timeout -k 10 "$MAX_LIFE" qemu-system-x86_64 "${args[@]}" </dev/null 2>&1) 2>"$STATE/qemu.err" |
		timestamp >"$STATE/console.log" 2>&1 &
	echo "$STATE" >"$STATE/ctl/.state"
	vm_log "booting (state $STATE, console $STATE/console.log)"
	local deadline=$((t0 + BOOT_TMO * 1000))
	while [ ! -f "$STATE/ctl/ready" ]; do
		if (($(vm_now_ms) > deadline)); then
			tail -20 "$STATE/console.log" >&2 || true
			vm_stop; vm_die "VM not ready after ${BOOT_TMO}s"
		fi
		if [ -f "$STATE/qemu.pid" ] && ! kill -0 "$(cat "$STATE/qemu.pid")" 2>/dev/null; then
			tail -20 "$STATE/console.log" >&2 || true
			vm_stop; vm_log "qemu exited during boot"; exit 125
		fi
		sleep 0.2
	done
	vm_log "ready: boot to agent $(($(vm_now_ms) - t0)) ms (guest uptime $(cat "$STATE/ctl/ready")s)"
}

vm_stop() {
	local pid
	pid=$(cat "$STATE/qemu.pid" 2>/dev/null) || return 0
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$STATE/qemu.pid"
}

# vm_exec FILE [ARG...]: runs FILE in the guest, streams its output, returns its exit code.
vm_exec() {
	local file=$1; shift
	[ -f "$file" ] || vm_die "no such job script: $file"
	local pid q=$STATE/ctl/q name
	pid=$(cat "$STATE/qemu.pid" 2>/dev/null) && kill -0 "$pid" 2>/dev/null || { vm_log "no VM running in $STATE"; return 125; }
	name=$(basename "$file" .sh | tr -c 'A-Za-z0-9_.\n-' _)-$(date +%s%N)
	cp "$file" "$q/$name.sh"
	if (($#)); then printf '%s\n' "$@" >"$q/$name.args"; fi
	{ cat "$STATE/ctl/jobenv"; printf '%s\n' "${ENVS[@]}"; } | grep . >"$q/$name.env" || true
	echo "$TMO" >"$q/$name.tmp"
	mv "$q/$name.tmp" "$q/$name.job"
	local t0 off=0 sz deadline
	t0=$(vm_now_ms)
	deadline=$((t0 + (TMO + 30) * 1000)) # the guest enforces TMO itself; this catches a hung guest
	vm_log "job $(basename "$file") -> $name (timeout ${TMO}s)"
	while :; do
		if [ -f "$q/$name.out" ]; then
			sz=$(stat -c %s "$q/$name.out")
			if ((sz > off)); then tail -c +$((off + 1)) "$q/$name.out" | head -c $((sz - off)); off=$sz; fi
		fi
		if [ -f "$q/$name.rc" ]; then
			[ -f "$q/$name.out" ] && tail -c +$((off + 1)) "$q/$name.out"
			local rc
			rc=$(cat "$q/$name.rc")
			vm_log "job $(basename "$file") rc=$rc in $(($(vm_now_ms) - t0)) ms"
			return "$rc"
		fi
		if (($(vm_now_ms) > deadline)); then vm_log "job $name: no exit code after $((TMO + 30))s"; return 124; fi
		if ! kill -0 "$pid" 2>/dev/null; then vm_log "VM died during job $name"; return 125; fi
		sleep 0.3
	done
}

case $MODE in
start)
	vm_start
	echo "$STATE"
	;;
stop)
	[ -n "$STATE" ] || vm_die "stop needs --state DIR or VM_STATE"
	vm_stop
	;;
exec)
	[ -n "$STATE" ] || vm_die "exec needs --state DIR or VM_STATE"
	(($#)) || vm_die "exec needs a job script"
	rc=0; vm_exec "$@" || rc=$?
	exit "$rc"
	;;
oneshot)
	((${#JOBS[@]})) || vm_die "nothing to run: give --job FILE (or use start/exec/stop); see --help"
	for j in "${JOBS[@]}"; do [ -f "$j" ] || vm_die "no such job script: $j"; done
	t_all=$(vm_now_ms)
	trap 'vm_stop' EXIT
	trap 'exit 130' INT TERM
	vm_start
	rc=0
	for j in "${JOBS[@]}"; do
		vm_exec "$j" || { rc=$?; break; }
	done
	vm_stop
	vm_log "whole run $(($(vm_now_ms) - t_all)) ms, rc=$rc, console $STATE/console.log"
	exit "$rc"
	;;
esac
