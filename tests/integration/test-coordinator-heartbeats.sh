#!/usr/bin/env bash
# Heartbeats against a real coordinator, from a stand-in node (node-client.py) on its mTLS
# session: acks in order, replays refused with .replayed while the session stays up, the seq
# continuing across a coordinator restart and a crash (SIGKILL), every acked heartbeat stored,
# one session per connection, ended when it closes.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

command -v openssl >/dev/null || fail "openssl (the CLI) not installed"
NODE_CLIENT=(python3 "$IT_DIR/node-client.py")
PKI="$WORK/pki"
init_pki "$PKI"
pick_port CP
SOCK="$WORK/run/control.sock"
DB="$WORK/state/coordinator.db"
start_coordinator() {
    start_bg "coordinator-$1" env STREAMR_LOG=stderr "$BIN/streamr-coordinator" --set listen_http=127.0.0.1:0 --set "pki_directory=$PKI" \
        --set "state_directory=$WORK/state" --set "listen_rpc=127.0.0.1:$CP" --set "control_socket=$SOCK" \
        --set "public_host=127.0.0.1"
    COORD=$PID
    check "coordinator ($1): rpc port listening" wait_until 5 tcp_listening "$CP"
}
ctl() { local name=$1; shift; run_cmd "$name" "$BIN/streamrctl" "$@" --socket "$SOCK"; }
heartbeat() { local name=$1; shift; run_cmd "$name" "${NODE_CLIENT[@]}" 127.0.0.1 "$CP" "$PKI/ca.pem" heartbeat "$@"; }
sql() { python3 -c 'import sqlite3, sys; print("\n".join("|".join(map(str, r)) for r in sqlite3.connect(sys.argv[1]).execute(sys.argv[2])))' "$DB" "$1"; }

start_coordinator first
check "control socket listening" wait_until 5 unix_listening "$SOCK"
ctl create stream create main
ctl invite invite create main
TOKEN=$(sed -E 's/.*token=([^&]*)&.*/\1/' <<<"$OUT")
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/a.key" 2>/dev/null
openssl req -new -key "$WORK/a.key" -subj "/CN=a" -outform DER -out "$WORK/a.csr"
run_cmd enroll "${NODE_CLIENT[@]}" 127.0.0.1 "$CP" "$PKI/ca.pem" enroll "$TOKEN" "$WORK/a.csr" "Friend a" venmo:@friend-a main "$WORK/a.pem"
expect_rc 0 "node a enrols"
NODE_A=$OUT

############ heartbeats on one session ############
heartbeat anonymous - - 1
check "a heartbeat without a node certificate is refused as unauthenticated" contains "$OUT" "error 4: heartbeats are accepted only"
heartbeat first "$WORK/a.pem" "$WORK/a.key" 1 2 3 3 2 4
expect_rc 0 "node a heartbeats"
check "acks in order, replays refused (.replayed = 12) and the session kept" test "$OUT" = "ack 1
ack 2
ack 3
error 12: heartbeat 3 is not after 3
error 12: heartbeat 2 is not after 3
ack 4"
check "the acked heartbeats are stored" test "$(sql "SELECT group_concat(seq) FROM heartbeats WHERE node_id = '$NODE_A'")" = "1,2,3,4"
check "the session ended with its connection" \
    wait_until 5 eval "[[ \"\$(sql \"SELECT count(*) FROM sessions WHERE ended_ms IS NOT NULL AND last_seq = 4\")\" == 1 ]]"

############ a restart: the seq carries on ############
stop_pid "$COORD" 10
check "coordinator stops cleanly (rc $STOP_RC)" test "$STOP_RC" = 0
start_coordinator second
heartbeat after-restart "$WORK/a.pem" "$WORK/a.key" 4 5
check "after a restart a replay is still refused, and the next seq accepted" test "$OUT" = "error 12: heartbeat 4 is not after 4
ack 5"

############ a crash: nothing acknowledged is lost ############
heartbeat before-crash "$WORK/a.pem" "$WORK/a.key" 6 7 8
check "heartbeats 6-8 acked" test "$OUT" = "ack 6
ack 7
ack 8"
stop_pid "$COORD" 5 KILL
start_coordinator third
check "every acknowledged heartbeat survived the crash" \
    test "$(sql "SELECT group_concat(seq) FROM heartbeats WHERE node_id = '$NODE_A'")" = "1,2,3,4,5,6,7,8"
heartbeat after-crash "$WORK/a.pem" "$WORK/a.key" 8 9
check "after the crash the seq carries on" test "$OUT" = "error 12: heartbeat 8 is not after 8
ack 9"
check "no session is left open after the crash and restarts" \
    wait_until 5 eval "[[ \"\$(sql 'SELECT count(*) FROM sessions WHERE ended_ms IS NULL')\" == 0 ]]"
check "one session per connection" test "$(sql 'SELECT count(*) FROM sessions')" = 4
check "verified uptime: one interval for node a on main (heartbeats seconds apart, across restarts)" \
    test "$(sql "SELECT count(*), min(start_ms) < max(end_ms) FROM uptime_intervals WHERE node_id = '$NODE_A' AND stream = 'main'")" = "1|1"

############ streamrctl nodes and status ############
ctl nodes-offline nodes --json
check "streamrctl nodes: node a offline between connections" test "$(python3 -c '
import json, sys; n = json.loads(sys.argv[1])[0]; print(n["node_id"], n["online"], n["viewers"], n["bytes_served"])
' "$OUT")" = "$NODE_A False 0 9000"
HOLD_SECONDS=30 start_bg holding "${NODE_CLIENT[@]}" 127.0.0.1 "$CP" "$PKI/ca.pem" heartbeat "$WORK/a.pem" "$WORK/a.key" 10
HOLDER=$PID
check "a node holding its session heartbeats" wait_until 5 grep -q "ack 10" "$WORK/holding.log"
ctl nodes-online nodes --json
expect_rc 0 "streamrctl nodes"
check "... shows node a online, with viewers and bytes served and its last heartbeat" test "$(python3 -c '
import json, sys; n = json.loads(sys.argv[1])[0]; print(n["online"], n["viewers"], n["bytes_served"], n["last_heartbeat"] is not None)
' "$OUT")" = "True 3 10000 True"
ctl nodes-table nodes
check "streamrctl nodes (table) has the online columns" contains "$OUT" "LAST_HEARTBEAT"
ctl status status
expect_rc 0 "streamrctl status"
check "status: one node online, one session" bash -c '[[ "$1" == *nodes_online*1* && "$1" == *sessions*1* && "$1" == *heartbeats_per_second* && "$1" == *live_streams*0* ]]' _ "$OUT"
stop_pid "$HOLDER" 5
