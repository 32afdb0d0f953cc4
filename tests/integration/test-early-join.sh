#!/usr/bin/env bash
# Viewers who join in the first seconds of a stream (issue: "non monotonically increasing dts"
# on every third frame for joins in the first ~3 s). ffmpeg as OBS publishes H.264 with
# B-frames (so pts != dts) and AAC; ffmpeg viewers join at several offsets into the first
# chunk, at the origin (HTTP-FLV and RTMP) and at a node (HTTP-FLV), and remux what they get.
# Each must see no timestamp warning from ffmpeg and DTS that never go back per stream.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$IT_DIR/lib-live.sh"

command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || fail "ffmpeg/ffprobe not installed (make deps)"
live_system
live_node 1 "Friend"

# B-frames (x264's default 3 with veryfast), a keyframe every 2 s, 48 kHz AAC: what OBS sends.
ffmpeg -hide_banner -loglevel error -nostdin -y -f lavfi -i testsrc2=size=640x360:rate=30 \
    -f lavfi -i sine=frequency=440:sample_rate=48000 -t 20 -c:v libx264 -preset veryfast -b:v 1500k -g 60 \
    -pix_fmt yuv420p -c:a aac -b:a 96k -f flv "$WORK/source.flv"
check "the source has B-frames" bash -c \
    "ffprobe -v error -select_streams v -show_entries frame=pict_type -of csv=p=0 '$WORK/source.flv' | grep -q B"

view() {  # view NAME URL — a background ffmpeg remuxing 6 s of URL to $WORK/NAME.flv
    start_bg "$1" ffmpeg -hide_banner -loglevel warning -nostdin -y -rw_timeout 15000000 -i "$2" -t 6 -c copy -f flv "$WORK/$1.flv"
}

round() {  # round N WHERE URL — publish from the start, viewers at offsets into the first chunk
    local n=$1 where=$2 url=$3 pids=() offsets=(0.2 0.6 1.0 1.5 2.2 3.0) off
    local before; before=$(grep -c "event=publish_started" "$WORK/ingest.log" || true)
    start_bg "pub$n" ffmpeg -hide_banner -loglevel error -nostdin -re -i "$WORK/source.flv" -c copy -f flv "rtmp://127.0.0.1:$RP/live/$KEY"
    local pub=$PID
    # t=0 is when the ingest logs the publish (the stream's first tag is then on its way).
    wait_until 15 eval '(( $(grep -c "event=publish_started" "$WORK/ingest.log") > before ))' ||
        fail "round $n: the publish did not start"
    # A node has the stream once its heartbeat ack names it and its subscription is up: its
    # offsets count from its first answer.
    if [[ $where == node* ]]; then
        wait_until 15 eval '[[ $(curl -s -o /dev/null --max-time 0.5 -w "%{http_code}" "$url") == 200 ]]' ||
            fail "round $n: the node never served the stream"
    fi
    local last=0
    for off in "${offsets[@]}"; do
        sleep "$(python3 -c "print(max(0, $off - $last))")"; last=$off
        view "$where-$n-$off" "$url"; pids+=("$PID")
    done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    for off in "${offsets[@]}"; do
        local name="$where-$n-$off"
        expect "$where, joined ${off}s in: no timestamp warnings from ffmpeg ($(grep -m1 -i 'monoton\|dts' "$WORK/$name.log" || true))" \
            bash -c "! grep -qi 'monoton' '$WORK/$name.log'"
        expect "$where, joined ${off}s in: DTS never go back ($(python3 "$IT_DIR/check-timestamps.py" "$WORK/$name.flv" 4 2>&1 | tail -1))" \
            python3 "$IT_DIR/check-timestamps.py" "$WORK/$name.flv" 4
    done
    kill "$pub" 2>/dev/null || true; wait "$pub" 2>/dev/null || true
    # The next round starts a new stream: wait until this one is over at the ingest.
    wait_until 30 bash -c "[[ \$(\"$BIN/streamrctl\" stream show main --json --socket '$LIVE_SOCK' | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"state\"])') != live ]]" ||
        fail "round $n: the stream did not end"
}

round 1 origin-flv "http://127.0.0.1:$HP/live/main.flv"
round 2 origin-rtmp "rtmp://127.0.0.1:$RP/live/main"
# The node learns of the stream from its heartbeat ack and subscribes; its first viewers join
# the first chunk it relays.
round 3 node-flv "http://127.0.0.1:$N1H/live/main.flv"
