#!/usr/bin/env bash
# Runs the whole Streamr system locally on loopback: host CA, coordinator,
# ingest, validator and two node agents, then prints where things are and
# their status. Ctrl-C stops everything. DEMO_SECONDS=N stops after N seconds.
set -euo pipefail
BIN=${BIN:?BIN must point at the build directory (make demo sets it)}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEMO=${DEMO_DIR:-$ROOT/.build-demo}
rm -rf "$DEMO" && mkdir -p "$DEMO"/{pki,run,node1,node2}
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

export STREAMR_LOG=${STREAMR_LOG:-stderr}
start() { # name, log file, command...
    local name=$1 log=$2; shift 2
    "$@" >"$log" 2>&1 &
    pids+=($!)
}
wait_for_socket() {
    for _ in $(seq 1 100); do [ -S "$1" ] && return 0; sleep 0.1; done
    echo "demo: $1 did not appear; see the logs in $DEMO" >&2; exit 1
}

"$BIN/streamr-coordinator" init-pki --directory "$DEMO/pki" --hostname localhost --ip 127.0.0.1 >/dev/null
COMMON=(--set "pki_directory=$DEMO/pki" --set "state_directory=$DEMO")
start coordinator "$DEMO/coordinator.log" "$BIN/streamr-coordinator" "${COMMON[@]}" \
    --set listen_rpc=127.0.0.1:17443 --set listen_http=127.0.0.1:18000 --set control_socket="$DEMO/run/control.sock"
start ingest "$DEMO/ingest.log" "$BIN/streamr-ingest" "${COMMON[@]}" --set listen_subscribe=127.0.0.1:17444 \
    --set listen_rtmp=127.0.0.1:1935 --set listen_http=127.0.0.1:8936 --set coordinator_socket="$DEMO/run/control.sock"
start validator "$DEMO/validator.log" "$BIN/streamr-validator" "${COMMON[@]}" --set work_socket="$DEMO/run/validator.sock"
for n in 1 2; do
    start node$n "$DEMO/node$n.log" "$BIN/streamr-node" --set state_directory="$DEMO/node$n" \
        --set control_socket="$DEMO/node$n/control.sock"
done
wait_for_socket "$DEMO/run/control.sock"
wait_for_socket "$DEMO/run/validator.sock"
wait_for_socket "$DEMO/node1/control.sock"
wait_for_socket "$DEMO/node2/control.sock"

cat <<INFO

Streamr demo is running (state and logs in $DEMO):
  coordinator  mutual TLS on 127.0.0.1:17443, http://127.0.0.1:18000 (/watch, /healthz, /metrics),
               admin socket $DEMO/run/control.sock
  ingest       live subscriptions (mutual TLS) on 127.0.0.1:17444
  validator    work socket $DEMO/run/validator.sock
  node 1, 2    status sockets $DEMO/node1/control.sock, $DEMO/node2/control.sock
  CA pin       $("$BIN/streamr-coordinator" init-pki --directory "$DEMO/pki" | sed -n 's/^CA pin: //p')

Not there yet (later milestones): RTMP publishing and viewer playback, enrolment,
heartbeats and earnings. Once RTMP lands, this demo pushes a synthetic stream and
prints its watch URL here.

INFO
for sock in "$DEMO/run/control.sock" "$DEMO/run/validator.sock" "$DEMO/node1/control.sock" "$DEMO/node2/control.sock"; do
    echo "== streamrctl status --socket $sock"
    "$BIN/streamrctl" status --socket "$sock"
    echo
done

if [ -n "${DEMO_SECONDS:-}" ]; then
    sleep "$DEMO_SECONDS"
else
    echo "Press Ctrl-C to stop."
    wait
fi
