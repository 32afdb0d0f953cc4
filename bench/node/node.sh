#!/usr/bin/env bash
# Node agent benchmarks, with release binaries on loopback: a coordinator, an ingest, one node
# that joined with an invite, and the fan-out media (1080p30 ~8 Mbit/s, looped in real time).
#   - RSS idle (joined and connected, nothing published) and with one stream and N HTTP-FLV
#     viewers (curl, writing to /dev/null);
#   - HTTP-FLV CPU per delivered GB at the node (measure.py on the node's viewer port);
#   - HLS segment availability after chunk close (hls_availability.py).
# Prints Markdown rows.  VIEWERS=100 BENCH_SECONDS=20 BENCH_WARMUP=5 STREAMR_BIN=...
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
VIEWERS=${VIEWERS:-100}
WINDOW=${BENCH_SECONDS:-20}
WARMUP=${BENCH_WARMUP:-5}
# shellcheck source=../rtmp/lib.sh
. "$ROOT/bench/rtmp/lib.sh"
streamr_defaults "$ROOT"
need ffmpeg ffmpeg
need curl curl
setup_work streamr-node-bench
BIN=$(dirname "$STREAMR_INGEST_BIN")
SUB_PORT=$(free_port); NODE_HTTP=$(free_port); NODE_RTMP=$(free_port)
streamr_ingest_args() {
    printf '%s\n' --set "listen_rtmp=127.0.0.1:$1" --set "listen_subscribe=127.0.0.1:$SUB_PORT" --set "listen_http=127.0.0.1:0" \
        --set "pki_directory=$2" --set "state_directory=$3" --set "coordinator_socket=$4"
}
# Nodes learn where to subscribe from the coordinator (public_host, public_subscribe_port):
# this machine's loopback and the ingest's port here.
COORDINATOR_EXTRA=(--set public_host=127.0.0.1 --set "public_subscribe_port=$SUB_PORT")
rss_mib() { awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }

make_media
start_streamr >&2
dir=$WORK/streamr
rpc_port=$("$STREAMRCTL_BIN" status --socket "$dir/control.sock" --json |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["items"]["listening"].split(",")[0].rsplit(":", 1)[1])')
line=$("$STREAMRCTL_BIN" invite create bench --uses 2 --socket "$dir/control.sock" --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["join_line"])')
line=$(python3 -c 'import re, sys; print(re.sub(r"streamr://[^/]+/", f"streamr://127.0.0.1:{sys.argv[2]}/", sys.argv[1]))' "$line" "$rpc_port")
"$BIN/streamr-node" join "$line" --payout venmo:@bench-node --state-directory "$dir/node" >/dev/null
"$BIN/streamr-node" join "$line" --payout venmo:@bench-probe --state-directory "$dir/probe" >/dev/null
# The node learns the ingest's address from the coordinator (public_subscribe_port): point it here.
sed -i "s/^ingest = .*/ingest = 127.0.0.1:$SUB_PORT/" "$dir/node/identity.conf"
STREAMR_LOG=stderr "$BIN/streamr-node" --set "state_directory=$dir/node" --set "control_socket=$dir/node/control.sock" \
    --set "listen_http=127.0.0.1:$NODE_HTTP" --set "listen_rtmp=127.0.0.1:$NODE_RTMP" --set log_level=warning 2>"$dir/node.log" &
node=$!; PIDS+=("$node")
wait_listen "$NODE_HTTP" "$node"
sleep 3
idle=$(rss_mib "$node")

ffmpeg -hide_banner -nostdin -loglevel error -re -stream_loop -1 -i "$MEDIA" -c copy -f flv "$(publish_url bench)" 2>"$WORK/publisher.log" &
PIDS+=("$!")
for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$NODE_HTTP/live/bench/index.m3u8" && break; sleep 0.2; done
# The ingest with one stream live and no players (the node's subscription is its only viewer),
# after a few chunks have been kept.
sleep 10
ingest_rss=$(rss_mib "${SERVER_PIDS[0]}")
for ((i = 0; i < VIEWERS; i++)); do
    nice -n 10 curl -s -o /dev/null "http://127.0.0.1:$NODE_HTTP/live/bench.flv" &
    PIDS+=("$!")
done
for _ in $(seq 200); do (( $(established "$NODE_HTTP") >= VIEWERS )) && break; sleep 0.1; done
sleep "$WARMUP"
json=$(python3 "$ROOT/bench/rtmp/measure.py" --port "$NODE_HTTP" --seconds "$WINDOW" "$node")
echo "# node HTTP-FLV: $json" >&2
hls=$(TIMESTAMPS=1 python3 "$HERE/hls_availability.py" 30 "http://127.0.0.1:$NODE_HTTP/live/bench/index.m3u8" -- \
    python3 "$ROOT/tests/integration/node-client.py" 127.0.0.1 "$SUB_PORT" "$dir/pki/ca.pem" subscribe \
    "$dir/probe/node.pem" "$dir/probe/node.key" bench 0 "$WORK") || hls='{"count": 0}'
echo "# HLS availability: $hls" >&2
python3 - "$VIEWERS" "$idle" "$json" "$hls" "$ingest_rss" <<'PY'
import json, sys
n, idle, r, h = int(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4])
print("| measure | value |")
print("|---|---|")
print(f"| ingest RSS, one stream live, no players (one node subscribed) | {sys.argv[5]} MiB |")
print(f"| node RSS idle (joined, connected, nothing live) | {idle} MiB |")
print(f"| node RSS, one stream, {r['players_connected']} HTTP-FLV viewers (peak) | {r['peak_rss_mib']} MiB |")
print(f"| HTTP-FLV delivered | {r['delivered_mbit_s']:,.1f} Mbit/s |")
print(f"| node CPU per delivered GB (HTTP-FLV) | {r['cpu_s_per_gb']:.2f} s |")
if h.get("count"):
    print(f"| HLS segment listed after chunk close, p50 / p90 / max ({h['count']} chunks) | {h.get('p50_ms')} / {h.get('p90_ms')} / {h.get('max_ms')} ms |")
else:
    print("| HLS segment listed after chunk close | not measured: the probe subscription saw no chunk (see stderr) |")
PY
