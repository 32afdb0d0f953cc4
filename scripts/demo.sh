#!/usr/bin/env bash
# Runs the whole Streamr system locally on loopback: host CA, coordinator,
# ingest and validator; a stream and an invite; three friends' node agents that
# join and relay — the third one cheating on purpose (test_fault=altered: it flips
# a byte in the chunks it serves); ffmpeg publishing a synthetic stream as OBS
# would. Then prints where to watch, the validator's checks (passing for the two
# honest friends, the cheat flagged), the first one-minute period's earnings, an exported
# payout batch and the status tables. Ctrl-C stops everything.
# DEMO_SECONDS=N stops after N seconds.
set -euo pipefail
BIN=${BIN:?BIN must point at the build directory (make demo sets it)}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEMO=${DEMO_DIR:-$ROOT/.build-demo}
rm -rf "$DEMO" && mkdir -p "$DEMO"/{pki,run,node1,node2,node3}
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

export STREAMR_LOG=${STREAMR_LOG:-stderr}
start() { # name, log file, command...
    local name=$1 log=$2; shift 2
    "$@" >"$log" 2>&1 &
    pids+=($!)
}
wait_for_socket() {
    for _ in $(seq 1 100); do [ -S "$1" ] && return 0; sleep 0.1; done
    echo "demo: $1 did not appear; see the logs in $DEMO" >&2; exit 1
}

"$BIN/streamr-coordinator" init-pki --directory "$DEMO/pki" --hostname localhost --ip 127.0.0.1 >/dev/null
COMMON=(--set "pki_directory=$DEMO/pki" --set "state_directory=$DEMO")
start coordinator "$DEMO/coordinator.log" "$BIN/streamr-coordinator" "${COMMON[@]}" \
    --set listen_rpc=127.0.0.1:17443 --set listen_http=127.0.0.1:18000 --set control_socket="$DEMO/run/control.sock" \
    --set public_host=127.0.0.1 --set public_subscribe_port=17444 --set public_rtmp_port=11935 \
    --set public_origin_http_port=18936 --set heartbeat_interval=2 --set sybil_policy=machine \
    --set earnings_hold=0s --set period_close_delay=2s
start ingest "$DEMO/ingest.log" "$BIN/streamr-ingest" "${COMMON[@]}" --set listen_subscribe=127.0.0.1:17444 \
    --set listen_rtmp=127.0.0.1:11935 --set listen_http=127.0.0.1:18936 --set coordinator_socket="$DEMO/run/control.sock" \
    --set validator_socket="$DEMO/run/validator.sock"
# The validator checks each node about every 6 s here (120 an hour by default), so the demo shows results soon.
start validator "$DEMO/validator.log" "$BIN/streamr-validator" "${COMMON[@]}" --set work_socket="$DEMO/run/validator.sock" \
    --set coordinator_socket="$DEMO/run/control.sock" --set coordinator_http=127.0.0.1:18000 --set ingest_origin=127.0.0.1:18936 \
    --set checks_per_node_per_hour=600
wait_for_socket "$DEMO/run/control.sock"
wait_for_socket "$DEMO/run/validator.sock"
ctl() { "$BIN/streamrctl" "$@" --socket "$DEMO/run/control.sock"; }

# The streamer's side: a stream with a pool (10.00 a minute, so a period closes during the
# demo; hourly is the default), and an invite for three friends.
KEY=$(ctl stream create main --pool 10.00 --per 1m --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["key"])')
LINE=$(ctl invite create main --uses 3 --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["join_line"])')

# The friends' side: join with the line, then run the agent. All three run on this one
# machine, so each gets a machine id of its own (the coordinator counts one earning
# identity per machine id here). Friend 3 cheats on purpose: STREAMR_TEST_FAULTS=1 and
# test_fault=altered make it flip a byte in every chunk it serves.
for n in 1 2 3; do
    "$BIN/streamr-node" join "$LINE" --name "Friend $n" --payout "venmo:@demo-friend-$n" --state-directory "$DEMO/node$n" >/dev/null
    echo "demo-machine-$n" >"$DEMO/node$n/machine-id"
    fault=()
    [ "$n" = 3 ] && fault=(--set test_fault=altered)
    start node$n "$DEMO/node$n.log" env STREAMR_TEST_FAULTS=$([ "$n" = 3 ] && echo 1 || echo 0) "$BIN/streamr-node" \
        --set state_directory="$DEMO/node$n" --set control_socket="$DEMO/node$n/control.sock" --set listen_http=127.0.0.1:1893$n \
        --set listen_rtmp=127.0.0.1:1193$((5 + n)) --set machine_id_file="$DEMO/node$n/machine-id" "${fault[@]}"
done
for n in 1 2 3; do wait_for_socket "$DEMO/node$n/control.sock"; done

# OBS's side: a synthetic 720p30 stream (test pattern and a tone), encoded live by ffmpeg.
start publisher "$DEMO/publisher.log" ffmpeg -hide_banner -loglevel warning -nostdin -re \
    -f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi -i sine=frequency=440:sample_rate=48000 \
    -c:v libx264 -preset veryfast -tune zerolatency -b:v 2500k -g 60 -pix_fmt yuv420p -c:a aac -b:a 128k \
    -f flv "rtmp://127.0.0.1:11935/live/$KEY"
for _ in $(seq 1 100); do
    [ "$(ctl stream show main --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["state"])')" = live ] && break
    sleep 0.2
done
for _ in $(seq 1 50); do
    [ "$("$BIN/streamrctl" nodes --json --socket "$DEMO/run/control.sock" | python3 -c 'import json, sys; print(sum(n["online"] is True for n in json.load(sys.stdin)))')" = 3 ] && break
    sleep 0.2
done
# The nodes report the stream in their next heartbeats; then /watch routes to them.
for _ in $(seq 1 50); do
    case $(curl -s -o /dev/null -w '%{redirect_url}' http://127.0.0.1:18000/watch/main) in *:1893[123]/*) break ;; esac
    sleep 0.2
done
# The validator's first checks: wait (up to a minute) until friend 3 is flagged and the
# honest friends have passed checks.
echo "demo: waiting for the validator's spot checks (up to a minute)..." >&2
for _ in $(seq 1 120); do
    ctl checks --json --limit 1000 | python3 -c '
import json, sys
checks = json.load(sys.stdin)
passed = {c["node_id"] for c in checks if c["passed"]}
flagged = json.loads(sys.argv[1])
sys.exit(0 if len(passed) >= 2 and flagged else 1)' "$(ctl fraud list --json)" && break
    sleep 0.5
done

cat <<INFO

Streamr demo is running (state and logs in $DEMO):
  OBS would publish to  rtmp://127.0.0.1:11935/live/<key>   (ffmpeg is doing it: a test pattern)
  watch (routed)        ffplay http://127.0.0.1:18000/watch/main        (302 to a node)
  watch in a browser    http://127.0.0.1:18000/watch/main               (the watch page)
  OBS overlay           http://127.0.0.1:18000/overlay/main             (Browser Source, 480x200)
  watch node 1          ffplay http://127.0.0.1:18931/live/main.flv   or  rtmp://127.0.0.1:11936/live/main
  watch node 2          ffplay http://127.0.0.1:18932/live/main.flv
  node 3 (cheats)       http://127.0.0.1:18933   (test_fault=altered: a byte flipped in every /chunks response)
  watch the origin      ffplay http://127.0.0.1:18936/live/main.flv
  metrics               curl http://127.0.0.1:18000/metrics
  host admin            $BIN/streamrctl nodes --socket $DEMO/run/control.sock
  a friend's status     $BIN/streamrctl status --socket $DEMO/node1/control.sock
  CA pin                $("$BIN/streamr-coordinator" init-pki --directory "$DEMO/pki" | sed -n 's/^CA pin: //p')

  spot checks           $BIN/streamrctl checks --socket $DEMO/run/control.sock   (fraud list, node show ID)

  earnings              $BIN/streamrctl earnings --socket $DEMO/run/control.sock   (explain NODE, payout plan)

INFO
echo "== /watch/main → $(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' http://127.0.0.1:18000/watch/main)"
echo
echo "== streamrctl nodes"
ctl nodes
echo
echo "== streamrctl checks   (the validator's latest spot checks, some columns)"
ctl checks --limit 12 --json | python3 "$ROOT/scripts/demo-format.py" checks "$(ctl nodes --json)"
echo
echo "== streamrctl fraud list   (friend 3 served bytes that are not the stream's)"
ctl fraud list --json | python3 "$ROOT/scripts/demo-format.py" flags
echo "   (clear a false alarm with: streamrctl fraud clear ID --note TEXT)"
echo
echo "== streamrctl leaderboard"
ctl leaderboard
echo

# Earnings: the first one-minute period closes after at most a minute and a half.
echo "demo: waiting for the first earnings period to close (up to 100 s)..." >&2
for _ in $(seq 1 100); do
    ctl earnings --json | python3 -c 'import json, sys; sys.exit(0 if any(r["state"] == "closed" for r in json.load(sys.stdin)) else 1)' && break
    sleep 1
done
echo "== streamrctl earnings   (10.00 a minute, split by verified uptime × quality; friend 3 is flagged and earns 0)"
ctl earnings
echo
NODE1=$(ctl nodes --json | python3 -c 'import json, sys; print([n["node_id"] for n in json.load(sys.stdin) if n["display_name"] == "Friend 1"][0])')
echo "== streamrctl earnings explain $NODE1   (every term of friend 1's amount)"
ctl earnings explain "$NODE1"
echo
echo "== streamrctl payout create   (every payable balance; running it again makes nothing new)"
BATCH=$(ctl payout create --json | python3 -c 'import json, sys; b = json.load(sys.stdin); print(b[0]["batch"] if b else "")')
if [ -n "$BATCH" ]; then
    ctl payout show "$BATCH"
    echo
    echo "== streamrctl payout export $BATCH --format csv   (PayPal's bulk payout upload)"
    ctl payout export "$BATCH" --format csv
    echo
    echo "== streamrctl ledger verify"
    ctl ledger verify
else
    echo "(nothing payable yet)"
fi
echo
for sock in "$DEMO/run/control.sock" "$DEMO/run/validator.sock" "$DEMO/node1/control.sock" "$DEMO/node2/control.sock"; do
    echo "== streamrctl status --socket $sock"
    "$BIN/streamrctl" status --socket "$sock"
    echo
done

if [ -n "${DEMO_SECONDS:-}" ]; then
    sleep "$DEMO_SECONDS"
else
    echo "Press Ctrl-C to stop."
    wait
fi
