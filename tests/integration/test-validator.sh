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
join_node 3
start_node 1
start_node 2
# Node 3 tells viewers to come to a name, not the address its session comes from: /watch
# redirects there, which a probe does not follow (a routing probe, no one's fault).
pick_port N3H
NODE_HTTP[3]=$N3H
start_node 3 --set "public_url=http://localhost:$N3H"
start_publisher
check "three nodes online" wait_until 20 eval 'node_online "${NODE_ID[1]}" && node_online "${NODE_ID[2]}" && node_online "${NODE_ID[3]}"'

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
check "honest nodes: none of $(json_print "$OUT" 'len(d)') checks altered, stale or failed but for time; $(json_print "$OUT" 'sum(c["passed"] for c in d)') passed" \
    honest_checks "$OUT"
check "checks are typed: a timestamp, integers, booleans, a chain-named chunk" json_eval "$OUT" '(
all(isinstance(c["report_id"], int) and isinstance(c["bytes"], int) and isinstance(c["passed"], bool)
    and c["checked"].endswith("Z") and (c["chunk"] is None or "-" in c["chunk"]) for c in d)
and any(c["chunk"] is None and isinstance(c["ttfb_ms"], int) for c in d if c["kind"] == "live_flv"))'
check "no altered or stale verdict in the validator's log" bash -c '! grep "event=spot_check_failed" "$1" | grep -qE "verdict=(altered|stale)"' \
    _ "$WORK/validator-first.log"
ctl show node show "${NODE_ID[1]}" --json
check "node show: checks passed (failures, if any, with their reasons), a high quality, no flags" json_eval "$OUT" \
    'd["checks_passed"] > 0 and d["quality"] >= 0.8 and d["fraud_flags"] == 0 and (d["checks_failed"] == 0) == (d["failure_reasons"] is None)'
ctl board leaderboard --json
check "leaderboard: quality and checks columns" json_eval "$OUT" \
    'all(r["quality"] >= 0.8 and r["checks"] > 0 and r["checks"] >= 10 * r["checks_failed"] and r["flagged"] is False for r in d)'
ctl flags fraud list --json
check "no fraud flags" test "$OUT" = "[]"
check "node 3 (viewer URL elsewhere) is checked at its session address and passes" at_least "${NODE_ID[3]}" "c['passed']" 3
check "... but never through /watch: the redirect to another address is not followed" test "$(count_checks "${NODE_ID[3]}" "c['via_watch']")" = 0
check "... those are routing probes, logged, not checks" bash -c \
    'grep "event=watch_probe_routed" "$1" | grep -q "node=$2" && (( $("$3" status --socket "$4" --json | python3 -c "import json,sys; print(json.load(sys.stdin)[\"items\"][\"routing_probes\"])") > 0 ))' \
    _ "$WORK/validator-first.log" "${NODE_ID[3]}" "$BIN/streamrctl" "$VSOCK"
METRICS=$(curl -s "http://127.0.0.1:$CH/metrics")
check "/metrics: checks stored, pinned probe redirects counted apart from viewers sent" python3 -c '
import re, sys
m = dict(re.findall(r"^(streamr_[a-z_]+(?:\{[^}]*\})?) (\S+)$", sys.argv[1], re.M))
assert float(m["streamr_spot_checks_total"]) > 0, m
assert float(m["streamr_watch_probe_redirects_total"]) > 0, m
assert m["streamr_validator_checking"] == "1", m
assert float(m["streamr_watch_redirects_total{target=\"node\"}"]) == 0, "probes are not viewers sent"' "$METRICS"
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
check "no node was penalised for the gap: no check failed but for time, no flag" eval \
    'honest_checks "$OUT" && [[ $("$BIN/streamrctl" fraud list --json --socket "$SOCK") == "[]" ]]'

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
