#!/bin/bash
# Run libiscsi's iscsi-test-cu suite by suite (each under a timeout) against
# one target and write per-suite pass/fail/skip counts.
# Usage: run-test-cu.sh URL MPATH_URL OUTDIR [FAMILIES...]
#   FAMILIES default "SCSI iSCSI". Env: TMO per-suite timeout (s, default 180).
# CUnit counts skipped tests as passed; tests that printed [SKIPPED] without
# failing are subtracted from "passed" and counted as "skipped".
set -uo pipefail
URL=$1 MP=$2 OUT=$3
shift 3
FAMS=${*:-SCSI iSCSI}
TMO=${TMO:-180}
mkdir -p "$OUT"
SUM=$OUT/summary.tsv
printf 'suite\ttests\tpassed\tfailed\tskipped\trc\tsecs\n' >"$SUM"
for fam in $FAMS; do
  for suite in $(iscsi-test-cu --list | awk -F. -v f="$fam" 'NF==2 && $1==f'); do
    log=$OUT/$suite.log
    t0=$(date +%s.%N)
    # -d: allow destructive (write) tests; -v: verbose, prints [SKIPPED] markers
    timeout -k 5 "$TMO" iscsi-test-cu -d -v -t "$suite" "$URL" "$MP" >"$log" 2>&1
    rc=$?
    t1=$(date +%s.%N)
    read -r n p f < <(awk '$1=="tests"{print $2, $4, $5}' "$log")
    s=$(awk '/^  Test: /{ if (sk && !fl) c++; sk=0; fl=0 }
             /\[SKIPPED\]/{ sk=1 } /(\.\.\.|^)FAILED/{ fl=1 }
             END{ if (sk && !fl) c++; print c+0 }' "$log")
    n=${n:-0}; p=$(( ${p:-0} - s )); f=${f:-0}
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%.1f\n' "$suite" "$n" "$p" "$f" "$s" "$rc" "$(echo "$t1 - $t0" | bc)" >>"$SUM"
  done
done
