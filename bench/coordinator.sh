#!/usr/bin/env bash
# The coordinator's heartbeat benchmark: a real streamr-coordinator (release build, SQLite in
# a temporary directory) and `streamr-bench coordinator` as N stand-in nodes on loopback.
# Prints Markdown table rows: one paced row per target (nodes, rate) and one closed-loop row.
#   bench/coordinator.sh [BIN]    (BENCH_SECONDS, BENCH_NODES, BENCH_RATE override defaults)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-$(swift build -c release --show-bin-path)}
SECONDS_EACH=${BENCH_SECONDS:-10}
# The issue's setup: the load generator pinned to one core and the coordinator to the other,
# so neither steals the other's CPU (BENCH_PIN=0: unpinned, both share both cores).
COORD_PIN=() LOAD_PIN=()
if [[ "${BENCH_PIN:-1}" == 1 ]] && command -v taskset >/dev/null && (( $(nproc) >= 2 )); then
    COORD_PIN=(taskset -c 1) LOAD_PIN=(taskset -c 0)
fi
# 10,000 sessions need 10,000+ descriptors in each process.
ulimit -n "$(ulimit -Hn)"
WORK=$(mktemp -d /tmp/streamr-bench.XXXXXX)
COORD=
cleanup() { [[ -n "$COORD" ]] && kill "$COORD" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

# run NODES RATE → one table row
run() {
    local nodes=$1 rate=$2 port
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    rm -rf "$WORK/state"; mkdir -p "$WORK/state"
    [[ -s "$WORK/pki/ca.pem" ]] || "$BIN/streamr-coordinator" init-pki --directory "$WORK/pki" >/dev/null
    # Every stand-in node enrols from 127.0.0.1: the per-address cap on connections without a
    # certificate (8, against a flood of joins from one address) is lifted for the bench.
    STREAMR_LOG=stderr "${COORD_PIN[@]}" "$BIN/streamr-coordinator" --set "pki_directory=$WORK/pki" --set "state_directory=$WORK/state" \
        --set "listen_rpc=127.0.0.1:$port" --set listen_http=127.0.0.1:0 --set "control_socket=$WORK/control.sock" \
        --set log_level=warning --set rpc_unauthenticated_per_address=10000 2>"$WORK/coordinator.log" &
    COORD=$!
    for _ in $(seq 100); do [[ -S "$WORK/control.sock" ]] && break; sleep 0.1; done
    "$BIN/streamrctl" stream create main --socket "$WORK/control.sock" >/dev/null
    local token
    token=$("$BIN/streamrctl" invite create main --uses "$nodes" --socket "$WORK/control.sock" --json |
        python3 -c 'import json, re, sys; print(re.search(r"token=([^&]+)", json.load(sys.stdin)["join_line"]).group(1))')
    # RSS is sampled while the sessions are held (the bench's measured phase).
    ( sleep_for=$(python3 -c "print($SECONDS_EACH / 2 + 3)"); peak=0
      while kill -0 "$COORD" 2>/dev/null; do
          rss=$(awk '/^VmRSS/ {print $2}' "/proc/$COORD/status" 2>/dev/null || echo 0)
          (( rss > peak )) && peak=$rss && echo "$peak" >"$WORK/rss"
          sleep 0.5
      done ) &
    local line
    line=$("${LOAD_PIN[@]}" "$BIN/streamr-bench" coordinator --port "$port" --ca "$WORK/pki/ca.pem" --token "$token" --nodes "$nodes" \
        --rate "$rate" --seconds "$SECONDS_EACH" --server-pid "$COORD")
    local rss_kb hb rows
    rss_kb=$(cat "$WORK/rss" 2>/dev/null || echo 0)
    hb=$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from heartbeats").fetchone()[0])' "$WORK/state/coordinator.db")
    kill "$COORD"; wait "$COORD" 2>/dev/null || true; COORD=
    python3 - "$line" "$rss_kb" "$hb" <<'PY'
import json, sys
r = json.loads(sys.argv[1]); rss = int(sys.argv[2]) / 1024
target = f"{r['target_rate']:,}/s" if r['target_rate'] else "as fast as acked"
errors = sum(r['errors'].values())
print(f"| {r['nodes']:,} | {target} | {r['acks_per_s']:,} | {r['p50_ms']} | {r['p99_ms']} | {r['server_cpu_cores']:.2f} | {r['load_cpu_cores']:.2f} | {rss:,.0f} | {int(sys.argv[3]):,} | {errors} |")
if errors: print(f"<!-- errors: {r['errors']} -->")
PY
}

echo "| sessions | target | acks/s | p50 ms | p99 ms | coordinator CPU (cores) | load generator CPU (cores) | coordinator peak RSS MiB | heartbeats stored | errors |"
echo "|---|---|---|---|---|---|---|---|---|---|"
run "${BENCH_NODES:-10000}" "${BENCH_RATE:-20000}"
run "${BENCH_NODES:-10000}" 10000
run 1000 0
