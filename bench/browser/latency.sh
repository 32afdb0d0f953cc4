#!/usr/bin/env bash
# Time to first frame and glass-to-glass delay: the watch page in headless Chromium (native
# HLS and MSE/fMP4) beside ffmpeg on the node's HTTP-FLV (what ffplay would show), with the
# real binaries on loopback (coordinator, ingest, one node) and ffmpeg publishing a live
# 960x540p30 testsrc2 (x264 veryfast, keyframe every 2 s, 2.5 Mbit/s, AAC) whose top rows
# carry the publisher's wall clock: 24 black/white cells, ms mod 2^24 (geq on RTCTIME, taken
# when the frame is made; the frames are then numbered 30 a second, as a camera's would be).
# "Glass" is that clock when the frame is made, before encoding; "glass" at the far end is
# the wall clock when a screenshot of the page shows the frame (or ffmpeg hands it out).
# Prints Markdown. RUNS=3 SAMPLES=15 BIN=<release bin dir> bench/browser/latency.sh
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
export BIN=${BIN:-$(cd "$ROOT" && swift build -c release --show-bin-path)}
RUNS=${RUNS:-3}
SAMPLES=${SAMPLES:-15}
PY=${BROWSER_PYTHON:-$ROOT/.build-tools/venv/bin/python}
# The integration tests' helpers start the system (and stop it, whatever happens).
source "$ROOT/tests/integration/lib.sh" >&2
source "$ROOT/tests/integration/lib-live.sh"
exec 3>&1 1>&2

live_system 10s
live_node 1 "Bench Node"
K=$(date +%s)
M=$(((K * 1000) % 16777216))
BAR="255*mod(floor(mod(floor(T*1000)+$M\\,16777216)/pow(2\\,23-floor(X*24/W)))\\,2)"
start_bg publisher ffmpeg -hide_banner -loglevel error -nostdin -re -f lavfi -i testsrc2=size=960x540:rate=30 \
    -re -f lavfi -i sine=frequency=440:sample_rate=48000 \
    -filter_complex "[0:v]settb=AVTB,setpts='RTCTIME-${K}000000',split[m][s];[s]crop=iw:36:0:0,geq=lum='$BAR':cb=128:cr=128[bar];[m][bar]overlay=0:0,settb=1/30,setpts=N,format=yuv420p[v]" \
    -map "[v]" -map 1:a -fps_mode passthrough -c:v libx264 -preset veryfast -g 60 -keyint_min 60 -b:v 2500k -maxrate 2500k -bufsize 5000k \
    -c:a aac -b:a 128k -f flv "rtmp://127.0.0.1:$RP/live/$KEY"
check "the node serves HLS of the live encode" wait_until 40 eval 'curl -sf "http://127.0.0.1:$N1H/live/main/index.m3u8" | grep -c "\.ts$" | grep -q "[3-9]"'
sleep 4

rows=()
for run in $(seq "$RUNS"); do
    for player in native mse; do
        json=$("$PY" "$HERE/g2g.py" page "http://127.0.0.1:$CH/watch/main?player=$player" --samples "$SAMPLES")
        echo "page $player run $run: $json"
        rows+=("page|$player|$json")
    done
    FLV=$(curl -s -o /dev/null -w '%{redirect_url}' "http://127.0.0.1:$CH/watch/main")
    json=$(python3 "$HERE/g2g.py" ffmpeg "$FLV")
    echo "ffmpeg default run $run: $json"
    rows+=("ffmpeg|default|$json")
    json=$(python3 "$HERE/g2g.py" ffmpeg "$FLV" -fflags nobuffer -flags low_delay -probesize 32 -analyzeduration 0)
    echo "ffmpeg low-delay run $run: $json"
    rows+=("ffmpeg|low-delay|$json")
done

python3 - "${rows[@]}" >&3 <<'PY'
import json, statistics, sys
rows = {}
for arg in sys.argv[1:]:
    kind, variant, text = arg.split("|", 2)
    rows.setdefault((kind, variant), []).append(json.loads(text))
print("| viewer | first frame, p50 of runs (min–max) | glass-to-glass p50 | p90 | min–max | samples |")
print("|---|---|---|---|---|---|")
for (kind, variant), runs in rows.items():
    if kind == "page":
        first = [r["open_to_first_frame_ms"] for r in runs]
        g = [r["glass_to_glass_ms"] for r in runs]
        label = f"watch page, Chromium {'native HLS (MPEG-TS)' if variant == 'native' else 'MSE + fMP4'}"
        p50 = statistics.median(x["p50"] for x in g); p90 = statistics.median(x["p90"] for x in g)
        lo = min(x["min"] for x in g); hi = max(x["max"] for x in g); n = sum(x["n"] for x in g)
        print(f"| {label} | {statistics.median(first):.0f} ms ({min(first)}–{max(first)}) | {p50:.0f} ms | {p90:.0f} ms | {lo}–{hi} ms | {n} screenshots |")
    else:
        first = [r["first_frame_ms"] for r in runs]
        paced = [r["paced_glass_to_glass_ms"] for r in runs]
        g = [r["decoded_glass_to_glass_ms"] for r in runs]
        p50 = statistics.median(x["p50"] for x in g); p90 = statistics.median(x["p90"] for x in g)
        lo = min(x["min"] for x in g); hi = max(x["max"] for x in g); n = sum(x["n"] for x in g)
        args = "" if variant == "default" else " `-fflags nobuffer -flags low_delay -probesize 32 -analyzeduration 0`"
        print(f"| ffmpeg on the node's HTTP-FLV{args}, decoded | {statistics.median(first):.0f} ms ({min(first)}–{max(first)}) | {p50:.0f} ms | {p90:.0f} ms | {lo}–{hi} ms | {n} frames |")
        print(f"| ... shown at 1x from its first frame (as ffplay) | | {statistics.median(paced):.0f} ms | | {min(paced)}–{max(paced)} ms | {len(paced)} runs |")
PY
