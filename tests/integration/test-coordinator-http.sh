#!/usr/bin/env bash
# The coordinator's HTTP (curl) and its live view of nodes: /healthz, /watch routing by the
# nodes' heartbeats (viewer URL, capacity), the origin fallback, /metrics in Prometheus text,
# publish state set over the control socket as the ingest does it, `node disable` closing a
# live session, the leaderboard, and bad input on both ports.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

NODE_CLIENT=(python3 "$IT_DIR/node-client.py")
ADMIN=(python3 "$IT_DIR/admin-client.py")
PKI="$WORK/pki"
init_pki "$PKI"
pick_port CP
pick_port HP
SOCK="$WORK/run/control.sock"
# sybil_policy=off: the stand-in nodes all connect from 127.0.0.1, and the claims review (every
# 5 s) flags all but one of them when it finds them online together; which checks ran before
# that tick was up to timing (the leaderboard's `flagged` column). test-validator-fraud covers it.
start_bg coordinator env STREAMR_LOG=stderr "$BIN/streamr-coordinator" --set "pki_directory=$PKI" \
    --set "state_directory=$WORK/state" --set "listen_rpc=127.0.0.1:$CP" --set "listen_http=127.0.0.1:$HP" \
    --set "control_socket=$SOCK" --set "public_host=127.0.0.1" --set heartbeat_interval=60 --set sybil_policy=off
COORD=$PID
check "http port listening" wait_until 5 tcp_listening "$HP"
check "control socket listening" wait_until 5 unix_listening "$SOCK"
URL="http://127.0.0.1:$HP"
ctl() { local name=$1; shift; run_cmd "$name" "$BIN/streamrctl" "$@" --socket "$SOCK"; }
# code_of PATH → "HTTP_CODE REDIRECT_URL"
code_of() { curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "$URL$1"; }
enrol() {  # enrol NAME → node id in $OUT, key/cert in $WORK/NAME.{key,pem}
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/$1.key" 2>/dev/null
    openssl req -new -key "$WORK/$1.key" -subj "/CN=$1" -outform DER -out "$WORK/$1.csr"
    run_cmd "enrol-$1" "${NODE_CLIENT[@]}" 127.0.0.1 "$CP" "$PKI/ca.pem" enroll "$TOKEN" "$WORK/$1.csr" "Friend $1" "venmo:@friend-$1" main "$WORK/$1.pem"
    expect_rc 0 "node $1 enrols"
}
hold() {  # hold NAME SECONDS SEQ [ENV...] → background heartbeat session, pid in $PID
    local name=$1 seconds=$2 seq=$3; shift 3
    start_bg "hold-$name-$seq" env HOLD_SECONDS="$seconds" "$@" "${NODE_CLIENT[@]}" 127.0.0.1 "$CP" "$PKI/ca.pem" \
        heartbeat "$WORK/$name.pem" "$WORK/$name.key" "$seq"
    wait_until 5 grep -q "ack $seq" "$WORK/hold-$name-$seq.log" || fail "node $name: no ack: $(cat "$WORK/hold-$name-$seq.log")"
}

############ health and metrics ############
check "/healthz answers 200 ok" test "$(curl -s -w ' %{http_code}' "$URL/healthz")" = "ok
 200"
METRICS=$(curl -s "$URL/metrics")
check "/metrics is Prometheus text with the coordinator's gauges" bash -c '
  for m in streamr_nodes_online streamr_heartbeats_per_second streamr_sessions streamr_live_streams; do
    grep -q "^# TYPE $m gauge$" <<<"$1" && grep -qE "^$m [0-9.]+$" <<<"$1" || exit 1; done' _ "$METRICS"
check "/metrics: no nodes online yet" contains "$METRICS" "streamr_nodes_online 0"
check "an unknown path is 404" test "$(code_of /nope)" = "404 "
check "POST is refused with 405" test "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$URL/healthz")" = 405

############ /watch before the stream is live ############
ctl create stream create main
ctl invite invite create main --uses 3
TOKEN=$(sed -E 's/.*token=([^&]*)&.*/\1/' <<<"$OUT")
check "/watch of an unknown stream is 404" test "$(code_of /watch/nosuch)" = "404 "
check "/watch of a bad name is 400" test "$(code_of '/watch/bad%20name')" = "400 "
check "/watch of an offline stream is 503" test "$(code_of /watch/main)" = "503 "
check "... with Retry-After" bash -c 'curl -sI "$1/watch/main" | grep -qi "^retry-after: "' _ "$URL"

############ publish state over the control socket (as the ingest sends it) ############
run_cmd authorize-bad "${ADMIN[@]}" "$SOCK" publish authorize key=not-a-key
check "an unknown stream key is refused (NOT_FOUND = 6)" contains "$OUT" "error 6: unknown stream key"
ctl key stream rotate-key main --json
KEY=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["key"])' "$OUT")
run_cmd authorize "${ADMIN[@]}" "$SOCK" publish authorize "key=$KEY"
check "the stream key is authorized for stream main" test "$(head -1 <<<"$OUT")" = main
run_cmd unbound "${ADMIN[@]}" "$SOCK" publish started stream=main
ctl show stream show main --json
check "a report on a connection that then closes leaves the stream offline" contains "$OUT" '"state":"offline"'
# A stand-in ingest: syncs what is live and stays connected, keeping itself alive.
HOLD_SECONDS=600 start_bg ingest "${ADMIN[@]}" "$SOCK" publish sync streams=main=live
INGEST=$PID
check "the stand-in ingest synced" wait_until 5 grep -q "1 stream(s) up at the ingest" "$WORK/ingest.log"
ctl show stream show main --json
check "stream main is live while its ingest is connected" contains "$OUT" '"state":"live"'
check "journal/stderr has stream_live" wait_until 5 grep -q "stream_live" "$WORK/coordinator.log"

############ routing: no node → the ingest origin ############
check "/watch with no node goes to the origin's HTTP-FLV" test "$(code_of /watch/main)" = "302 http://127.0.0.1:8936/live/main.flv"
check "/watch?format=rtmp goes to the origin's RTMP" test "$(code_of '/watch/main?format=rtmp')" = "302 rtmp://127.0.0.1:1935/live/main"
check "/watch?format=hls with no node goes to the origin's HLS" test "$(code_of '/watch/main?format=hls')" = "302 http://127.0.0.1:8936/live/main/index.m3u8"
check "/watch?format=fmp4 with no node goes to the origin's fMP4 HLS" test "$(code_of '/watch/main?format=fmp4')" = "302 http://127.0.0.1:8936/live/main/fmp4.m3u8"
check "/watch?format=bogus is 400" test "$(code_of '/watch/main?format=bogus')" = "400 "

############ routing to nodes by their heartbeats ############
enrol a; NODE_A=$OUT
enrol b; NODE_B=$OUT
hold a 60 1 VIEWER_URL=http://10.0.0.1:8935/
HOLD_A=$PID
# b is at its upload cap: it must not be chosen.
hold b 60 1 VIEWER_PORT=9999 UPLOAD_CAP_BPS=1000000 UPLOAD_BPS=1000000
HOLD_B=$PID
TARGETS=$(for _ in $(seq 20); do code_of /watch/main; echo; done | sort | uniq -c)
check "20 viewers all go to node a (b is at its cap)" test "$(awk '{print $1, $2, $3}' <<<"$TARGETS")" = "20 302 http://10.0.0.1:8935/live/main.flv"
check "/watch?format=hls goes to the node's HLS playlist" test "$(code_of '/watch/main?format=hls')" = "302 http://10.0.0.1:8935/live/main/index.m3u8"
check "/watch?format=fmp4 goes to the node's fMP4 playlist" test "$(code_of '/watch/main?format=fmp4')" = "302 http://10.0.0.1:8935/live/main/fmp4.m3u8"
check "the redirect is not cached" bash -c 'curl -sI "$1/watch/main" | grep -qi "^cache-control: no-store"' _ "$URL"
ROUTE=$(curl -s "$URL/api/route/main?format=hls")
check "/api/route (the watch page's) names the same node and its display name: $ROUTE" python3 -c '
import json, sys; r = json.loads(sys.argv[1])
assert r["url"] == "http://10.0.0.1:8935/live/main/index.m3u8" and r["node"] == sys.argv[2] and r["name"] == "Friend a" and r["state"] == "live", r' "$ROUTE" "$NODE_A"
ROUTE=$(curl -s "$URL/api/route/main?format=fmp4&exclude=$NODE_A")
check "/api/route?exclude=<node a> goes to the origin: $ROUTE" python3 -c '
import json, sys; r = json.loads(sys.argv[1])
assert r["url"] == "http://127.0.0.1:8936/live/main/fmp4.m3u8" and "node" not in r, r' "$ROUTE"
STREAM=$(curl -s "$URL/api/stream/main")
check "/api/stream lists both relays by display name only: $STREAM" python3 -c '
import json, sys; s = json.loads(sys.argv[1])
assert s["state"] == "live" and sorted(r["name"] for r in s["relays"]) == ["Friend a", "Friend b"], s
assert "node-" not in sys.argv[1] and "venmo" not in sys.argv[1] and "10.0.0.1" not in sys.argv[1], s' "$STREAM"
stop_pid "$HOLD_A" 5
# b again, now with room: without a viewer_url it is reached at its session's address.
stop_pid "$HOLD_B" 5
check "with a gone and b full, viewers go to the origin" wait_until 5 eval '[[ "$(code_of /watch/main)" == "302 http://127.0.0.1:8936/live/main.flv" ]]'
hold b 60 2 VIEWER_PORT=9999 UPLOAD_CAP_BPS=1000000 UPLOAD_BPS=250000
HOLD_B=$PID
check "node b with room is reached at its session address and viewer port" test "$(code_of /watch/main)" = "302 http://127.0.0.1:9999/live/main.flv"
METRICS=$(curl -s "$URL/metrics")
check "/metrics: one node online, one session, redirects counted" bash -c '
  grep -qx "streamr_nodes_online 1" <<<"$1" && grep -qx "streamr_sessions 1" <<<"$1" &&
  grep -qx "streamr_watch_redirects_total{target=\"node\"} 25" <<<"$1" && grep -qx "streamr_viewers 3" <<<"$1"' _ "$METRICS"

############ node disable closes the live session ############
ctl disable node disable "$NODE_B"
check "disable reports the closed session" contains "$OUT" "1 live session(s) closed"
check "node b's session is told why and closed" wait_until 5 eval 'grep -q "pushed error 9: node $NODE_B has been disabled" "$WORK/hold-b-2.log" && grep -q "closed by peer" "$WORK/hold-b-2.log"'
check "... so viewers go to the origin again" test "$(code_of /watch/main)" = "302 http://127.0.0.1:8936/live/main.flv"
run_cmd reconnect "${NODE_CLIENT[@]}" 127.0.0.1 "$CP" "$PKI/ca.pem" heartbeat "$WORK/b.pem" "$WORK/b.key" 3
check "a disabled node's reconnect is refused" contains "$OUT" "error 9: node $NODE_B has been disabled"
ctl enable node enable "$NODE_B"

############ leaderboard ############
ctl board leaderboard --json
expect_rc 0 "streamrctl leaderboard"
check "leaderboard lists both nodes with a rank and uptime" python3 -c '
import json, sys
rows = json.loads(sys.argv[1]); ids = {r["node_id"] for r in rows}
assert ids == {sys.argv[2], sys.argv[3]}, rows
assert all(type(r["rank"]) is int and type(r["uptime_seconds"]) is int and type(r["bytes_served"]) is int for r in rows), rows
assert all(r["quality"] == 1 and r["checks"] == 0 and r["flagged"] is False for r in rows), rows
' "$OUT" "$NODE_A" "$NODE_B"
ctl board-stream leaderboard --stream main --period 1h
check "leaderboard table for one stream" contains "$OUT" "UPTIME_PERCENT"
ctl board-bad leaderboard --stream nosuch
check "leaderboard of an unknown stream: exit 1 with a clear error" bash -c '[[ $1 == 1 && $2 == *"unknown stream \`nosuch\`"* ]]' _ "$RC" "$ERR"

############ offline again: the ingest dies ############
kill -KILL "$INGEST"
ctl show stream show main --json
check "the ingest's connection closing (kill -9) sets its stream offline at once" contains "$OUT" '"state":"offline"'
check "/watch of a stream gone offline is 503" test "$(code_of /watch/main)" = "503 "
check "... and the journal says so" wait_until 5 grep -q "stream_offline" "$WORK/coordinator.log"

############ bad input ############
BAD=$(timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"; printf "GARBAGE\x00\x01\r\n\r\n" >&3; cat <&3' _ "$HP" 2>/dev/null || true)
check "garbage on the HTTP port gets 400" contains "$BAD" "400"
# A frame announcing 64 MiB on a node's mTLS session: TOO_LARGE (2), then the connection closes.
run_cmd oversize "${NODE_CLIENT[@]}" 127.0.0.1 "$CP" "$PKI/ca.pem" raw "$WORK/a.pem" "$WORK/a.key" 8080808020
check "an oversize frame gets TOO_LARGE and the connection closes" bash -c '[[ $1 == *"pushed error 2"* && $1 == *"closed by peer"* ]]' _ "$OUT"
run_cmd garbage "${NODE_CLIENT[@]}" 127.0.0.1 "$CP" "$PKI/ca.pem" raw "$WORK/a.pem" "$WORK/a.key" 05ffffffffff
check "a malformed frame gets MALFORMED and the connection closes" bash -c '[[ $1 == *"pushed error 1"* && $1 == *"closed by peer"* ]]' _ "$OUT"
mkdir -p "$WORK/other"; init_pki "$WORK/other"
openssl x509 -req -in <(openssl req -new -key "$WORK/a.key" -subj "/CN=$NODE_A") -CA "$WORK/other/ca.pem" \
    -CAkey "$WORK/other/ca.key" -days 1 -out "$WORK/forged.pem" 2>/dev/null
run_cmd forged "${NODE_CLIENT[@]}" 127.0.0.1 "$CP" "$PKI/ca.pem" heartbeat "$WORK/forged.pem" "$WORK/a.key" 50
check "a certificate from another CA (node a's id) is refused in the handshake" bash -c '[[ $1 != 0 && $2 != *"ack 50"* ]]' _ "$RC" "$OUT"
check "the coordinator still serves everyone: /healthz" test "$(curl -s "$URL/healthz")" = ok
run_cmd after "${NODE_CLIENT[@]}" 127.0.0.1 "$CP" "$PKI/ca.pem" heartbeat "$WORK/a.pem" "$WORK/a.key" 51
check "... and node a's next heartbeat" test "$OUT" = "ack 51"
stop_pid "$COORD" 10
check "coordinator stops cleanly (rc $STOP_RC)" test "$STOP_RC" = 0
