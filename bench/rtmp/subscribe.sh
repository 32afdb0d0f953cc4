#!/usr/bin/env bash
# TLS subscription fan-out: the same publisher as fanout.sh (1080p30 at ~8 Mbit/s, looped in
# real time) into streamr-ingest, and N node subscriptions over mutual TLS on the subscribe port
# (`streamr-bench subscribe`, one process, all with one enrolled node's certificate). Prints one
# Markdown row like fanout.sh's: the ingest's CPU per delivered GB (TLS bytes acked on the
# subscribe sockets), comparable with the RTMP fan-out rows.
#
#   bench/rtmp/subscribe.sh          (SUBSCRIBERS=100, BENCH_SECONDS=20, BENCH_WARMUP=5)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SUBSCRIBERS=${SUBSCRIBERS:-100}
WINDOW=${BENCH_SECONDS:-20}
WARMUP=${BENCH_WARMUP:-5}
# shellcheck source=lib.sh
. "$HERE/lib.sh"
streamr_defaults "$ROOT"
need ffmpeg ffmpeg
setup_work streamr-subscribe
BENCH_BIN=$(dirname "$STREAMR_INGEST_BIN")/streamr-bench
NODE_BIN=$(dirname "$STREAMR_INGEST_BIN")/streamr-node
SUB_PORT=$(free_port)
# The subscribe port is fixed here (not 0) so it can be measured.
streamr_ingest_args() {
    printf '%s\n' --set "listen_rtmp=127.0.0.1:$1" --set "listen_subscribe=127.0.0.1:$SUB_PORT" --set "listen_http=127.0.0.1:0" \
        --set "pki_directory=$2" --set "state_directory=$3" --set "coordinator_socket=$4"
}
make_media
start_streamr >&2
dir=$WORK/streamr
# One enrolled node: its certificate serves every subscription (the ingest does not mind).
line=$("$STREAMRCTL_BIN" invite create bench --socket "$dir/control.sock" --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["join_line"])')
# The coordinator listens on an ephemeral RPC port (the first one `status` lists).
rpc_port=$("$STREAMRCTL_BIN" status --socket "$dir/control.sock" --json |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["items"]["listening"].split(",")[0].rsplit(":", 1)[1])')
line=$(python3 -c 'import re, sys; print(re.sub(r"streamr://[^/]+/", f"streamr://127.0.0.1:{sys.argv[2]}/", sys.argv[1]))' "$line" "$rpc_port")
[[ -n $rpc_port ]] || { echo "cannot find the coordinator RPC port" >&2; exit 1; }
"$NODE_BIN" join "$line" --payout venmo:@bench-node --state-directory "$dir/node" >/dev/null
ffmpeg -hide_banner -nostdin -loglevel error -re -stream_loop -1 -i "$MEDIA" -c copy -f flv "$(publish_url bench)" 2>"$WORK/publisher.log" &
PIDS+=("$!")
sleep 3
"$BENCH_BIN" subscribe --port "$SUB_PORT" --ca "$dir/pki/ca.pem" --cert "$dir/node/node.pem" --key "$dir/node/node.key" \
    --stream bench --subscribers "$SUBSCRIBERS" --seconds $((WARMUP + WINDOW + 5)) >"$WORK/subscribers.json" &
PIDS+=("$!")
for _ in $(seq 200); do (( $(established "$SUB_PORT") >= SUBSCRIBERS )) && break; sleep 0.1; done
sleep "$WARMUP"
json=$(python3 "$HERE/measure.py" --port "$SUB_PORT" --seconds "$WINDOW" "${SERVER_PIDS[@]}")
echo "# streamr TLS subscriptions: $json" >&2
python3 - "$SUBSCRIBERS" "$json" <<'PY'
import json, sys
n, r = int(sys.argv[1]), json.loads(sys.argv[2])
per_gb = f"{r['cpu_s_per_gb']:.2f}" if r["cpu_s_per_gb"] is not None else "n/a"
shown = n if r["players_connected"] == n else f"{r['players_connected']} of {n}"
print(f"| streamr TLS subscriptions | {shown} | {r['delivered_mbit_s']:,.1f} | {r['server_cpu_s']:.2f} | {per_gb} | {r['peak_rss_mib']:.1f} |")
PY
