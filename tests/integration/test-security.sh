#!/usr/bin/env bash
# The threat model's defences (SECURITY.md) that no other test covers, with real clients:
# - a stolen stream key: a second publisher (ffmpeg) is refused while the streamer streams;
#   `stream rotate-key` cuts off whoever publishes with the old key within
#   authorization_recheck, and the old key is refused from then on;
# - a compromised node key: `node disable` ends the node's session with the coordinator, the
#   ingest cuts off its subscription within authorization_recheck and refuses it again, and
#   /watch sends it no viewers; the other node goes on relaying;
# - a node asking about another's money is refused; /api/stream shows no payout handles;
# - a leaked invite: used up, revoked or expired, it enrols nobody (and says why).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

command -v ffmpeg >/dev/null || fail "ffmpeg not installed (make deps)"
PKI="$WORK/pki"
init_pki "$PKI"
pick_port CP; pick_port CH; pick_port RP; pick_port HP; pick_port SP; pick_port NH1; pick_port NR1; pick_port NH2; pick_port NR2
SOCK="$WORK/run/control.sock"
start_bg coordinator env STREAMR_LOG=stderr "$BIN/streamr-coordinator" --set "listen_http=127.0.0.1:$CH" --set "pki_directory=$PKI" \
    --set "state_directory=$WORK/state" --set "listen_rpc=127.0.0.1:$CP" --set "control_socket=$SOCK" --set public_host=127.0.0.1 \
    --set "public_subscribe_port=$SP" --set "public_origin_http_port=$HP" --set heartbeat_interval=1
check "coordinator listening" wait_until 10 unix_listening "$SOCK"
start_bg ingest env STREAMR_LOG=stderr "$BIN/streamr-ingest" --set "pki_directory=$PKI" --set "state_directory=$WORK/state" \
    --set "listen_rtmp=127.0.0.1:$RP" --set "listen_http=127.0.0.1:$HP" --set "listen_subscribe=127.0.0.1:$SP" \
    --set "coordinator_socket=$SOCK" --set "validator_socket=$WORK/run/no-validator.sock" --set authorization_recheck=2s
check "ingest listening" wait_until 10 tcp_listening "$RP"
ctl() { "$BIN/streamrctl" "$@" --socket "$SOCK"; }
json() { python3 -c 'import json, sys; j = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
KEY=$(ctl stream create main --json | json 'j["key"]')
LINE=$(ctl invite create main --uses 2 2>/dev/null)
for n in 1 2; do
    run_cmd "join-$n" "$BIN/streamr-node" join "$LINE" --name "Friend $n" --payout "venmo:@friend-$n" --state-directory "$WORK/node$n"
    expect_rc 0 "friend $n joins"
done
NH=("" "$NH1" "$NH2") NR=("" "$NR1" "$NR2")
for n in 1 2; do
    start_bg "node$n" env STREAMR_LOG=stderr "$BIN/streamr-node" --set "state_directory=$WORK/node$n" \
        --set "control_socket=$WORK/node$n/control.sock" --set "listen_http=127.0.0.1:${NH[n]}" --set "listen_rtmp=127.0.0.1:${NR[n]}"
done
NODE1=$(sed -nE 's/^node_id *= *//p' "$WORK/node1/identity.conf")
NODE2=$(sed -nE 's/^node_id *= *//p' "$WORK/node2/identity.conf")
check "both nodes have ids ($NODE1, $NODE2)" test -n "$NODE1" -a -n "$NODE2"

ffmpeg -hide_banner -loglevel error -nostdin -y -f lavfi -i testsrc2=size=320x180:rate=30 -f lavfi -i sine=frequency=440:sample_rate=48000 \
    -t 40 -c:v libx264 -preset ultrafast -g 30 -pix_fmt yuv420p -c:a aac -f flv "$WORK/source.flv"
publish() { start_bg "$1" ffmpeg -hide_banner -loglevel error -nostdin -re -i "$WORK/source.flv" -c copy -f flv "rtmp://127.0.0.1:$RP/live/$2"; }
publish streamer "$KEY"
STREAMER=$PID
check "the streamer is live" wait_until 20 eval '[[ "$(ctl stream show main --json | json "j[\"state\"]")" == live ]]'
check "both nodes relay" wait_until 30 eval '(( $(grep -c "subscribed to main" "$WORK/ingest.log") >= 2 ))'

############ a stolen stream key ############
run_cmd thief timeout 15 ffmpeg -hide_banner -loglevel error -nostdin -re -t 5 -i "$WORK/source.flv" -c copy -f flv "rtmp://127.0.0.1:$RP/live/$KEY"
expect "a second publisher with the key is refused while the streamer streams (exit $RC)" test "$RC" != 0
expect "... the journal says why" grep -q "already being published" "$WORK/ingest.log"
expect "... and the streamer is still on" kill -0 "$STREAMER"
NEW_KEY=$(ctl stream rotate-key main --json | json 'j["key"]')
expect "stream rotate-key gives a new key" test -n "$NEW_KEY" -a "$NEW_KEY" != "$KEY"
expect "whoever publishes with the old key is cut off within authorization_recheck (2 s)" \
    wait_until 15 eval '! kill -0 $STREAMER 2>/dev/null'
expect "... the journal says why" grep -q "event=publish_revoked" "$WORK/ingest.log"
run_cmd old-key timeout 15 ffmpeg -hide_banner -loglevel error -nostdin -re -t 3 -i "$WORK/source.flv" -c copy -f flv "rtmp://127.0.0.1:$RP/live/$KEY"
expect "the old key is refused (exit $RC)" test "$RC" != 0
publish streamer2 "$NEW_KEY"
check "the new key publishes" wait_until 20 eval 'grep "event=publish_started" "$WORK/ingest.log" | grep -q "continuing the stream\|publishing from"'

############ a compromised node key ############
SUBS_BEFORE=$(grep -c "$NODE2 subscribed to main" "$WORK/ingest.log" || true)
run_cmd disable "$BIN/streamrctl" node disable "$NODE1" --socket "$SOCK"
expect_rc 0 "node disable $NODE1"
expect "its coordinator session is refused" wait_until 15 grep -q "disabled by the host" "$WORK/node1.log"
expect "the ingest cuts off its subscription within authorization_recheck" \
    wait_until 15 eval 'grep "event=subscription_revoked" "$WORK/ingest.log" | grep -q "$NODE1"'
expect "... and refuses it when it asks again" \
    wait_until 20 eval 'grep "event=subscribe_refused" "$WORK/ingest.log" | grep -q "$NODE1.*disabled by the host"'
routes=$(for i in $(seq 1 20); do curl -s -o /dev/null -w '%{redirect_url}\n' "http://127.0.0.1:$CH/watch/main?format=flv"; done)
expect "/watch sends it no viewers (20 of 20 elsewhere)" eval '! grep -q ":$NH1/" <<<"$routes"'
expect "the other node still relays (never cut off)" eval '! grep "event=subscription_revoked" "$WORK/ingest.log" | grep -q "$NODE2"'
expect "... and serves" wait_until 15 eval 'curl -s --max-time 3 -o "$WORK/n2.flv" "http://127.0.0.1:$NH2/live/main.flv"; [[ -s "$WORK/n2.flv" ]]'

############ money and privacy ############
api=$(curl -s "http://127.0.0.1:$CH/api/stream/main")
expect "/api/stream names friends by display name only, no payout handles or ids ($api)" \
    eval '[[ "$api" != *venmo* && "$api" != *"$NODE2"* ]]'
CLIENT=(python3 "$IT_DIR/node-client.py" 127.0.0.1 "$CP" "$PKI/ca.pem" admin "$WORK/node2/node.pem" "$WORK/node2/node.key")
run_cmd node-list "${CLIENT[@]}" node list
expect "a node's certificate cannot run admin commands (exit $RC: ${ERR:0:120})" eval '[[ $RC != 0 && "$ERR" == *"only about its own earnings"* ]]'
run_cmd others "${CLIENT[@]}" earnings "node=$NODE1"
expect "a node asking for the host's earnings listing (another's) is refused (exit $RC)" eval '[[ $RC != 0 && "$ERR" == *"only about its own"* ]]'
run_cmd mine "${CLIENT[@]}" earnings mine
expect "... its own it may see, and nobody else's (exit $RC)" eval '[[ $RC == 0 && "$OUT" != *"$NODE1"* ]]'
run_cmd own "${CLIENT[@]}" balance mine
expect "... and may see its own balances (exit $RC)" test "$RC" = 0

############ a leaked invite ############
run_cmd used-up "$BIN/streamr-node" join "$LINE" --name Thief --payout venmo:@thief-one --state-directory "$WORK/thief1"
expect "a used-up invite enrols nobody (exit $RC): ${ERR:0:120}" eval '[[ $RC != 0 && "$ERR" == *"used"* ]]'
LEAK=$(ctl invite create main --uses 5 2>/dev/null)
INVITE_ID=$(ctl invite list --json | json '[i["id"] for i in j if i["state"] == "active"][0]')
ctl invite revoke "$INVITE_ID" >/dev/null
run_cmd revoked "$BIN/streamr-node" join "$LEAK" --name Thief --payout venmo:@thief-one --state-directory "$WORK/thief2"
expect "a revoked invite enrols nobody (exit $RC): ${ERR:0:120}" eval '[[ $RC != 0 && "$ERR" == *"revoked"* ]]'
