#!/usr/bin/env bash
# streamrctl stream/invite/node against a real coordinator over its control socket: keys shown
# once (with the OBS URL) and stored only hashed, join lines, --json on listings and shows,
# clear errors with exit 1, exit 2 when the coordinator is down, and state kept across a restart.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

command -v sqlite3 >/dev/null || fail "sqlite3 (the CLI) not installed: apt install sqlite3"

PKI="$WORK/pki"
init_pki "$PKI"
PIN=$("$BIN/streamr-coordinator" init-pki --directory "$PKI" | sed -n 's/^CA pin: //p')
pick_port CP
SOCK="$WORK/run/control.sock"
DB="$WORK/state/coordinator.db"

start_coordinator() {
    start_bg coordinator env STREAMR_LOG=stderr "$BIN/streamr-coordinator" --set listen_http=127.0.0.1:0 --set "pki_directory=$PKI" \
        --set "state_directory=$WORK/state" --set "listen_rpc=127.0.0.1:$CP" --set "control_socket=$SOCK" \
        --set "public_host=streams.example"
    COORD=$PID
    check "coordinator: control socket listening" wait_until 5 unix_listening "$SOCK"
}
ctl() { local name=$1; shift; run_cmd "$name" "$BIN/streamrctl" "$@" --socket "$SOCK"; }
# json_get JSON PYTHON-EXPRESSION — evaluates the expression with `j` bound to the parsed JSON.
json_get() { python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"; }

start_coordinator

############ streams ############
ctl create stream create main --pool 1000.00 --per 1h --currency usd
expect_rc 0 "stream create"
KEY=$(sed -n 's/^ *Stream Key: *//p' <<<"$OUT")
check "the key is printed (got '$KEY')" test "${#KEY}" = 43
check "the RTMP URL uses public_host and port 1935" contains "$OUT" "rtmp://streams.example:1935/live/$KEY"
check "OBS's server field is printed" contains "$OUT" "Server:      rtmp://streams.example:1935/live"
check "the output says the key is shown once" icontains "$OUT" "shown only this once"
check "the pool is confirmed" contains "$OUT" "1000.00 USD per 1h"
check "the database stores the key's SHA-256" \
    test "$(sqlite3 "$DB" "SELECT key_hash FROM streams WHERE name = 'main'")" = "$(printf %s "$KEY" | sha256sum | cut -d' ' -f1)"
check "the key itself is nowhere in the database files" eval "! grep -rqF '$KEY' '$WORK/state'"

ctl create-json stream create second --json
expect_rc 0 "stream create --json"
check "... gives name, key and rtmp_url" test "$(json_get "$OUT" 'j["rtmp_url"].endswith(j["key"]) and j["name"]')" = second

ctl dup stream create main
expect_rc 1 "a duplicate stream name is refused"
check "... saying so" contains "$ERR" "a stream named \`main\` already exists"
ctl bad-amount stream create other --pool 1,000
expect_rc 1 "a bad amount is refused"
check "... with how to write one" contains "$ERR" "bad amount \`1,000\`: use digits with at most 2 decimals, e.g. 1000.00"
ctl bad-name stream create "Bad Name"
expect_rc 1 "a bad stream name is refused"
check "... naming the rules" contains "$ERR" "lower-case letters"
ctl bad-per stream create other --per 1w
expect_rc 1 "a bad period is refused"
ctl usage stream create
expect_rc 64 "stream create without a name is a usage error"

ctl list stream list
expect_rc 0 "stream list"
check "the table has a header" contains "$OUT" "NAME"
check "... and the stream" grep -Eq '^main +offline +1000.00 +USD +1h +0 ' <<<"$OUT"
check "the key is not listed" eval "! contains '$OUT' '$KEY'"
ctl list-json stream list --json
expect_rc 0 "stream list --json"
check "... is a JSON array of both streams" test "$(json_get "$OUT" '",".join(s["name"] for s in j)')" = "main,second"
ctl show stream show main --json
expect_rc 0 "stream show --json"
check "... gives the pool" test "$(json_get "$OUT" 'j["pool"] + " " + j["currency"] + " " + j["per"]')" = "1000.00 USD 1h"
ctl show-human stream show main
check "stream show prints key: value lines" grep -q '^state: *offline' <<<"$OUT"
ctl unknown stream show nope
expect_rc 1 "an unknown stream"
check "... is named" contains "$ERR" "unknown stream \`nope\`"

ctl rotate stream rotate-key main
expect_rc 0 "stream rotate-key"
NEWKEY=$(sed -n 's/^ *Stream Key: *//p' <<<"$OUT")
check "a new key is printed" test -n "$NEWKEY" -a "$NEWKEY" != "$KEY"
check "the stored hash is the new key's" \
    test "$(sqlite3 "$DB" "SELECT key_hash FROM streams WHERE name = 'main'")" = "$(printf %s "$NEWKEY" | sha256sum | cut -d' ' -f1)"

############ invites ############
ctl invite invite create main --uses 2 --expires 2h
expect_rc 0 "invite create"
check "stdout is exactly one line" test "$(wc -l <<<"$OUT")" = 1
check "... the join command for host, rpc port, stream and CA pin" \
    grep -Eq "^streamr-node join 'streamr://streams\.example:$CP/main\?token=[A-Za-z0-9_-]{43}&ca=$PIN'\$" <<<"$OUT"
TOKEN=$(sed -E 's/.*token=([^&]*)&.*/\1/' <<<"$OUT")
check "the summary is on stderr" contains "$ERR" "2 use(s), expires in 2h"
check "the token itself is not stored" eval "! grep -rqF '$TOKEN' '$WORK/state'"
ctl invite-none invite create nope
expect_rc 1 "an invite for an unknown stream is refused"
ctl invite-uses invite create main --uses 0
expect_rc 1 "zero uses are refused"
ctl invites invite list --json
expect_rc 0 "invite list --json"
check "... shows it active with 2 uses (as JSON numbers)" test "$(json_get "$OUT" 'j[0]["state"] + " " + str(j[0]["uses_left"]) + "/" + str(j[0]["max_uses"]) + " " + type(j[0]["uses_left"]).__name__')" = "active 2/2 int"
check "... without its token" eval "! contains '$OUT' '$TOKEN'"
ID=$(json_get "$OUT" 'j[0]["id"]')
ctl revoke invite revoke "$ID"
expect_rc 0 "invite revoke"
ctl invites-after invite list
check "the invite is now revoked" grep -Eq "^$ID +main +2 +2 .* revoked " <<<"$OUT"
ctl revoke-unknown invite revoke 999
expect_rc 1 "revoking an unknown invite"
check "... says so" contains "$ERR" "unknown invite 999"

############ nodes ############
ctl nodes node list --json
expect_rc 0 "node list --json"
check "... is an empty array" test "$OUT" = "[]"
ctl nodes-human node list
check "an empty node list says how to get nodes" contains "$OUT" "invite create"
ctl node-unknown node show node-000000000000
expect_rc 1 "an unknown node"
check "... is named" contains "$ERR" "unknown node \`node-000000000000\`"
ctl node-disable node disable node-000000000000
expect_rc 1 "disabling an unknown node"

############ restart: nothing acknowledged is lost ############
stop_pid "$COORD" 5 || fail "coordinator did not stop"
ctl down stream list
expect_rc 2 "with the coordinator stopped, streamrctl exits 2"
check "... saying it is not reachable" grep -Eqi 'not running|cannot reach|no socket' <<<"$ERR"
start_coordinator
ctl list-again stream list --json
check "both streams survive a restart" test "$(json_get "$OUT" '",".join(s["name"] for s in j)')" = "main,second"
ctl invites-again invite list --json
check "the revoked invite survives too" test "$(json_get "$OUT" 'j[0]["state"]')" = revoked

ctl delete stream delete main
expect_rc 0 "stream delete"
ctl delete-again stream delete main
expect_rc 1 "deleting it again"
ctl list-final stream list --json
check "only the second stream is left" test "$(json_get "$OUT" '",".join(s["name"] for s in j)')" = second
ctl invites-final invite list --json
check "the deleted stream's invites went with it" test "$OUT" = "[]"
