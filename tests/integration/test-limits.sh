#!/usr/bin/env bash
# Timeouts and caps on every listener, from peers that are slow or stalled on purpose, and the
# clear errors of issue 10's small things:
# - RPC (coordinator 7443, ingest 7444): a frame that stops after 10 of 100 bytes is closed
#   after rpc_frame_timeout; a TLS peer without a certificate is closed after
#   rpc_unauthenticated_timeout, and one over rpc_unauthenticated_per_address is refused at once
#   with a reason, the ones under the cap untouched; the ingest refuses a peer without a
#   certificate in the handshake.
# - HTTP (coordinator 8000, ingest origin 8936, node 8935): slowloris connections are all closed
#   after http_request_timeout; a body that stalls, or a chunk claiming ffffffffffffffff bytes,
#   is answered 408 and closed after http_body_timeout (a body past 64 KiB gets 413 at once:
#   unit-tested); a connection over
#   http_connections_per_address gets 503 while the others still work.
# - A bad --set names --set, a bad line in a file names the file and line; `invite create
#   --uses -1` says what --uses takes; a host that never completes TLS is not blamed on the pin.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

PKI="$WORK/pki"
init_pki "$PKI"
pick_port CP; pick_port CH; pick_port RP; pick_port HP; pick_port SP; pick_port NH; pick_port NR; pick_port SILENT
SOCK="$WORK/run/control.sock"
LIMITS=(--set rpc_frame_timeout=2s --set rpc_unauthenticated_timeout=3s --set rpc_unauthenticated_per_address=3
        --set http_request_timeout=2s --set http_body_timeout=2s --set http_connections_per_address=6)
start_bg coordinator env STREAMR_LOG=stderr "$BIN/streamr-coordinator" --set "listen_http=127.0.0.1:$CH" --set "pki_directory=$PKI" \
    --set "state_directory=$WORK/state" --set "listen_rpc=127.0.0.1:$CP" --set "control_socket=$SOCK" --set public_host=127.0.0.1 \
    --set "public_subscribe_port=$SP" --set "public_origin_http_port=$HP" "${LIMITS[@]}"
check "coordinator listening" wait_until 10 unix_listening "$SOCK"
start_bg ingest env STREAMR_LOG=stderr "$BIN/streamr-ingest" --set "pki_directory=$PKI" --set "state_directory=$WORK/state" \
    --set "listen_rtmp=127.0.0.1:$RP" --set "listen_http=127.0.0.1:$HP" --set "listen_subscribe=127.0.0.1:$SP" --set "coordinator_socket=$SOCK" \
    --set "validator_socket=$WORK/run/no-validator.sock" "${LIMITS[@]}"
check "ingest listening" wait_until 10 tcp_listening "$SP"
"$BIN/streamrctl" stream create main --socket "$SOCK" >/dev/null 2>&1
LINE=$("$BIN/streamrctl" invite create main --uses 3 --socket "$SOCK" 2>/dev/null)
run_cmd join "$BIN/streamr-node" join "$LINE" --name "Friend" --payout venmo:@friend-one --state-directory "$WORK/node"
expect_rc 0 "a friend joins"
start_bg node env STREAMR_LOG=stderr "$BIN/streamr-node" --set "state_directory=$WORK/node" --set "control_socket=$WORK/node/control.sock" \
    --set "listen_http=127.0.0.1:$NH" --set "listen_rtmp=127.0.0.1:$NR" "${LIMITS[@]}"
check "node listening" wait_until 10 tcp_listening "$NH"

probe() { timeout -k 5 90 python3 "$IT_DIR/limits-probe.py" "$@"; }
field() { python3 -c 'import json, sys; v = json.loads(sys.argv[1])[sys.argv[2]]; print("" if v is None else v)' "$1" "$2"; }
# within LOW HIGH VALUE — LOW <= VALUE <= HIGH (seconds, decimals allowed)
within() { [[ -n "$3" ]] && python3 -c 'import sys; lo, hi, v = map(float, sys.argv[1:]); sys.exit(not lo <= v <= hi)' "$@"; }

############ RPC ############
R=$(probe rpc-partial 127.0.0.1 "$CP" "$PKI/ca.pem")
expect "coordinator: a partial frame is closed after rpc_frame_timeout (2 s; took $(field "$R" closed_after))" \
    within 1.5 10 "$(field "$R" closed_after)"
R=$(probe rpc-idle 127.0.0.1 "$CP" "$PKI/ca.pem")
expect "coordinator: a peer without a certificate is closed after rpc_unauthenticated_timeout (3 s; took $(field "$R" closed_after))" \
    within 2.5 12 "$(field "$R" closed_after)"
expect "... and the journal says why" grep -q "no certificate and still connected after 3 s" "$WORK/coordinator.log"
R=$(probe rpc-cap 127.0.0.1 "$CP" "$PKI/ca.pem" 3)
expect "coordinator: a 4th peer without a certificate is refused at once (closed after $(field "$R" closed_after) s)" \
    within 0 1.5 "$(field "$R" closed_after)"
expect "... with the reason" contains "$(field "$R" refusal)" "too many connections without a certificate"
expect "... the 3 under the cap stay open" test "$(field "$R" held_still_open)" = 3
R=$(probe rpc-partial 127.0.0.1 "$SP" "$PKI/ca.pem" "$WORK/node/node.pem" "$WORK/node/node.key")
expect "ingest: a node's partial frame is closed after rpc_frame_timeout (took $(field "$R" closed_after))" \
    within 1.5 10 "$(field "$R" closed_after)"
R=$(probe rpc-idle 127.0.0.1 "$SP" "$PKI/ca.pem" 2>&1 || true)
expect "ingest: a peer without a certificate is refused in the handshake (at once)" \
    eval '[[ "$R" == *"closed_after"* && $(field "$R" closed_after) < 2 ]] || [[ "$R" == *SSL* || "$R" == *Error* ]]'
expect "the node's relay session is untouched by all that" eval '! grep -q "event=stream_lost\|event=session_lost" "$WORK/node.log"'

############ HTTP ############
for target in "coordinator:$CH" "origin:$HP" "node:$NH"; do
    name=${target%%:*} port=${target##*:}
    R=$(probe http-slowloris 127.0.0.1 "$port" 5)
    expect "$name: 5 slowloris connections are all closed after http_request_timeout (2 s; $(field "$R" closed)/5, last after $(field "$R" last_closed_after) s)" \
        eval '[[ $(field "$R" closed) == 5 ]] && within 1.5 10 "$(field "$R" last_closed_after)"'
    R=$(probe http-body 127.0.0.1 "$port")
    expect "$name: a stalled body is answered 408 and closed after http_body_timeout ($(field "$R" answer), $(field "$R" closed_after) s)" \
        eval '[[ "$(field "$R" answer)" == "HTTP/1.1 408"* ]] && within 1.5 10 "$(field "$R" closed_after)"'
    R=$(probe http-chunked 127.0.0.1 "$port")
    expect "$name: a chunk claiming ffffffffffffffff bytes is bounded by http_body_timeout, with an answer ($(field "$R" answer), $(field "$R" closed_after) s)" \
        eval '[[ "$(field "$R" answer)" == "HTTP/1.1 4"* ]] && within 0 10 "$(field "$R" closed_after)"'
    R=$(probe http-cap 127.0.0.1 "$port" 6)
    expect "$name: a 7th connection from one address gets 503 (closed after $(field "$R" closed_after) s)" \
        eval '[[ "$(field "$R" refusal)" == "HTTP/1.1 503"*"too many connections"* ]] && within 0 1.5 "$(field "$R" closed_after)"'
    expect "$name: ... while the 6 held still answer ($(field "$R" held_answer))" eval '[[ "$(field "$R" held_answer)" == "HTTP/1.1 200"* ]]'
done
for target in "coordinator:$CH" "origin:$HP" "node:$NH"; do
    expect "${target%%:*} still serves" quiet curl -sf --max-time 5 "http://127.0.0.1:${target##*:}/healthz"
done

############ Clear errors ############
run_cmd bad-set env STREAMR_LOG=stderr "$BIN/streamr-coordinator" --set listen_http=127.0.0.1:70000 --set "state_directory=$WORK/other"
expect "a bad --set fails naming --set, not a file nobody wrote (exit $RC)" \
    eval '[[ $RC != 0 && "$ERR" == *"--set"*"listen_http"* && "$ERR" != *coordinator.conf* ]]'
printf '# a config\nlog_level = info\nlisten_http = 127.0.0.1:70000\n' >"$WORK/bad.conf"
run_cmd bad-file env STREAMR_LOG=stderr "$BIN/streamr-coordinator" --config "$WORK/bad.conf" --set "state_directory=$WORK/other"
expect "a bad line in a file names the file and its line (exit $RC)" eval '[[ $RC != 0 && "$ERR" == *"$WORK/bad.conf:3"* ]]'
run_cmd bad-duration env STREAMR_LOG=stderr "$BIN/streamr-ingest" --set rpc_frame_timeout=soon --set "state_directory=$WORK/other"
expect "a bad limit says what it takes" eval '[[ $RC != 0 && "$ERR" == *rpc_frame_timeout*"duration"* ]]'
run_cmd uses "$BIN/streamrctl" invite create main --uses -1 --socket "$SOCK"
expect "invite create --uses -1 says what --uses takes (exit $RC: ${ERR:0:160})" \
    eval '[[ $RC != 0 && "$ERR" != *"Missing value"* && "$ERR" == *"--uses"* ]]'

start_bg silent python3 "$IT_DIR/limits-probe.py" silent-listener "$SILENT"
check "a listener that never speaks TLS" wait_until 10 tcp_listening "$SILENT"
SILENT_LINE=$(sed -E "s#(streamr://[^:/]+):[0-9]+#\\1:$SILENT#" <<<"$LINE")
LAST_CMD="streamr-node join (a host that never completes TLS)"
RC=0; OUT=$(timeout -k 5 60 "$BIN/streamr-node" join "$SILENT_LINE" --name Friend --payout venmo:@friend-two \
    --state-directory "$WORK/node-silent" </dev/null 2>&1) || RC=$?
expect "a host that never completes TLS is a network problem, not the pin (exit $RC: ${OUT:0:200})" \
    eval '[[ $RC != 0 && "$OUT" == *"did not complete the TLS handshake"* && "$OUT" != *"Ask the host for a new line"* ]]'
