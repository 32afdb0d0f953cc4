#!/usr/bin/env bash
# One meter for every byte a node serves (LiveMedia's TrafficMeter): per viewer kind — HTTP-FLV,
# HLS segments, /chunks (whole and ranges), RTMP play — the node's `streamrctl status --json`
# bytes_served grows by what that viewer fetched (exactly, for bodies of known length; by what
# was received and no more than its socket could hold, for live streams), and the coordinator's
# `streamrctl nodes` shows the same total from the next heartbeat. No validator runs, so no
# probe adds bytes. (Nodes serve no child relays yet; the ingest's subscriptions are metered
# on the same meter type, kind `relay`.)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/validator-lib.sh"

host_setup
start_coordinator first --set sybil_policy=off
start_ingest first
host_stream
join_node 1
start_node 1
start_publisher
check "node 1 online" wait_until 20 node_online "${NODE_ID[1]}"
N1=${NODE_HTTP[1]}
check "node 1 relays the stream (chunk 3 served)" wait_until 20 eval 'curl -sf "http://127.0.0.1:$N1/chunks/main/3" -o /dev/null'

served() { "$BIN/streamrctl" status --socket "$WORK/node1/control.sock" --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["items"]["bytes_served"])'; }
at_coordinator() { "$BIN/streamrctl" nodes --json --socket "$SOCK" | python3 -c '
import json, sys; print(next(n["bytes_served"] for n in json.load(sys.stdin) if n["node_id"] == sys.argv[1]))' "${NODE_ID[1]}"; }
settled() { local a b; a=$(served); sleep 0.5; b=$(served); [[ $a == "$b" ]]; }
heartbeat_agrees() { [[ $(at_coordinator) == "$(served)" ]]; }

# measure NAME: the node's counter before (B0) and after (B1) the fetch that follows, settled.
begin() { wait_until 5 settled || true; B0=$(served); }
end() { wait_until 10 settled || fail "$1: the node's counter did not settle"; B1=$(served); DELTA=$((B1 - B0)); }

############ /chunks: whole and a range ############
begin
curl -sf "http://127.0.0.1:$N1/chunks/main/3" -o "$WORK/chunk.bin"
end chunks
SIZE=$(stat -c %s "$WORK/chunk.bin")
check "/chunks: a whole chunk ($SIZE bytes) grows bytes_served by exactly its size (+$DELTA)" test "$DELTA" = "$SIZE"
begin
curl -sf -H "Range: bytes=100-1099" "http://127.0.0.1:$N1/chunks/main/3" -o /dev/null
end range
check "/chunks: a 1000-byte range grows it by exactly 1000 (+$DELTA)" test "$DELTA" = 1000
check "... and the coordinator's node list agrees from the next heartbeat" wait_until 10 heartbeat_agrees

############ HLS ############
curl -sf "http://127.0.0.1:$N1/live/main/index.m3u8" -o "$WORK/index.m3u8"
SEG=$(grep -E '^[0-9a-f]+-[0-9]+\.ts$' "$WORK/index.m3u8" | tail -1)
begin
curl -sf "http://127.0.0.1:$N1/live/main/$SEG" -o "$WORK/segment.ts"
end hls
SIZE=$(stat -c %s "$WORK/segment.ts")
check "HLS: segment $SEG ($SIZE bytes) grows bytes_served by exactly its size (+$DELTA)" test "$DELTA" = "$SIZE"
check "... and the coordinator agrees" wait_until 10 heartbeat_agrees

############ HTTP-FLV ############
begin
curl -sS --max-time 3 "http://127.0.0.1:$N1/live/main.flv" -o "$WORK/live.flv" 2>/dev/null || true
end flv
SIZE=$(stat -c %s "$WORK/live.flv")
check "HTTP-FLV: 3 s of the stream ($SIZE bytes received) grows bytes_served by at least that, at most 2 MiB more (+$DELTA)" \
    bash -c '(( $1 > 100000 && $2 >= $1 && $2 <= $1 + 2097152 ))' _ "$SIZE" "$DELTA"
check "... and the coordinator agrees" wait_until 10 heartbeat_agrees

############ RTMP play ############
begin
timeout 20 ffmpeg -hide_banner -loglevel error -nostdin -y -i "rtmp://127.0.0.1:${NODE_RTMP[1]}/live/main" -t 3 -c copy -f flv "$WORK/rtmp.flv" || true
end rtmp
SIZE=$(stat -c %s "$WORK/rtmp.flv")
check "RTMP play: 3 s played ($SIZE bytes written by ffmpeg) grows bytes_served by about that (+$DELTA)" \
    bash -c '(( $1 > 100000 && $2 * 10 >= $1 * 8 && $2 <= 2 * $1 + 1048576 ))' _ "$SIZE" "$DELTA"
check "... and the coordinator agrees" wait_until 10 heartbeat_agrees

############ nothing else counts ############
begin
curl -sf "http://127.0.0.1:$N1/live/main/index.m3u8" -o /dev/null
curl -s "http://127.0.0.1:$N1/chunks/main/999999" -o /dev/null || true
end other
check "a playlist and a 404 are not media served (+$DELTA)" bash -c '(( $1 < 2048 ))' _ "$DELTA"
