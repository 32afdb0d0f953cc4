#!/usr/bin/env bash
# Node agents end to end: two friends join with the invite line (streamr-node join), run the
# agent, relay a stream that ffmpeg publishes to the ingest, and serve it: HTTP-FLV and RTMP
# play decoded by ffmpeg with the source's packets, identical verified chunks on both nodes,
# /watch routing to them, status on the friend's machine, the upload cap (503 + routing),
# a coordinator restart (nodes keep serving, then reconnect) and an ingest restart (nodes
# subscribe again, viewers resume), and join's refusals.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

command -v ffmpeg >/dev/null || fail "ffmpeg not installed (make deps)"
COMPARE=(python3 "$IT_DIR/compare-packets.py")
PKI="$WORK/pki"
init_pki "$PKI"
pick_port CP; pick_port CH; pick_port RP; pick_port HP; pick_port SP
pick_port N1H; pick_port N1R; pick_port N2H; pick_port N2R
SOCK="$WORK/run/control.sock"
start_coordinator() {
    start_bg "coordinator-$1" env STREAMR_LOG=stderr "$BIN/streamr-coordinator" --set "listen_http=127.0.0.1:$CH" --set "pki_directory=$PKI" \
        --set "state_directory=$WORK/state" --set "listen_rpc=127.0.0.1:$CP" --set "control_socket=$SOCK" --set public_host=127.0.0.1 \
        --set "public_subscribe_port=$SP" --set "public_origin_http_port=$HP" --set heartbeat_interval=1
    COORD=$PID
    check "coordinator ($1) listening" wait_until 5 unix_listening "$SOCK"
}
start_ingest() {
    start_bg "ingest-$1" env STREAMR_LOG=stderr "$BIN/streamr-ingest" --set "pki_directory=$PKI" --set "state_directory=$WORK/state" \
        --set "listen_rtmp=127.0.0.1:$RP" --set "listen_http=127.0.0.1:$HP" --set "listen_subscribe=127.0.0.1:$SP" --set "coordinator_socket=$SOCK" \
        --set publish_grace=3s --set "validator_socket=$WORK/run/no-validator.sock"
    INGEST=$PID
    check "ingest ($1) listening" wait_until 5 tcp_listening "$RP"
}
start_node() {  # start_node N HTTP_PORT RTMP_PORT [--set ...]
    local n=$1 http=$2 rtmp=$3; shift 3
    start_bg "node$n" env STREAMR_LOG=stderr "$BIN/streamr-node" --set "state_directory=$WORK/node$n" \
        --set "control_socket=$WORK/node$n/control.sock" --set "listen_http=127.0.0.1:$http" --set "listen_rtmp=127.0.0.1:$rtmp" "$@"
}
ctl() { local name=$1; shift; run_cmd "$name" "$BIN/streamrctl" "$@" --socket "$SOCK"; }
state_of() { "$BIN/streamrctl" stream show "$1" --json --socket "$SOCK" | python3 -c 'import json, sys; print(json.load(sys.stdin)["state"])'; }
online_nodes() { "$BIN/streamrctl" nodes --json --socket "$SOCK" | python3 -c 'import json, sys; print(sum(n["online"] is True for n in json.load(sys.stdin)))'; }

start_coordinator first
start_ingest first
ctl create stream create main --json
KEY=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["key"])' "$OUT")
ctl invite invite create main --uses 2
LINE=$OUT

############ join ############
run_cmd join-nopayout "$BIN/streamr-node" join "$LINE" --state-directory "$WORK/node1"
check "join without a payout handle: usage error (64) saying what to add" bash -c '[[ $1 == 64 && $2 == *"--payout venmo:@handle"* ]]' _ "$RC" "$ERR"
run_cmd join1 "$BIN/streamr-node" join "$LINE" --name "Friend One" --payout venmo:@friend-one --state-directory "$WORK/node1"
expect_rc 0 "friend one joins with the invite line"
check "... and is told the next step" contains "$OUT" "systemctl enable --now streamr-node"
check "the node key is private (0600)" test "$(stat -c %a "$WORK/node1/node.key")" = 600
run_cmd join2 "$BIN/streamr-node" join "${LINE#streamr-node join }" --name "Friend Two" --payout paypal:two@example.com --state-directory "$WORK/node2"
expect_rc 0 "friend two joins with the bare URL"
run_cmd join3 "$BIN/streamr-node" join "$LINE" --payout venmo:@friend-three --state-directory "$WORK/node3"
check "a third join with the 2-use invite is refused, saying why (exit 1)" bash -c '[[ $1 == 1 && $2 == *"used up"* ]]' _ "$RC" "$ERR"
run_cmd join-again "$BIN/streamr-node" join "$LINE" --payout venmo:@friend-one --state-directory "$WORK/node1"
check "joining twice is refused" bash -c '[[ $1 == 1 && $2 == *"already joined"* ]]' _ "$RC" "$ERR"
pick_port DEAD
run_cmd join-unreachable "$BIN/streamr-node" join "streamr://127.0.0.1:$DEAD/main?token=AAAA&ca=sha256:$(printf '0%.0s' {1..64})" \
    --payout venmo:@friend-four --state-directory "$WORK/node4"
check "an unreachable host: exit 2 with a clear error" bash -c '[[ $1 == 2 && $2 == *"cannot reach the host"* ]]' _ "$RC" "$ERR"

start_node 1 "$N1H" "$N1R"
NODE1=$PID
# Node two has an upload cap of 2 Mbit/s: one 3 Mbit/s viewer fills it (a chunk fetched once does not).
start_node 2 "$N2H" "$N2R" --set upload_cap=2M
NODE2=$PID
check "both nodes connect to the coordinator" wait_until 10 grep -q "event=connected" "$WORK/node2.log"

############ publish; the nodes relay ############
ffmpeg -hide_banner -loglevel error -nostdin -y -f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi -i sine=frequency=440:sample_rate=48000 \
    -t 16 -c:v libx264 -preset ultrafast -b:v 3M -g 60 -pix_fmt yuv420p -c:a aac -b:a 128k -f flv "$WORK/source.flv"
start_bg publisher ffmpeg -hide_banner -loglevel warning -nostdin -re -i "$WORK/source.flv" -c copy -f flv "rtmp://127.0.0.1:$RP/live/$KEY"
PUBLISHER=$PID
check "node 1 relays the stream" wait_until 10 grep -q "event=stream_started" "$WORK/node1.log"
check "node 2 relays the stream" wait_until 10 grep -q "event=stream_started" "$WORK/node2.log"
# Verified chunks: the same bytes at both nodes, with the ingest's digest.
# (Node 2's upload cap counts these fetches too: each chunk is fetched from it once.)
check "chunk 1 is sealed, verified and served at both nodes" wait_until 10 eval \
    'curl -sf "http://127.0.0.1:$N1H/chunks/main/1" -D "$WORK/chunk1.headers" -o "$WORK/chunk1.bin" &&
     curl -sf "http://127.0.0.1:$N2H/chunks/main/1" -o "$WORK/chunk2.bin"'
curl -sf "http://127.0.0.1:$HP/chunks/main/1" -o "$WORK/chunk-origin.bin"
check "the chunk is byte for byte the ingest's own chunk 1 (its /chunks)" cmp -s "$WORK/chunk1.bin" "$WORK/chunk-origin.bin"
check "both nodes serve byte-identical chunk 1" cmp -s "$WORK/chunk1.bin" "$WORK/chunk2.bin"
CHUNK_NAME=$(grep -i "^x-streamr-chunk:" "$WORK/chunk1.headers" | tr -d "\r" | cut -d" " -f2)
check "the response names the chunk by chain and seq ($CHUNK_NAME)" bash -c '[[ $1 =~ ^[0-9a-f]+-1$ ]]' _ "$CHUNK_NAME"
check "the same chunk by its full name, cacheable" bash -c 'curl -sfD - "http://127.0.0.1:$1/chunks/main/$2" -o "$3" | grep -qi "cache-control: public" && cmp -s "$3" "$4"' \
    _ "$N1H" "$CHUNK_NAME" "$WORK/chunk-named.bin" "$WORK/chunk1.bin"
check "a Range request gets 206 with exactly those bytes" bash -c '
  code=$(curl -s -o "$3" -w "%{http_code}" -H "Range: bytes=100-1099" "http://127.0.0.1:$1/chunks/main/$2")
  [[ $code == 206 && $(stat -c %s "$3") == 1000 ]] && cmp -s "$3" <(tail -c +101 "$4" | head -c 1000)' _ "$N1H" "$CHUNK_NAME" "$WORK/range.bin" "$WORK/chunk1.bin"
check "a Range past the end gets 416" test "$(curl -s -o /dev/null -w "%{http_code}" -H "Range: bytes=99999999-" "http://127.0.0.1:$N1H/chunks/main/$CHUNK_NAME")" = 416

start_bg view1 timeout 40 curl -sS -o "$WORK/view1.flv" "http://127.0.0.1:$N1H/live/main.flv"
VIEW1=$PID
start_bg view2 timeout 40 curl -sS -o "$WORK/view2.flv" "http://127.0.0.1:$N2H/live/main.flv"
VIEW2=$PID
start_bg rtmp1 timeout 40 ffmpeg -hide_banner -loglevel warning -nostdin -i "rtmp://127.0.0.1:$N1R/live/main" -c copy -f flv "$WORK/rtmp1.flv"
RTMP1=$PID
check "both nodes are online at the coordinator" wait_until 10 eval '[[ $(online_nodes) == 2 ]]'
node1_status_ok() {
    "$BIN/streamrctl" status --socket "$WORK/node1/control.sock" --json >"$WORK/status1.json" &&
    python3 -c '
import json, sys; s = json.load(open(sys.argv[1]))["items"]
assert s["coordinator"].startswith("connected") and s["streams_relayed"] == "main", s
assert int(s["viewers"]) >= 2 and int(s["bytes_served"]) > 0 and s["display_name"] == "Friend One", s' "$WORK/status1.json"
}
check "streamrctl status on friend one's machine: connected, relaying main, with viewers and bytes served" wait_until 10 node1_status_ok
check "node 2 at its upload cap answers the next viewer 503 with Retry-After" wait_until 8 eval \
    '[[ "$(curl -s --max-time 2 -o /dev/null -w "%{http_code}" "http://127.0.0.1:$N2H/live/main.flv")" == 503 ]]'
watch_all_node1() {
    local i
    for i in $(seq 10); do
        [[ $(curl -s -o /dev/null -w "%{redirect_url}" "http://127.0.0.1:$CH/watch/main") == "http://127.0.0.1:$N1H/live/main.flv" ]] || return 1
    done
}
check "... and /watch sends every viewer to node 1" wait_until 8 watch_all_node1

# HLS at node 2... is capped; at node 1: a playlist of segments aligned with chunks.
check "node 1 serves an HLS playlist" wait_until 10 eval 'curl -sf "http://127.0.0.1:$N1H/live/main/index.m3u8" -o "$WORK/index.m3u8"'
check "... a live playlist (no ENDLIST) whose segments are the verified chunks" bash -c \
    'grep -q "^#EXTM3U" "$1" && grep -q "^#EXT-X-TARGETDURATION:" "$1" && grep -qE "^[0-9a-f]+-[0-9]+\.ts$" "$1" && ! grep -q ENDLIST "$1"' _ "$WORK/index.m3u8"
check "the playlist is never cached" bash -c 'curl -sfI "http://127.0.0.1:$1/live/main/index.m3u8" | grep -qi "cache-control: no-cache"' _ "$N1H"
run_cmd hls-decode timeout 60 ffmpeg -hide_banner -loglevel error -nostdin -i "http://127.0.0.1:$N1H/live/main/index.m3u8" -t 4 -f null -
check "ffmpeg decodes the node's HLS without errors" bash -c '[[ $1 == 0 && -z $2 ]]' _ "$RC" "$ERR"
SEG=$(grep -E '^[0-9a-f]+-[0-9]+\.ts$' "$WORK/index.m3u8" | head -1)
curl -s "http://127.0.0.1:$N1H/live/main/$SEG" -o "$WORK/segment.ts"
run_cmd hls-probe ffprobe -v error -count_packets -select_streams v:0 -show_entries stream=codec_name,nb_read_packets -of csv=p=0 "$WORK/segment.ts"
check "segment $SEG is H.264 with a chunk's worth of frames (ffprobe: ${OUT//$'\n'/ })" bash -c '[[ $1 =~ ^h264,([0-9]+) ]] && (( BASH_REMATCH[1] >= 30 ))' _ "$OUT"
check "... served cacheable (its name is never reused) and with CORS for the watch page" bash -c '
  h=$(curl -sfI "http://127.0.0.1:$1/live/main/$2"); grep -qi "cache-control: public" <<<"$h" && grep -qi "access-control-allow-origin: \*" <<<"$h"' _ "$N1H" "$SEG"

check "the publisher finishes" wait_until 30 eval '! kill -0 $PUBLISHER 2>/dev/null'
check "HTTP-FLV viewers at both nodes end at end of stream" wait_until 15 eval '! kill -0 $VIEW1 2>/dev/null && ! kill -0 $VIEW2 2>/dev/null'
check "the RTMP player at node 1 ends" wait_until 15 eval '! kill -0 $RTMP1 2>/dev/null'
for v in view1 view2 rtmp1; do
    run_cmd "cmp-$v" "${COMPARE[@]}" "$WORK/source.flv" "$WORK/$v.flv" --min-seconds 8 --to-end
    check "$v: the source's packets, unchanged, to the end: $(tr '\n' ' ' <<<"$OUT")" test "$RC" = 0
    run_cmd "decode-$v" timeout 60 ffmpeg -hide_banner -loglevel error -nostdin -i "$WORK/$v.flv" -f null -
    check "$v decodes without errors (ffmpeg -f null)" bash -c '[[ $1 == 0 && -z $2 ]]' _ "$RC" "$ERR"
done

############ coordinator restart: nodes keep serving, then reconnect ############
start_bg publisher2 ffmpeg -hide_banner -loglevel warning -nostdin -re -i "$WORK/source.flv" -c copy -f flv "rtmp://127.0.0.1:$RP/live/$KEY"
PUBLISHER=$PID
check "node 1 relays the new publish" wait_until 15 eval '[[ $(grep -c "event=stream_started" "$WORK/node1.log") -ge 2 ]]'
stop_pid "$COORD" 10
check "with the coordinator down, node 1 still serves viewers" bash -c \
    'curl -s --max-time 3 "http://127.0.0.1:$1/live/main.flv" -o "$2"; [[ $(stat -c %s "$2") -gt 100000 ]]' _ "$N1H" "$WORK/during.flv"
check "node 1 logged the lost session" wait_until 5 grep -q "event=disconnected" "$WORK/node1.log"
start_coordinator second
check "both nodes reconnect (online again)" wait_until 20 eval '[[ $(online_nodes) == 2 ]]'

############ ingest restart: nodes subscribe again, viewers resume ############
stop_pid "$INGEST" 10
wait "$PUBLISHER" 2>/dev/null || true
start_ingest second
start_bg publisher3 ffmpeg -hide_banner -loglevel warning -nostdin -re -i "$WORK/source.flv" -c copy -f flv "rtmp://127.0.0.1:$RP/live/$KEY"
PUBLISHER=$PID
check "node 2 subscribes again after the ingest restart" wait_until 20 eval '[[ $(grep -c "event=stream_started" "$WORK/node2.log") -ge 3 ]]'
sleep 2
run_cmd resumed timeout 6 curl -sS -o "$WORK/resumed.flv" "http://127.0.0.1:$N1H/live/main.flv"
run_cmd cmp-resumed "${COMPARE[@]}" "$WORK/source.flv" "$WORK/resumed.flv" --min-seconds 2 --cut
check "a viewer at node 1 gets the source's packets again: $(tr '\n' ' ' <<<"$OUT")" test "$RC" = 0
stop_pid "$PUBLISHER" 5 || true

############ leave ############
stop_pid "$NODE2" 10
check "node 2 stops cleanly (rc $STOP_RC)" test "$STOP_RC" = 0
run_cmd leave "$BIN/streamr-node" leave --state-directory "$WORK/node2"
check "streamr-node leave removes the identity and credentials" bash -c '[[ $1 == *"left:"* && ! -e $2/node.key && ! -e $2/identity.conf ]]' _ "$OUT" "$WORK/node2"
stop_pid "$NODE1" 10
check "node 1 stops cleanly (rc $STOP_RC)" test "$STOP_RC" = 0
