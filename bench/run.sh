#!/usr/bin/env bash
# Runs the benchmarks against a release build and prints a Markdown table,
# with the peer figure (OpenSSL's own AES-128-GCM speed) measured in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(swift build -c release --show-bin-path)
SECONDS_EACH=${BENCH_SECONDS:-5}
echo "# $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo
echo "| scenario | TLS | connections | envelopes/s | MB/s | CPU s per GB |"
echo "|---|---|---|---|---|---|"
for args in "--payload heartbeat" "--payload media" "--payload media --plain"; do
    line=$("$BIN/streamr-bench" rpc $args --seconds "$SECONDS_EACH")
    python3 - "$line" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
print(f"| {r['scenario']} | {'yes' if r['tls'] else 'no'} | {r['connections']} | {r['envelopes_per_s']:,} | {r['mb_per_s']} | {r['cpu_s_per_gb']} |")
PY
done
echo
echo "Peer, same run: \`openssl speed -evp aes-128-gcm -seconds 3\` (one core, no I/O):"
echo '```'
openssl speed -evp aes-128-gcm -seconds 3 2>/dev/null | tail -2
echo '```'

echo
echo "## Coordinator heartbeats (bench/coordinator.sh)"
echo
bash bench/coordinator.sh "$BIN"
echo
echo "## RTMP fan-out: nginx-rtmp (peer), streamr and the bare-writer floor in one run (bench/rtmp/fanout.sh all)"
echo
echo "50 rtmpdump players:"
STREAMR_BIN=$BIN bash bench/rtmp/fanout.sh all
echo
echo "50 ffmpeg players:"
STREAMR_BIN=$BIN FANOUT_CLIENT=ffmpeg bash bench/rtmp/fanout.sh all
echo
echo "500 rtmpdump players:"
STREAMR_BIN=$BIN FANOUT_PLAYERS=500 bash bench/rtmp/fanout.sh all
echo
echo "## TLS subscription fan-out (bench/rtmp/subscribe.sh)"
echo
STREAMR_BIN=$BIN bash bench/rtmp/subscribe.sh
echo
echo "## Added latency, publisher socket to player socket (bench/rtmp/latency.sh both)"
echo
STREAMR_BIN=$BIN bash bench/rtmp/latency.sh both
echo
echo "## Node agent (bench/node/node.sh)"
echo
STREAMR_BIN=$BIN bash bench/node/node.sh
echo
echo "## Watch page and HTTP-FLV: first frame and glass-to-glass (bench/browser/latency.sh)"
echo
BIN=$BIN bash bench/browser/latency.sh
echo
echo "## Validator rules under simulated nodes (streamr-sim)"
echo
"$BIN/streamr-sim"
