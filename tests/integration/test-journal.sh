#!/usr/bin/env bash
# Logging to journald: with a working journal (a standalone systemd-journald is started when
# there is none, and stopped again), a daemon run without STREAMR_LOG writes structured entries:
# daemon_started (PRIORITY 6, CODE_FILE/LINE/FUNC, STREAMR_VERSION, SYSLOG_IDENTIFIER), then
# daemon_stopping and daemon_stopped on SIGTERM, exit 0. Configuration errors are logged at
# PRIORITY 2; STREAMR_LOG=stderr keeps logs out of the journal; with no journal, stderr is used.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

command -v journalctl >/dev/null || fail "journalctl not installed (package systemd)"
T0=$(($(date +%s) - 2))
PKI="$WORK/pki"
init_pki "$PKI"

# journal_json PID — the entries this process wrote since the test began, as JSON lines in
# $WORK/journal-PID.json.
journal_json() {
    journalctl --sync >/dev/null 2>&1 || true
    journalctl -o json --no-pager --since "@$T0" "_PID=$1" >"$WORK/journal-$1.json" 2>"$WORK/journalctl.err" || true
}

# journal_has PID EVENT — an entry with STREAMR_EVENT=EVENT from PID is in the journal.
journal_has() {
    journal_json "$1"
    python3 - "$WORK/journal-$1.json" "$2" <<'EOF'
import json, sys
path, event = sys.argv[1], sys.argv[2]
for line in open(path):
    line = line.strip()
    if line and json.loads(line).get("STREAMR_EVENT") == event:
        sys.exit(0)
sys.exit(1)
EOF
}

############ with no working journal: stderr ############
if ! journal_reachable; then
    pick_port NP0
    start_bg nojournal env -u STREAMR_LOG "$BIN/streamr-coordinator" --set listen_http=127.0.0.1:0 --set "pki_directory=$PKI" --set "state_directory=$WORK/state" \
        --set "listen_rpc=127.0.0.1:$NP0" --set "control_socket=$WORK/nojournal/control.sock"
    check "no journal: logs go to stderr" wait_until 5 grep -qs "event=daemon_started" "$WORK/nojournal.log"
    stop_pid "$PID" 5 || fail "no journal: did not exit within 5 s of SIGTERM"
    check "no journal: exit 0 (got $STOP_RC)" test "$STOP_RC" = 0

    [[ -x /lib/systemd/systemd-journald ]] || fail "no working journald and /lib/systemd/systemd-journald is missing"
    mkdir -p /run/systemd/journal
    start_bg journald /lib/systemd/systemd-journald
    JOURNALD=$PID
    check "started a standalone systemd-journald (pid $JOURNALD)" wait_until 5 journal_reachable
    # _cleanup stops it (by its pid) with the other processes this test started.
else
    echo "note - using the journald that is already running"
fi

############ coordinator logs to the journal ############
pick_port P
MARK="$WORK/journal-marker/control.sock"   # unique: appears in STREAMR_LISTENERS
start_bg coord env -u STREAMR_LOG "$BIN/streamr-coordinator" --set listen_http=127.0.0.1:0 --set "pki_directory=$PKI" --set "state_directory=$WORK/state" \
    --set "listen_rpc=127.0.0.1:$P" --set "control_socket=$MARK"
COORD=$PID
check "coordinator listens on :$P" wait_until 5 tcp_listening "$P"
check "daemon_started reached the journal (within 5 s)" wait_until 5 journal_has "$COORD" daemon_started

check "the daemon_started entry has the expected fields" python3 - "$WORK/journal-$COORD.json" "$MARK" "$VERSION" "$P" <<'EOF'
import json, sys
path, mark, version, port = sys.argv[1:]
entries = [json.loads(l) for l in open(path) if l.strip()]
started = [e for e in entries if e.get("STREAMR_EVENT") == "daemon_started"]
assert len(started) == 1, f"expected one daemon_started entry, got {len(started)}"
e = started[0]
def field(name):
    value = e.get(name)
    assert isinstance(value, str), f"{name} missing or not text: {value!r} (entry: {e})"
    return value
problems = []
def expect(cond, what):
    if not cond: problems.append(what)
expect(field("SYSLOG_IDENTIFIER") == "streamr-coordinator", f"SYSLOG_IDENTIFIER={e.get('SYSLOG_IDENTIFIER')}")
expect(field("PRIORITY") == "6", f"PRIORITY={e.get('PRIORITY')} (want 6, info)")
expect(field("CODE_FILE").endswith(".swift"), f"CODE_FILE={e.get('CODE_FILE')}")
expect(field("CODE_LINE").isdigit() and int(e["CODE_LINE"]) > 0, f"CODE_LINE={e.get('CODE_LINE')}")
expect(len(field("CODE_FUNC")) > 0, f"CODE_FUNC={e.get('CODE_FUNC')}")
expect(field("STREAMR_VERSION") == version, f"STREAMR_VERSION={e.get('STREAMR_VERSION')}")
msg = field("MESSAGE")
expect(msg.startswith(f"streamr-coordinator {version} started, listening on"), f"MESSAGE={msg!r}")
expect(mark in field("STREAMR_LISTENERS") and f"127.0.0.1:{port}" in e["STREAMR_LISTENERS"],
       f"STREAMR_LISTENERS={e.get('STREAMR_LISTENERS')!r}")
expect(e.get("_TRANSPORT") == "journal", f"_TRANSPORT={e.get('_TRANSPORT')} (want journal: native protocol)")
if problems:
    print("daemon_started entry problems: " + "; ".join(problems), file=sys.stderr)
    sys.exit(1)
EOF

run_cmd journal-match journalctl -o json --no-pager --since "@$T0" SYSLOG_IDENTIFIER=streamr-coordinator \
    STREAMR_EVENT=daemon_started "_PID=$COORD"
check "journalctl SYSLOG_IDENTIFIER=streamr-coordinator STREAMR_EVENT=daemon_started finds it" \
    contains "$OUT" "$MARK"
check "nothing was logged to stderr while the journal works" bash -c "! grep -q 'daemon_started' '$WORK/coord.log'"

stop_pid "$COORD" 5 || fail "coordinator did not exit within 5 s of SIGTERM"
check "coordinator exit status 0 after SIGTERM (got $STOP_RC)" test "$STOP_RC" = 0
check "daemon_stopped reached the journal" wait_until 5 journal_has "$COORD" daemon_stopped
check "daemon_stopping then daemon_stopped, both PRIORITY 6 with code location" \
    python3 - "$WORK/journal-$COORD.json" <<'EOF'
import json, sys
entries = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
events = [e.get("STREAMR_EVENT") for e in entries]
for name in ("daemon_started", "daemon_stopping", "daemon_stopped"):
    assert events.count(name) == 1, f"{name} appears {events.count(name)} times in {events}"
i_start, i_stopping, i_stopped = (events.index(n) for n in ("daemon_started", "daemon_stopping", "daemon_stopped"))
assert i_start < i_stopping < i_stopped, f"wrong order: {events}"
for e in entries:
    if e.get("STREAMR_EVENT") in ("daemon_stopping", "daemon_stopped"):
        assert e.get("PRIORITY") == "6", e
        assert e.get("SYSLOG_IDENTIFIER") == "streamr-coordinator", e
        assert e.get("CODE_FILE") and e.get("CODE_LINE") and e.get("CODE_FUNC"), e
EOF

############ a configuration error is logged at PRIORITY 2 (critical) ############
start_bg badconf env -u STREAMR_LOG "$BIN/streamr-coordinator" --set listen_http=127.0.0.1:0 --set "pki_directory=$PKI" --set "state_directory=$WORK/state" \
    --set "listne_rpc=127.0.0.1:$P"
BAD=$PID
wait_until 5 eval "! _alive $BAD" || fail "a configuration error did not end the daemon within 5 s"
BAD_RC=0
wait "$BAD" || BAD_RC=$?
check "a configuration error exits non-zero (got $BAD_RC)" test "$BAD_RC" -ne 0
check "config_error reached the journal" wait_until 5 journal_has "$BAD" config_error
check "the config_error entry is PRIORITY 2 and names the unknown setting" \
    python3 - "$WORK/journal-$BAD.json" <<'EOF'
import json, sys
entries = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
e = next(e for e in entries if e.get("STREAMR_EVENT") == "config_error")
assert e.get("PRIORITY") == "2", e
assert "listne_rpc" in e.get("MESSAGE", "") and "unknown setting" in e.get("MESSAGE", ""), e
EOF

############ STREAMR_LOG=stderr keeps a daemon off the journal ############
start_bg node-stderr env STREAMR_LOG=stderr "$BIN/streamr-node" --set "control_socket=$WORK/node/control.sock"
NODE=$PID
check "STREAMR_LOG=stderr: the node logs daemon_started on stderr" \
    wait_until 5 grep -qs "event=daemon_started" "$WORK/node-stderr.log"
stop_pid "$NODE" 5 || fail "node did not exit within 5 s of SIGTERM"
check "node exit status 0 (got $STOP_RC)" test "$STOP_RC" = 0
journal_json "$NODE"
check "STREAMR_LOG=stderr: nothing from the node in the journal" test ! -s "$WORK/journal-$NODE.json"
