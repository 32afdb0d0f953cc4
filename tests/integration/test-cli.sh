#!/usr/bin/env bash
# Command-line behaviour of all five executables: --help, --version, usage errors (exit 64),
# streamrctl's "daemon not running" (exit 2), and configuration errors that name their cause.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

for b in "${BINARIES[@]}"; do
    run_cmd "$b-help" "$BIN/$b" --help
    expect_rc 0 "$b --help"
    check "$b --help mentions its name" contains "$OUT" "$b"
    check "$b --help shows usage" contains "$OUT" "USAGE:"

    run_cmd "$b-version" "$BIN/$b" --version
    expect_rc 0 "$b --version"
    check "$b --version prints $VERSION (got '$OUT')" test "$OUT" = "$VERSION"

    run_cmd "$b-badopt" "$BIN/$b" --no-such-option
    expect_rc 64 "$b --no-such-option is a usage error"
    check "$b names the bad option on stderr" contains "$ERR" "--no-such-option"
    check "$b prints nothing on stdout for a usage error" test -z "$OUT"
done

run_cmd init-pki-help "$BIN/streamr-coordinator" init-pki --help
expect_rc 0 "streamr-coordinator init-pki --help"
check "init-pki --help mentions --directory" contains "$OUT" "--directory"

# streamrctl: usage errors.
run_cmd ctl-status-badopt "$BIN/streamrctl" status --bogus
expect_rc 64 "streamrctl status --bogus"
check "streamrctl names the bad option" contains "$ERR" "--bogus"
run_cmd ctl-badcmd "$BIN/streamrctl" no-such-command
expect_rc 64 "streamrctl no-such-command"
run_cmd ctl-nosockval "$BIN/streamrctl" status --socket
expect_rc 64 "streamrctl status --socket (missing value)"

# streamrctl: daemon not running.
run_cmd ctl-nonexistent "$BIN/streamrctl" status --socket /nonexistent
expect_rc 2 "streamrctl status --socket /nonexistent"
check "the message names the socket path" contains "$ERR" "/nonexistent"
check "the message says no daemon is running" grep -Eqi 'not running|no (streamr )?daemon|no socket' <<<"$ERR"
check "the message is prefixed streamrctl:" contains "$ERR" "streamrctl:"
check "nothing on stdout" test -z "$OUT"

run_cmd ctl-nonexistent-json "$BIN/streamrctl" status --socket /nonexistent --json
expect_rc 2 "streamrctl status --json --socket /nonexistent"

# A stale socket file (bound, then its owner went away): not running, exit 2.
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.close()' "$WORK/stale.sock"
run_cmd ctl-stale "$BIN/streamrctl" status --socket "$WORK/stale.sock"
expect_rc 2 "streamrctl status on a stale socket with no listener"
check "the message names the stale socket" contains "$ERR" "$WORK/stale.sock"

# Configuration errors: a missing --config file is named; typos get a did-you-mean hint.
run_cmd coord-config-nonexistent env STREAMR_LOG=stderr "$BIN/streamr-coordinator" --config /nonexistent
check "streamr-coordinator --config /nonexistent fails (exit $RC)" test "$RC" -ne 0 -a "$RC" -ne 124
check "... with a message naming /nonexistent" grep -q "/nonexistent" "$WORK/coord-config-nonexistent.err"
declare -A TYPO=([streamr-coordinator]=listne_rpc [streamr-ingest]=listen_subscrib
                 [streamr-validator]=work_sockt [streamr-node]=contrl_socket)
declare -A RIGHT=([streamr-coordinator]=listen_rpc [streamr-ingest]=listen_subscribe
                  [streamr-validator]=work_socket [streamr-node]=control_socket)
for d in "${DAEMONS[@]}"; do
    missing="/nonexistent/streamr-it-$$/$d.conf"
    run_cmd "$d-missing-config" env STREAMR_LOG=stderr "$BIN/$d" --config "$missing"
    check "$d --config $missing fails (exit $RC)" test "$RC" -ne 0
    check "$d names the missing file" contains "$ERR" "$missing"

    run_cmd "$d-typo" env STREAMR_LOG=stderr "$BIN/$d" --set "${TYPO[$d]}=127.0.0.1:1"
    check "$d --set ${TYPO[$d]}=... fails (exit $RC)" test "$RC" -ne 0
    check "$d says unknown setting" contains "$ERR" "unknown setting"
    check "$d names the bad key" contains "$ERR" "${TYPO[$d]}"
    check "$d hints did you mean ${RIGHT[$d]}" contains "$ERR" "did you mean \`${RIGHT[$d]}\`"

    run_cmd "$d-set-noeq" "$BIN/$d" --set listen_rpc
    expect_rc 64 "$d --set without key=value"

    run_cmd "$d-loglevel" "$BIN/$d" --log-level loud
    expect_rc 64 "$d --log-level loud"
done

# The same typo in a configuration file is reported with the file and line.
conf="$WORK/coordinator.conf"
printf '# test configuration\n\nlistne_rpc = 127.0.0.1:1\n' >"$conf"
run_cmd coord-conf-typo env STREAMR_LOG=stderr "$BIN/streamr-coordinator" --config "$conf"
check "a typo in a config file fails (exit $RC)" test "$RC" -ne 0
check "the error names file:line ($conf:3)" contains "$ERR" "$conf:3"
check "the error hints listen_rpc" contains "$ERR" "did you mean \`listen_rpc\`"

# A daemon without its PKI fails with a message naming the missing file and the fix.
run_cmd coord-nopki env STREAMR_LOG=stderr "$BIN/streamr-coordinator" \
    --set "pki_directory=$WORK/no-pki" --set listen_rpc=127.0.0.1:1 --set "control_socket=$WORK/c.sock"
check "coordinator without PKI fails (exit $RC)" test "$RC" -ne 0
check "the error names the PKI directory" contains "$ERR" "$WORK/no-pki/"
check "the error suggests init-pki" contains "$ERR" "init-pki"
check "no control socket was left behind" test ! -e "$WORK/c.sock"

# init-pki is idempotent and prints the CA pin.
run_cmd init-pki-1 "$BIN/streamr-coordinator" init-pki --directory "$WORK/pki"
expect_rc 0 "init-pki creates the PKI"
pin1=$(grep -oE 'CA pin: sha256:[0-9a-f]{64}' <<<"$OUT" || true)
check "init-pki prints 'CA pin: sha256:<64 hex>'" test -n "$pin1"
sum1=$(cat "$WORK/pki/ca.pem" "$WORK/pki/ca.key" "$WORK/pki/server.pem" "$WORK/pki/server.key" | sha256sum)
run_cmd init-pki-2 "$BIN/streamr-coordinator" init-pki --directory "$WORK/pki"
expect_rc 0 "init-pki again"
pin2=$(grep -oE 'CA pin: sha256:[0-9a-f]{64}' <<<"$OUT" || true)
check "init-pki again prints the same pin" test "$pin1" = "$pin2"
sum2=$(cat "$WORK/pki/ca.pem" "$WORK/pki/ca.key" "$WORK/pki/server.pem" "$WORK/pki/server.key" | sha256sum)
check "init-pki again leaves the files unchanged" test "$sum1" = "$sum2"
check "ca.key is private (0600)" test "$(stat -c %a "$WORK/pki/ca.key")" = 600
check "server.key is private (0600)" test "$(stat -c %a "$WORK/pki/server.key")" = 600
expected_pin="sha256:$(openssl x509 -in "$WORK/pki/ca.pem" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1)"
check "the pin is the SHA-256 of the CA's public key ($expected_pin)" test "$pin1" = "CA pin: $expected_pin"
