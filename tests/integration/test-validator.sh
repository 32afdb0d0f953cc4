#!/usr/bin/env bash
# The validator against honest nodes, end to end with the real binaries: the ingest's seals
# reach it on its work socket (checked, kept in validator.db with BLOB digests, duplicates
# idempotent); it asks the coordinator for targets and checks two friends' nodes as viewers do
# — byte ranges, whole chunks, live HTTP-FLV and HLS, straight and through /watch — with every
# check passing and stored at the coordinator (streamrctl checks / node show / leaderboard).
# Then: the validator down (streaming goes on, no check fails, the coverage gap is recorded, no
# flag) and a kill -9 of the validator between probe and answer (the coordinator paused):
# every result it had queued reaches the coordinator after the restart.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/validator-lib.sh"

host_setup
start_coordinator first --set sybil_policy=off
start_ingest first
VARGS=(--set checks_per_node_per_hour=5400 --set "probe_weights=range=40,chunk=20,live_flv=20,hls=20")
start_validator first "${VARGS[@]}"
host_stream
join_node 1
join_node 2
start_node 1
start_node 2
start_publisher
check "both nodes online" wait_until 20 eval 'node_online "${NODE_ID[1]}" && node_online "${NODE_ID[2]}"'

############ seals on the work socket ############
vstatus() { "$BIN/streamrctl" status --socket "$VSOCK" --json 2>/dev/null; }
check "the validator accepts the ingest's seals (checked against the host's signing key)" wait_until 20 eval \
    'json_eval "$(vstatus)" "d[\"items\"][\"seals_accepted\"] >= 3 and d[\"items\"][\"seals_rejected\"] == 0"'
check "... and keeps them in validator.db with 32-byte BLOB digests" bash -c \
    '[[ $(sqlite3 "$1" "SELECT count(*) FROM seals WHERE typeof(sha256) = '"'"'blob'"'"' AND length(sha256) = 32 AND length(chain) = 32") -ge 3 ]]' \
    _ "$WORK/vstate/validator.db"

############ honest nodes pass every kind of check ############
all_kinds_pass() {
    local n kind
    for n in 1 2; do
        for kind in range chunk live_flv hls; do
            at_least "${NODE_ID[$n]}" "c['kind'] == '$kind' and c['passed']" 1 || return 1
        done
        at_least "${NODE_ID[$n]}" "c['via_watch'] and c['passed']" 1 || return 1
    done
}
check "both nodes pass range, chunk, live FLV and HLS checks, some through /watch" wait_until 90 all_kinds_pass
checks_json
check "no check of an honest node failed ($(json_print "$OUT" 'len(d)') checks)" json_eval "$OUT" \
    'len(d) > 0 and all(c["passed"] and c["verdict"] == "passed" and c["reason"] == "ok" for c in d)'
check "checks are typed: a timestamp, integers, booleans, a chain-named chunk" json_eval "$OUT" '(
all(isinstance(c["report_id"], int) and isinstance(c["bytes"], int) and isinstance(c["passed"], bool)
    and c["checked"].endswith("Z") and (c["chunk"] is None or "-" in c["chunk"]) for c in d)
and any(c["chunk"] is None and isinstance(c["ttfb_ms"], int) for c in d if c["kind"] == "live_flv"))'
check "no spot_check_failed in the validator's log" bash -c '! grep -q "event=spot_check_failed" "$1"' _ "$WORK/validator-first.log"
ctl show node show "${NODE_ID[1]}" --json
check "node show: checks passed, none failed, quality 1, no flags" json_eval "$OUT" \
    'd["checks_passed"] > 0 and d["checks_failed"] == 0 and d["quality"] == 1 and d["fraud_flags"] == 0 and d["failure_reasons"] is None'
ctl board leaderboard --json
check "leaderboard: quality and checks columns" json_eval "$OUT" \
    'all(r["quality"] == 1 and r["checks"] > 0 and r["checks_failed"] == 0 and r["flagged"] is False for r in d)'
ctl flags fraud list --json
check "no fraud flags" test "$OUT" = "[]"
check "the coordinator counts the validator as checking" bash -c \
    '"$1" status --socket "$2" --json | python3 -c "import json,sys; assert json.load(sys.stdin)[\"items\"][\"validator\"] == \"checking\""' \
    _ "$BIN/streamrctl" "$SOCK"

############ the validator down: no penalty ############
stop_pid "$VALIDATOR" 10 || fail "validator did not stop on SIGTERM"
check "validator stopped cleanly (rc $STOP_RC)" test "$STOP_RC" = 0
DOWN_MS=$(($(date +%s%N) / 1000000))
run_cmd during timeout 5 curl -sS --max-time 2 -o "$WORK/during.flv" "http://127.0.0.1:${NODE_HTTP[1]}/live/main.flv"
check "with the validator down a viewer still gets the stream from node 1" test "$(stat -c %s "$WORK/during.flv")" -gt 50000
check "the coordinator no longer counts the validator as checking" wait_until 15 bash -c \
    '"$1" status --socket "$2" --json | python3 -c "import json,sys; assert json.load(sys.stdin)[\"items\"][\"validator\"] == \"not connected\""' \
    _ "$BIN/streamrctl" "$SOCK"
sleep 3
UP_MS=$(($(date +%s%N) / 1000000))
start_validator second "${VARGS[@]}"
check "the restarted validator knows the recent seals from validator.db at once" wait_until 5 eval \
    'json_eval "$(vstatus)" "d[\"items\"][\"seals_accepted\"] >= 3"'
check "the ingest's replayed seals are duplicates, stored once" wait_until 10 eval \
    'json_eval "$(vstatus)" "d[\"items\"][\"seals_duplicate\"] >= 1 and d[\"items\"][\"seals_rejected\"] == 0"'
BEFORE=$(count_checks "${NODE_ID[1]}" True)
check "checking again after the restart" wait_until 30 eval '(( $(count_checks "${NODE_ID[1]}" True) > BEFORE + 2 ))'
COVERAGE=$(sqlite3 "$WORK/state/coordinator.db" "SELECT start_ms || ' ' || end_ms FROM validator_coverage ORDER BY start_ms")
check "validator_coverage records the gap: one interval ends before the stop, the next starts after the restart ($COVERAGE)" python3 -c '
import sys
rows = [tuple(map(int, l.split())) for l in sys.argv[1].splitlines()]
down, up = int(sys.argv[2]), int(sys.argv[3])
assert len(rows) >= 2, rows
assert any(e <= down for s, e in rows) and any(s >= up for s, e in rows), rows
assert not any(s < down + 1000 and e > up - 1000 for s, e in rows), "an interval covers the outage"' "$COVERAGE" "$DOWN_MS" "$UP_MS"
check "no check was made while it was down" test "$(sqlite3 "$WORK/state/coordinator.db" \
    "SELECT count(*) FROM checks WHERE checked_ms > $DOWN_MS + 500 AND checked_ms < $UP_MS")" = 0
checks_json
check "no node was penalised for the gap: still no failed check, no flag, quality 1" bash -c '
  python3 -c "import json,sys; d=json.loads(sys.argv[1]); assert all(c[\"passed\"] for c in d), [c for c in d if not c[\"passed\"]]" "$1" &&
  [[ $("$2" fraud list --json --socket "$3") == "[]" ]]' _ "$OUT" "$BIN/streamrctl" "$SOCK"

############ kill -9 between probe and answer: no result lost ############
# The coordinator is paused, so results queue in validator.db unanswered; the validator is
# killed outright; the coordinator resumes; the restarted validator sends them all.
kill -STOP "$COORD"
on_cleanup "kill -CONT $COORD"
pending() { sqlite3 "$WORK/vstate/validator.db" "SELECT count(*) FROM reports" 2>/dev/null || echo 0; }
check "with the coordinator paused, results wait in the validator's queue" wait_until 20 eval '(( $(pending) >= 3 ))'
IDS=$(sqlite3 "$WORK/vstate/validator.db" "SELECT group_concat(report_id) FROM reports")
kill -KILL "$VALIDATOR"
wait "$VALIDATOR" 2>/dev/null || true
kill -CONT "$COORD"
ok "validator killed with results $IDS unanswered"
start_validator third "${VARGS[@]}"
stored() { sqlite3 "$WORK/state/coordinator.db" "SELECT count(*) FROM checks WHERE report_id IN ($IDS)"; }
check "after the restart every queued result is stored at the coordinator, once" wait_until 30 eval \
    '[[ $(stored) == $(tr , "\n" <<<"$IDS" | wc -l) ]]'
check "... and the queue empties" wait_until 20 eval '(( $(pending) == 0 ))'
check "report ids stay unique at the coordinator" test "$(sqlite3 "$WORK/state/coordinator.db" \
    "SELECT count(*) - count(DISTINCT report_id) FROM checks")" = 0

stop_pid "$VALIDATOR" 10 || fail "validator did not stop"
check "validator stops cleanly (rc $STOP_RC)" test "$STOP_RC" = 0
