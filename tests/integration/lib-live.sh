# shellcheck shell=bash
# The whole system on loopback, for tests that need a live stream (sourced after lib.sh, not a
# test itself): a coordinator, an ingest, stream `main`, and node agents that joined with an
# invite line — the real binaries, as test-node-relay.sh starts them.
#
#   live_system [PUBLISH_GRACE]      coordinator + ingest + stream main: sets CH (coordinator
#                                    HTTP), RP (RTMP), HP (origin HTTP), KEY, LINE (invite)
#   live_node N "Display Name"       joins node N and starts it: sets NODE<N>_PID, N<N>H (HTTP)
#   live_node_start N LOG            starts node N again (after stopping it): sets NODE<N>_PID
#   ffmpeg9                          prints ffmpeg 9's path (STREAMR_FFMPEG9, or the one `make
#                                    ffmpeg9` keeps in .build-tools/venv), or nothing
LIVE_PKI="$WORK/pki"
LIVE_SOCK="$WORK/run/control.sock"

live_ctl() { local name=$1; shift; run_cmd "$name" "$BIN/streamrctl" "$@" --socket "$LIVE_SOCK"; }

live_system() {
    local grace=${1:-10s}
    # heartbeat_interval=1 makes the coordinator take an ingest silent for 2 s as gone: the
    # ingest's keepalive (2 s by default) is made shorter to match.
    init_pki "$LIVE_PKI"
    pick_port CP; pick_port CH; pick_port RP; pick_port HP; pick_port SP
    start_bg coordinator env STREAMR_LOG=stderr "$BIN/streamr-coordinator" --set "listen_http=127.0.0.1:$CH" --set "pki_directory=$LIVE_PKI" \
        --set "state_directory=$WORK/state" --set "listen_rpc=127.0.0.1:$CP" --set "control_socket=$LIVE_SOCK" --set public_host=127.0.0.1 \
        --set "public_subscribe_port=$SP" --set "public_origin_http_port=$HP" --set heartbeat_interval=1
    COORD_PID=$PID
    check "coordinator listening" wait_until 10 unix_listening "$LIVE_SOCK"
    start_bg ingest env STREAMR_LOG=stderr "$BIN/streamr-ingest" --set "pki_directory=$LIVE_PKI" --set "state_directory=$WORK/state" \
        --set "listen_rtmp=127.0.0.1:$RP" --set "listen_http=127.0.0.1:$HP" --set "listen_subscribe=127.0.0.1:$SP" \
        --set "coordinator_socket=$LIVE_SOCK" --set "publish_grace=$grace" --set "validator_socket=$WORK/run/no-validator.sock" \
        --set coordinator_keepalive=500ms
    INGEST_PID=$PID
    check "ingest listening" wait_until 10 tcp_listening "$RP"
    live_ctl create stream create main --json
    KEY=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["key"])' "$OUT")
    live_ctl invite invite create main --uses 8
    LINE=$OUT
}

live_node() {  # live_node N "Display Name"
    local n=$1 name=$2 http rtmp
    pick_port http; pick_port rtmp
    printf -v "N${n}H" '%s' "$http"
    printf -v "N${n}R" '%s' "$rtmp"
    run_cmd "join$n" "$BIN/streamr-node" join "$LINE" --name "$name" --payout "venmo:@friend-$n" --state-directory "$WORK/node$n"
    expect_rc 0 "$name joins with the invite line"
    live_node_start "$n"
    check "$name's node connects to the coordinator" wait_until 15 grep -qs "event=connected" "$WORK/node$n.log"
}

live_node_start() {  # live_node_start N [LOG] — (re)starts node N (joined by live_node), output in $WORK/LOG.log
    local n=$1 log=${2:-node$1} http="N${1}H" rtmp="N${1}R"
    start_bg "$log" env STREAMR_LOG=stderr "$BIN/streamr-node" --set "state_directory=$WORK/node$n" \
        --set "control_socket=$WORK/node$n/control.sock" --set "listen_http=127.0.0.1:${!http}" --set "listen_rtmp=127.0.0.1:${!rtmp}"
    printf -v "NODE${n}_PID" '%s' "$PID"
}

ffmpeg9() {
    if [[ -n "${STREAMR_FFMPEG9:-}" && -x "$STREAMR_FFMPEG9" ]]; then echo "$STREAMR_FFMPEG9"; return; fi
    local py="$REPO/.build-tools/venv/bin/python"
    [[ -x "$py" ]] && "$py" -c 'import imageio_ffmpeg; print(imageio_ffmpeg.get_ffmpeg_exe())' 2>/dev/null
}

# online_nodes — how many nodes the coordinator has online now.
online_nodes() {
    "$BIN/streamrctl" nodes --json --socket "$LIVE_SOCK" | python3 -c 'import json, sys; print(sum(n["online"] is True for n in json.load(sys.stdin)))'
}
