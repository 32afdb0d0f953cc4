#!/usr/bin/env bash
# RTMP added-latency probe on loopback: bench/rtmp/rtmp_probe.py publishes small tagged AAC audio
# messages (a counter in each) and plays the same stream back, stamping each message with
# time.monotonic_ns() right before its send() on the publisher socket and right after the recv()
# that completed it on the player socket. Prints Markdown rows: a floor row (the same client through
# a bare TCP relay process, no RTMP server) and one row per target.
#
#   bench/rtmp/latency.sh [nginx|streamr|both]     (default: nginx)
#
# Environment:
#   LATENCY_COUNT          messages measured (default 2000; 50 more are sent first as warm-up)
#   LATENCY_RATE           messages per second (default 50, about an AAC stream's frame rate)
#   LATENCY_SIZE           bytes per audio message (default 200)
#   LATENCY_LOAD_PLAYERS   also run the fan-out load while probing: the 8 Mbit/s video publisher
#                          on stream "bench" and this many rtmpdump players on it (default 0)
#   STREAMR_BIN etc.       as in fanout.sh; BENCH_KEEP=1 keeps the work directory
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TARGET=${1:-nginx}
COUNT=${LATENCY_COUNT:-2000}
RATE=${LATENCY_RATE:-50}
SIZE=${LATENCY_SIZE:-200}
LOAD=${LATENCY_LOAD_PLAYERS:-0}
STREAM_NAMES="probe bench"

case "$TARGET" in nginx|streamr|both) ;; *) echo "usage: $0 [nginx|streamr|both]" >&2; exit 2 ;; esac

# shellcheck source=lib.sh
. "$HERE/lib.sh"
streamr_defaults "$ROOT"
install_tools "$TARGET"
(( LOAD == 0 )) || { need ffmpeg ffmpeg; make_media; }
setup_work streamr-latency

row() {  # TARGET LOAD JSON
    python3 - "$@" <<'PY'
import json, sys
target, load, r = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
f = lambda v: "n/a" if v is None else f"{v:,.0f}"
print(f"| {target} | {load} | {r['received']:,} | {f(r['p50_us'])} | {f(r['p90_us'])} | {f(r['p99_us'])} | {f(r['max_us'])} | {r['lost']} |")
PY
}

run() {
    local target=$1 first=${#PIDS[@]} i
    SERVER_PIDS=() PORT=
    fail() {
        echo "| $target | $LOAD players | failed: $1 | | | | | |"
        for ((i = first; i < ${#PIDS[@]}; i++)); do kill "${PIDS[i]}" 2>/dev/null || true; done
        wait 2>/dev/null || true
    }
    "start_$target" >&2 || { fail "server did not start"; return 1; }
    if (( LOAD > 0 )); then
        ffmpeg -hide_banner -nostdin -loglevel error -re -stream_loop -1 -i "$MEDIA" -c copy -f flv "$(publish_url bench)" \
            2>"$WORK/$target-publisher.log" &
        PIDS+=("$!")
        sleep 3
        for ((i = 0; i < LOAD; i++)); do
            nice -n 10 rtmpdump -q --live -m 10 -r "$(play_url bench)" -o /dev/null 2>>"$WORK/$target-players.log" &
            PIDS+=("$!")
        done
        sleep 5
    fi
    local json
    json=$(timeout $(( COUNT / ${RATE%.*} + 60 )) python3 "$HERE/rtmp_probe.py" --count "$COUNT" --rate "$RATE" --size "$SIZE" \
        --publish "$(publish_url probe)" --play "$(play_url probe)" 2>"$WORK/$target-probe.log") ||
        { cat "$WORK/$target-probe.log" >&2; fail "probe failed"; return 1; }
    echo "# $target: $json" >&2
    for ((i = first; i < ${#PIDS[@]}; i++)); do kill "${PIDS[i]}" 2>/dev/null || true; done
    wait 2>/dev/null || true
    row "$target" "$LOAD players" "$json"
}

echo "# $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //');" \
     "$COUNT messages of $SIZE bytes at $RATE/s; load: $LOAD fan-out players on an 8 Mbit/s stream"
echo
echo "| target | load | received | p50 µs | p90 µs | p99 µs | max µs | lost |"
echo "|---|---|---|---|---|---|---|---|"
json=$(timeout $(( COUNT / ${RATE%.*} + 60 )) python3 "$HERE/rtmp_probe.py" --self-test --count "$COUNT" --rate "$RATE" --size "$SIZE")
row "floor (TCP relay, no server)" "-" "$json"
status=0
case "$TARGET" in
    both) run nginx || status=1; run streamr || status=1 ;;
    *) run "$TARGET" || status=1 ;;
esac
exit "$status"
