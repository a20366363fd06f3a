#!/bin/bash
# libiscsi iscsi-test-cu (families SCSI and iSCSI) against tgt and then the
# emulator's Go target, same 1 GiB sparse backing file, same portals; prints
# a per-family table. Exit 1 if the emulator passes fewer tests than tgt.
# Usage: scripts/iscsi/conformance.sh     env: OUT (default /var/tmp/mcs-iscsi),
#        THIN=1|0 (default 1: both targets thin-provisioned), TMO per-suite s,
#        PORT (default 3260).
set -uo pipefail
. "$(dirname "$0")/targets.sh"
OUT=${OUT:-/var/tmp/mcs-iscsi}
THIN=${THIN:-1}
mkdir -p "$OUT"
need_tools
IMG=$OUT/lun1.img
trap 'tgt_down "$OUT"; emu_down "$OUT"' EXIT
rm -f "$OUT/mcs-iscsi-target"

rm -f "$IMG"; truncate -s 1G "$IMG"
tgt_up "$OUT" "$IMG" "$THIN" >/dev/null || exit 1
"$(dirname "$0")/run-test-cu.sh" "iscsi://127.0.0.1:$PORT/$IQN1/1" "iscsi://127.0.0.2:$PORT/$IQN1/1" "$OUT/tgt"
tgt_down "$OUT"

rm -f "$IMG"; truncate -s 1G "$IMG"
emu_up "$OUT" "$IMG" "$THIN" || exit 1
"$(dirname "$0")/run-test-cu.sh" "iscsi://127.0.0.1:$PORT/$IQN1/1" "iscsi://127.0.0.2:$PORT/$IQN2/1" "$OUT/emu"
emu_down "$OUT"

sum() { # dir family -> "tests passed failed skipped hung"
  awk -F'\t' -v f="$2" 'NR>1{split($1,a,"."); if (a[1]!=f) next; n+=$2; p+=$3; x+=$4; s+=$5; if ($6==124||$6==137) h++}
    END{printf "%d %d %d %d %d", n, p, x, s, h}' "$1/summary.tsv"
}
echo
printf '%-8s %-10s %6s %6s %6s %6s %6s\n' family target tests pass fail skip hung
rc=0
for fam in SCSI iSCSI; do
  read -r tn tp tf ts th < <(sum "$OUT/tgt" "$fam")
  read -r en ep ef es eh < <(sum "$OUT/emu" "$fam")
  printf '%-8s %-10s %6d %6d %6d %6d %6d\n' "$fam" tgt "$tn" "$tp" "$tf" "$ts" "$th"
  printf '%-8s %-10s %6d %6d %6d %6d %6d\n' "$fam" emulator "$en" "$ep" "$ef" "$es" "$eh"
  { [ "$ep" -lt "$tp" ] || [ "$eh" -gt 0 ]; } && rc=1
done
echo
echo "emulator failures:"
awk -F'\t' 'NR>1 && $4>0 {print "  " $1 " (" $4 ")"}' "$OUT/emu/summary.tsv"
echo "logs: $OUT/tgt/*.log $OUT/emu/*.log"
exit $rc
