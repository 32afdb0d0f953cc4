#!/usr/bin/env bash
# Life of each daemon without systemd: binds its configured listeners, logs to stderr under
# STREAMR_LOG=stderr, tells a (fake) NOTIFY_SOCKET READY=1 once the listeners accept connections,
# pings WATCHDOG=1 every half WATCHDOG_USEC, sends STOPPING=1 on SIGTERM and exits 0 within 5 s
# and removes nothing it should not.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

PKI="$WORK/pki"
init_pki "$PKI"
pki_sum() { (cd "$PKI" && stat -c '%n %s %a %U %Y' -- * && cat -- *) | sha256sum; }
PKI_SUM=$(pki_sum)

# A stand-in for systemd's notification socket: records every datagram line with a monotonic
# timestamp and, on READY=1, probes the listeners given as tcp:HOST:PORT or unix:PATH.
cat >"$WORK/notify.py" <<'EOF'
import socket, sys, time
sock_path, out_path, probes = sys.argv[1], sys.argv[2], sys.argv[3:]

def probe(spec):
    kind, _, addr = spec.partition(":")
    try:
        if kind == "tcp":
            host, port = addr.rsplit(":", 1)
            s = socket.create_connection((host, int(port)), timeout=2)
        else:
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(2)
            s.connect(addr)
        s.close()
        return "up"
    except OSError as e:
        return "down:" + str(e).replace(" ", "_")

s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sock_path)
with open(out_path, "a", buffering=1) as out:
    out.write(f"{time.monotonic():.3f} LISTENER-UP\n")
    while True:
        data = s.recv(65536).decode(errors="replace")
        t = time.monotonic()
        lines = [l for l in data.split("\n") if l]
        for line in lines:
            out.write(f"{t:.3f} {line}\n")
        if "READY=1" in lines:
            for p in probes:
                out.write(f"{t:.3f} PROBE {p} {probe(p)}\n")
EOF

# watchdog_count FILE — WATCHDOG=1 datagrams in the 1.5 s after READY=1.
watchdog_count() {
    awk '$2 == "READY=1" && !r { r = $1 } $2 == "WATCHDOG=1" && r && $1 >= r - 0.05 && $1 <= r + 1.5 { n++ }
         END { print n + 0 }' "$1"
}
ready_time() { awk '$2 == "READY=1" { print $1; exit }' "$1"; }
now_mono() { python3 -c 'import time; print(f"{time.monotonic():.3f}")'; }

# lifecycle NAME DAEMON "LISTENER-SPECS" -- ARGS...
#   LISTENER-SPECS: space-separated tcp:127.0.0.1:PORT / unix:PATH the daemon must bind.
lifecycle() {
    local name=$1 daemon=$2 specs=$3 spec pid notify out t_ready n path port dir keep_dirs=" "
    shift 4
    for spec in $specs; do
        [[ $spec == unix:* && -f "$(dirname "${spec#unix:}")/keep.txt" ]] && keep_dirs+="$(dirname "${spec#unix:}") "
    done
    notify="$WORK/$name-notify.sock"
    out="$WORK/$name-notify.txt"
    # shellcheck disable=SC2086
    start_bg "$name-notifylistener" python3 "$WORK/notify.py" "$notify" "$out" $specs
    local listener=$PID
    check "$name: fake NOTIFY_SOCKET is ready" wait_until 5 grep -qs LISTENER-UP "$out"

    start_bg "$name" env STREAMR_LOG=stderr NOTIFY_SOCKET="$notify" WATCHDOG_USEC=1000000 "$BIN/$daemon" "$@"
    pid=$PID
    for spec in $specs; do
        case $spec in
        tcp:*)
            port=${spec##*:}
            check "$name: listens on TCP :$port" wait_until 5 tcp_listening "$port"
            check "$name: ... and that listener is the daemon's (pid $pid)" test "$(tcp_listener_pid "$port")" = "$pid"
            ;;
        unix:*)
            path=${spec#unix:}
            check "$name: listens on $path" wait_until 5 unix_listening "$path"
            check "$name: ... and that listener is the daemon's (pid $pid)" test "$(unix_listener_pid "$path")" = "$pid"
            check "$name: $path has mode 0660 (got $(stat -c %a "$path"))" test "$(stat -c %a "$path")" = 660
            ;;
        esac
    done

    check "$name: READY=1 arrives" wait_until 5 grep -qs ' READY=1$' "$out"
    for spec in $specs; do
        check "$name: when READY=1 arrived, $spec accepted connections" grep -q "PROBE $spec up" "$out"
    done
    check "$name: logs daemon_started on stderr" grep -q 'started, listening on.*event=daemon_started' "$WORK/$name.log"
    for spec in $specs; do
        check "$name: the started line names ${spec#*:}" grep -qF "${spec#*:}" "$WORK/$name.log"
    done

    # Watchdog: WATCHDOG_USEC=1 s without WATCHDOG_PID → a ping every 0.5 s.
    t_ready=$(ready_time "$out")
    while python3 -c 'import sys, time; sys.exit(0 if time.monotonic() < float(sys.argv[1]) + 1.6 else 1)' "$t_ready"; do
        sleep 0.1
    done
    n=$(watchdog_count "$out")
    check "$name: WATCHDOG=1 at least twice in the 1.5 s after READY=1 (got $n)" test "$n" -ge 2
    check "$name: no STOPPING=1 before SIGTERM" bash -c "! grep -q ' STOPPING=1$' '$out'"

    stop_pid "$pid" 5 || fail "$name: did not exit within 5 s of SIGTERM"
    check "$name: exit status 0 after SIGTERM (got $STOP_RC)" test "$STOP_RC" = 0
    check "$name: STOPPING=1 arrives" wait_until 2 grep -qs ' STOPPING=1$' "$out"
    check "$name: READY=1 came before STOPPING=1" \
        awk '$2 == "READY=1" { r = NR } $2 == "STOPPING=1" { s = NR } END { exit !(r && s && r < s) }' "$out"
    check "$name: logs daemon_stopping then daemon_stopped on stderr" \
        awk '/event=daemon_stopping/ { a = NR } /event=daemon_stopped/ { b = NR } END { exit !(a && b && a < b) }' "$WORK/$name.log"
    for spec in $specs; do
        case $spec in
        tcp:*) check "$name: TCP :${spec##*:} is closed after exit" tcp_not_listening "${spec##*:}" ;;
        unix:*)
            path=${spec#unix:}
            check "$name: $path is no longer listening" bash -c "! ss -Hlx | awk '{print \$5}' | grep -qxF '$path'"
            dir=$(dirname "$path")
            check "$name: the socket directory $dir is kept" test -d "$dir"
            if [[ "$keep_dirs" == *" $dir "* ]]; then
                check "$name: the other file in $dir is kept" test -f "$dir/keep.txt"
            fi
            run_cmd "$name-status-after" "$BIN/streamrctl" status --socket "$path"
            expect_rc 2 "$name: streamrctl status after stop says not running"
            ;;
        esac
    done
    check "$name: the PKI directory is unchanged" test "$(pki_sum)" = "$PKI_SUM"
    stop_pid "$listener" 2 || true
}

# Socket directories with a bystander file that must survive.
for d in coord val; do mkdir -p "$WORK/run-$d" && echo keep >"$WORK/run-$d/keep.txt"; done

############ coordinator, configured from a file ############
pick_port CP
cat >"$WORK/coordinator.conf" <<EOF
# lifecycle test
listen_rpc = 127.0.0.1:$CP
listen_http = 127.0.0.1:0
control_socket = $WORK/run-coord/control.sock
pki_directory = $PKI
state_directory = $WORK/state
EOF
lifecycle coordinator streamr-coordinator "tcp:127.0.0.1:$CP unix:$WORK/run-coord/control.sock" -- \
    --config "$WORK/coordinator.conf"

############ ingest ############
pick_port IP
lifecycle ingest streamr-ingest "tcp:127.0.0.1:$IP" -- \
    --set listen_rtmp=127.0.0.1:0 --set listen_http=127.0.0.1:0 --set "pki_directory=$PKI" --set "state_directory=$WORK/state" --set "listen_subscribe=127.0.0.1:$IP"

############ validator ############
lifecycle validator streamr-validator "unix:$WORK/run-val/validator.sock" -- \
    --set "work_socket=$WORK/run-val/validator.sock" --set "pki_directory=$PKI" --set "state_directory=$WORK/state" \
    --set "coordinator_socket=$WORK/state/no-coordinator.sock"

############ node agent (its socket directory does not exist yet: the daemon creates it) ############
NODE_DIR="$WORK/run-node/nested"
lifecycle node streamr-node "unix:$NODE_DIR/control.sock" -- \
    --set "control_socket=$NODE_DIR/control.sock" --set "state_directory=$WORK/node-state"

############ watchdog not requested → no pings ############
# WATCHDOG_PID names another process: the watchdog is not ours.
start_bg wd-other-listener python3 "$WORK/notify.py" "$WORK/wd-other.sock" "$WORK/wd-other.txt"
wait_until 5 grep -qs LISTENER-UP "$WORK/wd-other.txt" || fail "fake NOTIFY_SOCKET did not start"
start_bg wd-other env STREAMR_LOG=stderr NOTIFY_SOCKET="$WORK/wd-other.sock" WATCHDOG_USEC=1000000 WATCHDOG_PID=1 \
    "$BIN/streamr-node" --set "control_socket=$WORK/wd-other/control.sock"
WD=$PID
check "WATCHDOG_PID=1: READY=1 arrives" wait_until 5 grep -qs ' READY=1$' "$WORK/wd-other.txt"
sleep 1.5
check "WATCHDOG_PID of another process: no WATCHDOG=1" bash -c "! grep -q ' WATCHDOG=1$' '$WORK/wd-other.txt'"
stop_pid "$WD" 5 || fail "node (WATCHDOG_PID=1) did not exit within 5 s of SIGTERM"
check "node (WATCHDOG_PID=1) exit 0 (got $STOP_RC)" test "$STOP_RC" = 0

# No WATCHDOG_USEC at all.
start_bg wd-none-listener python3 "$WORK/notify.py" "$WORK/wd-none.sock" "$WORK/wd-none.txt"
wait_until 5 grep -qs LISTENER-UP "$WORK/wd-none.txt" || fail "fake NOTIFY_SOCKET did not start"
start_bg wd-none env STREAMR_LOG=stderr NOTIFY_SOCKET="$WORK/wd-none.sock" \
    "$BIN/streamr-validator" --set "work_socket=$WORK/wd-none/validator.sock" --set "state_directory=$WORK/wd-none-state" \
    --set "coordinator_socket=$WORK/wd-none-state/no-coordinator.sock"
WD=$PID
check "no WATCHDOG_USEC: READY=1 arrives" wait_until 5 grep -qs ' READY=1$' "$WORK/wd-none.txt"
sleep 1.5
check "no WATCHDOG_USEC: no WATCHDOG=1" bash -c "! grep -q ' WATCHDOG=1$' '$WORK/wd-none.txt'"
stop_pid "$WD" 5 || fail "validator (no watchdog) did not exit within 5 s of SIGTERM"
check "validator (no watchdog) exit 0 (got $STOP_RC)" test "$STOP_RC" = 0
check "validator (no watchdog): STOPPING=1 arrives" wait_until 2 grep -qs ' STOPPING=1$' "$WORK/wd-none.txt"

############ no NOTIFY_SOCKET at all: runs and stops normally ############
start_bg plain env STREAMR_LOG=stderr "$BIN/streamr-node" --set "control_socket=$WORK/plain/control.sock"
PLAIN=$PID
check "without NOTIFY_SOCKET the node starts" wait_until 5 unix_listening "$WORK/plain/control.sock"
run_cmd plain-status "$BIN/streamrctl" status --socket "$WORK/plain/control.sock"
expect_rc 0 "streamrctl status against the plain node"
check "status shows role node" grep -Eq '^role: +node$' "$WORK/plain-status.out"
stop_pid "$PLAIN" 5 || fail "plain node did not exit within 5 s of SIGTERM"
check "plain node exit 0 (got $STOP_RC)" test "$STOP_RC" = 0
