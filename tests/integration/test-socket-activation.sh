#!/usr/bin/env bash
# Socket activation: under systemd-socket-activate each daemon adopts the inherited sockets by
# FileDescriptorName (LISTEN_FDNAMES) instead of binding its configured listeners, serves the
# connection that started it, closes unknown inherited sockets with a warning, leaves the
# inherited socket files alone when it stops, and exits 0 on SIGTERM.
# The ingest's subscribe socket demands a client certificate issued by the host CA.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

command -v systemd-socket-activate >/dev/null || fail "systemd-socket-activate not installed (package systemd)"
command -v openssl >/dev/null || fail "openssl not installed"

PKI="$WORK/pki"
init_pki "$PKI"

# tls_connect NAME PORT [s_client options...] — a TLS 1.3 handshake to 127.0.0.1:PORT that keeps
# the connection open for 1 s (long enough to receive a post-handshake alert) then closes.
tls_connect() {
    local name=$1 port=$2
    shift 2
    RC=0
    LAST_CMD="openssl s_client -connect 127.0.0.1:$port $*"
    sleep 1 | timeout -k 5 15 openssl s_client -connect "127.0.0.1:$port" -tls1_3 -CAfile "$PKI/ca.pem" \
        -verify_ip 127.0.0.1 -verify_return_error "$@" >"$WORK/$name.out" 2>&1 || RC=$?
    OUT=$(cat "$WORK/$name.out")
    ERR=$OUT
}
tls_ok() {  # the handshake completed, verified, TLS 1.3, and the server did not abort afterwards
    [[ "$RC" == 0 ]] && contains "$OUT" "Verify return code: 0 (ok)" && contains "$OUT" "TLSv1.3" &&
        ! grep -qi "alert" <<<"$OUT"
}
tls_refused() { [[ "$RC" != 0 ]] || grep -qi "alert" <<<"$OUT"; }

# activate NAME LISTEN-ARGS... -- DAEMON ARGS... — starts the daemon under systemd-socket-activate
# and waits until its sockets listen. The daemon itself only starts on the first connection.
activate() {
    local name=$1 args=() addrs=() a
    shift
    while [[ $1 != -- ]]; do
        [[ $1 == -l ]] && addrs+=("$2")
        args+=("$1")
        shift
    done
    shift
    start_bg "$name" env STREAMR_LOG=stderr systemd-socket-activate "${args[@]}" "$@"
    for a in "${addrs[@]}"; do
        if [[ $a == /* ]]; then
            check "$name: systemd-socket-activate listens on $a" wait_until 5 unix_listening "$a"
        else
            check "$name: systemd-socket-activate listens on $a" wait_until 5 tcp_listening "${a##*:}"
        fi
    done
}

# started_ok NAME PID — the daemon logged daemon_started and is the process holding the sockets.
started_ok() {
    check "$1: daemon logged daemon_started" wait_until 5 grep -qs "event=daemon_started" "$WORK/$1.log"
    check "$1: the exec'd process is the daemon (comm $(cat /proc/"$2"/comm 2>/dev/null))" \
        grep -q '^streamr-' "/proc/$2/comm"
}

# stopped_ok NAME PID INHERITED-PATH... — SIGTERM: exit 0 within 5 s; inherited socket files stay.
stopped_ok() {
    local name=$1 pid=$2 path
    shift 2
    stop_pid "$pid" 5 || fail "$name: did not exit within 5 s of SIGTERM"
    check "$name: exit status 0 after SIGTERM (got $STOP_RC)" test "$STOP_RC" = 0
    check "$name: logged daemon_stopped" grep -q "event=daemon_stopped" "$WORK/$name.log"
    for path in "$@"; do
        check "$name: left the inherited socket file $path in place (it belongs to systemd)" test -S "$path"
    done
}

############ coordinator, first connection on the control socket ############
pick_port P; pick_port Q; pick_port R
mkdir -p "$WORK/sa-coord"
CTL="$WORK/sa-coord/control.sock"
CFG_CTL="$WORK/cfg-coord/control.sock"
activate coord-a -l "127.0.0.1:$P" -l "$CTL" -l "127.0.0.1:$R" --fdname=rpc:control:bogus -- \
    "$BIN/streamr-coordinator" --set listen_http=127.0.0.1:0 --set "pki_directory=$PKI" --set "state_directory=$WORK/state" --set "listen_rpc=127.0.0.1:$Q" \
    --set "control_socket=$CFG_CTL"
COORD=$PID
check "coord-a: nothing exec'd before the first connection" \
    test "$(cat /proc/$COORD/comm)" = "systemd-socket-"

run_cmd coord-a-status "$BIN/streamrctl" status --socket "$CTL"
expect_rc 0 "coord-a: streamrctl status over the inherited control socket (the first connection)"
check "coord-a: status names streamr-coordinator/$VERSION" contains "$OUT" "streamr-coordinator/$VERSION"
started_ok coord-a "$COORD"
check "coord-a: started line lists the inherited rpc socket" grep -q "systemd socket rpc" "$WORK/coord-a.log"
check "coord-a: started line lists the inherited control socket" grep -q "systemd socket control" "$WORK/coord-a.log"
check "coord-a: warned about the unknown inherited socket 'bogus'" \
    grep -q "closed unexpected inherited socket bogus" "$WORK/coord-a.log"

tls_connect coord-a-tls "$P"
check "coord-a: TLS 1.3 handshake on the inherited rpc socket, Verify return code 0" tls_ok
tls_connect coord-a-tls12 "$P" -tls1_2
check "coord-a: TLS 1.2 is refused (TLS 1.3 only)" tls_refused

check "coord-a: the inherited rpc socket :$P is held by the daemon (pid $COORD)" \
    test "$(tcp_listener_pid "$P")" = "$COORD"
check "coord-a: nothing listens on the configured listen_rpc port :$Q" tcp_not_listening "$Q"
check "coord-a: the unknown inherited socket :$R was closed" wait_until 3 tcp_not_listening "$R"
check "coord-a: the configured control_socket was not created" test ! -e "$CFG_CTL"
stopped_ok coord-a "$COORD" "$CTL"

############ coordinator, first connection is TLS on the rpc socket ############
pick_port P2; pick_port Q2
mkdir -p "$WORK/sa-coord2"
CTL2="$WORK/sa-coord2/control.sock"
activate coord-b -l "127.0.0.1:$P2" -l "$CTL2" --fdname=rpc:control -- \
    "$BIN/streamr-coordinator" --set listen_http=127.0.0.1:0 --set "pki_directory=$PKI" --set "state_directory=$WORK/state" --set "listen_rpc=127.0.0.1:$Q2" \
    --set "control_socket=$WORK/cfg-coord2/control.sock"
COORD2=$PID
tls_connect coord-b-tls "$P2"
check "coord-b: the TLS connection that triggered activation completes a TLS 1.3 handshake" tls_ok
started_ok coord-b "$COORD2"
run_cmd coord-b-status "$BIN/streamrctl" status --socket "$CTL2" --json
expect_rc 0 "coord-b: streamrctl status --json over the inherited control socket"
check "coord-b: JSON status is valid and says role coordinator" python3 -c '
import json, sys
s = json.loads(sys.argv[1])
assert s["software"] == "streamr-coordinator/0.1.0", s
assert s["role"] == "coordinator", s' "$OUT"
check "coord-b: nothing listens on :$Q2" tcp_not_listening "$Q2"
stopped_ok coord-b "$COORD2" "$CTL2"

############ validator: work ############
mkdir -p "$WORK/sa-val"
WORKSOCK="$WORK/sa-val/work.sock"
activate val -l "$WORKSOCK" --fdname=work -- \
    "$BIN/streamr-validator" --set "work_socket=$WORK/cfg-val/work.sock" --set "pki_directory=$PKI" --set "state_directory=$WORK/state"
VAL=$PID
run_cmd val-status "$BIN/streamrctl" status --socket "$WORKSOCK"
expect_rc 0 "validator: streamrctl status over the inherited work socket (the first connection)"
check "validator: status names streamr-validator/$VERSION" contains "$OUT" "streamr-validator/$VERSION"
started_ok val "$VAL"
check "validator: started line lists the inherited work socket" grep -q "systemd socket work" "$WORK/val.log"
check "validator: the inherited socket is held by the daemon" test "$(unix_listener_pid "$WORKSOCK")" = "$VAL"
check "validator: the configured work_socket was not created" test ! -e "$WORK/cfg-val/work.sock"
stopped_ok val "$VAL" "$WORKSOCK"

############ node agent: control ############
mkdir -p "$WORK/sa-node"
NODESOCK="$WORK/sa-node/control.sock"
activate node -l "$NODESOCK" --fdname=control -- \
    "$BIN/streamr-node" --set "control_socket=$WORK/cfg-node/control.sock" --set "state_directory=$WORK/node-state"
NODE=$PID
run_cmd node-status "$BIN/streamrctl" status --socket "$NODESOCK"
expect_rc 0 "node: streamrctl status over the inherited control socket (the first connection)"
check "node: status names streamr-node/$VERSION" contains "$OUT" "streamr-node/$VERSION"
started_ok node "$NODE"
check "node: started line lists the inherited control socket" grep -q "systemd socket control" "$WORK/node.log"
check "node: the inherited socket is held by the daemon" test "$(unix_listener_pid "$NODESOCK")" = "$NODE"
check "node: the configured control_socket was not created" test ! -e "$WORK/cfg-node/control.sock"
stopped_ok node "$NODE" "$NODESOCK"

############ ingest: subscribe (mutual TLS, client certificate required) ############
# A node certificate as enrolment would issue it: signed by the host CA, extendedKeyUsage clientAuth.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/node.key" 2>/dev/null
openssl req -new -key "$WORK/node.key" -subj "/O=Streamr/CN=it-node" -out "$WORK/node.csr" 2>/dev/null
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' >"$WORK/node.ext"
openssl x509 -req -in "$WORK/node.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" -CAcreateserial \
    -CAserial "$WORK/ca.srl" -days 1 -extfile "$WORK/node.ext" -out "$WORK/node.pem" 2>/dev/null
check "test setup: the node certificate verifies against the host CA for client use" \
    quiet openssl verify -CAfile "$PKI/ca.pem" -purpose sslclient "$WORK/node.pem"
# The same kind of certificate from a CA the host does not trust.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/rogue.key" \
    -subj "/CN=rogue" -days 1 -addext extendedKeyUsage=clientAuth -out "$WORK/rogue.pem" 2>/dev/null

pick_port SP; pick_port SQ
activate ingest -l "127.0.0.1:$SP" --fdname=subscribe -- \
    "$BIN/streamr-ingest" --set listen_rtmp=127.0.0.1:0 --set listen_http=127.0.0.1:0 --set "pki_directory=$PKI" --set "state_directory=$WORK/state" --set "listen_subscribe=127.0.0.1:$SQ"
INGEST=$PID
tls_connect ingest-cert "$SP" -cert "$WORK/node.pem" -key "$WORK/node.key"
check "ingest: the activating connection with a CA-issued client certificate completes TLS 1.3" tls_ok
started_ok ingest "$INGEST"
check "ingest: started line lists the inherited subscribe socket" grep -q "systemd socket subscribe" "$WORK/ingest.log"
check "ingest: the server reported no handshake failure for the certified client" \
    bash -c "! grep -qi 'handshake' '$WORK/ingest.log'"

tls_connect ingest-nocert "$SP"
check "ingest: a client without a certificate is refused" tls_refused
check "ingest: ... with the TLS 1.3 'certificate required' alert" grep -qi "certificate required" "$WORK/ingest-nocert.out"
tls_connect ingest-rogue "$SP" -cert "$WORK/rogue.pem" -key "$WORK/rogue.key"
check "ingest: a client certificate from an untrusted CA is refused" tls_refused
tls_connect ingest-servercert "$SP" -cert "$PKI/server.pem" -key "$PKI/server.key"
check "ingest: the host's server certificate (no clientAuth) is refused as a client certificate" tls_refused
tls_connect ingest-cert2 "$SP" -cert "$WORK/node.pem" -key "$WORK/node.key"
check "ingest: still serves a certified client after refusing the others" tls_ok

check "ingest: the inherited socket :$SP is held by the daemon" test "$(tcp_listener_pid "$SP")" = "$INGEST"
check "ingest: nothing listens on the configured listen_subscribe port :$SQ" tcp_not_listening "$SQ"
stopped_ok ingest "$INGEST"
