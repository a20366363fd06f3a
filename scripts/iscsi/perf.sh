#!/bin/bash
# iscsi-perf read throughput of tgt and the emulator's Go target, same
# backing file, same run, back to back: 4 KiB at QD32 and 1 MiB at QD8.
# Prints IOPS, MiB/s and the emulator/tgt ratio. Exit 1 if a ratio < 1.
# Usage: scripts/iscsi/perf.sh    env: OUT (default /var/tmp/mcs-iscsi),
#        SECS per run (default 15), PORT (default 3260), ROUNDS (default 3;
#        the verdict is the ratio of IOPS summed over rounds, order alternating).
# The 1 GiB file is filled with data first so reads hit real extents
# (page cache) rather than holes.
set -uo pipefail
. "$(dirname "$0")/targets.sh"
OUT=${OUT:-/var/tmp/mcs-iscsi}
SECS=${SECS:-15}
ROUNDS=${ROUNDS:-3}
mkdir -p "$OUT"
need_tools
IMG=$OUT/perf.img
trap 'tgt_down "$OUT"; emu_down "$OUT"' EXIT
rm -f "$OUT/mcs-iscsi-target"
if [ ! -s "$IMG" ]; then
  dd if=/dev/urandom of="$IMG" bs=1M count=1024 status=none
fi

# run_perf URL -m -b -> "iops mibs"
run_perf() {
  local url=$1 qd=$2 blocks=$3 out
  out=$(timeout -k 5 $((SECS + 30)) iscsi-perf -m "$qd" -b "$blocks" -t "$SECS" "$url" 2>&1 | tr '\r' '\n')
  # Last "iops average N (M MB/s)"; error lines may share the \r-separated stream.
  echo "$out" | grep -o 'iops average [0-9]* ([0-9]* MB/s)' | tail -1 | tr -d '(' | awk '{print $3, $4}'
  [ -n "$(echo "$out" | grep -o 'iops average')" ] || echo "0 0"
}

declare -A R
for round in $(seq "$ROUNDS"); do
  # Alternate which target goes first: a shared host's load drifts.
  order="tgt emu"; [ $((round % 2)) = 0 ] && order="emu tgt"
  for tgt in $order; do
    if [ $tgt = tgt ]; then tgt_up "$OUT" "$IMG" 0 >/dev/null || exit 1
    else emu_up "$OUT" "$IMG" 0 || exit 1; fi
    url="iscsi://127.0.0.1:$PORT/$IQN1/1"
    R[$tgt,4k,$round]=$(run_perf "$url" 32 8)
    R[$tgt,1m,$round]=$(run_perf "$url" 8 2048)
    if [ $tgt = tgt ]; then tgt_down "$OUT"; else emu_down "$OUT"; fi
  done
done

printf '%-14s %-6s %10s %10s\n' workload target IOPS MiB/s
rc=0
for w in 4k 1m; do
  label=$([ $w = 4k ] && echo "4KiB QD32" || echo "1MiB QD8")
  tsum=0 esum=0
  for round in $(seq "$ROUNDS"); do
    read -r ti tm <<<"${R[tgt,$w,$round]:-0 0}"
    read -r ei em <<<"${R[emu,$w,$round]:-0 0}"
    printf '%-14s %-6s %10s %10s   (round %d)\n' "$label" tgt "$ti" "$tm" "$round"
    printf '%-14s %-6s %10s %10s   (round %d)\n' "$label" emu "$ei" "$em" "$round"
    tsum=$((tsum + ti)) esum=$((esum + ei))
  done
  ratio=$(echo "scale=2; if ($tsum > 0) $esum / $tsum else 0" | bc)
  printf '%-14s ratio emulator/tgt IOPS over %d rounds = %s\n' "$label" "$ROUNDS" "$ratio"
  [ "$(echo "$ratio < 1" | bc)" = 1 ] && rc=1
done
exit $rc
