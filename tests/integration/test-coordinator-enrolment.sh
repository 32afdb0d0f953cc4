#!/usr/bin/env bash
# Enrolment against a real coordinator on its TLS port, with a stand-in node (node-client.py:
# the wire protocol by hand, so it also checks interoperability): a join line from
# `streamrctl invite create` gets a certificate for a new node id, counted uses and clear
# refusals, `streamrctl node list/show` see the node, and `node disable` locks its certificate out.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

command -v openssl >/dev/null || fail "openssl (the CLI) not installed"
NODE_CLIENT=(python3 "$IT_DIR/node-client.py")
PKI="$WORK/pki"
init_pki "$PKI"
pick_port CP
SOCK="$WORK/run/control.sock"
start_bg coordinator env STREAMR_LOG=stderr "$BIN/streamr-coordinator" --set listen_http=127.0.0.1:0 --set "pki_directory=$PKI" \
    --set "state_directory=$WORK/state" --set "listen_rpc=127.0.0.1:$CP" --set "control_socket=$SOCK" \
    --set "public_host=127.0.0.1"
check "coordinator: control socket listening" wait_until 5 unix_listening "$SOCK"
check "coordinator: rpc port listening" wait_until 5 tcp_listening "$CP"

ctl() { local name=$1; shift; run_cmd "$name" "$BIN/streamrctl" "$@" --socket "$SOCK"; }
# new_csr NAME — a fresh P-256 key ($WORK/NAME.key) and certificate request ($WORK/NAME.csr, DER).
new_csr() {
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/$1.key" 2>/dev/null
    openssl req -new -key "$WORK/$1.key" -subj "/CN=asks-for-this-name" -outform DER -out "$WORK/$1.csr"
}
# enroll NAME TOKEN [PAYOUT] [STREAM] — sets RC/OUT/ERR; the certificate goes to $WORK/NAME.pem.
enroll() {
    run_cmd "enroll-$1" "${NODE_CLIENT[@]}" 127.0.0.1 "$CP" "$PKI/ca.pem" enroll "$2" "$WORK/$1.csr" "Friend $1" \
        "${3:-venmo:@friend-$1}" "${4:-main}" "$WORK/$1.pem"
}
token_of() { sed -E 's/.*token=([^&]*)&.*/\1/' <<<"$1"; }

ctl create stream create main
expect_rc 0 "stream create main"
ctl create-other stream create other
ctl invite invite create main --uses 2
expect_rc 0 "invite create main --uses 2"
TOKEN=$(token_of "$OUT")
check "the join line names this coordinator's port" contains "$OUT" "streamr://127.0.0.1:$CP/main?"

############ a node joins ############
new_csr a
enroll a "$TOKEN"
expect_rc 0 "node a enrols with the invite"
NODE_A=$OUT
check "it gets a node id (got '$NODE_A')" grep -Eq '^node-[0-9a-f]{12}$' <<<"$NODE_A"
check "its certificate's subject is the node id, not what the CSR asked" \
    grep -q "CN *= *$NODE_A" <<<"$(openssl x509 -in "$WORK/a.pem" -noout -subject)"
check "its certificate is signed by the host CA" quiet openssl verify -CAfile "$PKI/ca.pem" "$WORK/a.pem"
check "... for client authentication" grep -q "TLS Web Client Authentication" <<<"$(openssl x509 -in "$WORK/a.pem" -noout -text)"

run_cmd status-a "${NODE_CLIENT[@]}" 127.0.0.1 "$CP" "$PKI/ca.pem" status "$WORK/a.pem" "$WORK/a.key"
expect_rc 0 "node a is served with its certificate"
check "... (a status answer)" contains "$OUT" "pid="

ctl nodes node list --json
check "node list shows node a with its name, stream and payout handle" test "$(python3 -c '
import json, sys; n = json.loads(sys.argv[1])[0]; print(n["node_id"], n["display_name"], n["stream"], n["payout_handle"], n["enabled"])
' "$OUT")" = "$NODE_A Friend a main venmo:@friend-a True"
ctl invites invite list --json
check "the invite has one use left" test "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])[0]["uses_left"])' "$OUT")" = 1

############ refusals, each with its reason ############
new_csr b
enroll b "$TOKEN" "cashapp:\$friend"
expect_rc 1 "a bad payout handle is refused"
check "... saying what works" contains "$ERR" "venmo:@username or paypal:you@example.com"
enroll b "$TOKEN" "" other
expect_rc 1 "an invite for main does not enrol a node for other"
check "... saying so" contains "$ERR" "another stream"
printf 'garbage' >"$WORK/bad.csr"
run_cmd enroll-bad "${NODE_CLIENT[@]}" 127.0.0.1 "$CP" "$PKI/ca.pem" enroll "$TOKEN" "$WORK/bad.csr" x venmo:@friend-x main "$WORK/x.pem"
expect_rc 1 "a garbage CSR is refused"
check "... as a bad certificate request" contains "$ERR" "bad certificate request"
enroll b "not-a-real-token"
expect_rc 1 "an unknown token is refused"
check "... as unknown" contains "$ERR" "unknown invite token"

enroll b "$TOKEN"
expect_rc 0 "node b takes the second use (none of the refusals took one)"
new_csr c
enroll c "$TOKEN"
expect_rc 1 "a third node finds the invite used up"
check "... and is told so" contains "$ERR" "used up"

ctl invite2 invite create main
TOKEN2=$(token_of "$OUT")
ctl invites2 invite list --json
ID2=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])[-1]["id"])' "$OUT")
ctl revoke invite revoke "$ID2"
enroll c "$TOKEN2"
expect_rc 1 "a revoked invite is refused"
check "... and the node is told it was revoked" contains "$ERR" "revoked"
check "the coordinator logged the refusals with their reason" grep -q "enrollment_refused" "$WORK/coordinator.log"

############ disable / enable ############
ctl disable node disable "$NODE_A"
expect_rc 0 "node disable"
run_cmd status-disabled "${NODE_CLIENT[@]}" 127.0.0.1 "$CP" "$PKI/ca.pem" status "$WORK/a.pem" "$WORK/a.key"
expect_rc 1 "a disabled node's certificate is refused"
check "... with the reason" contains "$ERR" "disabled by the host"
ctl show node show "$NODE_A" --json
check "node show says disabled" test "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["enabled"])' "$OUT")" = False
run_cmd status-b "${NODE_CLIENT[@]}" 127.0.0.1 "$CP" "$PKI/ca.pem" status "$WORK/b.pem" "$WORK/b.key"
expect_rc 0 "the other node is still served"
ctl enable node enable "$NODE_A"
run_cmd status-enabled "${NODE_CLIENT[@]}" 127.0.0.1 "$CP" "$PKI/ca.pem" status "$WORK/a.pem" "$WORK/a.key"
expect_rc 0 "once enabled again, node a is served"
