#!/usr/bin/env bash
# Graceful shutdown with clients connected: an idle client — a TCP connection that never starts
# its TLS handshake, an established TLS 1.3 session, or an idle Unix-socket connection — must
# not keep a daemon from exiting 0 within 5 s of SIGTERM (systemd would otherwise wait for
# TimeoutStopSec and SIGKILL it). Also SIGINT stops a daemon cleanly.
# Every scenario runs even if an earlier one fails; the test fails if any did.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

PKI="$WORK/pki"
init_pki "$PKI"

# A node certificate signed by the host CA (clientAuth), for the ingest's mutual TLS.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/node.key" 2>/dev/null
openssl req -new -key "$WORK/node.key" -subj "/O=Streamr/CN=it-node" -out "$WORK/node.csr" 2>/dev/null
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' >"$WORK/node.ext"
openssl x509 -req -in "$WORK/node.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" -CAcreateserial \
    -CAserial "$WORK/ca.srl" -days 1 -extfile "$WORK/node.ext" -out "$WORK/node.pem" 2>/dev/null

# idle.py tcp:HOST:PORT|unix:PATH [tls CAFILE [CERT KEY]] — connects (and completes a TLS
# handshake if asked), prints "connected", then holds the connection open without a word.
cat >"$WORK/idle.py" <<'EOF'
import socket, ssl, sys, time
kind, _, addr = sys.argv[1].partition(":")
if kind == "tcp":
    host, port = addr.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=10)
else:
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(addr)
if len(sys.argv) > 2 and sys.argv[2] == "tls":
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_verify_locations(sys.argv[3])
    if len(sys.argv) > 5:
        ctx.load_cert_chain(sys.argv[4], sys.argv[5])
    s = ctx.wrap_socket(s, server_hostname="localhost")
    # In TLS 1.3 the server checks the client certificate after the client's handshake ends:
    # give it a moment to object.
    s.settimeout(0.5)
    try:
        if s.recv(1) == b"":
            sys.exit("server closed the connection")
    except (socket.timeout, TimeoutError):
        pass
print("connected", flush=True)
time.sleep(60)
EOF

# scenario NAME DAEMON LISTENER CLIENT SIGNAL -- DAEMON-ARGS...
#   CLIENT: none | plain (connect, nothing more) | "tls CAFILE [CERT KEY]" (idle TLS session)
scenario() {
    local name=$1 daemon=$2 listener=$3 idle=$4 signal=$5 pid t0 t1
    shift 6
    start_bg "$name" env STREAMR_LOG=stderr "$BIN/$daemon" "$@"
    pid=$PID
    case $listener in
    tcp:*) check "$name: listening" wait_until 5 tcp_listening "${listener##*:}" ;;
    unix:*) check "$name: listening" wait_until 5 unix_listening "${listener#unix:}" ;;
    esac
    check "$name: started" wait_until 5 grep -qs "event=daemon_started" "$WORK/$name.log"
    if [[ "$idle" != none ]]; then
        [[ "$idle" == plain ]] && idle=""
        # shellcheck disable=SC2086
        start_bg "$name-client" python3 "$WORK/idle.py" "$listener" $idle
        check "$name: the idle client is connected" wait_until 5 grep -qs connected "$WORK/$name-client.log"
    fi
    t0=$(date +%s%N)
    if stop_pid "$pid" 5 "$signal"; then
        t1=$(date +%s%N)
        ok "$name: exited $(((t1 - t0) / 1000000)) ms after SIG$signal"
        expect "$name: exit status 0 (got $STOP_RC)" test "$STOP_RC" = 0
        expect "$name: logged daemon_stopped" grep -qs "event=daemon_stopped" "$WORK/$name.log"
    else
        expect "$name: exits within 5 s of SIG$signal (still running after 5 s; SIGKILLed)" false
        echo "     last log lines of $name:" >&2
        tail -n 5 "$WORK/$name.log" | sed 's/^/       /' >&2
    fi
}

pick_port C1; pick_port C2; pick_port C3
scenario coord-no-client streamr-coordinator "tcp:127.0.0.1:$C1" none TERM -- \
    --set "pki_directory=$PKI" --set "state_directory=$WORK/state" --set "listen_rpc=127.0.0.1:$C1" --set listen_http=127.0.0.1:0 --set "control_socket=$WORK/c1/control.sock"
scenario coord-idle-before-handshake streamr-coordinator "tcp:127.0.0.1:$C2" plain TERM -- \
    --set "pki_directory=$PKI" --set "state_directory=$WORK/state" --set "listen_rpc=127.0.0.1:$C2" --set listen_http=127.0.0.1:0 --set "control_socket=$WORK/c2/control.sock"
scenario coord-idle-tls-session streamr-coordinator "tcp:127.0.0.1:$C3" "tls $PKI/ca.pem" TERM -- \
    --set "pki_directory=$PKI" --set "state_directory=$WORK/state" --set "listen_rpc=127.0.0.1:$C3" --set listen_http=127.0.0.1:0 --set "control_socket=$WORK/c3/control.sock"
pick_port C4
scenario coord-idle-control streamr-coordinator "unix:$WORK/c4/control.sock" plain TERM -- \
    --set "pki_directory=$PKI" --set "state_directory=$WORK/state" --set "listen_rpc=127.0.0.1:$C4" --set listen_http=127.0.0.1:0 --set "control_socket=$WORK/c4/control.sock"

pick_port I1; pick_port I2
scenario ingest-idle-before-handshake streamr-ingest "tcp:127.0.0.1:$I1" plain TERM -- \
    --set listen_rtmp=127.0.0.1:0 --set listen_http=127.0.0.1:0 --set "pki_directory=$PKI" --set "state_directory=$WORK/state" --set "listen_subscribe=127.0.0.1:$I1"
scenario ingest-idle-tls-session streamr-ingest "tcp:127.0.0.1:$I2" "tls $PKI/ca.pem $WORK/node.pem $WORK/node.key" TERM -- \
    --set listen_rtmp=127.0.0.1:0 --set listen_http=127.0.0.1:0 --set "pki_directory=$PKI" --set "state_directory=$WORK/state" --set "listen_subscribe=127.0.0.1:$I2"

scenario validator-idle-work streamr-validator "unix:$WORK/v/validator.sock" plain TERM -- \
    --set "work_socket=$WORK/v/validator.sock" --set "state_directory=$WORK/v-state" --set "coordinator_socket=$WORK/v-state/none.sock"
scenario node-idle-control streamr-node "unix:$WORK/n/control.sock" plain TERM -- \
    --set "control_socket=$WORK/n/control.sock"
scenario node-sigint streamr-node "unix:$WORK/n2/control.sock" none INT -- \
    --set "control_socket=$WORK/n2/control.sock"

# SIGTERM the moment a daemon says it started (as systemd may send a stop right after READY=1):
# it must stop gracefully, not die of the signal (exit 143). term-at-start.py reads the daemon's
# log as it is written and signals on the daemon_started line itself, so the gap is what the
# daemon leaves, not a poll interval.
cat >"$WORK/term-at-start.py" <<'EOF2'
import os, signal, subprocess, sys
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, "STREAMR_LOG": "stderr"})
for line in p.stderr:
    if b"event=daemon_started" in line:
        p.send_signal(signal.SIGTERM)
        break
else:
    sys.exit(f"no daemon_started line; exit {p.wait()}")
try:
    rc = p.wait(timeout=10)
except subprocess.TimeoutExpired:
    p.kill()
    sys.exit("still running 10 s after SIGTERM")
print(rc)
EOF2
term_at_start() {  # term_at_start NAME DAEMON ARGS...
    local name=$1 daemon=$2 i rcs=""
    shift 2
    for i in 1 2 3 4 5; do
        rcs+="$(timeout 30 python3 "$WORK/term-at-start.py" "$BIN/$daemon" "$@" 2>&1 | tail -1) "
    done
    expect "$name: SIGTERM right at daemon_started, 5 times: exit 0 each time (got: $rcs)" test "$rcs" = "0 0 0 0 0 "
}
term_at_start coordinator streamr-coordinator --set "pki_directory=$PKI" --set "state_directory=$WORK/t-state" \
    --set listen_rpc=127.0.0.1:0 --set listen_http=127.0.0.1:0 --set "control_socket=$WORK/t1/control.sock"
term_at_start ingest streamr-ingest --set listen_rtmp=127.0.0.1:0 --set listen_http=127.0.0.1:0 --set "pki_directory=$PKI" \
    --set "state_directory=$WORK/t-state" --set listen_subscribe=127.0.0.1:0
term_at_start node streamr-node --set "control_socket=$WORK/t3/control.sock"
