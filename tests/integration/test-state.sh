#!/usr/bin/env bash
# Nothing half-done on disk or at the host:
# - joins are all or nothing: into a read-only directory, onto a full disk, under a path that is
#   a file: the join fails before enrolling, says why, and the invite keeps its use; a join
#   killed (kill -9) after enrolling but before confirming: confirmed when the node agent starts
#   in time, else undone by the host after enrollment_confirm_timeout (the use comes back, the
#   node is never listed, and its certificate is refused with "join again");
# - databases are checked: `streamrctl backup` copies the live coordinator database; 4 KiB of
#   junk anywhere in coordinator.db (or node.db) makes the daemon refuse to start, naming the
#   file and the way back; the README's restore brings everything back.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

PKI="$WORK/pki"
init_pki "$PKI"
pick_port CP; pick_port CH; pick_port PX; pick_port PX2
SOCK="$WORK/run/control.sock"
start_coordinator() {
    start_bg coordinator env STREAMR_LOG=stderr "$BIN/streamr-coordinator" --set "listen_http=127.0.0.1:$CH" --set "pki_directory=$PKI" \
        --set "state_directory=$WORK/state" --set "listen_rpc=127.0.0.1:$CP" --set "control_socket=$SOCK" --set public_host=127.0.0.1 \
        --set enrollment_confirm_timeout=10s
    COORD=$PID
    wait_until 15 unix_listening "$SOCK"
}
check "coordinator listening" start_coordinator
ctl() { "$BIN/streamrctl" "$@" --socket "$SOCK"; }
ctl stream create main >/dev/null 2>&1
LINE=$(ctl invite create main --uses 2 2>/dev/null)
uses_left() { ctl invite list --json | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["uses_left"])'; }
nodes_listed() { ctl nodes --json | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))'; }
join() {  # join NAME DIR [LINE]
    LAST_CMD="streamr-node join into $2"; ERR=""
    RC=0
    OUT=$(timeout -k 5 60 "$BIN/streamr-node" join "${3:-$LINE}" --name "$1" --payout "venmo:@friend-$1" --state-directory "$2" </dev/null 2>&1) || RC=$?
}
mounts=()
on_cleanup 'for m in "${mounts[@]}"; do umount -l "$m"; done'
mount_tmpfs() {  # mount_tmpfs DIR OPTIONS
    mkdir -p "$1"
    mount -t tmpfs -o "$2" streamr-test "$1" || fail "cannot mount a tmpfs on $1 (the test needs root and mount)"
    mounts+=("$1")
}

############ joins that cannot be stored ############
mount_tmpfs "$WORK/ro" ro,size=4m
join ro "$WORK/ro/node"
expect "a join into a read-only directory fails with exit 73 (got $RC)" test "$RC" = 73
expect "... saying what and that nothing was enrolled: ${OUT:0:200}" \
    eval '[[ "$OUT" == *"$WORK/ro/node"* && "$OUT" == *"nothing was enrolled and the invite is unused"* && "$OUT" != *CocoaError* ]]'
mount_tmpfs "$WORK/full" size=2m
dd if=/dev/zero of="$WORK/full/filler" bs=64k 2>/dev/null || true
join full "$WORK/full/node"
expect "a join onto a full disk fails with exit 73 (got $RC): ${OUT:0:200}" \
    eval '[[ $RC == 73 && "$OUT" == *"nothing was enrolled"* ]]'
rm -f "$WORK/full/filler"
dd if=/dev/zero of="$WORK/full/filler" bs=1k count=1400 2>/dev/null
join almost "$WORK/full/node"
expect "... and onto one with under 1 MiB free (got $RC): ${OUT:0:200}" \
    eval '[[ $RC == 73 && "$OUT" == *"KiB free"* ]]'
touch "$WORK/a-file"
join file "$WORK/a-file/node"
expect "a join under a path that is a file fails with exit 73 (got $RC): ${OUT:0:160}" eval '[[ $RC == 73 && "$OUT" != *CocoaError* ]]'
expect "the invite still has both uses" test "$(uses_left)" = 2
expect "no node is listed" test "$(nodes_listed)" = 0

############ kill -9 between enrolling and confirming ############
# A proxy forwards the join's enrolment, then holds its confirmation connection silent: the
# join is killed while it waits, after it stored its files.
killed_join() {  # killed_join NAME DIR PROXY_PORT
    start_bg "proxy-$1" python3 "$IT_DIR/freeze-proxy.py" "$3" 127.0.0.1 "$CP" --first-only
    local proxy=$PID
    wait_until 10 tcp_listening "$3" || fail "proxy not listening"
    local line
    line=$(sed -E "s#(streamr://[^:/]+):[0-9]+#\\1:$3#" <<<"$LINE")
    start_bg "join-$1" "$BIN/streamr-node" join "$line" --name "$1" --payout "venmo:@friend-$1" --state-directory "$2"
    local joiner=$PID
    wait_until 30 grep -q held "$WORK/proxy-$1.log" || fail "the join never reached its confirmation ($(cat "$WORK/join-$1.log"))"
    kill -KILL "$joiner"
    stop_pid "$proxy" 5 || true
    # The node keeps the address of its join line: from now on the proxy just forwards.
    start_bg "proxy-$1-after" python3 "$IT_DIR/freeze-proxy.py" "$3" 127.0.0.1 "$CP"
    wait_until 10 tcp_listening "$3" || fail "proxy not listening again"
}
killed_join one "$WORK/node-one" "$PX"
expect "after a killed join the use is taken (pending)" test "$(uses_left)" = 1
expect "... and the pending node is not listed" test "$(nodes_listed)" = 0
check "... its files were stored" test -s "$WORK/node-one/node.pem"
pick_port NH
start_bg node-one env STREAMR_LOG=stderr "$BIN/streamr-node" --set "state_directory=$WORK/node-one" \
    --set "control_socket=$WORK/node-one/control.sock" --set "listen_http=127.0.0.1:$NH" --set "listen_rtmp=127.0.0.1:0"
NODE_ONE=$PID
expect "the node agent started in time confirms the join" wait_until 20 grep -q "event=enrollment_confirmed" "$WORK/coordinator.log"
expect "... and it is listed" test "$(nodes_listed)" = 1
stop_pid "$NODE_ONE" 10 || true

killed_join two "$WORK/node-two" "$PX2"
expect "a second killed join takes the last use" test "$(uses_left)" = 0
expect "never confirmed, it is undone after enrollment_confirm_timeout (10 s) and the use comes back" \
    wait_until 30 eval '[[ "$(uses_left)" == 1 ]]'
expect "... the journal says so" grep -q "never confirmed its join; undone, and its invite use given back" "$WORK/coordinator.log"
expect "... it was never listed" test "$(nodes_listed)" = 1
pick_port NH2
start_bg node-two env STREAMR_LOG=stderr "$BIN/streamr-node" --set "state_directory=$WORK/node-two" \
    --set "control_socket=$WORK/node-two/control.sock" --set "listen_http=127.0.0.1:$NH2" --set "listen_rtmp=127.0.0.1:0"
NODE_TWO=$PID
expect "its node agent, started too late, is told to join again" wait_until 30 grep -q "is not enrolled here; join again" "$WORK/node-two.log"
stop_pid "$NODE_TWO" 10 || true
join again "$WORK/node-again"
expect "the use that came back works (exit $RC)" test "$RC" = 0

############ databases are checked ############
NODES_BEFORE=$(nodes_listed)
ctl backup "$WORK/backup.db" >"$WORK/backup.out" 2>&1 || true
expect "streamrctl backup copies the running coordinator's database" eval '[[ -s "$WORK/backup.db" ]]'
expect "... and the copy is sound" eval '[[ "$(sqlite3 "$WORK/backup.db" "PRAGMA integrity_check")" == ok ]]'
expect "... and a second backup onto it is refused (nothing overwritten)" eval '! ctl backup "$WORK/backup.db" 2>/dev/null'
stop_pid "$COORD" 10 || fail "coordinator did not stop"
DB="$WORK/state/coordinator.db"
PAGES=$(( $(stat -c %s "$WORK/backup.db") / 4096 ))
check "the database has pages to damage ($PAGES)" test "$PAGES" -ge 8
for where in quarter middle three-quarters unaligned-middle; do
    cp "$WORK/backup.db" "$DB"; rm -f "$DB-wal" "$DB-shm"
    case $where in
        quarter) offset=$((PAGES / 4 * 4096)) ;;
        middle) offset=$((PAGES / 2 * 4096)) ;;
        three-quarters) offset=$((PAGES * 3 / 4 * 4096)) ;;
        unaligned-middle) offset=$((PAGES * 4096 / 2 + 1234)) ;;
    esac
    python3 -c 'import random, sys; f = open(sys.argv[1], "r+b"); f.seek(int(sys.argv[2])); f.write(random.Random(7).randbytes(4096))' \
        "$DB" "$offset"
    run_cmd "damaged-$where" env STREAMR_LOG=stderr "$BIN/streamr-coordinator" --set "listen_http=127.0.0.1:$CH" --set "pki_directory=$PKI" \
        --set "state_directory=$WORK/state" --set "listen_rpc=127.0.0.1:$CP" --set "control_socket=$SOCK"
    expect "4 KiB of junk at the $where of coordinator.db: the coordinator refuses to start (exit $RC)" \
        eval '[[ $RC != 0 && $RC != 124 ]]'
    expect "... naming the file, the damage and the way back" \
        eval '[[ "$ERR" == *"$DB is damaged"* && "$ERR" == *"restore the last backup"* ]]'
done
# The README's restore: stop, put the copy in place (no -wal/-shm of the damaged file), start.
mv "$DB" "$DB.damaged"; rm -f "$DB-wal" "$DB-shm"
cp "$WORK/backup.db" "$DB"
check "restored from the backup, the coordinator starts" start_coordinator
expect "... with its streams" eval 'ctl stream list --json | grep -q "\"main\""'
expect "... and its nodes ($NODES_BEFORE)" test "$(nodes_listed)" = "$NODES_BEFORE"

# The node agent's database too.
stop_pid "$NODE_ONE" 5 || true
NDB="$WORK/node-one/node.db"
check "the node agent made its database" test -s "$NDB"
sqlite3 "$NDB" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null  # as a clean close leaves it: all in the file
NPAGES=$(( $(stat -c %s "$NDB") / 4096 ))
python3 -c 'import sys; f = open(sys.argv[1], "r+b"); f.seek(int(sys.argv[2])); f.write(bytes(range(256)) * 16)' \
    "$NDB" $(( (NPAGES / 2 > 1 ? NPAGES / 2 : 1) * 4096 ))
run_cmd node-damaged env STREAMR_LOG=stderr "$BIN/streamr-node" --set "state_directory=$WORK/node-one" \
    --set "control_socket=$WORK/node-one/control.sock" --set "listen_http=127.0.0.1:$NH" --set "listen_rtmp=127.0.0.1:0"
expect "a damaged node.db: the node agent refuses to start, naming it (exit $RC)" \
    eval '[[ $RC != 0 && $RC != 124 && "$ERR" == *"$NDB is damaged"* ]]'
