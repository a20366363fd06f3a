#!/usr/bin/env bash
# The CI test command: each stage is a make target; prints a timing table at
# the end. STAGES overrides the list (e.g. STAGES="test sanity").
set -uo pipefail
cd "$(dirname "$0")/../.."
STAGES=${STAGES:-"build test sanity iscsi-conformance vm-iscsi sanity-node demo"}
declare -a names=() secs=() results=()
rc=0
for st in $STAGES; do
  echo
  echo "======== stage $st ($(date -u +%H:%M:%S))"
  start=$SECONDS
  if make --no-print-directory "$st"; then r=ok; else r=FAILED; rc=1; fi
  names+=("$st"); secs+=($((SECONDS - start))); results+=("$r")
  [ "$r" = ok ] || break
done
echo
echo "======== CI stages"
passed=0 failed=0
for i in "${!names[@]}"; do
  printf '%-20s %-7s %5ds\n' "${names[$i]}" "${results[$i]}" "${secs[$i]}"
  if [ "${results[$i]}" = ok ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done
echo "stages: $passed passed, $failed failed"
exit $rc
