#!/usr/bin/env bash
# A publisher that blinks, as OBS does after a network drop, with real clients everywhere:
# ffmpeg as OBS; ffmpeg (RTMP play), curl (HTTP-FLV) at the origin; curl (HTTP-FLV) and
# ffmpeg (HLS) at a node.
# - kill -9 of the publisher, then a republish with the key within 1 s: every viewer stays
#   connected; what they got has monotonic timestamps across the gap and decodes; the node's
#   HLS playlist never 404s, its media sequence never goes back, segment names never repeat;
#   the chunk chain goes on (no chunk refused at the node); viewers end only after the last
#   publisher stops and the grace (publish_grace, the default 10 s) runs out.
# - a publisher whose connection goes silent (a TCP proxy stops moving bytes, as a NAT drop
#   does): a new publish with the key takes over at once; and with no new publisher, the
#   silent one is dropped after publisher_timeout (3 s here) and the stream waits for it.
# - a publisher process stopped (SIGSTOP): dropped after publisher_timeout.
# - an ingest that hangs (SIGSTOP): the stream is offline within 2 heartbeat intervals.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || fail "ffmpeg/ffprobe not installed (make deps)"
PKI="$WORK/pki"
init_pki "$PKI"
pick_port CP; pick_port CH; pick_port RP; pick_port HP; pick_port SP; pick_port NH; pick_port NR; pick_port PX
SOCK="$WORK/run/control.sock"
start_bg coordinator env STREAMR_LOG=stderr "$BIN/streamr-coordinator" --set "listen_http=127.0.0.1:$CH" --set "pki_directory=$PKI" \
    --set "state_directory=$WORK/state" --set "listen_rpc=127.0.0.1:$CP" --set "control_socket=$SOCK" --set public_host=127.0.0.1 \
    --set "public_subscribe_port=$SP" --set "public_origin_http_port=$HP" --set heartbeat_interval=2
check "coordinator listening" wait_until 10 unix_listening "$SOCK"
start_bg ingest env STREAMR_LOG=stderr "$BIN/streamr-ingest" --set "pki_directory=$PKI" --set "state_directory=$WORK/state" \
    --set "listen_rtmp=127.0.0.1:$RP" --set "listen_http=127.0.0.1:$HP" --set "listen_subscribe=127.0.0.1:$SP" --set "coordinator_socket=$SOCK" \
    --set publisher_timeout=3s --set "validator_socket=$WORK/run/no-validator.sock"
INGEST=$PID
check "ingest listening" wait_until 10 tcp_listening "$RP"
state_of() { "$BIN/streamrctl" stream show main --json --socket "$SOCK" 2>/dev/null | python3 -c 'import json, sys; print(json.load(sys.stdin)["state"])'; }
KEY=$("$BIN/streamrctl" stream create main --json --socket "$SOCK" | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
LINE=$("$BIN/streamrctl" invite create main --socket "$SOCK" 2>/dev/null)
run_cmd join "$BIN/streamr-node" join "$LINE" --name "Friend" --payout venmo:@friend-one --state-directory "$WORK/node"
expect_rc 0 "a friend joins"
start_bg node env STREAMR_LOG=stderr "$BIN/streamr-node" --set "state_directory=$WORK/node" --set "control_socket=$WORK/node/control.sock" \
    --set "listen_http=127.0.0.1:$NH" --set "listen_rtmp=127.0.0.1:$NR"

ffmpeg -hide_banner -loglevel error -nostdin -y -f lavfi -i testsrc2=size=640x360:rate=30 -f lavfi -i sine=frequency=440:sample_rate=48000 \
    -t 30 -c:v libx264 -preset ultrafast -b:v 1500k -g 30 -pix_fmt yuv420p -c:a aac -b:a 96k -f flv "$WORK/source.flv"
publish() {  # publish NAME URL [ffmpeg input options] → background ffmpeg, pid in $PID
    local name=$1 url=$2; shift 2
    start_bg "$name" ffmpeg -hide_banner -loglevel warning -nostdin -re "$@" -i "$WORK/source.flv" -c copy -f flv "$url"
}
RTMP="rtmp://127.0.0.1:$RP/live/$KEY"

############ 1. kill -9 of the publisher, republish within 1 s ############
publish first "$RTMP"
FIRST=$PID
check "live" wait_until 15 eval '[[ "$(state_of)" == live ]]'
check "the node relays it" wait_until 15 grep -q "event=stream_started" "$WORK/node.log"
start_bg v-rtmp timeout 90 ffmpeg -hide_banner -loglevel warning -nostdin -i "rtmp://127.0.0.1:$RP/live/main" -c copy -f flv "$WORK/v-rtmp.flv"
V_RTMP=$PID
start_bg v-origin timeout 90 curl -sS -o "$WORK/v-origin.flv" "http://127.0.0.1:$HP/live/main.flv"
V_ORIGIN=$PID
start_bg v-node timeout 90 curl -sS -o "$WORK/v-node.flv" "http://127.0.0.1:$NH/live/main.flv"
V_NODE=$PID
check "the node's HLS playlist is up" wait_until 20 eval 'curl -sf "http://127.0.0.1:$NH/live/main/index.m3u8" -o /dev/null'
start_bg v-hls timeout 90 ffmpeg -hide_banner -loglevel warning -nostdin -i "http://127.0.0.1:$NH/live/main/index.m3u8" -c copy -f mpegts "$WORK/v-hls.ts"
V_HLS=$PID
# Poll the playlist through all of it: status, media sequence, names and their bytes.
start_bg hls-poll bash -c 'while :; do
  code=$(curl -s -o "$2/p.m3u8" -w "%{http_code}" "http://127.0.0.1:$1/live/main/index.m3u8")
  seq=$(grep -o "EXT-X-MEDIA-SEQUENCE:[0-9]*" "$2/p.m3u8" 2>/dev/null | cut -d: -f2)
  echo "$code ${seq:-none} $(grep -c DISCONTINUITY "$2/p.m3u8" 2>/dev/null) $(grep -E "\.ts$" "$2/p.m3u8" 2>/dev/null | tr "\n" " ")"
  sleep 0.5; done' _ "$NH" "$WORK"
POLL=$PID
sleep 6
kill -KILL "$FIRST"
sleep 0.8
publish second "$RTMP"
SECOND=$PID
check "the republish is accepted (the stream was waiting for its publisher)" wait_until 15 eval \
    'grep "continuing the stream" "$WORK/ingest.log" | grep -q "event=publish_started"' 
check "... the ingest logged the lost publisher" grep -q "event=publisher_lost" "$WORK/ingest.log"
sleep 8
for v in V_RTMP V_ORIGIN V_NODE V_HLS; do
    check "viewer $v is still connected after the republish" kill -0 "${!v}"
done
stop_pid "$SECOND" 5 || true
check "after the last publisher stops and the grace runs out, every viewer gets the end" \
    wait_until 25 eval '! kill -0 $V_RTMP 2>/dev/null && ! kill -0 $V_ORIGIN 2>/dev/null && ! kill -0 $V_NODE 2>/dev/null'
check "... and the stream is offline" wait_until 10 eval '[[ "$(state_of)" == offline ]]'
check "the HLS viewer (ffmpeg) lasted through the gap" bash -c '[[ $(stat -c %s "$1") -gt 1000000 ]]' _ "$WORK/v-hls.ts"
kill "$V_HLS" 2>/dev/null || true
kill "$POLL" 2>/dev/null || true
monotonic() { python3 "$IT_DIR/check-timestamps.py" "$@"; }
TIMESTAMPS=(python3 "$IT_DIR/check-timestamps.py")
for v in v-rtmp v-origin v-node; do
    run_cmd "mono-$v" "${TIMESTAMPS[@]}" "$WORK/$v.flv"
    check "$v: timestamps monotonic across the republish ($OUT$ERR)" test "$RC" = 0
    run_cmd "decode-$v" timeout 60 ffmpeg -hide_banner -loglevel error -nostdin -i "$WORK/$v.flv" -f null -
    check "$v decodes (ffmpeg -f null)" test "$RC" = 0
done
check "HLS: the playlist never 404'd once it was up" bash -c '! grep -q "^404" "$1"' _ "$WORK/hls-poll.log"
check "HLS: EXT-X-MEDIA-SEQUENCE never went back" python3 - "$WORK/hls-poll.log" <<'PY'
import sys
seqs = [int(l.split()[1]) for l in open(sys.argv[1]) if l.startswith("200 ") and l.split()[1].isdigit()]
assert seqs and all(b >= a for a, b in zip(seqs, seqs[1:])), seqs
PY
check "HLS: segment names are chain-seq names, never reused for other bytes" python3 - "$WORK/hls-poll.log" <<'PY'
import re, sys
names = set()
for l in open(sys.argv[1]):
    names.update(n for n in l.split()[3:] if n.endswith(".ts"))
assert names and all(re.fullmatch(r"[0-9a-f]+-[0-9]+\.ts", n) for n in names), names
chains = {n.split("-")[0] for n in names}
assert len(chains) == 1, f"one chain across the republish: {chains}"
PY
check "the node refused no chunk: the chain went on" bash -c '! grep -q chunk_rejected "$1"' _ "$WORK/node.log"

############ 2. a silent connection: taken over at once, or timed out ############
start_bg proxy python3 "$IT_DIR/freeze-proxy.py" "$PX" 127.0.0.1 "$RP"
PROXY=$PID
check "the proxy listens" wait_until 5 tcp_listening "$PX"
publish through-proxy "rtmp://127.0.0.1:$PX/live/$KEY"
SILENT=$PID
check "live through the proxy" wait_until 15 eval '[[ "$(state_of)" == live ]]'
start_bg v2 timeout 60 curl -sS -o "$WORK/v2.flv" "http://127.0.0.1:$HP/live/main.flv"
V2=$PID
sleep 3
kill -USR1 "$PROXY"
sleep 1.5
publish takeover "$RTMP"
TAKEOVER=$PID
check "a new publish with the key replaces the silent one at once (publisher_replaced)" wait_until 5 grep -q "event=publisher_replaced" "$WORK/ingest.log"
sleep 4
check "the viewer stayed connected through the takeover" kill -0 "$V2"
stop_pid "$TAKEOVER" 5 || true
kill -KILL "$SILENT" 2>/dev/null || true
kill -USR2 "$PROXY"
check "... and ends after the grace" wait_until 20 eval '! kill -0 $V2 2>/dev/null'
run_cmd mono-v2 "${TIMESTAMPS[@]}" "$WORK/v2.flv" 5
check "its timestamps are monotonic across the takeover ($OUT$ERR)" test "$RC" = 0
check "offline after the grace" wait_until 10 eval '[[ "$(state_of)" == offline ]]'

publish through-proxy-2 "rtmp://127.0.0.1:$PX/live/$KEY"
SILENT=$PID
check "live through the proxy again" wait_until 15 eval '[[ "$(state_of)" == live ]]'
sleep 2
kill -USR1 "$PROXY"
check "a silent publisher is dropped after publisher_timeout (publisher_timeout event)" wait_until 10 grep -q "event=publisher_timeout" "$WORK/ingest.log"
check "... the stream waits for it (reconnecting)" wait_until 5 eval '[[ "$(state_of)" == reconnecting ]]'
check "... then offline when the grace runs out" wait_until 15 eval '[[ "$(state_of)" == offline ]]'
kill -KILL "$SILENT" 2>/dev/null || true
kill "$PROXY" 2>/dev/null || true

############ 3. a stopped publisher process ############
publish stopped "$RTMP"
STOPPED=$PID
check "live again" wait_until 15 eval '[[ "$(state_of)" == live ]]'
sleep 2
TIMEOUTS=$(grep -c "event=publisher_timeout" "$WORK/ingest.log")
kill -STOP "$STOPPED"
check "a SIGSTOPped publisher is dropped after publisher_timeout" wait_until 10 eval '[[ $(grep -c "event=publisher_timeout" "$WORK/ingest.log") -gt $TIMEOUTS ]]'
kill -CONT "$STOPPED"; kill -KILL "$STOPPED" 2>/dev/null || true
check "offline after the grace" wait_until 15 eval '[[ "$(state_of)" == offline ]]'

############ 4. a hung ingest ############
publish hung "$RTMP"
HUNG=$PID
check "live once more" wait_until 15 eval '[[ "$(state_of)" == live ]]'
kill -STOP "$INGEST"
T0=$SECONDS
check "an ingest that hangs (SIGSTOP): offline within 2 heartbeat intervals plus a keepalive (5 s)" wait_until 8 eval '[[ "$(state_of)" == offline ]]'
echo "    (offline after $((SECONDS - T0)) s)"
kill -CONT "$INGEST"
kill -KILL "$HUNG" 2>/dev/null || true
check "once it runs again, its link reconnects and syncs" wait_until 15 eval '[[ "$(state_of)" == offline || "$(state_of)" == reconnecting || "$(state_of)" == live ]]'
