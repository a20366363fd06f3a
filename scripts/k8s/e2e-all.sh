#!/usr/bin/env bash
# e2e-all.sh — `make e2e-all`: scripts/k8s/e2e.sh for every supported minor, one
# after the other (each run deletes its cluster); fails if any version fails.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.sh
source "$HERE/versions.sh"
failed=()
for v in ${VERSIONS:-$K8S_ALL}; do
	K8S_VERSION=$v "$HERE/e2e.sh" || failed+=("$v")
done
if ((${#failed[@]})); then
	echo "e2e failed on: ${failed[*]}" >&2
	exit 1
fi
