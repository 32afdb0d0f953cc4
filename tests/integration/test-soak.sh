#!/usr/bin/env bash
# timeout: 2400
# Soak: a whole host (coordinator, ingest, validator) and SOAK_NODES (20) friends' node agents on
# loopback, ffmpeg publishing a looped 1 Mbit/s stream as OBS, SOAK_VIEWERS (200) curl viewers on
# HTTP-FLV spread over the nodes, for SOAK_SECONDS (1800 by default; `make test` runs 120).
# - every daemon is still running, and every viewer is still receiving;
# - nodes that stayed connected show no gap in their chunk sequence (every segment their HLS
#   playlist ever listed, polled every 2 s, follows the one before) and never lagged, lost their
#   subscription or rejected a chunk after the stream's first (see below);
# - the validator's checks of those nodes pass (at least 90%; none altered or stale);
# - RSS is flat: from the first fifth of the run (after a warm-up; the run starts once the
#   ingest's kept chunks and HLS segments are full) to the last fifth, no process grows by more
#   than 16 MiB + 10%.
# Figures go to SOAK_REPORT (default $WORK/soak-report.txt) and to the output.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$IT_DIR/validator-lib.sh"

SECS=${SOAK_SECONDS:-1800}
NODES=${SOAK_NODES:-20}
VIEWERS=${SOAK_VIEWERS:-200}
REPORT=${SOAK_REPORT:-$WORK/soak-report.txt}

host_setup
# Every node runs on this one machine: the sybil rule (one earner per machine or address)
# is test-validator-fraud's business, not this test's.
start_coordinator first --set sybil_policy=off
start_ingest first
# A check per node every ~10 s (20 nodes: 2 a second), so a short run has checks of every node.
start_validator first --set checks_per_node_per_hour=360
host_stream
ctl invite invite create main --uses "$NODES"
LINE=$OUT
for n in $(seq 1 "$NODES"); do join_node "$n"; start_node "$n"; done
online_count() { "$BIN/streamrctl" nodes --json --socket "$SOCK" | python3 -c 'import json, sys; print(sum(n["online"] is True for n in json.load(sys.stdin)))'; }
check "all $NODES nodes online" wait_until 60 eval '[[ $(online_count) == '"$NODES"' ]]'

start_publisher
PUBLISHED_AT=$(date +%s)
serving() { [[ $(curl -s -o /dev/null --max-time 1 -w '%{http_code}' "http://127.0.0.1:${NODE_HTTP[$1]}/live/main.flv") == 200 ]]; }
for n in $(seq 1 "$NODES"); do
    check "node $n serves the stream" wait_until 60 serving "$n"
done

declare -a VIEWER_PID
for i in $(seq 1 "$VIEWERS"); do
    n=$(((i - 1) % NODES + 1))
    start_bg "viewer$i" curl -sS -o /dev/null --max-time $((SECS + 120)) "http://127.0.0.1:${NODE_HTTP[$n]}/live/main.flv"
    VIEWER_PID[i]=$PID
done
ok "$VIEWERS viewers started"

procs=("coordinator=$COORD" "ingest=$INGEST" "validator=$VALIDATOR")
urls=()
for n in $(seq 1 "$NODES"); do
    procs+=("node$n=${NODE_PID[$n]}")
    urls+=("http://127.0.0.1:${NODE_HTTP[$n]}/live/main/index.m3u8")
done
mkdir -p "$WORK/soak"
# The ingest's bounded buffers fill in the stream's first minute: the kept chunks (keep_chunks=30
# of 2 s: 60 s; about 8 MiB resident here) and the HLS renditions (10 segments each). Growth while
# they fill is not growth at all, so the run (and its RSS samples) starts once they are full.
FULL_AT=$((PUBLISHED_AT + 62))
(($(date +%s) < FULL_AT)) && sleep $((FULL_AT - $(date +%s)))
echo "soak: running for ${SECS}s ($NODES nodes, $VIEWERS viewers)"
python3 "$IT_DIR/soak-watch.py" "$WORK/soak" "$SECS" "${procs[@]}" -- "${urls[@]}"

############ after the run ############
for p in coordinator:$COORD ingest:$INGEST validator:$VALIDATOR publisher:$PUBLISHER; do
    expect "${p%%:*} still running" kill -0 "${p#*:}"
done
dead=0
for i in $(seq 1 "$VIEWERS"); do kill -0 "${VIEWER_PID[i]}" 2>/dev/null || dead=$((dead + 1)); done
expect "every viewer still receiving ($dead of $VIEWERS ended)" test "$dead" = 0

# Nodes that stayed up and connected: one subscription, never lost.
steady=()
for n in $(seq 1 "$NODES"); do
    log="$WORK/node$n.log"
    if ! kill -0 "${NODE_PID[$n]}" 2>/dev/null; then
        expect "node $n still running" false
    elif grep -qE "event=(disconnected|subscription_lost)" "$log"; then
        echo "node $n lost its session or subscription during the run: not judged for gaps"
    else
        steady+=("$n")
    fi
done
expect "most nodes stayed connected (${#steady[@]} of $NODES)" test "${#steady[@]}" -ge $((NODES * 9 / 10))
# No node ever lags or rejects a chunk, the stream's first included (a join while chunk 1 was
# open once got its bytes out of order: RPCConnection's write ordering, WriteOrderTests).
for n in "${steady[@]}"; do
    log="$WORK/node$n.log"
    bad=$(grep -E 'event=(lagged|chunk_rejected)' "$log" | head -1 || true)
    expect "node $n never lagged or rejected a chunk (${bad:0:160})" test -z "$bad"
done

python3 - "$WORK/soak" "$REPORT" "$SECS" "$NODES" "$VIEWERS" "${steady[@]}" <<'PY' || fail "soak judged failed (see above)"
import collections, re, statistics, sys
out, report, secs, nodes, viewers = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
steady = [int(n) for n in sys.argv[6:]]
problems, lines = [], []
name = re.compile(r"^(?P<chain>.+)-(?P<seq>\d+)\.ts$")
segments_total = 0
for n in steady:
    chains = collections.OrderedDict()
    for line in open(f"{out}/segments-{n}.txt"):
        m = name.match(line.strip())
        if m:
            chains.setdefault(m["chain"], []).append(int(m["seq"]))
    count = sum(len(s) for s in chains.values())
    segments_total += count
    if count < max(3, secs / 10):
        problems.append(f"node {n}: only {count} segments seen")
    for chain, seqs in chains.items():
        for a, b in zip(seqs, seqs[1:]):
            if b != a + 1:
                problems.append(f"node {n}: chain {chain}: segment {a} then {b}")
rss = collections.defaultdict(list)
growths = {}
for line in open(f"{out}/rss.csv"):
    t, proc, kib = line.strip().split(",")
    rss[proc].append((float(t), int(kib)))
lines.append(f"soak: {secs:.0f} s, {nodes} nodes, {viewers} HTTP-FLV viewers; {len(steady)} nodes stayed connected, "
             f"{segments_total} segments seen at them, no gaps" if not any("segment" in p for p in problems) else "soak: gaps found")
lines.append(f"{'process':<12} {'start MiB':>10} {'end MiB':>10} {'max MiB':>10} {'growth MiB':>11}")
groups = {"coordinator": ["coordinator"], "ingest": ["ingest"], "validator": ["validator"]}
for proc, samples in sorted(rss.items(), key=lambda kv: (not kv[0].startswith(("coord", "ingest", "valid")), kv[0])):
    # Warm-up: the first 10% of the run (at least 10 s); then the first and last fifths.
    warm = max(10.0, secs * 0.1)
    body = [(t, k) for t, k in samples if t >= warm] or samples
    fifth = max(1, len(body) // 5)
    start = statistics.median(k for _, k in body[:fifth]) / 1024
    end = statistics.median(k for _, k in body[-fifth:]) / 1024
    peak = max(k for _, k in samples) / 1024
    growth = end - start
    growths[proc] = growth
    if growth > 16 + 0.1 * start:
        problems.append(f"{proc}: RSS grew {growth:.1f} MiB ({start:.1f} -> {end:.1f})")
    if not proc.startswith("node") or proc in ("node1", f"node{nodes}"):
        lines.append(f"{proc:<12} {start:>10.1f} {end:>10.1f} {peak:>10.1f} {growth:>11.1f}")
node_growth = [g for p, g in growths.items() if p.startswith("node")]
if node_growth:
    lines.append(f"nodes: RSS growth min {min(node_growth):.1f} / median {statistics.median(node_growth):.1f} / max {max(node_growth):.1f} MiB")
text = "\n".join(lines)
print(text)
open(report, "w").write(text + "\n")
for p in problems:
    print("problem:", p, file=sys.stderr)
sys.exit(1 if problems else 0)
PY
ok "no chunk sequence gaps at nodes that stayed connected; RSS flat"

checks_json
# Through files: a long run's checks are more than one command-line argument may hold.
printf '%s' "$OUT" >"$WORK/checks.json"
for n in "${steady[@]}"; do printf '%s\n' "${NODE_ID[$n]}"; done >"$WORK/steady-ids.txt"
count=$(python3 -c '
import json, sys
ids = set(open(sys.argv[2]).read().split())
mine = [c for c in json.load(open(sys.argv[1])) if c["node_id"] in ids]
json.dump(mine, open(sys.argv[3], "w")); print(len(mine))' "$WORK/checks.json" "$WORK/steady-ids.txt" "$WORK/mine.json")
expect "the validator checked the nodes ($count checks) and they pass as honest nodes" honest_checks "@$WORK/mine.json"
