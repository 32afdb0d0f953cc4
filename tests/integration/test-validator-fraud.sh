#!/usr/bin/env bash
# Fraud, each case a named scenario against real node agents cheating through the test-only
# fault switch (test_fault, honoured only with STREAMR_TEST_FAULTS=1) or a stand-in speaking
# the real protocol, beside an honest node that stays unflagged:
#   fake-uptime   heartbeats, serves nothing: its checks fail (http_404), its score falls, no flag
#   altered       flips a byte in /chunks responses: bytes_differ/digest_differs, flagged at once,
#                 in the journal as STREAMR_EVENT=spot_check_failed with STREAMR_NODE/STREAM/REASON
#   stale         serves old chunks and an old playlist: stale checks, flagged when repeated
#   inflated      claims 25 viewers and 50 MB per heartbeat more: capped and logged, not flagged
#   sybil         a second identity with the honest node's machine id: flagged, the first earns
#   self-dealing  the node's own address watching through /watch: not counted as a viewer sent
#   replay        an old report again: stored once ("duplicate"); an unstored old id: refused
# and `fraud clear` (kept with its note), the refusal of test_fault without the environment.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/validator-lib.sh"

command -v journalctl >/dev/null || fail "journalctl not installed (package systemd)"
T0=$(($(date +%s) - 2))
if ! journal_reachable; then
    [[ -x /lib/systemd/systemd-journald ]] || fail "no working journald and /lib/systemd/systemd-journald is missing"
    mkdir -p /run/systemd/journal
    start_bg journald /lib/systemd/systemd-journald
    check "started a standalone systemd-journald (pid $PID)" wait_until 5 journal_reachable
fi

host_setup
# One earning identity per machine id here (all nodes share 127.0.0.1, so not per address);
# no viewer margin, so one viewer not sent by /watch shows.
start_coordinator first --set sybil_policy=machine --set claims_viewer_margin=0 --set claims_viewer_margin_share=0
start_ingest first
host_stream
for n in 1 2 3 4 5 6; do printf 'machine-%s\n' "$n" >"$WORK/machine-id-$n"; done
printf 'machine-1\n' >"$WORK/machine-id-6"  # node 6 is a second identity of node 1's machine
for n in 1 2 3 4 5 6; do join_node "$n"; done
HONEST=${NODE_ID[1]} ALTERED=${NODE_ID[2]} STALE=${NODE_ID[3]} FAKE=${NODE_ID[4]} INFLATED=${NODE_ID[5]} SYBIL=${NODE_ID[6]}

run_cmd refused env -u STREAMR_TEST_FAULTS timeout 10 "$BIN/streamr-node" --set "state_directory=$WORK/node2" \
    --set "control_socket=$WORK/node2/refused.sock" --set listen_http=127.0.0.1:0 --set listen_rtmp=127.0.0.1:0 --set test_fault=altered
check "test_fault without STREAMR_TEST_FAULTS=1: the node refuses to start, saying why" bash -c \
    '[[ $1 != 0 && $2 == *"STREAMR_TEST_FAULTS=1"* ]]' _ "$RC" "$ERR$OUT"

start_node 1 --set "machine_id_file=$WORK/machine-id-1"
NODE_ENV=(STREAMR_TEST_FAULTS=1)
start_node 2 --set "machine_id_file=$WORK/machine-id-2" --set test_fault=altered
start_node 3 --set "machine_id_file=$WORK/machine-id-3" --set test_fault=stale
start_node 4 --set "machine_id_file=$WORK/machine-id-4" --set test_fault=fake-uptime
start_node 5 --set "machine_id_file=$WORK/machine-id-5" --set test_fault=inflated
NODE_ENV=()
start_node 6 --set "machine_id_file=$WORK/machine-id-6"
check "the cheating nodes say so in their logs" wait_until 10 eval 'grep -q "event=test_fault_active" "$WORK/node2.log"'
start_publisher
check "all six nodes online" wait_until 30 eval 'for n in 1 2 3 4 5 6; do node_online "${NODE_ID[$n]}" || exit 1; done'
# The validator logs to the journal (SYSLOG_IDENTIFIER streamr-validator).
start_bg validator env -u STREAMR_LOG "$BIN/streamr-validator" --set "pki_directory=$PKI" --set "state_directory=$WORK/vstate" \
    --set "work_socket=$VSOCK" --set "coordinator_socket=$SOCK" --set "coordinator_http=127.0.0.1:$CH" \
    --set "ingest_origin=127.0.0.1:$HP" --set checks_per_node_per_hour=5400 --set targets_interval=1s \
    --set "probe_weights=range=40,chunk=10,live_flv=25,hls=25"
VALIDATOR=$PID
check "validator listening" wait_until 10 unix_listening "$VSOCK"

flag_of() {  # flag_of NODE REASON: a fraud flag with this reason is open for NODE
    "$BIN/streamrctl" fraud list --json --socket "$SOCK" 2>/dev/null |
        python3 -c 'import json, sys; sys.exit(0 if any(f["node_id"] == sys.argv[1] and f["reason"] == sys.argv[2] for f in json.load(sys.stdin)) else 1)' "$1" "$2"
}

############ altered ############
check "altered: a check finds bytes that are not the ingest's" wait_until 60 at_least "$ALTERED" \
    "c['verdict'] == 'altered' and c['reason'] in ('bytes_differ', 'digest_differs')" 1
check "altered: flagged at once" wait_until 10 flag_of "$ALTERED" altered
ctl flags fraud list --json
check "altered: the flag's evidence names the check (kind, chunk, reason)" json_eval "$OUT" \
    'any(f["node_id"] == "'"$ALTERED"'" and f["reason"] == "altered" and "report" in f["evidence"] and "_differ" in f["evidence"] for f in d)'
ctl show-altered node show "$ALTERED" --json
check "altered: node show lists the failures with reasons, quality 0 (held after altered bytes)" json_eval "$OUT" \
    'd["checks_failed"] >= 1 and ("bytes_differ" in d["failure_reasons"] or "digest_differs" in d["failure_reasons"]) and d["quality"] == 0 and d["flag_reasons"] == "altered"'
journal_failed() {
    journalctl --sync >/dev/null 2>&1 || true
    journalctl -o json --no-pager --since "@$T0" -t streamr-validator STREAMR_EVENT=spot_check_failed "STREAMR_NODE=$ALTERED" 2>/dev/null |
        python3 -c '
import json, sys
for line in sys.stdin:
    e = json.loads(line)
    if e.get("STREAMR_STREAM") == "main" and e.get("STREAMR_REASON") in ("bytes_differ", "digest_differs") and e.get("STREAMR_VERDICT") == "altered":
        sys.exit(0)
sys.exit(1)'
}
check "altered: journalctl -t streamr-validator STREAMR_EVENT=spot_check_failed STREAMR_NODE=... shows it (STREAMR_STREAM, STREAMR_REASON)" \
    wait_until 10 journal_failed
watch_never_altered() {
    local i url
    for i in $(seq 20); do
        url=$(curl -s -o /dev/null -w "%{redirect_url}" "http://127.0.0.1:$CH/watch/main")
        [[ $url == *":${NODE_HTTP[2]}/"* ]] && return 1
    done
    return 0
}
check "altered: /watch sends it no viewers (its quality is 0)" watch_never_altered

############ fake uptime ############
check "fake-uptime: its checks fail (nothing is served)" wait_until 30 at_least "$FAKE" "c['verdict'] == 'failed' and c['reason'] == 'http_404'" 3
check "fake-uptime: none of its checks passed" test "$(count_checks "$FAKE" "c['passed']")" = 0
ctl show-fake node show "$FAKE" --json
check "fake-uptime: online by heartbeats, but its quality falls (uptime is not verified)" json_eval "$OUT" \
    'd["online"] and d["checks_passed"] == 0 and d["quality"] < 0.5 and d["fraud_flags"] == 0'

############ stale ############
check "stale: live checks find old data (behind the live edge)" wait_until 90 at_least "$STALE" "c['verdict'] == 'stale'" 3
# The rule is 3 stale checks and at least 20% of its live checks (live FLV and HLS): the
# flag can come some checks after the third stale one, so time enough for those.
check "stale: flagged once repeated" wait_until 60 flag_of "$STALE" stale
check "stale: its range and chunk checks still pass (the bytes are genuine)" at_least "$STALE" "c['kind'] in ('range', 'chunk') and c['passed']" 1

############ sybil ############
check "sybil: the second identity on node 1's machine is flagged" wait_until 10 flag_of "$SYBIL" sybil
ctl flags2 fraud list --json
check "sybil: the evidence names the identity that earns (the first enrolled)" json_eval "$OUT" \
    'any(f["node_id"] == "'"$SYBIL"'" and "'"$HONEST"'" in f["evidence"] for f in d)'

############ inflated claims ############
capped() {  # capped NODE KIND: a claim_capped event for NODE of KIND in the coordinator's log
    grep "event=claim_capped" "$WORK/coordinator-first.log" | grep "node=$1" | grep -q "reason=$2"
}
check "inflated: its viewer claim is capped and logged (claim_capped inflated_viewers)" wait_until 20 capped "$INFLATED" inflated_viewers
check "inflated: its byte claim is capped and logged (claim_capped inflated_bytes)" wait_until 60 capped "$INFLATED" inflated_bytes
# Claims are judged per accounting period (the stream's: 1 h). When the hour turns during the
# test, the new period's caps come again (viewers within a tick, bytes after the 30 s claims
# lag), so these wait for them rather than read once.
inflated_shown() {
    ctl show-inflated node show "$INFLATED" --json
    json_eval "$OUT" 'd["period_bytes_counted"] < d["period_bytes_claimed"] and d["period_viewers_counted"] < d["period_viewers_claimed"] and d["fraud_flags"] == 0'
}
check "inflated: node show counts less than it claims, and it is not flagged" wait_until 45 inflated_shown
caps_recorded() {  # one period holds both caps, each counting less than claimed
    test "$(sqlite3 "$WORK/state/coordinator.db" "SELECT count(*) FROM (SELECT period_start_ms FROM claim_adjustments
        WHERE node_id = '$INFLATED' AND kind IN ('inflated_bytes', 'inflated_viewers') AND counted < claimed
        GROUP BY period_start_ms HAVING count(DISTINCT kind) = 2)")" -ge 1
}
check "inflated: the caps are recorded for the period" wait_until 45 caps_recorded

############ the honest node ############
checks_json --node "$HONEST"
check "honest: node 1's checks pass (never altered or stale; failures, if any, only for time)" honest_checks "$OUT"
check "honest: never flagged (nor is it the sybil: it enrolled first)" bash -c '! "$1" fraud list --json --socket "$2" | grep -q "\"node_id\":\"$3\""' \
    _ "$BIN/streamrctl" "$SOCK" "$HONEST"
ctl board leaderboard --json
check "leaderboard: the flagged nodes are marked, the honest one is not" json_eval "$OUT" '(
{r["node_id"]: r["flagged"] for r in d}["'"$HONEST"'"] is False and {r["node_id"]: r["flagged"] for r in d}["'"$ALTERED"'"] is True
and {r["node_id"]: r["quality"] for r in d}["'"$ALTERED"'"] == 0)'

############ replay ############
ctl one checks --node "$HONEST" --limit 1 --json
OLD=$(json_print "$OUT" 'd[0]["report_id"]')
BEFORE=$(sqlite3 "$WORK/state/coordinator.db" "SELECT count(*) FROM checks")
REPORT=(python3 "$IT_DIR/report-client.py" "$SOCK")
run_cmd replay-same "${REPORT[@]}" "node_id=$HONEST" stream=main "report_id=$OLD" kind=range passed=true verdict=passed reason=ok
check "replay: the same report id again is answered as a duplicate" bash -c '[[ $1 == 0 && $2 == *duplicate* ]]' _ "$RC" "$OUT"
run_cmd replay-forged "${REPORT[@]}" "node_id=$FAKE" stream=main "report_id=$((OLD - 1))" kind=chunk passed=true verdict=passed reason=ok
check "replay: an old id not stored is refused as a replay (ERROR_REPLAYED)" bash -c '[[ $1 == 1 && $2 == "error 12:"* ]]' _ "$RC" "$OUT"
run_cmd bad-verdict "${REPORT[@]}" "node_id=$FAKE" stream=main "report_id=$((OLD * 2))" kind=chunk passed=true verdict=altered reason=ok
check "a report whose passed contradicts its verdict is refused" bash -c '[[ $1 == 1 && $2 == "error 8:"* ]]' _ "$RC" "$OUT"
check "replay: nothing was stored by them (the validator's own reports may arrive meanwhile)" bash -c \
    '[[ $(sqlite3 "$1" "SELECT count(*) FROM checks WHERE report_id IN ($2, $3)") == 1 ]]' _ "$WORK/state/coordinator.db" "$OLD" "$((OLD - 1))"
ok "(checks before: $BEFORE)"

############ self-dealing ############
# Only node 1 takes viewers now (the others paused), the validator is stopped (its probes are
# players too); a viewer from the nodes' own address and one from elsewhere come through /watch.
stop_pid "$VALIDATOR" 10 || fail "validator did not stop"
for n in 2 3 4 5 6; do run_cmd "pause$n" "$BIN/streamrctl" pause --socket "$WORK/node$n/control.sock"; done
only_node1() { [[ $(curl -s -o /dev/null -w "%{redirect_url}" "http://127.0.0.1:$CH/watch/main") == *":${NODE_HTTP[1]}/"* ]]; }
check "self-dealing: /watch now routes only to node 1" wait_until 15 only_node1
sleep 2
start_bg self-viewer timeout 12 curl -sS -L --interface 127.0.0.1 -o /dev/null "http://127.0.0.1:$CH/watch/main"
start_bg other-viewer timeout 12 curl -sS -L --interface 127.0.0.9 -o /dev/null "http://127.0.0.1:$CH/watch/main"
check "self-dealing: the viewing from its own address is recorded as such (claim_capped self_viewing)" wait_until 20 capped "$HONEST" self_viewing
counted_one() {
    "$BIN/streamrctl" node show "$HONEST" --json --socket "$SOCK" |
        python3 -c 'import json, sys; d = json.load(sys.stdin); sys.exit(0 if d["period_viewers_claimed"] >= 2 and d["period_viewers_sent"] == 1 and d["period_viewers_counted"] == 1 else 1)'
}
check "self-dealing: of its two viewers, only the one from elsewhere is counted" wait_until 20 counted_one

############ fraud clear ############
ALTERED_FLAG=$("$BIN/streamrctl" fraud list --json --socket "$SOCK" |
    python3 -c 'import json, sys; print(next(f["id"] for f in json.load(sys.stdin) if f["node_id"] == sys.argv[1] and f["reason"] == "altered"))' "$ALTERED")
ctl clear fraud clear "$ALTERED_FLAG" --note "test: judged by hand" --json
check "fraud clear: the flag is cleared with its note" json_eval "$OUT" '"cleared" in d["message"] and d["note"] == "test: judged by hand" and d["cleared"] is not None'
ctl clear-again fraud clear "$ALTERED_FLAG" --note again
check "fraud clear: a cleared flag cannot be cleared again (exit 1)" bash -c '[[ $1 == 1 && $2 == *"already cleared"* ]]' _ "$RC" "$ERR"
ctl all fraud list --all --json
check "fraud list --all keeps it, with when and why" json_eval "$OUT" \
    'any(f["id"] == '"$ALTERED_FLAG"' and f["note"] == "test: judged by hand" and f["cleared"] for f in d)'
ctl open fraud list --json
check "fraud list no longer shows it" json_eval "$OUT" 'all(f["id"] != '"$ALTERED_FLAG"' for f in d)'
