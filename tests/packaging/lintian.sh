#!/bin/bash
# Runs lintian on the built packages (out/*.deb). Exits non-zero on any error;
# warnings are printed (the ones we keep are overridden with a reason in
# debian/*.lintian-overrides and listed in the README).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${OUT:-$REPO/out}

shopt -s nullglob
debs=("$OUT"/*.deb)
if [ ${#debs[@]} -eq 0 ]; then
    echo "lintian: no .deb in $OUT (run tests/packaging/build-debs.sh first)" >&2
    exit 2
fi

# --fail-on error: errors fail the check; warnings, info and pedantic tags are shown.
set +e
lintian --fail-on error --display-info --pedantic --tag-display-limit 0 "${debs[@]}"
rc=$?
set -e
if [ $rc -eq 0 ]; then
    echo "lintian: PASS (no errors) on ${#debs[@]} packages"
else
    echo "lintian: FAIL (exit $rc)"
fi
exit $rc
