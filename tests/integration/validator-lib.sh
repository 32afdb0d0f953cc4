# shellcheck shell=bash
# Sourced by test-validator*.sh and test-node-meter.sh after lib.sh (not a test itself): a
# whole host on loopback — coordinator, ingest and validator, the real binaries — friends'
# node agents joined with an invite line, and ffmpeg publishing a looped test stream as OBS.
#
#   host_setup                      PKI, ports, a stream `main` and an invite for 8 nodes
#   start_coordinator NAME [--set k=v ...]
#   start_ingest NAME
#   start_validator NAME [--set k=v ...]
#   join_node N [join options...]   joins node N (state in $WORK/nodeN)
#   start_node N [--set k=v ...]    runs node N; sets NODE_PID[N], NODE_ID[N], NODE_HTTP[N]
#   start_publisher                 ffmpeg -re from a 10 s 360p source, looped
#   ctl NAME ARGS...                streamrctl on the host's control socket (run_cmd)
#   json_eval JSON PYTHON           evaluates a Python expression over `d` = the parsed JSON

command -v ffmpeg >/dev/null || fail "ffmpeg not installed (make deps)"
command -v sqlite3 >/dev/null || fail "sqlite3 not installed (make deps)"

declare -A NODE_PID NODE_ID NODE_HTTP NODE_RTMP

host_setup() {
    PKI="$WORK/pki"
    init_pki "$PKI"
    pick_port CP; pick_port CH; pick_port RP; pick_port HP; pick_port SP
    SOCK="$WORK/run/control.sock"
    VSOCK="$WORK/run/validator.sock"
    mkdir -p "$WORK/run" "$WORK/state" "$WORK/vstate"
}

start_coordinator() {
    local name=$1; shift
    start_bg "coordinator-$name" env STREAMR_LOG=stderr "$BIN/streamr-coordinator" --set "listen_http=127.0.0.1:$CH" \
        --set "pki_directory=$PKI" --set "state_directory=$WORK/state" --set "listen_rpc=127.0.0.1:$CP" --set "control_socket=$SOCK" \
        --set public_host=127.0.0.1 --set "public_subscribe_port=$SP" --set "public_origin_http_port=$HP" --set heartbeat_interval=1 "$@"
    COORD=$PID
    check "coordinator ($name) listening" wait_until 10 unix_listening "$SOCK"
}

start_ingest() {
    start_bg "ingest-$1" env STREAMR_LOG=stderr "$BIN/streamr-ingest" --set "pki_directory=$PKI" --set "state_directory=$WORK/state" \
        --set "listen_rtmp=127.0.0.1:$RP" --set "listen_http=127.0.0.1:$HP" --set "listen_subscribe=127.0.0.1:$SP" \
        --set "coordinator_socket=$SOCK" --set "validator_socket=$VSOCK" --set keep_chunks=30
    INGEST=$PID
    check "ingest ($1) listening" wait_until 10 tcp_listening "$RP"
}

# The validator, checking fast (a check per node every ~2 s on average) so tests see results soon.
start_validator() {
    local name=$1; shift
    start_bg "validator-$name" env STREAMR_LOG=stderr "$BIN/streamr-validator" --set "pki_directory=$PKI" \
        --set "state_directory=$WORK/vstate" --set "work_socket=$VSOCK" --set "coordinator_socket=$SOCK" \
        --set "coordinator_http=127.0.0.1:$CH" --set "ingest_origin=127.0.0.1:$HP" --set checks_per_node_per_hour=1800 \
        --set targets_interval=1s --log-level debug "$@"
    VALIDATOR=$PID
    check "validator ($name) listening" wait_until 10 unix_listening "$VSOCK"
}

ctl() { local name=$1; shift; run_cmd "$name" "$BIN/streamrctl" "$@" --socket "$SOCK"; }

json_eval() { python3 -c 'import json, sys; d = json.loads(sys.argv[1]); r = eval(sys.argv[2]); sys.exit(0 if r else 1)' "$1" "$2"; }
json_print() { python3 -c 'import json, sys; d = json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"; }

host_stream() {
    ctl create stream create main --json
    [[ $RC == 0 ]] || fail "stream create: $ERR"
    KEY=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["key"])' "$OUT")
    ctl invite invite create main --uses 8
    LINE=$OUT
}

join_node() {
    local n=$1; shift
    run_cmd "join$n" "$BIN/streamr-node" join "$LINE" --name "Friend $n" --payout "venmo:@friend-$n" --state-directory "$WORK/node$n" "$@"
    [[ $RC == 0 ]] || fail "node $n join: $ERR"
    NODE_ID[$n]=$(sed -n 's/^node_id *= *//p' "$WORK/node$n/identity.conf" | head -1)
    [[ -n ${NODE_ID[$n]} ]] || NODE_ID[$n]=$(grep -oE 'node-[0-9a-f]{12}' "$WORK/node$n/identity.conf" | head -1)
    [[ -n ${NODE_ID[$n]} ]] || fail "no node id for node $n in $WORK/node$n/identity.conf"
}

start_node() {
    local n=$1; shift
    local h="NODE_HTTP_$n" r="NODE_RTMP_$n"
    [[ -n ${NODE_HTTP[$n]:-} ]] || { pick_port "$h"; NODE_HTTP[$n]=${!h}; }
    [[ -n ${NODE_RTMP[$n]:-} ]] || { pick_port "$r"; NODE_RTMP[$n]=${!r}; }
    start_bg "node$n" env STREAMR_LOG=stderr "${NODE_ENV[@]}" "$BIN/streamr-node" --set "state_directory=$WORK/node$n" \
        --set "control_socket=$WORK/node$n/control.sock" --set "listen_http=127.0.0.1:${NODE_HTTP[$n]}" \
        --set "listen_rtmp=127.0.0.1:${NODE_RTMP[$n]}" "$@"
    NODE_PID[$n]=$PID
}
NODE_ENV=()

start_publisher() {
    [[ -s "$WORK/source.flv" ]] || ffmpeg -hide_banner -loglevel error -nostdin -y -f lavfi -i testsrc2=size=640x360:rate=30 \
        -f lavfi -i sine=frequency=440:sample_rate=48000 -t 10 -c:v libx264 -preset ultrafast -b:v 1M -g 60 -pix_fmt yuv420p \
        -c:a aac -b:a 96k -f flv "$WORK/source.flv"
    start_bg publisher ffmpeg -hide_banner -loglevel warning -nostdin -re -stream_loop -1 -i "$WORK/source.flv" -c copy -f flv \
        "rtmp://127.0.0.1:$RP/live/$KEY"
    PUBLISHER=$PID
}

# checks_json [ARGS...]: `streamrctl checks --json --limit 10000 ARGS` into $OUT.
checks_json() { ctl checks checks --json --limit 10000 "$@"; [[ $RC == 0 ]] || fail "streamrctl checks: $ERR"; }

# count_checks NODE FILTER: checks of NODE whose Python condition on `c` holds.
count_checks() {
    "$BIN/streamrctl" checks --json --limit 10000 --node "$1" --socket "$SOCK" 2>/dev/null |
        python3 -c 'import json, sys; print(sum(1 for c in json.load(sys.stdin) if eval(sys.argv[1])))' "$2"
}
at_least() { local n; n=$(count_checks "$1" "$2") && ((n >= $3)); }

node_online() { "$BIN/streamrctl" nodes --json --socket "$SOCK" 2>/dev/null | python3 -c '
import json, sys; sys.exit(0 if any(n["node_id"] == sys.argv[1] and n["online"] for n in json.load(sys.stdin)) else 1)' "$1"; }

# honest_checks JSON|@FILE: what an honest node's checks must look like — never altered or
# stale, never failed for anything but time (a machine this loaded may be slow: that is
# quality, not fraud), and at least 90% passed. (@FILE: a long run's checks are more than one
# command-line argument may hold, 128 KiB.)
honest_checks() {
    python3 - "$1" <<'PYEOF'
import json, sys
arg = sys.argv[1]
d = json.load(open(arg[1:])) if arg.startswith("@") else json.loads(arg)
timing = {"slow", "timeout_connect", "timeout_first_byte", "timeout_body"}
bad = [c for c in d if c["verdict"] in ("altered", "stale") or (not c["passed"] and c["reason"] not in timing)]
passed = sum(c["passed"] for c in d)
if bad or not d or passed < 0.9 * len(d):
    print(f"{passed} of {len(d)} passed; wrong: {bad[:5]}", file=sys.stderr)
    sys.exit(1)
PYEOF
}
