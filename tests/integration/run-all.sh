#!/usr/bin/env bash
# Runs every tests/integration/test-*.sh (one after another: several start a journald, bind
# ports or create users), prints PASS/FAIL per script, the output of each failing script, and
# finally one line "N passed, M failed". Exits non-zero if any script failed.
#
#   BIN=<dir with the executables> tests/integration/run-all.sh [test-name ...]
#   VERBOSE=1 also prints the output of passing scripts. TEST_TIMEOUT (seconds, default 300)
#   bounds each script.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
if [[ -z "${BIN:-}" ]]; then
    BIN=$(cd "$here/../.." && swift build --show-bin-path 2>/dev/null) || BIN="$here/../../.build/debug"
fi
export BIN
timeout_s=${TEST_TIMEOUT:-300}

tests=()
if (($# > 0)); then
    for name in "$@"; do
        name=${name%.sh}
        name=${name#test-}
        tests+=("$here/test-$name.sh")
    done
else
    for t in "$here"/test-*.sh; do [[ -e "$t" ]] && tests+=("$t"); done
fi

passed=0
failed=0
failed_names=()
failed_why=()
logdir=$(mktemp -d /tmp/streamr-it-run.XXXXXX)
child=
trap 'rm -rf "$logdir"' EXIT
# Stopping run-all stops the running test too (timeout forwards the signal; the test's own
# trap then cleans up its processes, users and files).
on_signal() {
    if [[ -n "$child" ]]; then
        kill -TERM "$child" 2>/dev/null
        wait "$child" 2>/dev/null
    fi
    echo "interrupted"
    exit "$1"
}
trap 'on_signal 130' INT
trap 'on_signal 143' TERM

for t in "${tests[@]}"; do
    name=$(basename "$t" .sh)
    log="$logdir/$name.log"
    start=$SECONDS
    if [[ ! -f "$t" ]]; then
        echo "no such test: $t" >"$log"
        rc=127
    else
        rc=0
        # A test may ask for more time with a "# timeout: SECONDS" line (the crash test).
        limit=$(grep -m1 -oE '^# timeout: [0-9]+' "$t" | grep -oE '[0-9]+' || true)
        [[ -n "$limit" && "$limit" -gt "$timeout_s" ]] || limit=$timeout_s
        timeout -k 10 "$limit" bash "$t" >"$log" 2>&1 </dev/null &
        child=$!
        wait "$child" || rc=$?
        child=
    fi
    took=$((SECONDS - start))
    if ((rc == 0)); then
        passed=$((passed + 1))
        echo "PASS $name (${took}s)"
        [[ "${VERBOSE:-}" == 1 ]] && sed 's/^/    /' "$log"
    else
        failed=$((failed + 1))
        failed_names+=("$name")
        reason="exit $rc"
        ((rc == 124 || rc == 137)) && reason="timed out after ${limit}s"
        echo "FAIL $name (${took}s, $reason)"
        # Why first (a long log is cut in the middle by CI's summary), then the whole log.
        why=$(grep -m3 -E '^(FAIL - |not ok)' "$log" || true)
        [[ -n "$why" ]] && sed 's/^/    why: /' <<<"$why"
        failed_why+=("$name: ${why:-$reason}")
        sed 's/^/    /' "$log"
    fi
done

for line in "${failed_why[@]}"; do echo "failed: ${line%%$'\n'*}"; done
echo "$passed passed, $failed failed"
((failed == 0))
