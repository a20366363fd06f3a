# Host-side helpers shared by scripts/vm/*.sh (sourced, not executed).
# shellcheck shell=bash

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$VM_DIR/../.." && pwd)
CACHE=${CACHE:-$REPO/.cache}

vm_log() { printf '%s vm: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
vm_die() { vm_log "ERROR: $*"; exit 1; }

# vm_now_ms prints a monotonic-enough wall clock in milliseconds (bash 5 EPOCHREALTIME, no fork).
vm_now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }

# vm_apt_install PKG... installs the Debian packages that are missing (root only).
# The lock timeout matters: other jobs on a shared machine may be running apt at the same time.
vm_apt_install() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	((${#missing[@]})) || return 0
	[ "$(id -u)" = 0 ] || vm_die "missing host packages (${missing[*]}); run as root or install them"
	vm_log "apt-get install ${missing[*]}"
	local apt=(apt-get -o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)
	DEBIAN_FRONTEND=noninteractive timeout 900 "${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
		timeout 600 "${apt[@]}" update -qq &&
			DEBIAN_FRONTEND=noninteractive timeout 900 "${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	} || vm_die "apt-get install ${missing[*]} failed"
}

# vm_free_port START: the first TCP port >= START with no listener on 127.0.0.1, 127.0.0.2 or any
# address, so parallel test runs (and other engineers' targets) do not collide. Racy by nature;
# callers still check that their server really bound.
vm_free_port() {
	local p=$1 used
	used=$(ss -Htln 2>/dev/null | awk '{n=split($4,a,":"); print a[n]}' | sort -u)
	while grep -qx "$p" <<<"$used"; do p=$((p + 1)); done
	echo "$p"
}

# vm_listening ADDR:PORT: true when something listens on exactly ADDR:PORT (or the wildcard).
vm_listening() {
	local port=${1##*:}
	ss -Htln 2>/dev/null | awk -v a="$1" -v w="*:$port" -v w4="0.0.0.0:$port" '$4==a||$4==w||$4==w4{f=1} END{exit !f}'
}
