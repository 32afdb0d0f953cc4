#!/usr/bin/env bash
# RTMP fan-out benchmark: one ffmpeg publisher (1080p30 H.264+AAC at ~8 Mbit/s, looped in real
# time) and N rtmpdump players on loopback, against nginx + libnginx-mod-rtmp (the peer) and/or
# streamr-ingest. Prints one Markdown table row per target: the server's CPU per delivered GB.
#
#   bench/rtmp/fanout.sh [nginx|streamr|both]     (default: nginx)
#
# Environment:
#   FANOUT_PLAYERS   players (default 50)
#   BENCH_SECONDS    measured window in seconds (default 20)
#   BENCH_WARMUP     seconds after the last player connected before the window opens (default 5)
#   STREAMR_BIN      directory holding streamr-ingest, streamr-coordinator, streamrctl
#                    (default: .build/release of this checkout; no build is started)
#   STREAMR_INGEST_BIN / STREAMR_COORDINATOR_BIN / STREAMRCTL_BIN   override single binaries
#   MEDIA_CACHE      where generated media is cached (default /tmp/streamr-bench-media)
#   BENCH_KEEP=1     keep the work directory (server logs) for inspection
#
# What is counted (see bench/rtmp/README.md): server CPU = utime+stime of the server processes
# only (nginx master + worker; streamr-ingest alone, not the coordinator that authorizes the key),
# read from /proc/PID/stat at the window's edges. Delivered bytes = the kernel's bytes_acked on the
# server-side player sockets over the same window. The players' and publisher's CPU is not counted.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TARGET=${1:-nginx}
PLAYERS=${FANOUT_PLAYERS:-50}
WINDOW=${BENCH_SECONDS:-20}
WARMUP=${BENCH_WARMUP:-5}

case "$TARGET" in nginx|streamr|both) ;; *) echo "usage: $0 [nginx|streamr|both]" >&2; exit 2 ;; esac

# shellcheck source=lib.sh
. "$HERE/lib.sh"
streamr_defaults "$ROOT"
need ffmpeg ffmpeg
install_tools "$TARGET"
setup_work streamr-fanout

# run TARGET → one table row on stdout (or a row saying why it failed); returns non-zero on failure
run() {
    local target=$1 first=${#PIDS[@]}
    SERVER_PIDS=() PORT=
    fail() {
        echo "| $target | $PLAYERS | failed: $1 | | | |"
        local i; for ((i = first; i < ${#PIDS[@]}; i++)); do kill "${PIDS[i]}" 2>/dev/null || true; done
        wait 2>/dev/null || true
        return 1
    }
    "start_$target" >&2 || { fail "server did not start"; return 1; }
    local PUBLISH_URL PLAY_URL
    PUBLISH_URL=$(publish_url bench); PLAY_URL=$(play_url bench)

    ffmpeg -hide_banner -nostdin -loglevel error -re -stream_loop -1 -i "$MEDIA" -c copy -f flv "$PUBLISH_URL" \
        2>"$WORK/$target-publisher.log" &
    local publisher=$!; PIDS+=("$publisher")
    # Players need a live stream to attach to: wait for the publisher's connection, then a GOP.
    for _ in $(seq 100); do (( $(established "$PORT") >= 1 )) && break; sleep 0.1; done
    sleep 2
    kill -0 "$publisher" 2>/dev/null || { cat "$WORK/$target-publisher.log" >&2; fail "publisher exited"; return 1; }

    # rtmpdump is the player: a single-threaded C client (librtmp) that only de-chunks RTMP and writes
    # FLV tags. `ffmpeg -i URL -c copy -f null -` also demuxes and parses every packet and runs several
    # threads; with 50 players sharing 2 cores with the server, the lighter client leaves the server
    # more CPU (its own CPU is never counted either way). Players write to /dev/null with --live.
    local i
    for ((i = 0; i < PLAYERS; i++)); do
        # nice: under contention the server (measured) gets the cores first, for both targets alike.
        nice -n 10 rtmpdump -q --live -m 10 -r "$PLAY_URL" -o /dev/null 2>>"$WORK/$target-players.log" &
        PIDS+=("$!")
    done
    for _ in $(seq 200); do (( $(established "$PORT") >= PLAYERS + 1 )) && break; sleep 0.1; done
    local have; have=$(( $(established "$PORT") - 1 ))
    (( have == PLAYERS )) || echo "# $target: only $have of $PLAYERS players connected" >&2
    sleep "$WARMUP"

    local json
    json=$(python3 "$HERE/measure.py" --port "$PORT" --seconds "$WINDOW" "${SERVER_PIDS[@]}") || { fail "measurement failed"; return 1; }
    echo "# $target: $json" >&2
    local pub_ok=yes; kill -0 "$publisher" 2>/dev/null || pub_ok=no
    for ((i = first; i < ${#PIDS[@]}; i++)); do kill "${PIDS[i]}" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [[ $pub_ok == yes ]] || echo "# $target: the publisher exited during the run" >&2
    python3 - "$target" "$PLAYERS" "$json" <<'PY'
import json, sys
target, players, r = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
per_gb = f"{r['cpu_s_per_gb']:.2f}" if r["cpu_s_per_gb"] is not None else "n/a"
shown = players if r["players_connected"] == players else f"{r['players_connected']} of {players}"
print(f"| {target} | {shown} | {r['delivered_mbit_s']:,.1f} | {r['server_cpu_s']:.2f} | {per_gb} | {r['peak_rss_mib']:.1f} |")
PY
}

make_media
media_mbit=$(python3 -c 'import os, sys; print(f"{os.path.getsize(sys.argv[1]) * 8 / 1e6 / float(sys.argv[2]):.2f}")' "$MEDIA" "$MEDIA_SECONDS")
echo "# $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //');" \
     "media ${MEDIA_SIZE}@${MEDIA_RATE} ~${media_mbit} Mbit/s; ${WARMUP} s warm-up, ${WINDOW} s window"
echo
echo "| target | players | delivered Mbit/s | server CPU s | CPU s per GB | RSS MiB |"
echo "|---|---|---|---|---|---|"
status=0
case "$TARGET" in
    both) run nginx || status=1; run streamr || status=1 ;;
    *) run "$TARGET" || status=1 ;;
esac
exit "$status"
