#!/usr/bin/env bash
# Loads the emulator's web console in headless Chromium (Debian's chromium),
# asserts that the named objects are rendered, and saves a screenshot.
#   browser-test.sh URL SCREENSHOT.png EXPECTED...
set -euo pipefail
url=$1 shot=$2
shift 2
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [[ -z "$CHROMIUM" ]]; then
	echo "browser-test: chromium not installed (apt-get install chromium)" >&2
	exit 2
fi
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
	--disable-component-update --disable-sync --user-data-dir="$profile" --virtual-time-budget=8000
	--window-size=1600,1300 --hide-scrollbars)
dom=$(timeout 120 "$CHROMIUM" "${flags[@]}" --dump-dom "$url" 2>/dev/null)
missing=0
grep -q 'data-loaded="true"' <<<"$dom" || { echo "browser-test: the page never loaded its state" >&2; missing=1; }
for want in "$@"; do
	if grep -qF -- "$want" <<<"$dom"; then
		echo "browser-test: found $want"
	else
		echo "browser-test: MISSING $want" >&2
		missing=1
	fi
done
timeout 120 "$CHROMIUM" "${flags[@]}" --screenshot="$shot" "$url" >/dev/null 2>&1
[[ -s "$shot" ]] || { echo "browser-test: no screenshot written" >&2; exit 1; }
echo "browser-test: screenshot $shot ($(stat -c %s "$shot") bytes)"
exit $missing
