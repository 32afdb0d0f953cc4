# shellcheck shell=bash
# Helpers sourced by tests/integration/test-*.sh (not a test itself).
#
# Every test gets: $BIN (the directory with the five executables), $WORK (a private temp
# directory), and a trap that stops every process started with `start_bg`, then runs the
# cleanup hooks registered with `on_cleanup` (last first) and removes $WORK, whatever happens.
# Tests are self-contained: they depend on no other test and leave nothing behind.

IT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$IT_DIR/../.." && pwd)
TEST_NAME=$(basename "$0" .sh)
VERSION=0.1.0
DAEMONS=(streamr-coordinator streamr-ingest streamr-validator streamr-node)
BINARIES=("${DAEMONS[@]}" streamrctl)

if [[ -z "${BIN:-}" ]]; then
    BIN=$(cd "$REPO" && swift build --show-bin-path 2>/dev/null) || BIN="$REPO/.build/debug"
fi
for _b in "${BINARIES[@]}"; do
    if [[ ! -x "$BIN/$_b" ]]; then
        echo "FAIL: $BIN/$_b is missing or not executable (build first: swift build; or set BIN=<bin dir>)" >&2
        exit 1
    fi
done
unset _b

# Bounded everything: never hang a test run.
export STREAMR_IT=1
unset LISTEN_FDS LISTEN_PID LISTEN_FDNAMES NOTIFY_SOCKET WATCHDOG_USEC WATCHDOG_PID

WORK=$(mktemp -d "/tmp/streamr-it.${TEST_NAME}.XXXXXX")
_PIDS=()
_CLEANUPS=()
_PORTS=()
_SOFT_FAILURES=()
declare -A _NAMES=()
_CRASHED=0

# on_cleanup 'shell command' — run at exit, most recent first.
on_cleanup() { _CLEANUPS+=("$1"); }

_alive() {  # true while $1 exists and is not a zombie
    local state
    [[ -r /proc/$1/stat ]] || return 1
    state=$(sed -E 's/^[0-9]+ \(.*\) ([A-Za-z]).*/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ "$state" != Z && "$state" != X ]]
}

# A process that died of a signal nobody sent it (a Swift trap is SIGILL or SIGTRAP, then
# SIGSEGV, SIGABRT) crashed: say which, keep its log, and fail the test.
_reaped() {
    local pid=$1 rc=$2 name=${_NAMES[$1]:-?} keep
    ((rc > 128)) || return 0
    case $((rc - 128)) in 4 | 5 | 6 | 7 | 8 | 11)
        keep="/tmp/streamr-crash.$TEST_NAME.$name.$pid.log"
        cp "$WORK/$name.log" "$keep" 2>/dev/null
        echo "not ok - $name (pid $pid) crashed (signal $((rc - 128))); its log is kept in $keep:" >&2
        tail -n 30 "$WORK/$name.log" 2>/dev/null | sed 's/^/    /' >&2
        _CRASHED=1 ;;
    esac
}

_cleanup() {
    local rc=$? i pid deadline
    set +e
    trap - EXIT INT TERM
    for pid in "${_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    deadline=$((SECONDS + 5))
    for pid in "${_PIDS[@]}"; do
        while _alive "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
        _alive "$pid" && kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        _reaped "$pid" $?
    done
    for ((i = ${#_CLEANUPS[@]} - 1; i >= 0; i--)); do eval "${_CLEANUPS[i]}" >/dev/null 2>&1; done
    if [[ "${KEEP_WORK:-}" == 1 ]]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
    ((_CRASHED && rc == 0)) && rc=1
    if ((${#_SOFT_FAILURES[@]} > 0)); then
        echo "$TEST_NAME: ${#_SOFT_FAILURES[@]} check(s) failed:" >&2
        printf '  - %s\n' "${_SOFT_FAILURES[@]}" >&2
        ((rc == 0)) && rc=1
    fi
    if ((rc == 0)); then echo "$TEST_NAME: all checks passed"; else echo "$TEST_NAME: FAILED (exit $rc)" >&2; fi
    exit "$rc"
}
trap _cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ok() { echo "ok   - $*"; }

# fail MESSAGE — prints the message and the tail of every log in $WORK, then exits 1.
fail() {
    local f
    echo "FAIL - $*" >&2
    if [[ -n "${LAST_CMD:-}" ]]; then
        echo "---- last command: $LAST_CMD (exit ${RC:-?}) ----" >&2
        echo "stdout: ${OUT:0:1500}" >&2
        echo "stderr: ${ERR:0:1500}" >&2
    fi
    for f in "$WORK"/*.log; do
        [[ -s "$f" ]] || continue
        echo "---- tail of ${f#"$WORK"/} ----" >&2
        tail -n 25 "$f" >&2
    done
    exit 1
}

# check DESCRIPTION COMMAND... — passes when COMMAND succeeds.
check() {
    local desc=$1
    shift
    if "$@"; then ok "$desc"; else fail "$desc"; fi
}

# expect DESCRIPTION COMMAND... — like check, but a failure is recorded and the test goes on
# (the test still fails at exit). For independent scenarios, so one product bug does not hide
# the others.
expect() {
    local desc=$1
    shift
    if "$@"; then
        ok "$desc"
    else
        echo "FAIL - $desc" >&2
        _SOFT_FAILURES+=("$desc")
        return 0
    fi
}

# run_cmd NAME COMMAND... — runs COMMAND (bounded by 20 s) with stdout in $WORK/NAME.out and
# stderr in $WORK/NAME.err; sets RC, OUT and ERR.
run_cmd() {
    local name=$1
    shift
    RC=0
    LAST_CMD="$*"
    timeout -k 5 20 "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" || RC=$?
    OUT=$(cat "$WORK/$name.out")
    ERR=$(cat "$WORK/$name.err")
}

# expect_rc EXPECTED DESCRIPTION — after run_cmd.
expect_rc() {
    if [[ "$RC" == "$1" ]]; then
        ok "$2 (exit $RC)"
    else
        fail "$2: expected exit $1, got $RC; stdout: ${OUT:0:400}; stderr: ${ERR:0:400}"
    fi
}

# quiet COMMAND... — runs COMMAND with its output discarded.
quiet() { "$@" >/dev/null 2>&1; }

# contains HAYSTACK NEEDLE — case-sensitive fixed-string match.
contains() { [[ "$1" == *"$2"* ]]; }
icontains() { [[ "${1,,}" == *"${2,,}"* ]]; }

# wait_until SECONDS COMMAND... — polls every 0.1 s; false on timeout.
wait_until() {
    local limit=$1 deadline
    shift
    deadline=$(($(date +%s%N) + limit * 1000000000))
    while true; do
        "$@" && return 0
        (($(date +%s%N) >= deadline)) && return 1
        sleep 0.1
    done
}

# pick_port VAR — a free, not-yet-used loopback TCP port in 20000-59999.
pick_port() {
    local port tries=0
    while ((tries++ < 200)); do
        port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
        [[ " ${_PORTS[*]} " == *" $port "* ]] && continue
        ss -Htan "( sport = :$port or dport = :$port )" 2>/dev/null | grep -q . && continue
        python3 -c 'import socket,sys; s=socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1])))' "$port" 2>/dev/null || continue
        _PORTS+=("$port")
        printf -v "$1" '%s' "$port"
        return 0
    done
    fail "no free port found"
}

tcp_listening() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }
tcp_not_listening() { ! tcp_listening "$1"; }
# unix_listening PATH — a listening Unix stream socket bound to PATH.
unix_listening() { ss -Hlx 2>/dev/null | awk -v p="$1" '$5 == p { found = 1 } END { exit !found }'; }
# tcp_listener_pid PORT — pid of the process holding the listening TCP socket.
tcp_listener_pid() { ss -Hltnp "sport = :$1" 2>/dev/null | sed -nE 's/.*pid=([0-9]+).*/\1/p' | head -1; }
unix_listener_pid() { ss -Hlxp 2>/dev/null | awk -v p="$1" '$5 == p' | sed -nE 's/.*pid=([0-9]+).*/\1/p' | head -1; }

# start_bg NAME COMMAND... — starts COMMAND in the background, stdout+stderr to $WORK/NAME.log;
# sets PID. The process is stopped by the exit trap if still running.
start_bg() {
    local name=$1
    shift
    "$@" >"$WORK/$name.log" 2>&1 &
    PID=$!
    _PIDS+=("$PID")
    _NAMES[$PID]=$name
}

# stop_pid PID [SECONDS] [SIGNAL] — sends SIGNAL (default TERM), then waits up to SECONDS
# (default 5) for exit; sets STOP_RC to the exit status; returns 1 if it did not exit in time
# (it is then SIGKILLed).
stop_pid() {
    local pid=$1 limit=${2:-5} signal=${3:-TERM}
    STOP_RC=
    kill "-$signal" "$pid" 2>/dev/null || true
    if ! wait_until "$limit" eval "! _alive $pid"; then
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        STOP_RC=killed
        return 1
    fi
    STOP_RC=0
    wait "$pid" 2>/dev/null || STOP_RC=$?
    return 0
}

# init_pki DIR — host CA and server certificate via the coordinator's own init-pki.
init_pki() {
    "$BIN/streamr-coordinator" init-pki --directory "$1" >"$WORK/init-pki.out" 2>&1 ||
        fail "streamr-coordinator init-pki --directory $1 failed: $(cat "$WORK/init-pki.out")"
    [[ -s "$1/ca.pem" && -s "$1/ca.key" && -s "$1/server.pem" && -s "$1/server.key" ]] ||
        fail "init-pki did not create ca.pem ca.key server.pem server.key in $1"
}

# journal_reachable — journald's native socket accepts a datagram connection.
journal_reachable() {
    python3 -c 'import socket; s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.connect("/run/systemd/journal/socket")' 2>/dev/null
}
