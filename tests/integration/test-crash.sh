#!/usr/bin/env bash
# kill -9, over and over, under load: a live stream (ffmpeg publishing) with viewers, 50 nodes
# heartbeating, payouts being made and periods closing. CRASH_ROUNDS (default 20) rounds each:
# - the coordinator: after every crash nothing it acknowledged is lost (every acked heartbeat
#   is in its database), `PRAGMA integrity_check` is ok, `ledger verify` passes, no closed
#   period changed, no payout was made twice, and the stream is live again;
# - the ingest: the coordinator shows the stream offline within 2 heartbeat intervals, and the
#   stream is live again once the publisher comes back;
# - a node agent: its node.db passes integrity_check and it is online again, its heartbeats
#   never refused as replays.
# timeout: 1200
set -euo pipefail
source "$(dirname "$0")/lib.sh"

command -v ffmpeg >/dev/null && command -v sqlite3 >/dev/null || fail "ffmpeg/sqlite3 not installed (make deps)"
ROUNDS=${CRASH_ROUNDS:-20}
NODES=${CRASH_NODES:-50}
NODE_CLIENT=(python3 "$IT_DIR/node-client.py")
PKI="$WORK/pki"
init_pki "$PKI"
pick_port CP; pick_port RP; pick_port HP; pick_port SP; pick_port N1H; pick_port N1R
SOCK="$WORK/run/control.sock"
DB="$WORK/state/coordinator.db"
start_coordinator() {
    start_bg "coordinator-$1" env STREAMR_LOG=stderr "$BIN/streamr-coordinator" --set listen_http=127.0.0.1:0 --set "pki_directory=$PKI" \
        --set "state_directory=$WORK/state" --set "listen_rpc=127.0.0.1:$CP" --set "control_socket=$SOCK" --set public_host=127.0.0.1 \
        --set "public_subscribe_port=$SP" --set heartbeat_interval=2 --set earnings_hold=0s --set period_close_delay=1s
    COORD=$PID
    wait_until 30 unix_listening "$SOCK" || fail "coordinator ($1) did not start"
}
start_ingest() {
    start_bg "ingest-$1" env STREAMR_LOG=stderr "$BIN/streamr-ingest" --set "pki_directory=$PKI" --set "state_directory=$WORK/state" \
        --set "listen_rtmp=127.0.0.1:$RP" --set "listen_http=127.0.0.1:$HP" --set "listen_subscribe=127.0.0.1:$SP" \
        --set "coordinator_socket=$SOCK" --set "validator_socket=$WORK/run/no-validator.sock" --set publish_grace=2s
    INGEST=$PID
    wait_until 10 tcp_listening "$RP" || fail "ingest ($1) did not start"
}
start_node() {
    start_bg "node-$1" env STREAMR_LOG=stderr "$BIN/streamr-node" --set "state_directory=$WORK/node1" \
        --set "control_socket=$WORK/node1/control.sock" --set "listen_http=127.0.0.1:$N1H" --set "listen_rtmp=127.0.0.1:$N1R"
    NODE=$PID
}
state_of() { "$BIN/streamrctl" stream show main --json --socket "$SOCK" 2>/dev/null | python3 -c 'import json, sys; print(json.load(sys.stdin)["state"])'; }
node_online() { "$BIN/streamrctl" node show "$NODE_ID" --json --socket "$SOCK" 2>/dev/null | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["online"] else 1)'; }
integrity_ok() { [[ "$(sqlite3 "$1" 'PRAGMA integrity_check')" == ok ]]; }

start_coordinator 0
start_ingest 0
"$BIN/streamrctl" stream create main --pool 100.00 --per 5s --json --socket "$SOCK" >"$WORK/stream.json"
KEY=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["key"])' "$WORK/stream.json")
LINE=$("$BIN/streamrctl" invite create main --uses $((NODES + 1)) --socket "$SOCK" 2>/dev/null)
TOKEN=$(sed -E 's/.*token=([^&]*)&.*/\1/' <<<"$LINE")

# 50 stand-in nodes, each heartbeating every second in a loop that reconnects, logging every
# seq acknowledged.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/n.key" 2>/dev/null
for i in $(seq "$NODES"); do
    openssl req -new -key "$WORK/n.key" -subj "/CN=n$i" -outform DER -out "$WORK/n$i.csr"
    cp "$WORK/n.key" "$WORK/n$i.key"
    "${NODE_CLIENT[@]}" 127.0.0.1 "$CP" "$PKI/ca.pem" enroll "$TOKEN" "$WORK/n$i.csr" "Stand-in $i" "venmo:@stand-in-$i" main "$WORK/n$i.pem" \
        >"$WORK/n$i.id" || fail "stand-in $i could not enrol"
    start_bg "beat$i" bash -c 'while :; do ACK_LOG="$1.acks" HEARTBEAT_EVERY=1 HOLD_SECONDS=3600 "${@:2}" >/dev/null 2>&1; sleep 0.3; done' \
        _ "$WORK/n$i" "${NODE_CLIENT[@]}" 127.0.0.1 "$CP" "$PKI/ca.pem" heartbeat "$WORK/n$i.pem" "$WORK/n$i.key" 1
done
ok "$NODES stand-in nodes enrolled and heartbeating"
# One real node agent, relaying to a viewer.
run_cmd join "$BIN/streamr-node" join "$LINE" --name "Real node" --payout venmo:@real-node --state-directory "$WORK/node1"
expect_rc 0 "a real node agent joins"
NODE_ID=$(grep -E '^node_id' "$WORK/node1/identity.conf" | cut -d' ' -f3)
start_node 0
ffmpeg -hide_banner -loglevel error -nostdin -y -f lavfi -i testsrc2=size=640x360:rate=30 -f lavfi -i sine=frequency=440:sample_rate=48000 \
    -t 600 -c:v libx264 -preset ultrafast -b:v 1M -g 30 -pix_fmt yuv420p -c:a aac -b:a 64k -f flv "$WORK/source.flv" 2>/dev/null &
FFMAKE=$!
wait_until 10 eval '[[ $(stat -c %s "$WORK/source.flv" 2>/dev/null || echo 0) -gt 2000000 ]]' || true
publish() { start_bg "publisher-$1" ffmpeg -hide_banner -loglevel error -nostdin -re -stream_loop -1 -i "$WORK/source.flv" -c copy -f flv "rtmp://127.0.0.1:$RP/live/$KEY"; PUBLISHER=$PID; }
publish 0
check "the stream is live with a publisher" wait_until 15 eval '[[ "$(state_of)" == live ]]'
start_bg viewer bash -c 'while :; do curl -s --max-time 30 -o /dev/null "http://127.0.0.1:$1/live/main.flv"; sleep 0.5; done' _ "$N1H"
check "the real node is online" wait_until 20 node_online

# After a crash, in one process: integrity_check, every acked heartbeat kept, no closed period
# changed (what was closed before is still there, identical), no payout made twice.
after_crash() {
    python3 - "$DB" "$WORK" "$NODES" <<'PY'
import sqlite3, sys
db_path, work, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
db = sqlite3.connect(db_path)
problems = []
if db.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
    problems.append("integrity_check is not ok")
# Every acked heartbeat is a stored row (one per heartbeat), and the replay floor (the last
# seq its sessions recorded, or what pruning left in nodes.last_seq) is not below any of them.
for i in range(1, n + 1):
    node = open(f"{work}/n{i}.id").read().strip()
    try: acked = [int(l) for l in open(f"{work}/n{i}.acks") if l.strip()]
    except FileNotFoundError: continue
    stored = {r[0] for r in db.execute("SELECT seq FROM heartbeats WHERE node_id = ?", (node,))}
    lost = [s for s in acked if s not in stored]
    if lost: problems.append(f"{node}: {len(lost)} acknowledged heartbeat(s) lost")
    floor = db.execute("""SELECT max(n.last_seq, coalesce((SELECT max(s.last_seq) FROM sessions s WHERE s.node_id = n.node_id), 0))
                          FROM nodes n WHERE n.node_id = ?""", (node,)).fetchone()[0]
    if acked and floor < max(acked): problems.append(f"{node}: replay floor {floor} is below acked seq {max(acked)}")
now = set(f"{r}" for r in db.execute("SELECT stream, start_ms, end_ms, pool_minor, unspent_minor FROM period_closes"))
now |= set(f"{r}" for r in db.execute("SELECT stream, start_ms, node_id, amount_minor, quality_ppm FROM period_results"))
try: before = set(open(f"{work}/closed.txt").read().splitlines())
except FileNotFoundError: before = set()
changed = before - now
if changed: problems.append(f"closed periods changed: {sorted(changed)[:3]}")
open(f"{work}/closed.txt", "w").write("\n".join(sorted(now)))
for (b,) in db.execute("SELECT DISTINCT batch FROM payout_rows"):
    k = db.execute("SELECT count(*) FROM ledger_entries WHERE id = ?", ("payout:" + b,)).fetchone()[0]
    if k != 1: problems.append(f"batch {b} has {k} ledger entries")
earned = dict(db.execute("SELECT substr(account, 6, 17), sum(amount) FROM ledger_lines WHERE account LIKE 'node:%:held' AND amount > 0 GROUP BY 1"))
for node, amount in db.execute("SELECT node_id, sum(amount_minor) FROM payout_rows GROUP BY node_id"):
    if amount > earned.get(node, 0): problems.append(f"{node} paid {amount}, earned {earned.get(node, 0)}")
print("; ".join(problems))
PY
}

############ the coordinator, killed at random points ############
for round in $(seq "$ROUNDS"); do
    echo "$(date +%T) coordinator round $round"
    start_bg "payouts-$round" bash -c 'while :; do "$1" payout create --socket "$2" >/dev/null 2>&1; sleep 0.2; done' _ "$BIN/streamrctl" "$SOCK"
    PAYOUTS=$PID
    sleep "$(python3 -c 'import random; print(round(random.uniform(0.5, 3.0), 2))')"
    kill -KILL "$COORD"; wait "$COORD" 2>/dev/null || true
    kill "$PAYOUTS" 2>/dev/null; wait "$PAYOUTS" 2>/dev/null || true
    PROBLEMS=$(after_crash)
    [[ -z "$PROBLEMS" ]] || fail "round $round, after kill -9 of the coordinator: $PROBLEMS"
    start_coordinator "$round"
    run_cmd "verify-$round" "$BIN/streamrctl" ledger verify --socket "$SOCK"
    [[ $RC == 0 ]] || fail "round $round: ledger verify after the restart: $ERR"
done
ok "coordinator: $ROUNDS kill -9 rounds: integrity_check ok, ledger verify ok, every acked heartbeat kept, no closed period changed, no payout twice"
check "... closed periods were made during it" test "$(sqlite3 "$DB" 'SELECT count(*) FROM period_closes')" -gt 3
check "... and payouts" test "$(sqlite3 "$DB" 'SELECT count(DISTINCT batch) FROM payout_rows')" -gt 0
check "the stream is live again after the coordinator's last restart (the ingest re-synced)" wait_until 10 eval '[[ "$(state_of)" == live ]]'
check "the real node is online again" wait_until 20 node_online

############ the ingest ############
for round in $(seq "$ROUNDS"); do
    kill -KILL "$INGEST"; wait "$INGEST" 2>/dev/null || true
    T0=$SECONDS
    wait_until 4 eval '[[ "$(state_of)" == offline ]]' || fail "round $round: the stream was still $(state_of) 4 s (2 heartbeat intervals) after the ingest died"
    wait "$PUBLISHER" 2>/dev/null || true
    start_ingest "$round"
    publish "$round"
    wait_until 15 eval '[[ "$(state_of)" == live ]]' || fail "round $round: the stream did not come back live"
done
ok "ingest: $ROUNDS kill -9 rounds: offline within 2 heartbeat intervals (4 s) each time, live again on republish"

############ a node agent ############
for round in $(seq "$ROUNDS"); do
    kill -KILL "$NODE"; wait "$NODE" 2>/dev/null || true
    integrity_ok "$WORK/node1/node.db" || fail "round $round: node.db integrity_check not ok after kill -9"
    start_node "$round"
    wait_until 20 node_online || fail "round $round: the node did not come back online"
done
check "node: $ROUNDS kill -9 rounds, never a heartbeat refused as a replay" bash -c '! grep -h "REPLAYED\|is not after" "$1"/node-*.log' _ "$WORK"
check "the coordinator never logged an error of its own" bash -c '! grep -h "^error\|critical" "$1"/coordinator-*.log' _ "$WORK"
kill "$FFMAKE" 2>/dev/null || true
