#!/usr/bin/env bash
# RTMP fan-out benchmark: one ffmpeg publisher (1080p30 H.264+AAC at ~8 Mbit/s, looped in real
# time) and N players on loopback, against nginx + libnginx-mod-rtmp (the peer), streamr-ingest,
# and/or a bare writer (the floor). Prints one Markdown table row per target: the server's CPU
# per delivered GB.
#
#   bench/rtmp/fanout.sh [nginx|streamr|bare|both|all]     (default: nginx)
#
#   both = nginx then streamr; all = nginx, streamr, then bare.
#   bare: bench/rtmp/bare_writer.c, compiled here with `cc -O2` into the work directory. It
#         accepts N plain TCP sinks, then reads the same media as FLV from ffmpeg through a FIFO
#         and does one write() of each whole FLV tag to each sink, and nothing else (no RTMP).
#         Its sinks are `bash -c 'exec cat </dev/tcp/127.0.0.1/PORT >/dev/null'`.
#
# Environment:
#   FANOUT_PLAYERS   players (default 50)
#   FANOUT_CLIENT    rtmpdump (default) or ffmpeg: the RTMP player for nginx and streamr
#                    (the bare target always uses TCP sinks)
#   BENCH_SECONDS    measured window in seconds (default 20)
#   BENCH_WARMUP     seconds after the last player connected before the window opens (default 5)
#   STREAMR_BIN      directory holding streamr-ingest, streamr-coordinator, streamrctl
#                    (default: .build/release of this checkout; no build is started)
#   STREAMR_INGEST_BIN / STREAMR_COORDINATOR_BIN / STREAMRCTL_BIN   override single binaries
#   MEDIA_CACHE      where generated media is cached (default /tmp/streamr-bench-media)
#   BENCH_KEEP=1     keep the work directory (server logs) for inspection
#
# What is counted (see bench/rtmp/README.md): server CPU = utime+stime of the server processes
# only (nginx master + worker; streamr-ingest alone, not the coordinator that authorizes the key;
# bare_writer alone, not the ffmpeg that feeds it), read from /proc/PID/stat at the window's
# edges. Delivered bytes = the kernel's bytes_acked on the server-side player sockets over the
# same window. The players' and publisher's CPU is not counted.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TARGET=${1:-nginx}
PLAYERS=${FANOUT_PLAYERS:-50}
CLIENT=${FANOUT_CLIENT:-rtmpdump}
WINDOW=${BENCH_SECONDS:-20}
WARMUP=${BENCH_WARMUP:-5}

case "$TARGET" in nginx|streamr|bare|both|all) ;; *) echo "usage: $0 [nginx|streamr|bare|both|all]" >&2; exit 2 ;; esac
case "$CLIENT" in rtmpdump|ffmpeg) ;; *) echo "FANOUT_CLIENT must be rtmpdump or ffmpeg" >&2; exit 2 ;; esac
[[ $PLAYERS =~ ^[1-9][0-9]*$ ]] || { echo "FANOUT_PLAYERS must be a positive integer" >&2; exit 2; }

# shellcheck source=lib.sh
. "$HERE/lib.sh"
streamr_defaults "$ROOT"
need ffmpeg ffmpeg
case "$TARGET" in bare|all) need cc gcc ;; esac
install_tools "$TARGET"
setup_work streamr-fanout
# One socket per player in the server (and, for nginx, in its one worker), plus a few of its own.
(( $(ulimit -n) >= PLAYERS + 64 )) ||
    { echo "open-file limit $(ulimit -n) (hard $(ulimit -Hn)) is too low for $PLAYERS players" >&2; exit 1; }
(( ${NGINX_WORKER_CONNECTIONS:-4096} >= PLAYERS + 64 )) || NGINX_WORKER_CONNECTIONS=$(( PLAYERS + 64 ))

# The floor: bare_writer PORT N FIFO. It opens the FIFO (the stream) only once N sinks are in,
# so run() starts the feeding ffmpeg after the sinks, and no backlog builds up before the stream.
start_bare() {
    local dir=$WORK/bare
    mkdir -p "$dir"
    cc -O2 -Wall -o "$dir/bare_writer" "$HERE/bare_writer.c" || { echo "cannot compile bare_writer.c" >&2; return 1; }
    BARE_INPUT=$dir/input.flv
    mkfifo "$BARE_INPUT"
    PORT=$(free_port)
    "$dir/bare_writer" "$PORT" "$PLAYERS" "$BARE_INPUT" 2>"$dir/bare_writer.log" &
    local writer=$!; PIDS+=("$writer")
    wait_listen "$PORT" "$writer" || { echo "bare_writer did not listen on $PORT:" >&2; cat "$dir/bare_writer.log" >&2; return 1; }
    SERVER_PIDS=("$writer")
}

# run TARGET → one table row on stdout (or a row saying why it failed); returns non-zero on failure
run() {
    local target=$1 first=${#PIDS[@]} player=$CLIENT
    [[ $target == bare ]] && player="tcp sink"
    SERVER_PIDS=() PORT=
    fail() {
        echo "| $target | $player | $PLAYERS | failed: $1 | | | |"
        local i; for ((i = first; i < ${#PIDS[@]}; i++)); do kill "${PIDS[i]}" 2>/dev/null || true; done
        wait 2>/dev/null || true
        return 1
    }
    "start_$target" >&2 || { fail "server did not start"; return 1; }
    local publisher= publisher_conns=1 PLAY_URL= PUBLISH_URL
    # Players need a live stream to attach to: start the publisher, wait for its connection, then
    # a GOP. The bare writer is the other way round: sinks first, then the stream (see start_bare).
    if [[ $target == bare ]]; then
        publisher_conns=0
    else
        PUBLISH_URL=$(publish_url bench); PLAY_URL=$(play_url bench)
        ffmpeg -hide_banner -nostdin -loglevel error -re -stream_loop -1 -i "$MEDIA" -c copy -f flv "$PUBLISH_URL" \
            2>"$WORK/$target-publisher.log" &
        publisher=$!; PIDS+=("$publisher")
        for _ in $(seq 100); do (( $(established "$PORT") >= 1 )) && break; sleep 0.1; done
        sleep 2
        kill -0 "$publisher" 2>/dev/null || { cat "$WORK/$target-publisher.log" >&2; fail "publisher exited"; return 1; }
    fi

    # rtmpdump is the default player: a single-threaded C client (librtmp) that only de-chunks RTMP
    # and writes FLV tags. `ffmpeg -i URL -c copy -f null -` (FANOUT_CLIENT=ffmpeg) also demuxes and
    # parses every packet and runs several threads; with 50 players sharing 2 cores with the server,
    # the lighter client leaves the server more CPU (its own CPU is never counted either way).
    # The bare writer's sinks only read and discard bytes (cat to /dev/null).
    local -a cmd
    case $target/$CLIENT in
        bare/*) cmd=(bash -c 'exec cat </dev/tcp/127.0.0.1/"$0" >/dev/null' "$PORT") ;;
        */rtmpdump) cmd=(rtmpdump -q --live -m 10 -r "$PLAY_URL" -o /dev/null) ;;
        */ffmpeg) cmd=(ffmpeg -hide_banner -nostdin -loglevel error -i "$PLAY_URL" -c copy -f null -) ;;
    esac
    local i
    for ((i = 0; i < PLAYERS; i++)); do
        # nice: under contention the server (measured) gets the cores first, for every target alike.
        nice -n 10 "${cmd[@]}" 2>>"$WORK/$target-players.log" &
        PIDS+=("$!")
    done
    # Connecting takes longer with more players (each one is a process and a handshake).
    local want=$(( PLAYERS + publisher_conns )) deadline=$(( SECONDS + 20 + PLAYERS / 5 ))
    while (( $(established "$PORT") < want && SECONDS < deadline )); do sleep 0.2; done
    local have; have=$(( $(established "$PORT") - publisher_conns ))
    if (( have != PLAYERS )); then
        echo "# $target: only $have of $PLAYERS players connected" >&2
        # bare_writer waits for exactly N sinks before it reads the stream: nothing would flow.
        [[ $target == bare ]] && { fail "only $have of $PLAYERS sinks connected"; return 1; }
    fi
    if [[ $target == bare ]]; then
        ffmpeg -hide_banner -nostdin -loglevel error -re -stream_loop -1 -i "$MEDIA" -c copy -f flv pipe:1 \
            >"$BARE_INPUT" 2>"$WORK/$target-publisher.log" &
        publisher=$!; PIDS+=("$publisher")
    fi
    sleep "$WARMUP"
    kill -0 "$publisher" 2>/dev/null || { cat "$WORK/$target-publisher.log" >&2; fail "publisher exited"; return 1; }

    local json
    json=$(python3 "$HERE/measure.py" --port "$PORT" --seconds "$WINDOW" "${SERVER_PIDS[@]}") || { fail "measurement failed"; return 1; }
    echo "# $target: $json" >&2
    local pub_ok=yes; kill -0 "$publisher" 2>/dev/null || pub_ok=no
    for ((i = first; i < ${#PIDS[@]}; i++)); do kill "${PIDS[i]}" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [[ $pub_ok == yes ]] || echo "# $target: the publisher exited during the run" >&2
    python3 - "$target" "$player" "$PLAYERS" "$json" <<'PY'
import json, sys
target, player, players, r = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
per_gb = f"{r['cpu_s_per_gb']:.2f}" if r["cpu_s_per_gb"] is not None else "n/a"
shown = players if r["players_connected"] == players else f"{r['players_connected']} of {players}"
print(f"| {target} | {player} | {shown} | {r['delivered_mbit_s']:,.1f} | {r['server_cpu_s']:.2f} | {per_gb} | {r['peak_rss_mib']:.1f} |")
PY
}

make_media
media_mbit=$(python3 -c 'import os, sys; print(f"{os.path.getsize(sys.argv[1]) * 8 / 1e6 / float(sys.argv[2]):.2f}")' "$MEDIA" "$MEDIA_SECONDS")
echo "# $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //');" \
     "media ${MEDIA_SIZE}@${MEDIA_RATE} ~${media_mbit} Mbit/s; ${WARMUP} s warm-up, ${WINDOW} s window"
echo
echo "| target | player | players | delivered Mbit/s | server CPU s | CPU s per GB | RSS MiB |"
echo "|---|---|---|---|---|---|---|"
status=0
case "$TARGET" in
    both) run nginx || status=1; run streamr || status=1 ;;
    all) run nginx || status=1; run streamr || status=1; run bare || status=1 ;;
    *) run "$TARGET" || status=1 ;;
esac
exit "$status"
