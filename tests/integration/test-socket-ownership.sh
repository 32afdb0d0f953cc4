#!/usr/bin/env bash
# What a daemon may do to files and ports at its configured listen addresses (no systemd):
# - a stale socket file (nobody listening) is replaced, and the daemon starts;
# - a regular file at the socket path is never deleted: the daemon fails, naming the path;
# - a second instance configured with the same Unix socket as a running one must fail and leave
#   the running instance's socket alone (it must not unlink and re-bind it, which orphans the
#   first daemon: `streamrctl` can no longer reach it);
# - the same goes for a TCP port that is already in use.
# Every scenario runs even if an earlier one fails; the test fails if any did.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

PKI="$WORK/pki"
init_pki "$PKI"

############ stale socket file → replaced ############
mkdir -p "$WORK/stale"
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.close()' "$WORK/stale/control.sock"
start_bg stale env STREAMR_LOG=stderr "$BIN/streamr-node" --set "control_socket=$WORK/stale/control.sock"
STALE=$PID
expect "stale socket: the node starts and listens on it" wait_until 5 unix_listening "$WORK/stale/control.sock"
run_cmd stale-status "$BIN/streamrctl" status --socket "$WORK/stale/control.sock"
expect "stale socket: streamrctl status works (exit $RC)" test "$RC" = 0
stop_pid "$STALE" 5 || true

############ regular file at the socket path → left alone, clear failure ############
for d in streamr-node streamr-validator; do
    mkdir -p "$WORK/regular-$d"
    f="$WORK/regular-$d/control.sock"
    echo "precious data" >"$f"
    key=control_socket
    [[ $d == streamr-validator ]] && key=work_socket
    run_cmd "regular-$d" env STREAMR_LOG=stderr "$BIN/$d" --set "$key=$f" --set "state_directory=$WORK/regular-$d/state"
    expect "$d: refuses to start when a regular file sits at its socket path (exit $RC)" test "$RC" -ne 0 -a "$RC" -ne 124
    expect "$d: ... names the path in the error" contains "$ERR" "$f"
    expect "$d: ... and leaves the file untouched" test "$(cat "$f" 2>/dev/null)" = "precious data"
done

############ second instance on the same Unix socket ############
# second_instance NAME DAEMON SOCKET FIRST-ARGS -- SECOND-ARGS — the first instance runs with
# FIRST-ARGS (its socket at SOCKET), the second starts with SECOND-ARGS (same socket).
second_instance() {
    local name=$1 daemon=$2 sock=$3 first second status_rc
    shift 3
    local a=() b=()
    while [[ $1 != -- ]]; do a+=("$1"); shift; done
    shift
    b=("$@")
    start_bg "$name-first" env STREAMR_LOG=stderr "$BIN/$daemon" "${a[@]}"
    first=$PID
    check "$name: first instance listening" wait_until 5 unix_listening "$sock"
    local inode_before
    inode_before=$(stat -c %i "$sock")

    start_bg "$name-second" env STREAMR_LOG=stderr "$BIN/$daemon" "${b[@]}"
    second=$PID
    if wait_until 5 eval "! _alive $second"; then
        local rc=0
        wait "$second" || rc=$?
        expect "$name: the second instance fails (exit $rc)" test "$rc" -ne 0
        expect "$name: ... naming the socket path" grep -qF "$sock" "$WORK/$name-second.log"
    else
        expect "$name: the second instance fails instead of running (it is still running after 5 s)" false
    fi
    expect "$name: the first instance's socket file is untouched (same inode)" \
        test "$(stat -c %i "$sock" 2>/dev/null)" = "$inode_before"
    local holders
    holders=$(ss -Hlxp 2>/dev/null | awk -v p="$sock" '$5 == p' | sed -nE 's/.*pid=([0-9]+).*/\1/p' | sort -u | xargs)
    expect "$name: the path is served by the first instance only (pid $first; listeners: $holders)" \
        test "$holders" = "$first"
    stop_pid "$second" 5 || true
    status_rc=0
    timeout 20 "$BIN/streamrctl" status --socket "$sock" >"$WORK/$name-status.out" 2>&1 || status_rc=$?
    expect "$name: after the second instance is gone, streamrctl still reaches the first (exit $status_rc)" \
        test "$status_rc" = 0
    stop_pid "$first" 5 || true
}

second_instance node streamr-node "$WORK/dup-node/control.sock" \
    --set "control_socket=$WORK/dup-node/control.sock" -- \
    --set "control_socket=$WORK/dup-node/control.sock"
second_instance validator streamr-validator "$WORK/dup-val/validator.sock" \
    --set "work_socket=$WORK/dup-val/validator.sock" --set "state_directory=$WORK/dup-val/state1" -- \
    --set "work_socket=$WORK/dup-val/validator.sock" --set "state_directory=$WORK/dup-val/state2"
pick_port DC1; pick_port DC2
second_instance coordinator streamr-coordinator "$WORK/dup-coord/control.sock" \
    --set "pki_directory=$PKI" --set "state_directory=$WORK/state" --set "listen_rpc=127.0.0.1:$DC1" --set "control_socket=$WORK/dup-coord/control.sock" -- \
    --set "pki_directory=$PKI" --set "state_directory=$WORK/state" --set "listen_rpc=127.0.0.1:$DC2" --set "control_socket=$WORK/dup-coord/control.sock"

############ second instance on the same TCP port ############
pick_port TP
start_bg tcp-first env STREAMR_LOG=stderr "$BIN/streamr-ingest" --set listen_rtmp=127.0.0.1:0 --set listen_http=127.0.0.1:0 --set "pki_directory=$PKI" --set "state_directory=$WORK/state" --set "listen_subscribe=127.0.0.1:$TP"
TFIRST=$PID
check "ingest: first instance listening on :$TP" wait_until 5 tcp_listening "$TP"
run_cmd tcp-second env STREAMR_LOG=stderr "$BIN/streamr-ingest" --set listen_rtmp=127.0.0.1:0 --set listen_http=127.0.0.1:0 --set "pki_directory=$PKI" --set "state_directory=$WORK/state" --set "listen_subscribe=127.0.0.1:$TP"
expect "ingest: a second instance on the same port fails (exit $RC)" test "$RC" -ne 0 -a "$RC" -ne 124
expect "ingest: ... naming the address" contains "$ERR" "127.0.0.1:$TP"
expect "ingest: ... the first instance still holds :$TP" test "$(tcp_listener_pid "$TP")" = "$TFIRST"
stop_pid "$TFIRST" 5 || true
