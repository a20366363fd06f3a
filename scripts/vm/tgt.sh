#!/usr/bin/env bash
# A private tgtd (the userspace reference target) for harness smoke tests: one target with a sparse
# LUN 1 (vendor INSPUR, product MCS, so the VM's multipath stanza applies), served on two portals,
# 127.0.0.1:PORT and 127.0.0.2:PORT. A non-default control port and iSCSI port keep it apart from
# any other tgtd or iSCSI target on the machine.
#   tgt.sh up STATE_DIR     start; prints the portal port (also in STATE_DIR/tgtd.port)
#   tgt.sh down STATE_DIR   stop the tgtd started there (by pid)
# Env: TGT_PORT (first free from 13260)  TGT_CTL (first unused from 23)  TGT_IQN  TGT_SIZE (1G)
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
cmd=${1:?up|down} ST=${2:?state dir}
PORT=${TGT_PORT:-} CTL=${TGT_CTL:-}
[ "$cmd" = down ] && CTL=$(cat "$ST/tgtd.ctl" 2>/dev/null || echo "${CTL:-23}")
IQN=${TGT_IQN:-iqn.2004-12.com.inspur:mcs.tgt.node1}
adm() { timeout 20 tgtadm -C "$CTL" --lld iscsi "$@"; }
mkdir -p "$ST"

if [ "$cmd" = down ]; then
	pid=$(cat "$ST/tgtd.pid" 2>/dev/null) || exit 0
	# tgtd ignores SIGTERM; "delete --mode system" is its shutdown (sent only while our tgtd is
	# alive: the control port might otherwise belong to someone else's). KILL is the fallback.
	if kill -0 "$pid" 2>/dev/null; then adm --op delete --mode system >/dev/null 2>&1 || true; fi
	for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null || true
	rm -f "$ST/tgtd.pid"
	exit 0
fi
[ "$cmd" = up ] || vm_die "usage: tgt.sh up|down STATE_DIR"
vm_apt_install tgt
[ -f "$ST/tgtd.pid" ] && kill -0 "$(cat "$ST/tgtd.pid")" 2>/dev/null && vm_die "tgtd already runs for $ST"
if [ -z "$PORT" ]; then PORT=$(vm_free_port 13260); fi
if [ -z "$CTL" ]; then
	# A control port answering already belongs to another tgtd: never drive that one.
	CTL=23
	while timeout 5 tgtadm -C "$CTL" --lld iscsi --op show --mode sys >/dev/null 2>&1; do CTL=$((CTL + 1)); done
fi
echo "$CTL" >"$ST/tgtd.ctl"
echo "$PORT" >"$ST/tgtd.port"
rm -f "$ST/lun1.img"
truncate -s "${TGT_SIZE:-1G}" "$ST/lun1.img"
tgtd -f -C "$CTL" --iscsi "portal=127.0.0.1:$PORT" >"$ST/tgtd.log" 2>&1 &
echo $! >"$ST/tgtd.pid"
for _ in $(seq 50); do adm --op show --mode sys >/dev/null 2>&1 && break; sleep 0.1; done
adm --op show --mode sys >/dev/null || vm_die "tgtd did not start: $(tail -5 "$ST/tgtd.log")"
adm --op new --mode portal --param "portal=127.0.0.2:$PORT"
for a in 127.0.0.1 127.0.0.2; do
	vm_listening "$a:$PORT" || { "$0" down "$ST"; vm_die "tgtd could not bind $a:$PORT (in use?)"; }
done
adm --op new --mode target --tid 1 -T "$IQN"
adm --op new --mode logicalunit --tid 1 --lun 1 -b "$ST/lun1.img"
adm --op update --mode logicalunit --tid 1 --lun 1 \
	--params vendor_id=INSPUR,product_id=MCS,product_rev=0001,scsi_sn=TGT0000001,scsi_id=TGT-LUN-0001
adm --op bind --mode target --tid 1 -I ALL
echo "$PORT"
