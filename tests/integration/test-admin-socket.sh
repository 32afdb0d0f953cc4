#!/usr/bin/env bash
# Local admin sockets (coordinator control, node control, validator work) admit only root, the
# daemon's own user and members of group `streamr` (checked with SO_PEERCRED), and streamrctl
# maps a refusal to exit 3 "permission denied" — both when file permissions stop the connect
# (socket mode 0660, group streamr) and when the daemon itself refuses the peer (socket 0666).
# Creates group `streamr` (if absent) and two throwaway system users; removes them at exit.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

[[ $(id -u) == 0 ]] || fail "must run as root (creates users, switches uid)"
for tool in setpriv useradd userdel groupadd groupdel; do
    command -v "$tool" >/dev/null || fail "$tool not installed"
done
getent passwd nobody >/dev/null || fail "user nobody missing"
NOGROUP=$(id -gn nobody)

chmod 0755 "$WORK"   # let unprivileged users reach the sockets below

if ! getent group streamr >/dev/null; then
    groupadd --system streamr
    on_cleanup "groupdel streamr"
    echo "note - created group streamr (removed at exit)"
fi
SUFFIX=$(printf '%04x' $((RANDOM % 65536)))
MEMBER="sit-member-$SUFFIX"   # member of group streamr (supplementary)
OWNER="sit-owner-$SUFFIX"     # runs a daemon itself; not in streamr
useradd --system --no-create-home --no-user-group --gid "$NOGROUP" --groups streamr --shell /usr/sbin/nologin "$MEMBER"
on_cleanup "userdel $MEMBER"
useradd --system --no-create-home --no-user-group --gid "$NOGROUP" --shell /usr/sbin/nologin "$OWNER"
on_cleanup "userdel $OWNER"

as_root() { "$@"; }
as_nobody() { setpriv --reuid=nobody --regid="$NOGROUP" --clear-groups "$@"; }
as_member() { setpriv --reuid="$MEMBER" --regid="$NOGROUP" --init-groups "$@"; }
as_streamr_gid() { setpriv --reuid=nobody --regid=streamr --clear-groups "$@"; }
as_owner() { setpriv --reuid="$OWNER" --regid="$NOGROUP" --init-groups "$@"; }

# status_as NAME WHO SOCKET — streamrctl status as WHO (root, nobody, member, streamr_gid, owner).
status_as() { run_cmd "$1" "as_$2" "$BIN/streamrctl" status --socket "$3"; }
# run_cmd runs its command through `timeout`, which cannot call shell functions: export them.
export -f as_root as_nobody as_member as_streamr_gid as_owner
export NOGROUP MEMBER OWNER
run_cmd() {
    local name=$1
    shift
    RC=0
    LAST_CMD="$*"
    timeout -k 5 20 bash -c '"$@"' _ "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" || RC=$?
    OUT=$(cat "$WORK/$name.out")
    ERR=$(cat "$WORK/$name.err")
}

PKI="$WORK/pki"
init_pki "$PKI"

# admin_checks NAME SOCKET — the access matrix for a daemon running as root.
admin_checks() {
    local name=$1 sock=$2
    check "$name: socket group is streamr (got $(stat -c %G "$sock"))" test "$(stat -c %G "$sock")" = streamr
    check "$name: socket mode is 0660 (got $(stat -c %a "$sock"))" test "$(stat -c %a "$sock")" = 660

    status_as "$name-root" root "$sock"
    expect_rc 0 "$name: root gets status"
    status_as "$name-member" member "$sock"
    expect_rc 0 "$name: a member of group streamr (supplementary) gets status"
    status_as "$name-gid" streamr_gid "$sock"
    expect_rc 0 "$name: a process whose gid is streamr gets status"

    status_as "$name-nobody-file" nobody "$sock"
    expect_rc 3 "$name: nobody is stopped by the socket's file permissions"
    check "$name: ... with 'permission denied' on stderr" icontains "$ERR" "permission denied"

    chmod 0666 "$sock"   # from here on only SO_PEERCRED stands between nobody and the daemon
    local before
    before=$(grep -ci 'permission' "$WORK/$name.log" || true)
    status_as "$name-nobody" nobody "$sock"
    expect_rc 3 "$name: nobody is refused by the daemon (SO_PEERCRED) with the socket at 0666"
    check "$name: ... the refusal came from the daemon (it logged it)" \
        wait_until 3 eval "(( \$(grep -ci 'permission' '$WORK/$name.log' || true) > $before ))"
    check "$name: ... with 'permission denied' on stderr" icontains "$ERR" "permission denied"
    check "$name: ... and nothing on stdout" test -z "$OUT"
    run_cmd "$name-nobody-json" as_nobody "$BIN/streamrctl" status --json --socket "$sock"
    expect_rc 3 "$name: nobody is refused with --json too"

    status_as "$name-root-again" root "$sock"
    expect_rc 0 "$name: the daemon still serves root after refusing nobody"
    status_as "$name-member-again" member "$sock"
    expect_rc 0 "$name: ... and the streamr member"
}

############ daemons running as root ############
pick_port CP
mkdir -p "$WORK/coord"
start_bg coordinator env STREAMR_LOG=stderr "$BIN/streamr-coordinator" --set listen_http=127.0.0.1:0 --set "pki_directory=$PKI" --set "state_directory=$WORK/state" \
    --set "listen_rpc=127.0.0.1:$CP" --set "control_socket=$WORK/coord/control.sock"
COORD=$PID
check "coordinator: control socket listening" wait_until 5 unix_listening "$WORK/coord/control.sock"
admin_checks coordinator "$WORK/coord/control.sock"

start_bg node env STREAMR_LOG=stderr "$BIN/streamr-node" --set "control_socket=$WORK/node/control.sock"
NODE=$PID
check "node: control socket listening" wait_until 5 unix_listening "$WORK/node/control.sock"
chmod 0755 "$WORK/node"
admin_checks node "$WORK/node/control.sock"

start_bg validator env STREAMR_LOG=stderr "$BIN/streamr-validator" --set "work_socket=$WORK/val/validator.sock" \
    --set "state_directory=$WORK/val-state" --set "coordinator_socket=$WORK/val-state/no-coordinator.sock"
VAL=$PID
check "validator: work socket listening" wait_until 5 unix_listening "$WORK/val/validator.sock"
chmod 0755 "$WORK/val"
admin_checks validator "$WORK/val/validator.sock"

for pid in "$COORD" "$NODE" "$VAL"; do
    stop_pid "$pid" 5 || fail "daemon $pid did not exit within 5 s of SIGTERM"
    check "daemon $pid exit 0 after SIGTERM (got $STOP_RC)" test "$STOP_RC" = 0
done

############ a node agent running as its own (unprivileged) user ############
mkdir -p "$WORK/own/run" "$WORK/own/state"
chown -R "$OWNER:$NOGROUP" "$WORK/own"
start_bg own-node env STREAMR_LOG=stderr setpriv --reuid="$OWNER" --regid="$NOGROUP" --init-groups \
    "$BIN/streamr-node" --set "control_socket=$WORK/own/run/control.sock" --set "state_directory=$WORK/own/state"
OWN=$PID
check "own-user node: control socket listening" wait_until 5 unix_listening "$WORK/own/run/control.sock"
check "own-user node: runs as $OWNER" test "$(stat -c %U "/proc/$OWN")" = "$OWNER"
status_as own-owner owner "$WORK/own/run/control.sock"
expect_rc 0 "own-user node: its own user gets status"
status_as own-root root "$WORK/own/run/control.sock"
expect_rc 0 "own-user node: root gets status"
chmod 0666 "$WORK/own/run/control.sock"
status_as own-nobody nobody "$WORK/own/run/control.sock"
expect_rc 3 "own-user node: nobody is refused (SO_PEERCRED)"
check "own-user node: ... with 'permission denied'" icontains "$ERR" "permission denied"
stop_pid "$OWN" 5 || fail "own-user node did not exit within 5 s of SIGTERM"
check "own-user node: exit 0 after SIGTERM (got $STOP_RC)" test "$STOP_RC" = 0
