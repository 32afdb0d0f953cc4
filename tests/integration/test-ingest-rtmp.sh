#!/usr/bin/env bash
# The ingest with ffmpeg as OBS and ffmpeg/ffprobe/curl as viewers: stream keys checked with a
# real coordinator, H.264 + AAC 1080p30 at 8 Mbps published, RTMP play and HTTP-FLV from the
# origin carrying the source's packets unchanged (ffprobe data hashes), a node's TLS
# subscription with every chunk's SHA-256, hash chain and host signature checked (openssl),
# a second publisher refused, a publisher that vanishes (its viewers wait out the reconnect
# grace, 3 s here), the 2^24 ms extended-timestamp boundary, and garbage on the RTMP port.
# (test-ingest-reconnect.sh has the grace itself: republishing, silent and stopped publishers.)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || fail "ffmpeg/ffprobe not installed (make deps)"
NODE_CLIENT=(python3 "$IT_DIR/node-client.py")
COMPARE=(python3 "$IT_DIR/compare-packets.py")
PKI="$WORK/pki"
init_pki "$PKI"
pick_port CP; pick_port RP; pick_port HP; pick_port SP
SOCK="$WORK/run/control.sock"
start_bg coordinator env STREAMR_LOG=stderr "$BIN/streamr-coordinator" --set listen_http=127.0.0.1:0 --set "pki_directory=$PKI" \
    --set "state_directory=$WORK/state" --set "listen_rpc=127.0.0.1:$CP" --set "control_socket=$SOCK" --set public_host=127.0.0.1
check "coordinator control socket listening" wait_until 5 unix_listening "$SOCK"
start_bg ingest env STREAMR_LOG=stderr "$BIN/streamr-ingest" --set "pki_directory=$PKI" --set "state_directory=$WORK/state" \
    --set "listen_rtmp=127.0.0.1:$RP" --set "listen_http=127.0.0.1:$HP" --set "listen_subscribe=127.0.0.1:$SP" \
    --set "coordinator_socket=$SOCK" --set publish_grace=3s --set "validator_socket=$WORK/run/no-validator.sock"
INGEST=$PID
check "ingest RTMP port listening" wait_until 5 tcp_listening "$RP"
ctl() { local name=$1; shift; run_cmd "$name" "$BIN/streamrctl" "$@" --socket "$SOCK"; }
state_of() { "$BIN/streamrctl" stream show "$1" --json --socket "$SOCK" | python3 -c 'import json, sys; print(json.load(sys.stdin)["state"])'; }
ctl create stream create main --json
KEY=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["key"])' "$OUT")
RTMP="rtmp://127.0.0.1:$RP/live"

# The source: what OBS would send (made here, nothing downloaded).
ffmpeg -hide_banner -loglevel error -nostdin -y -f lavfi -i testsrc2=size=1920x1080:rate=30 -f lavfi -i sine=frequency=440:sample_rate=48000 \
    -t 12 -c:v libx264 -preset ultrafast -b:v 8M -maxrate 8M -bufsize 8M -g 60 -pix_fmt yuv420p -c:a aac -b:a 128k \
    -f flv "$WORK/source.flv"
check "test source: 12 s of 1080p30 H.264 + AAC made with ffmpeg" test -s "$WORK/source.flv"
publish() {  # publish NAME KEY [ffmpeg output options...] → background ffmpeg, pid in $PID
    local name=$1 key=$2; shift 2
    start_bg "$name" ffmpeg -hide_banner -loglevel warning -nostdin -re -i "$WORK/source.flv" -c copy "$@" -f flv "$RTMP/$key"
}

############ bad key ############
run_cmd badkey timeout 20 ffmpeg -hide_banner -loglevel error -nostdin -re -i "$WORK/source.flv" -t 2 -c copy -f flv "$RTMP/not-the-key"
check "a publish with a wrong key fails at ffmpeg" test "$RC" -ne 0
check "... and the ingest logged publish_refused (bad_key)" wait_until 5 grep -q "event=publish_refused reason=bad_key" "$WORK/ingest.log"

############ publish, then play in three ways ############
publish publisher "$KEY"
PUBLISHER=$PID
check "publishing: the coordinator marks the stream live" wait_until 10 eval '[[ "$(state_of main)" == live ]]'
check "the ingest logged publish_started" grep -q "event=publish_started stream=main" "$WORK/ingest.log"
run_cmd second timeout 20 ffmpeg -hide_banner -loglevel error -nostdin -re -i "$WORK/source.flv" -t 2 -c copy -f flv "$RTMP/$KEY"
check "a second publisher on a live stream is refused" test "$RC" -ne 0
check "... logged as already_publishing" grep -q "reason=already_publishing" "$WORK/ingest.log"

# A node to subscribe with.
ctl invite invite create main
TOKEN=$(sed -E 's/.*token=([^&]*)&.*/\1/' <<<"$OUT")
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/node.key" 2>/dev/null
openssl req -new -key "$WORK/node.key" -subj "/CN=n" -outform DER -out "$WORK/node.csr"
run_cmd enrol "${NODE_CLIENT[@]}" 127.0.0.1 "$CP" "$PKI/ca.pem" enroll "$TOKEN" "$WORK/node.csr" "Node" venmo:@friend-node main "$WORK/node.pem"
expect_rc 0 "a node enrols"

start_bg play-rtmp timeout 40 ffmpeg -hide_banner -loglevel warning -nostdin -i "$RTMP/main" -c copy -f flv "$WORK/played-rtmp.flv"
PLAY_RTMP=$PID
# The HTTP-FLV viewer joins mid-stream: it must start on a keyframe, after the headers.
sleep 3
start_bg play-http timeout 40 curl -sS -o "$WORK/played-http.flv" "http://127.0.0.1:$HP/live/main.flv"
PLAY_HTTP=$PID
mkdir -p "$WORK/sub"
start_bg subscriber env SUBSCRIBE_SECONDS=40 "${NODE_CLIENT[@]}" 127.0.0.1 "$SP" "$PKI/ca.pem" subscribe "$WORK/node.pem" "$WORK/node.key" main 0 "$WORK/sub"
SUBSCRIBER=$PID
# Garbage on the RTMP port meanwhile: that connection is closed, nobody else notices.
BAD=$(timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"; printf "\x07GARBAGE-NOT-RTMP" >&3; cat <&3 | wc -c' _ "$RP" 2>/dev/null || true)
check "garbage instead of a handshake: the connection is closed with a log line" \
    wait_until 5 grep -q "rtmp connection closed: RTMP handshake: client asked for protocol version 7" "$WORK/ingest.log"

check "the publisher finishes its 12 s" wait_until 30 eval '! kill -0 $PUBLISHER 2>/dev/null'
wait "$PUBLISHER" 2>/dev/null && PUB_RC=0 || PUB_RC=$?
check "ffmpeg published without error (exit $PUB_RC)" test "$PUB_RC" = 0
check "the RTMP player ends by itself at end of stream" wait_until 15 eval '! kill -0 $PLAY_RTMP 2>/dev/null'
check "the HTTP-FLV viewer's response ends at end of stream" wait_until 15 eval '! kill -0 $PLAY_HTTP 2>/dev/null'
run_cmd cmp-rtmp "${COMPARE[@]}" "$WORK/source.flv" "$WORK/played-rtmp.flv" --min-seconds 6 --to-end
check "RTMP play (ffmpeg): the source's packets, unchanged, to the end: $(tr '\n' ' ' <<<"$OUT")" test "$RC" = 0
run_cmd cmp-http "${COMPARE[@]}" "$WORK/source.flv" "$WORK/played-http.flv" --min-seconds 6 --to-end
check "HTTP-FLV (curl, ffprobe): the source's packets, unchanged, to the end: $(tr '\n' ' ' <<<"$OUT")" test "$RC" = 0
run_cmd decode timeout 60 ffmpeg -hide_banner -loglevel error -nostdin -i "$WORK/played-http.flv" -f null -
check "the HTTP-FLV copy decodes without errors (ffmpeg -f null)" bash -c '[[ $1 == 0 && -z $2 ]]' _ "$RC" "$ERR"

check "the subscriber saw the end of stream" wait_until 15 grep -q "end of stream" "$WORK/subscriber.log"
check "the subscriber got the sequence headers first" test "$(sed -n 2p "$WORK/subscriber.log" | cut -d' ' -f1)" = headers
check "every chunk's SHA-256 and chain value verified" bash -c '
  n=$(grep -c "^chunk " "$1"); bad=$(grep "^chunk " "$1" | grep -c MISMATCH || true); [[ $n -ge 4 && $bad == 0 ]]' _ "$WORK/subscriber.log"
openssl pkey -in "$PKI/signing.key" -pubout -out "$WORK/host-pub.pem"
check "the last chain value carries the host's signing key's signature (openssl dgst -verify)" \
    quiet openssl dgst -sha256 -verify "$WORK/host-pub.pem" -signature "$WORK/sub/signature.der" "$WORK/sub/chain.bin"
check "after the publisher ended and its grace ran out, the stream is offline" wait_until 10 eval '[[ "$(state_of main)" == offline ]]'
check "the ingest logged publisher_lost, then publish_stopped" bash -c 'grep -q "event=publisher_lost reason=unpublished stream=main" "$1" &&
    grep -q "event=publish_stopped reason=unpublished stream=main" "$1"' _ "$WORK/ingest.log"

############ a publisher that vanishes mid-stream ############
publish vanishing "$KEY"
VANISHING=$PID
check "live again" wait_until 10 eval '[[ "$(state_of main)" == live ]]'
start_bg play-vanish timeout 40 ffmpeg -hide_banner -loglevel warning -nostdin -i "$RTMP/main" -c copy -f flv "$WORK/played-vanish.flv"
PLAY_VANISH=$PID
sleep 3
kill -KILL "$VANISHING"
check "the viewer of a vanished publisher gets end of stream" wait_until 10 eval '! kill -0 $PLAY_VANISH 2>/dev/null'
check "the ingest logged the lost publisher, then the end after the grace" wait_until 5 bash -c '
  grep -q "event=publisher_lost reason=\"connection lost\" stream=main" "$1" && grep -q "event=publish_stopped reason=\"connection lost\" stream=main" "$1"' _ "$WORK/ingest.log"
check "the coordinator marks the stream offline" wait_until 10 eval '[[ "$(state_of main)" == offline ]]'

############ across the 2^24 ms extended-timestamp boundary ############
# Starting at 16,770 s puts the 16,777.216 s boundary (0xFFFFFF ms) 7 s into the stream.
publish extended "$KEY" -output_ts_offset 16770
EXTENDED=$PID
check "live with timestamps near 2^24 ms" wait_until 10 eval '[[ "$(state_of main)" == live ]]'
start_bg play-extended timeout 40 curl -sS -o "$WORK/played-extended.flv" "http://127.0.0.1:$HP/live/main.flv"
check "the publisher crosses the boundary and finishes" wait_until 30 eval '! kill -0 $EXTENDED 2>/dev/null'
check "the HTTP-FLV viewer ends" wait_until 15 eval '! kill -0 $PID 2>/dev/null'
run_cmd cmp-extended "${COMPARE[@]}" "$WORK/source.flv" "$WORK/played-extended.flv" --min-seconds 6 --to-end
check "packets unchanged across 0xFFFFFF ms, shifted by exactly 16,770,000 ms: $(tr '\n' ' ' <<<"$OUT")" \
    bash -c '[[ $1 == 0 && $(grep -c "offset 16770000 ms" <<<"$2") == 2 ]]' _ "$RC" "$OUT"

stop_pid "$INGEST" 10
check "the ingest stops cleanly (rc $STOP_RC)" test "$STOP_RC" = 0
