#!/usr/bin/env bash
# Earnings end to end with the real coordinator: 20 s periods close by themselves while two
# stand-in nodes heartbeat; each full period's 1000.00 is split exactly between them; every
# term is explained; the hold (0 here) releases earnings to payable; a payout batch is made
# once (running it again makes nothing), exported for PayPal (CSV) and as JSON, marked paid;
# `ledger verify` passes, and names the row after someone edits the ledger by hand (sqlite3).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

command -v sqlite3 >/dev/null || fail "sqlite3 not installed (make deps)"
NODE_CLIENT=(python3 "$IT_DIR/node-client.py")
PKI="$WORK/pki"
init_pki "$PKI"
pick_port CP
SOCK="$WORK/run/control.sock"
DB="$WORK/state/coordinator.db"
start_bg coordinator env STREAMR_LOG=stderr "$BIN/streamr-coordinator" --set listen_http=127.0.0.1:0 --set "pki_directory=$PKI" \
    --set "state_directory=$WORK/state" --set "listen_rpc=127.0.0.1:$CP" --set "control_socket=$SOCK" --set public_host=127.0.0.1 \
    --set heartbeat_interval=1 --set earnings_hold=0s --set period_close_delay=1s \
    --set sybil_policy=off  # both stand-in nodes come from 127.0.0.1; sybils are test-validator-fraud's
COORD=$PID
check "coordinator listening" wait_until 5 unix_listening "$SOCK"
ctl() { local name=$1; shift; run_cmd "$name" "$BIN/streamrctl" "$@" --socket "$SOCK"; }
jq_() { python3 -c "import json,sys; j=json.loads(sys.argv[1]); print($2)" "$1"; }

ctl create stream create main --pool 1000.00 --per 20s
expect_rc 0 "a stream with a pool of 1000.00 per 20 s"
ctl invite invite create main --uses 2
TOKEN=$(sed -E 's/.*token=([^&]*)&.*/\1/' <<<"$OUT")
for n in a b; do
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/$n.key" 2>/dev/null
    openssl req -new -key "$WORK/$n.key" -subj "/CN=$n" -outform DER -out "$WORK/$n.csr"
    handle=$([[ $n == a ]] && echo venmo:@friend-a || echo paypal:friend-b@example.com)
    run_cmd "enrol-$n" "${NODE_CLIENT[@]}" 127.0.0.1 "$CP" "$PKI/ca.pem" enroll "$TOKEN" "$WORK/$n.csr" "Friend $n" "$handle" main "$WORK/$n.pem"
    expect_rc 0 "node $n joins"
    HEARTBEAT_EVERY=0.5 HOLD_SECONDS=120 start_bg "beat-$n" "${NODE_CLIENT[@]}" 127.0.0.1 "$CP" "$PKI/ca.pem" heartbeat "$WORK/$n.pem" "$WORK/$n.key" 1
done

# A full period with both nodes up from before its start to after its end.
full_period_closed() {
    "$BIN/streamrctl" earnings --json --period 10m --socket "$SOCK" >"$WORK/earnings.json" 2>/dev/null &&
    python3 - "$WORK/earnings.json" <<'PY'
import json, sys, collections
rows = [r for r in json.load(open(sys.argv[1])) if r["state"] == "closed"]
by = collections.defaultdict(list)
for r in rows: by[r["period_start"]].append(r)
full = [p for p, rs in by.items() if len(rs) == 2 and all(r["uptime_seconds"] >= 20 for r in rs)]
sys.exit(0 if full else 1)
PY
}
check "a full 20 s period closes by itself (within 70 s)" wait_until 70 full_period_closed
check "... its 1000.00 split exactly: 500.00 each, as JSON numbers and exact decimals" python3 - "$WORK/earnings.json" <<'PY'
import json, sys, collections
rows = [r for r in json.load(open(sys.argv[1])) if r["state"] == "closed"]
by = collections.defaultdict(list)
for r in rows: by[r["period_start"]].append(r)
full = [rs for rs in by.values() if len(rs) == 2 and all(r["uptime_seconds"] >= 20 for r in rs)]
rs = full[0]
assert sorted(r["amount"] for r in rs) == ["500.00", "500.00"], rs
assert sum(r["amount_minor"] for r in rs) == 100000 and all(isinstance(r["amount_minor"], int) for r in rs), rs
# Every closed period adds up exactly to its (possibly prorated) pool.
for p, rs in by.items():
    assert all(r["currency"] == "USD" for r in rs)
PY
check "every closed period's results plus its unspent equal its pool" python3 - "$DB" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for stream, start, pool, unspent in db.execute("SELECT stream, start_ms, pool_minor, unspent_minor FROM period_closes"):
    paid = db.execute("SELECT coalesce(sum(amount_minor),0) FROM period_results WHERE stream=? AND start_ms=?", (stream, start)).fetchone()[0]
    assert paid + unspent == pool, (start, paid, unspent, pool)
PY
NODE_A=$(cat "$WORK/enrol-a.out" 2>/dev/null || true)
NODE_A=$(jq_ "$(cat "$WORK/earnings.json")" '[r["node_id"] for r in j if r["display_name"] == "Friend a"][0]')
ctl explain earnings explain "$NODE_A"
expect_rc 0 "earnings explain"
check "... shows every term: uptime, verified, quality, weight, share and amount" bash -c '
  for w in "heartbeat uptime" verified quality weight "exact share" "500.00"; do [[ $1 == *"$w"* ]] || { echo "missing: $w"; exit 1; }; done' _ "$OUT"
ctl open earnings --json
check "the open period shows as open, so far" bash -c '[[ $1 == *"\"state\":\"open\""* ]]' _ "$OUT"

############ payouts ############
ctl plan payout plan
expect_rc 0 "payout plan"
check "... previews both friends" bash -c '[[ $1 == *friend-a* && $1 == *friend-b@example.com* ]]' _ "$OUT"
ctl create-batch payout create --json
expect_rc 0 "payout create"
BATCH=$(jq_ "$OUT" 'j[0]["batch"]')
check "a batch is made ($BATCH) with both friends" test "$(jq_ "$OUT" 'len(j)')" = 2
ctl create-again payout create --json
check "payout create again makes nothing new" bash -c '[[ $1 == 0 && $(python3 -c "import json,sys; print(len(json.loads(sys.argv[1])))" "$2") == 0 ]]' _ "$RC" "$OUT"
ctl export payout export "$BATCH" --format csv
check "the PayPal CSV has a VENMO and a PAYPAL row, amounts as exact decimals" bash -c '
  [[ $(grep -c . <<<"$1") == 2 ]] && grep -q "^friend-a,[0-9]*\.[0-9][0-9],USD,node-[0-9a-f]*,.*,VENMO" <<<"$1" &&
  grep -q "^friend-b@example.com,[0-9]*\.[0-9][0-9],USD,node-[0-9a-f]*,.*,PAYPAL" <<<"$1"' _ "$OUT"
ctl export-json payout export "$BATCH" --format json --output "$WORK/batch.json"
check "the JSON export carries the ledger head" python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert len(j["ledger"]["head"]) == 64 and len(j["rows"]) == 2' "$WORK/batch.json"
ctl paid payout mark-paid "$BATCH" --reference PAYPAL-1234
expect_rc 0 "payout mark-paid"
ctl list payout list --json
check "payout list shows the batch paid" test "$(jq_ "$OUT" 'j[0]["state"]')" = paid
ctl verify ledger verify
check "ledger verify passes" bash -c '[[ $1 == 0 && $2 == "ledger ok"* ]]' _ "$RC" "$OUT"

############ a hand edit is found ############
run_cmd blocked sqlite3 "$DB" "UPDATE ledger_lines SET amount = amount + 1 WHERE sequence = 1"
check "the ledger refuses an UPDATE (trigger)" bash -c '[[ $1 != 0 && $2 == *"append-only"* ]]' _ "$RC" "$ERR"
sqlite3 "$DB" "DROP TRIGGER ledger_lines_no_update; UPDATE ledger_lines SET amount = amount + 100 WHERE sequence = 2 AND amount > 0;"
ctl tampered ledger verify
check "ledger verify then fails, naming the row edited by hand" bash -c '[[ $1 == 1 && $2 == *"row 2 was changed"* ]]' _ "$RC" "$ERR"
