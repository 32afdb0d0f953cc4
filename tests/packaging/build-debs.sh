#!/bin/bash
# Builds the streamr .debs with dpkg-buildpackage and moves them (with the
# .buildinfo, .changes and -dbgsym .ddebs) into out/.
#
#   tests/packaging/build-debs.sh              full build (incremental: the
#                                              release scratch folder .build-deb is kept)
#   tests/packaging/build-debs.sh --no-clean   dpkg-buildpackage -nc: only redo the
#                                              packaging steps (units, scripts, docs)
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${OUT:-$REPO/out}
cd "$REPO"

# The Swift toolchain is not a Debian package.
command -v swift >/dev/null 2>&1 || export PATH=/opt/swift/usr/bin:$PATH

args=(-us -uc -b)
[ "${1:-}" = --no-clean ] && args+=(-nc)

source=$(dpkg-parsechangelog -SSource)
version=$(dpkg-parsechangelog -SVersion)
arch=$(dpkg --print-architecture)
packages=$(sed -n 's/^Package: *//p' debian/control)

start=$SECONDS
dpkg-buildpackage "${args[@]}"

mkdir -p "$OUT"
# Only one version of each package in out/, so `out/streamr-host_*.deb` is unambiguous.
for p in $packages; do rm -f "$OUT/${p}_"*.deb "$OUT/${p}-dbgsym_"*.deb "$OUT/${p}-dbgsym_"*.ddeb; done
rm -f "$OUT/${source}_"*.buildinfo "$OUT/${source}_"*.changes
for p in $packages; do
    mv "../${p}_${version}_${arch}.deb" "$OUT/"
    # Debug symbols: .deb on Debian, .ddeb on Ubuntu.
    for ext in deb ddeb; do
        if [ -f "../${p}-dbgsym_${version}_${arch}.$ext" ]; then mv "../${p}-dbgsym_${version}_${arch}.$ext" "$OUT/"; fi
    done
done
mv "../${source}_${version}_${arch}.buildinfo" "../${source}_${version}_${arch}.changes" "$OUT/"

echo "build-debs: built in $((SECONDS - start))s:"
ls -l "$OUT"
