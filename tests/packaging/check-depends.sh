#!/bin/bash
# Checks the built packages' dependencies without installing anything:
# every shared library a packaged ELF binary needs (DT_NEEDED) must come from a
# Debian package named in that package's own Depends, and nothing may come from
# the Swift toolchain (/opt/swift) or be unresolvable. Catches a dependency
# dropped from debian/control or a binary linked against the toolchain's
# shared Swift runtime instead of the static one.
set -uo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${OUT:-$REPO/out}
PASSED=0
FAILED=0
pass() { PASSED=$((PASSED + 1)); printf 'PASS: %s\n' "$*"; }
fail() { FAILED=$((FAILED + 1)); printf 'FAIL: %s\n' "$*"; }

for tool in readelf ldconfig dpkg-deb dpkg-query; do
    command -v "$tool" >/dev/null || { echo "check-depends: missing $tool" >&2; exit 2; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

shopt -s nullglob
debs=()
for deb in "$OUT"/*.deb; do
    case $deb in *-dbgsym_*) continue ;; esac
    debs+=("$deb")
done
[ ${#debs[@]} -gt 0 ] || { echo "check-depends: no .deb in $OUT" >&2; exit 2; }

for deb in "${debs[@]}"; do
    pkg=$(dpkg-deb -f "$deb" Package)
    # Package names in Depends (alternatives included, versions dropped).
    depends=" $(dpkg-deb -f "$deb" Depends | tr ',|' '\n\n' | sed 's/(.*)//; s/:any//; s/[[:space:]]//g' | tr '\n' ' ') "
    root=$tmp/$pkg
    dpkg-deb -x "$deb" "$root"
    found_elf=no
    while IFS= read -r -d '' file; do
        head -c 4 "$file" | grep -q $'^\x7fELF' || continue
        found_elf=yes
        rel=${file#"$root"}
        problems=""
        for soname in $(readelf -d "$file" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
            path=$(ldconfig -p | awk -v s="$soname" '$1 == s && $0 ~ /x86-64|AArch64|aarch64|64bit/ { print $NF; exit }')
            [ -n "$path" ] || path=$(ldconfig -p | awk -v s="$soname" '$1 == s { print $NF; exit }')
            if [ -z "$path" ]; then problems+=" $soname(not found)"; continue; fi
            case $path in /opt/swift/*|*/swift/*) problems+=" $soname(Swift toolchain: $path)"; continue ;; esac
            owner=$(dpkg-query -S "$(readlink -f "$path")" 2>/dev/null || dpkg-query -S "$path" 2>/dev/null)
            owner=${owner%%:*}
            if [ -z "$owner" ]; then problems+=" $soname(no package owns $path)"; continue; fi
            case $depends in *" $owner "*) ;; *) problems+=" $soname(from $owner, not in Depends)" ;; esac
        done
        if [ -z "$problems" ]; then
            pass "$pkg: $rel needs only libraries from its Depends"
        else
            fail "$pkg: $rel:$problems"
        fi
    done < <(find "$root" -type f -perm -u+x -print0)
    [ $found_elf = yes ] || pass "$pkg: no ELF binaries"
    printf '      %s Depends:%s\n' "$pkg" "$depends"
done

echo "check-depends: $PASSED passed, $FAILED failed"
[ $FAILED -eq 0 ]
