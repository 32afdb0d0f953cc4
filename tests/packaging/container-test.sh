#!/bin/bash
# Booted-container test of the Streamr Debian packages (run as root).
#
# Debootstraps a Debian 12 (minbase + systemd) root once and caches it in
# .build-container/ (git-ignored). For each package it copies that root, lets
# apt download the package's Debian dependencies (non-booted nspawn, host
# network), boots the copy with systemd as PID 1 on a private network (so the
# test never collides with ports in use on this machine), and then, inside,
# through nsenter, does what a user does: `apt install` the .debs on the running
# system, uses the sockets and streamrctl, upgrades, removes and purges.
#
#   tests/packaging/container-test.sh [host|node|both]...   (default: all three)
#
# host: streamr-host + streamrctl; node: streamr-node + streamrctl; both: the
# two on one machine (shared user and /etc/streamr survive purging one).
#
# Environment: OUT (folder with the .debs, default out/), STREAMR_CONTAINER_CACHE
# (default .build-container), STREAMR_DEBIAN_MIRROR (default: this machine's
# apt source for bookworm), STREAMR_REFRESH_ROOT=1 (rebuild the cached root).
#
# Prints PASS/FAIL per check and "N passed, M failed"; exits non-zero on any
# failure. Every wait is bounded. Containers and their roots are removed on exit,
# whatever happens.
set -uo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${OUT:-$REPO/out}
CACHE=${STREAMR_CONTAINER_CACHE:-$REPO/.build-container}
SUITE=bookworm
BASE=$CACHE/$SUITE-base
SCENARIOS=("$@")
[ ${#SCENARIOS[@]} -eq 0 ] && SCENARIOS=(host node both)

PASSED=0
FAILED=0
T0=$SECONDS
STAGE_T=$SECONDS
CURRENT=""          # scenario being run (for diagnostics)
DIAGNOSED=""
. "$REPO/tests/packaging/containers.sh"
on_fail() { [ -n "$CURRENT" ] && diagnose "$CURRENT"; }

if [ "$(id -u)" != 0 ]; then echo "container-test: must run as root" >&2; exit 2; fi
for tool in debootstrap systemd-nspawn nsenter dpkg-deb flock; do
    command -v "$tool" >/dev/null || { echo "container-test: missing $tool (make deps)" >&2; exit 2; }
done

# ---------------------------------------------------------------- packages
latest() { ls -t "$OUT"/"$1"_*.deb 2>/dev/null | head -n 1; }
DEB_HOST=$(latest streamr-host); DEB_NODE=$(latest streamr-node); DEB_CTL=$(latest streamrctl)
for d in DEB_HOST DEB_NODE DEB_CTL; do
    [ -n "${!d}" ] || { echo "container-test: no .deb for ${d#DEB_} in $OUT (make deb)" >&2; exit 2; }
done
VERSION=$(dpkg-deb -f "$DEB_HOST" Version)
UPSTREAM=${VERSION%-*}

mkdir -p "$CACHE"
WORK=$(mktemp -d "$CACHE/run.XXXXXX")

# ---------------------------------------------------------------- cleanup
cleanup() {
    local rc=$? name
    trap - EXIT INT TERM
    for name in "${!NSPAWN_PID[@]}"; do stop_container "$name"; done
    [ -n "${WORK:-}" ] && [ -d "$WORK" ] && rm -rf --one-file-system "$WORK"
    [ -n "${STAGE_NAME:-}" ] && log "== ${STAGE_NAME}: $((SECONDS - STAGE_T))s"
    log ""
    log "container-test: $PASSED passed, $FAILED failed ($((SECONDS - T0))s)"
    if [ $FAILED -gt 0 ] || [ $rc -ne 0 ]; then exit 1; fi
    exit 0
}
trap cleanup EXIT
trap 'log "interrupted"; FAILED=$((FAILED + 1)); exit 1' INT TERM

# ---------------------------------------------------------------- containers
new_root() {
    local name=$1 root=$WORK/$1
    cp -a --reflink=auto "$BASE" "$root" || die "cannot copy $BASE"
    mkdir -p "$root/root/debs" "$root/root/upgrade"
    cp "$DEB_HOST" "$DEB_NODE" "$DEB_CTL" "$root/root/debs/"
    ROOT_OF[$name]=$root
}

# Command inside the booted container of the current scenario.
ct() { ctn "$CURRENT" "$@"; }
ct_sh() { ct /bin/sh -c "$1"; }
ct_long() { CT_TIMEOUT=300 ct "$@"; }

diagnose() {
    local name=$1
    case " $DIAGNOSED " in *" $name "*) return ;; esac
    [ -n "${INIT_PID[$name]:-}" ] || return
    DIAGNOSED="$DIAGNOSED $name"
    log "    --- diagnostics ($name): failed units and recent streamr journal ---"
    ct systemctl --failed --no-legend 2>&1 | sed 's/^/    | /'
    ct journalctl --no-pager -n 40 -u 'streamr*' 2>&1 | sed 's/^/    | /'
    log "    ---"
}

# ---------------------------------------------------------------- helpers (inside)
is_active() { ct systemctl is-active --quiet "$1"; }
is_inactive() { ! ct systemctl is-active --quiet "$1"; }
enabled_state() { ct systemctl is-enabled "$1" 2>/dev/null; }
expect_enabled_state() { local s; s=$(enabled_state "$1"); [ "$s" = "$2" ] || { echo "$1 is-enabled: '$s', expected '$2'"; return 1; }; }
tcp_listening() { # PORT: a LISTEN entry in /proc/net/tcp{,6} of the container's network
    ct awk -v p="$(printf '%04X' "$1")" 'FNR > 1 { split($2, a, ":"); if (a[2] == p && $4 == "0A") f = 1 } END { exit !f }' \
        /proc/net/tcp /proc/net/tcp6
}
unix_listening() { # PATH: a listening Unix socket bound there
    ct awk -v p="$1" '$8 == p && $4 == "00010000" { f = 1 } END { exit !f }' /proc/net/unix
}
tcp_connect() { # PORT: open and close a connection (triggers socket activation)
    ct bash -c "exec 3<>/dev/tcp/127.0.0.1/$1 && exec 3>&-"
}
http_healthz() { # PORT: GET /healthz over bash's /dev/tcp (no curl in a minimal Debian)
    local answer
    answer=$(ct timeout 20 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1; printf 'GET /healthz HTTP/1.0\r\n\r\n' >&3; cat <&3")
    [[ "$answer" == "HTTP/1.0 200 OK"* && "$answer" == *$'\r\n\r\nok' ]] || { echo "answer: $answer"; return 1; }
}
file_mode() { ct stat -c '%a %U:%G' "$1"; }
expect_mode() { local m; m=$(file_mode "$1"); [ "$m" = "$2" ] || { echo "$1: '$m', expected '$2'"; return 1; }; }
no_path() { ! ct test -e "$1" || { echo "$1 still exists"; return 1; }; }
journal_has_start() { # UNIT BINARY
    ct journalctl --no-pager -u "$1" -o json | grep '"STREAMR_EVENT":"daemon_started"' | grep -q "\"SYSLOG_IDENTIFIER\":\"$2\""
}
# The listeners a daemon reported in its latest start-up entry (STREAMR_LISTENERS).
listeners() { ct journalctl --no-pager -u "$1" STREAMR_EVENT=daemon_started -n 1 -o cat --output-fields=STREAMR_LISTENERS; }
# UNIT NAME...: the daemon took each named socket from systemd and bound nothing itself.
uses_inherited() {
    local unit=$1 got name; shift
    got=$(listeners "$unit")
    for name in "$@"; do
        case $got in *"systemd socket $name "*) ;; *) echo "$unit did not take socket '$name': listeners: $got"; return 1 ;; esac
    done
    case $got in *0.0.0.0*|*"[::]"*|*" /run/"*|"/run/"*) echo "$unit bound its own listener: $got"; return 1 ;; esac
}
restarts_zero() { local n; n=$(ct systemctl show -P NRestarts "$1"); [ "$n" = 0 ] || { echo "$1 NRestarts=$n"; return 1; }; }
status_ok() { # [streamrctl args]: streamrctl status as root, prints the output
    local out; out=$(ct streamrctl status "$@") || return 1
    printf '%s\n' "$out"
}
security_score() { # UNIT: prints the exposure score
    ct systemd-analyze security --no-pager "$1" 2>/dev/null | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p'
}
check_security() {
    local unit=$1 score
    score=$(security_score "$unit")
    if [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'; then
        pass "systemd-analyze security $unit: $score (<= 2.0)"
    else
        ct systemd-analyze security --no-pager "$unit" 2>&1 | grep '✗' | sed 's/^/    | /'
        fail "systemd-analyze security $unit: ${score:-no score} (must be <= 2.0)"
    fi
}
no_streamr_leftovers() {
    local left
    left=$(ct find / -xdev \( -path /proc -o -path /sys -o -path /root \) -prune -o -name '*streamr*' -print)
    [ -z "$left" ] || { echo "left behind:"; printf '%s\n' "$left"; return 1; }
}
no_streamr_units() {
    local left
    left=$(ct systemctl list-unit-files --no-legend 'streamr*')
    [ -z "$left" ] || { printf '%s\n' "$left"; return 1; }
}
no_streamr_user() {
    ! ct getent passwd streamr >/dev/null && ! ct getent group streamr >/dev/null ||
        { echo "user or group streamr still exists"; return 1; }
}
runs_as_streamr() { # UNIT: the main process's real and effective uid are streamr's
    ct_sh "pid=\$(systemctl show -P MainPID $1); [ \"\$pid\" -gt 0 ] && uid=\$(id -u streamr) &&
           awk -v u=\"\$uid\" '/^Uid:/ { exit !(\$2 == u && \$3 == u) }' /proc/\$pid/status"
}
as_user() { # USER COMMAND...: run as USER with USER's groups (no PAM, no login)
    local user=$1; shift
    ct setpriv --reuid="$(ct id -u "$user")" --regid="$(ct id -g "$user")" --init-groups "$@"
}
as_user_exit() { # CODE USER COMMAND...: succeeds when the command exits with CODE
    local code=$1 rc; shift
    as_user "$@"; rc=$?
    [ "$rc" = "$code" ] || { echo "exit status $rc, expected $code"; return 1; }
}
expect_exit() { # CODE TEXT COMMAND...: COMMAND exits with CODE and prints TEXT (stdout or stderr)
    local code=$1 text=$2 out rc; shift 2
    out=$("$@" 2>&1); rc=$?
    printf '%s\n' "$out"
    [ "$rc" = "$code" ] || { echo "exit status $rc, expected $code"; return 1; }
    case $out in *"$text"*) ;; *) echo "output lacks: $text"; return 1 ;; esac
}
package_state() { ct dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null; }

# A copy of a .deb with a higher version (an "upgrade" to install over the first).
bump_deb() { # IN OUTDIR NEWVERSION
    local in=$1 outdir=$2 new=$3 tmp
    tmp=$(mktemp -d "$WORK/bump.XXXXXX")
    dpkg-deb -R "$in" "$tmp/pkg" || return 1
    sed -i -e "s/^Version: .*/Version: $new/" -e "s/(= $VERSION)/(= $new)/g" "$tmp/pkg/DEBIAN/control"
    # Uncompressed: recompressing ~200 MB of binaries would only slow the test down.
    dpkg-deb --root-owner-group -Znone -b "$tmp/pkg" "$outdir/" >/dev/null || return 1
    rm -rf "$tmp"
}

# Downloads the dependencies of the .debs into the root's apt cache (host
# network, through the cache shared between runs), so that the install in the booted,
# network-less container is the real `apt install ./x.deb` with dependencies from Debian.
predownload() { # NAME DEBS...
    local name=$1; shift
    predownload_into "${ROOT_OF[$name]}" "$WORK/$name.download.log" "$@"
}

apt_install_logged() { # LOG DEBS...: apt_install, its output also kept in LOG inside the container
    local log=$1; shift
    CT_TIMEOUT=300 ct /bin/sh -c 'log=$1; shift; apt-get install -y -q "$@" >"$log" 2>&1; rc=$?; cat "$log"; exit $rc' sh "$log" "$@"
}
# completes COMMAND WORDS... EXPECTED...: bash completion (the packaged script, sourced)
# offers every EXPECTED word for the command line "COMMAND WORDS... <tab>".
completes() {
    local cmd=$1 line=$2; shift 2
    ct bash -c 'cmd=$1; line=$2; shift 2
        . /usr/share/bash-completion/completions/$cmd || exit 1
        fn=$(complete -p "$cmd" | sed -n "s/.*-F \([^ ]*\).*/\1/p"); [ -n "$fn" ] || { echo "no completion for $cmd"; exit 1; }
        read -r -a COMP_WORDS <<<"$line"; COMP_WORDS+=(""); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        COMP_LINE="$line "; COMP_POINT=${#COMP_LINE}
        "$fn" "$cmd" "" "${COMP_WORDS[COMP_CWORD-1]}"
        for w in "$@"; do printf "%s\n" "${COMPREPLY[@]}" | grep -qx -- "$w" || { echo "no $w in: ${COMPREPLY[*]}"; exit 1; }; done' \
        sh "$cmd" "$cmd${line:+ $line}" "$@"
}
apt_install() { # DEBS...: apt on the running system; the container has no network,
    # so the dependencies come from the apt cache filled by predownload. (Not
    # --no-download: apt 2.6 then fails on local .deb files.)
    CT_TIMEOUT=300 ct apt-get install -y -q "$@"
}

# ================================================================ host
scenario_host() {
    local UPG="${VERSION}+upgradetest1" ca_before ca_after s port

    stage "host: prepare root (copy, download dependencies)"
    new_root host
    check "host: apt downloads the Debian dependencies of streamr-host and streamrctl" \
        predownload host "/root/debs/$(basename "$DEB_HOST")" "/root/debs/$(basename "$DEB_CTL")" || return
    bump_deb "$DEB_HOST" "${ROOT_OF[host]}/root/upgrade" "$UPG" && bump_deb "$DEB_CTL" "${ROOT_OF[host]}/root/upgrade" "$UPG" ||
        fail "host: build upgrade packages"

    stage "host: boot"
    if boot host; then pass "host: container boots (systemd as PID 1)"; else fail "host: container boots"; return; fi
    CURRENT=host

    stage "host: apt install streamr-host streamrctl"
    check "host: apt install ./streamr-host_${VERSION}.deb ./streamrctl_${VERSION}.deb" \
        apt_install_logged /root/apt-install.log "/root/debs/$(basename "$DEB_HOST")" "/root/debs/$(basename "$DEB_CTL")" || return
    # This container's name resolves to nothing and it has only loopback: the postinst says so.
    check "host: postinst warns that friends cannot reach this host's name, and how to set public_host" \
        ct_sh 'grep -q "streamr-host: warning: this machine.s name" /root/apt-install.log &&
               grep -q "public_host = " /root/apt-install.log && grep -q "systemctl restart streamr-coordinator" /root/apt-install.log'
    check "host: /usr/sbin/streamr-{ingest,coordinator,validator} are links to /usr/libexec/streamr/streamr-host" \
        ct_sh 'for d in ingest coordinator validator; do [ "$(readlink -f /usr/sbin/streamr-$d)" = /usr/libexec/streamr/streamr-host ] || exit 1; done'
    check "host: system user streamr exists" ct getent passwd streamr
    check "host: system group streamr exists" ct getent group streamr
    check "host: /var/lib/streamr is 0750 streamr:streamr" expect_mode /var/lib/streamr "750 streamr:streamr"
    check "host: pki directory created (0750 streamr:streamr)" expect_mode /var/lib/streamr/pki "750 streamr:streamr"
    check "host: CA certificate created" ct test -s /var/lib/streamr/pki/ca.pem
    check "host: server certificate created" ct test -s /var/lib/streamr/pki/server.pem
    check "host: CA key is 0600 streamr:streamr" expect_mode /var/lib/streamr/pki/ca.key "600 streamr:streamr"
    check "host: chunk-signing key is 0600 streamr:streamr" expect_mode /var/lib/streamr/pki/signing.key "600 streamr:streamr"
    check "host: server key is 0600 streamr:streamr" expect_mode /var/lib/streamr/pki/server.key "600 streamr:streamr"
    check "host: example configuration installed as conffiles" \
        ct_sh 'for f in coordinator ingest validator; do grep -qx "/etc/streamr/$f.conf" /var/lib/dpkg/info/streamr-host.conffiles || exit 1; done'
    ca_before=$(ct sha256sum /var/lib/streamr/pki/ca.pem /var/lib/streamr/pki/ca.key 2>/dev/null)
    check "host: units pass systemd-analyze verify" \
        ct_sh 'out=$(cd /lib/systemd/system && systemd-analyze verify --man=no --recursive-errors=no streamr*.socket streamr*.service streamr.target 2>&1); [ -z "$out" ] || { echo "$out"; exit 1; }'

    stage "host: sockets"
    for s in streamr-ingest.socket streamr-ingest-subscribe.socket streamr-ingest-http.socket streamr-coordinator.socket \
        streamr-coordinator-http.socket streamr-coordinator-control.socket streamr-validator.socket streamr.target; do
        check "host: $s enabled" expect_enabled_state "$s" enabled
        check "host: $s active" is_active "$s"
    done
    for s in streamr-ingest streamr-coordinator streamr-validator; do
        check "host: $s.service static (not enabled by the package)" expect_enabled_state "$s.service" static
        check "host: $s.service not started before a connection" is_inactive "$s.service"
    done
    for port in 1935 7443 7444 8000 8936; do
        check "host: tcp $port listening" tcp_listening "$port"
    done
    check "host: /run/streamr/control.sock listening" unix_listening /run/streamr/control.sock
    check "host: /run/streamr/validator.sock listening" unix_listening /run/streamr/validator.sock
    check "host: control.sock is 0660 group streamr" ct_sh 'stat -c "%a %G" /run/streamr/control.sock | grep -qx "660 streamr"'
    check "host: validator.sock is 0660 group streamr" ct_sh 'stat -c "%a %G" /run/streamr/validator.sock | grep -qx "660 streamr"'

    stage "host: socket activation"
    check "host: streamrctl --version prints $UPSTREAM" ct_sh "[ \"\$(streamrctl --version)\" = '$UPSTREAM' ]"
    # control.sock first: streamrctl status starts the coordinator.
    check "host: streamrctl status (root) starts the coordinator and answers" \
        ct_sh 'streamrctl status | grep -q coordinator'
    check "host: streamr-coordinator active after the first connection to control.sock" wait_for 20 is_active streamr-coordinator.service
    check "host: streamrctl status --json" ct_sh 'streamrctl status --json | grep -q "\"role\""'
    ct systemctl stop streamr-coordinator.service >/dev/null 2>&1
    check "host: streamr-coordinator stopped (socket still listening)" wait_for 20 is_inactive streamr-coordinator.service
    tcp_connect 7443 >/dev/null 2>&1
    check "host: first connection to tcp 7443 starts streamr-coordinator" wait_for 20 is_active streamr-coordinator.service
    check "host: coordinator logged STREAMR_EVENT=daemon_started to the journal" \
        wait_for 10 journal_has_start streamr-coordinator.service streamr-coordinator
    check "host: coordinator serves the sockets systemd passed (rpc, http, control)" uses_inherited streamr-coordinator.service rpc http control
    ct systemctl stop streamr-coordinator.service >/dev/null 2>&1
    wait_for 20 is_inactive streamr-coordinator.service || true
    check "host: GET /healthz on tcp 8000 starts the coordinator and answers 200 ok" http_healthz 8000
    check "host: streamr-coordinator active after the HTTP request" is_active streamr-coordinator.service

    tcp_connect 7444 >/dev/null 2>&1
    check "host: first connection to tcp 7444 starts streamr-ingest" wait_for 20 is_active streamr-ingest.service
    check "host: ingest logged STREAMR_EVENT=daemon_started" wait_for 10 journal_has_start streamr-ingest.service streamr-ingest
    check "host: ingest serves the sockets systemd passed (rtmp, http, subscribe)" uses_inherited streamr-ingest.service rtmp http subscribe
    ct systemctl stop streamr-ingest.service >/dev/null 2>&1
    wait_for 20 is_inactive streamr-ingest.service || true
    tcp_connect 1935 >/dev/null 2>&1
    check "host: first connection to tcp 1935 starts streamr-ingest" wait_for 20 is_active streamr-ingest.service

    check "host: streamrctl status --socket /run/streamr/validator.sock starts the validator" \
        ct streamrctl status --socket /run/streamr/validator.sock
    check "host: streamr-validator active after the first connection" wait_for 20 is_active streamr-validator.service
    check "host: validator logged STREAMR_EVENT=daemon_started" wait_for 10 journal_has_start streamr-validator.service streamr-validator
    check "host: validator serves the socket systemd passed (work)" uses_inherited streamr-validator.service work

    stage "host: access control, restart, hardening"
    ct_sh 'useradd -m -G streamr alice && useradd -m bob' >/dev/null 2>&1
    check "host: a member of group streamr can run streamrctl status" \
        as_user alice streamrctl status
    check "host: a user outside group streamr is refused (exit 3)" \
        as_user_exit 3 bob streamrctl status
    ct_sh 'userdel -r alice; userdel -r bob' >/dev/null 2>&1

    check "host: systemctl restart streamr-coordinator" ct systemctl restart streamr-coordinator.service
    check "host: streamr-coordinator active again after restart" wait_for 20 is_active streamr-coordinator.service
    check "host: streamrctl status after restart" ct streamrctl status
    for s in streamr-coordinator streamr-ingest streamr-validator; do
        check "host: $s.service never crashed (NRestarts=0)" restarts_zero "$s.service"
        check "host: $s.service runs as user streamr" runs_as_streamr "$s.service"
        check_security "$s.service"
    done
    check "host: systemctl stop streamr.target" ct systemctl stop streamr.target
    check "host: streamrctl status with the host stopped: exit 2, says systemctl start streamr.target" \
        expect_exit 2 'systemctl start streamr.target' ct streamrctl status
    check "host: systemctl start streamr.target" ct systemctl start streamr.target
    check "host: control.sock listening again" wait_for 20 unix_listening /run/streamr/control.sock

    stage "host: upgrade to $UPG"
    # As on a host set up before the chunk-signing key: the upgrade adds one the daemons can read.
    ct rm -f /var/lib/streamr/pki/signing.key
    check "host: apt install (upgrade) streamr-host and streamrctl $UPG" \
        ct_long /bin/sh -c "apt-get install -y -q /root/upgrade/streamr-host_${UPG}_*.deb /root/upgrade/streamrctl_${UPG}_*.deb"
    check "host: streamr-host is at $UPG" ct_sh "[ \"\$(dpkg-query -W -f='\${Version}' streamr-host)\" = '$UPG' ]"
    ca_after=$(ct sha256sum /var/lib/streamr/pki/ca.pem /var/lib/streamr/pki/ca.key 2>/dev/null)
    check "host: upgrade keeps the CA certificate and key" test -n "$ca_before" -a "$ca_before" = "$ca_after"
    check "host: upgrade adds a missing signing.key (0600 streamr:streamr)" expect_mode /var/lib/streamr/pki/signing.key "600 streamr:streamr"
    for port in 1935 7443 7444 8000 8936; do check "host: tcp $port listening after upgrade" tcp_listening "$port"; done
    check "host: control.sock listening after upgrade" unix_listening /run/streamr/control.sock
    check "host: streamrctl status after upgrade (starts the new coordinator)" wait_for 20 ct streamrctl status
    check "host: streamr-coordinator active after upgrade" wait_for 20 is_active streamr-coordinator.service
    tcp_connect 7444 >/dev/null 2>&1
    check "host: streamr-ingest starts on demand after upgrade" wait_for 20 is_active streamr-ingest.service

    stage "host: apt remove"
    check "host: apt remove streamr-host streamrctl" ct_long apt-get remove -y -q streamr-host streamrctl
    check "host: streamr-host in state config-files" test "$(package_state streamr-host)" = config-files
    for s in streamr-coordinator streamr-ingest streamr-validator; do
        check "host: $s.service stopped" is_inactive "$s.service"
        check "host: /usr/sbin/$s removed" no_path "/usr/sbin/$s"
    done
    check "host: /usr/bin/streamrctl removed" no_path /usr/bin/streamrctl
    check "host: unit files removed" ct_sh '! ls /lib/systemd/system/streamr* /usr/lib/systemd/system/streamr* 2>/dev/null | grep -q .'
    check "host: no streamr port listening" \
        ct awk 'FNR > 1 && $4 == "0A" { split($2, a, ":"); if (a[2] ~ /^(078F|1D13|1D14|1F40)$/) f = 1 } END { exit f }' /proc/net/tcp /proc/net/tcp6
    check "host: no streamr Unix socket left" no_path /run/streamr
    check "host: state (CA) kept after remove" ct test -s /var/lib/streamr/pki/ca.pem

    stage "host: apt purge"
    check "host: apt purge streamr-host streamrctl" ct_long apt-get purge -y -q streamr-host streamrctl
    check "host: streamr-host fully purged" test "$(package_state streamr-host)" != config-files
    check "host: /var/lib/streamr removed" no_path /var/lib/streamr
    check "host: /etc/streamr removed" no_path /etc/streamr
    check "host: no streamr user or group" no_streamr_user
    check "host: no streamr unit files known to systemd" no_streamr_units
    check "host: no file named *streamr* left anywhere" no_streamr_leftovers
    CURRENT=""
    stop_container host
}

# ================================================================ node
scenario_node() {
    local UPG="${VERSION}+upgradetest1"

    stage "node: prepare root (copy, download dependencies)"
    new_root node
    check "node: apt downloads the Debian dependencies of streamr-node and streamrctl" \
        predownload node "/root/debs/$(basename "$DEB_NODE")" "/root/debs/$(basename "$DEB_CTL")" || return
    bump_deb "$DEB_NODE" "${ROOT_OF[node]}/root/upgrade" "$UPG" && bump_deb "$DEB_CTL" "${ROOT_OF[node]}/root/upgrade" "$UPG" ||
        fail "node: build upgrade packages"

    stage "node: boot"
    if boot node; then pass "node: container boots (systemd as PID 1)"; else fail "node: container boots"; return; fi
    CURRENT=node

    stage "node: apt install streamr-node streamrctl"
    check "node: apt install ./streamr-node_${VERSION}.deb ./streamrctl_${VERSION}.deb" \
        apt_install "/root/debs/$(basename "$DEB_NODE")" "/root/debs/$(basename "$DEB_CTL")" || return
    check "node: system user streamr exists" ct getent passwd streamr
    check "node: /var/lib/streamr-node is 0750 streamr:streamr" expect_mode /var/lib/streamr-node "750 streamr:streamr"
    check "node: /etc/streamr/node.conf installed as a conffile" \
        ct grep -qx /etc/streamr/node.conf /var/lib/dpkg/info/streamr-node.conffiles
    check "node: units pass systemd-analyze verify" \
        ct_sh 'out=$(cd /lib/systemd/system && systemd-analyze verify --man=no --recursive-errors=no streamr-node.socket streamr-node.service 2>&1); [ -z "$out" ] || { echo "$out"; exit 1; }'
    check "node: bash completes streamrctl subcommands (status, pause, resume, backup)" completes streamrctl "" status pause resume backup
    check "node: bash completes streamrctl pause options (--for)" completes streamrctl "pause" --for
    check "node: bash completes streamr-node subcommands (join, leave)" completes streamr-node "" join leave
    check "node: streamr-node.socket static (it comes with the service)" expect_enabled_state streamr-node.socket static
    check "node: streamr-node.service not enabled by the package" expect_enabled_state streamr-node.service disabled
    check "node: nothing runs after install (agent and socket inactive)" \
        ct_sh '! systemctl is-active --quiet streamr-node.service && ! systemctl is-active --quiet streamr-node.socket'
    check "node: no control socket before the agent runs" no_path /run/streamr-node/control.sock

    stage "node: before join, start, stop means stopped, enable, restart, reboot, hardening"
    check "node: streamrctl --version prints $UPSTREAM" ct_sh "[ \"\$(streamrctl --version)\" = '$UPSTREAM' ]"
    check "node: streamrctl status before joining: exit 2, says how to join" \
        expect_exit 2 "has not joined a host yet" ct streamrctl status
    check "node: ... and starts nothing" is_inactive streamr-node.service
    check "node: systemctl start streamr-node" ct systemctl start streamr-node
    check "node: streamr-node.socket started with the service" is_active streamr-node.socket
    check "node: /run/streamr-node/control.sock listening" unix_listening /run/streamr-node/control.sock
    check "node: control.sock is 0660 group streamr" ct_sh 'stat -c "%a %G" /run/streamr-node/control.sock | grep -qx "660 streamr"'
    check "node: streamrctl status answers (not joined yet)" ct_sh 'streamrctl status | grep -q "joined: *no"'
    check "node: systemctl stop streamr-node" ct systemctl stop streamr-node
    check "node: the socket stopped with the service (PartOf=)" \
        ct_sh '! systemctl is-active --quiet streamr-node.socket && [ ! -e /run/streamr-node/control.sock ]'
    # As on a joined machine (the agent is stopped, so it never reads this stand-in).
    ct_sh 'echo "node_id = node-test" > /var/lib/streamr-node/identity.conf'
    check "node: streamrctl status with the agent stopped: exit 2, \"streamr-node is stopped\"" \
        expect_exit 2 'streamr-node is stopped: `systemctl start streamr-node`' ct streamrctl status
    ct_sh 'useradd -m -G streamr alice' >/dev/null 2>&1
    check "node: ... the same for a member of group streamr" \
        expect_exit 2 'streamr-node is stopped' as_user alice streamrctl status
    check "node: stop means stopped: streamrctl status did not start the agent" \
        ct_sh '! systemctl is-active --quiet streamr-node.service && ! systemctl is-active --quiet streamr-node.socket'
    ct rm -f /var/lib/streamr-node/identity.conf
    check "node: systemctl enable --now streamr-node" ct systemctl enable --now streamr-node
    check "node: streamr-node.service enabled" expect_enabled_state streamr-node.service enabled
    check "node: streamr-node.socket active with it" is_active streamr-node.socket
    check "node: streamrctl status after enabling" ct_sh 'streamrctl status | grep -q node'
    check "node: node agent logged STREAMR_EVENT=daemon_started" wait_for 10 journal_has_start streamr-node.service streamr-node
    check "node: node agent serves the socket systemd passed (control)" uses_inherited streamr-node.service control
    check "node: systemctl restart streamr-node" ct systemctl restart streamr-node
    check "node: streamr-node active again after restart" wait_for 20 is_active streamr-node.service
    check "node: socket active after restart" is_active streamr-node.socket
    check "node: streamrctl status after restart" ct streamrctl status
    check "node: a member of group streamr can run streamrctl status" \
        as_user alice streamrctl status
    ct_sh 'userdel -r alice' >/dev/null 2>&1
    check "node: streamr-node.service never crashed (NRestarts=0)" restarts_zero streamr-node.service
    check_security streamr-node.service
    if reboot_container node; then pass "node: reboot (systemctl reboot, boot again)"; else fail "node: reboot"; return; fi
    check "node: enabled agent and its socket running after the reboot" \
        wait_for 30 ct_sh 'systemctl is-active --quiet streamr-node.service && systemctl is-active --quiet streamr-node.socket'
    check "node: streamrctl status after the reboot" ct streamrctl status

    # An earlier package enabled the socket on its own (sockets.target): the upgrade drops that.
    ct_sh 'mkdir -p /etc/systemd/system/sockets.target.wants /var/lib/systemd/deb-systemd-helper-enabled/sockets.target.wants &&
           ln -sf /lib/systemd/system/streamr-node.socket /etc/systemd/system/sockets.target.wants/streamr-node.socket &&
           echo /etc/systemd/system/sockets.target.wants/streamr-node.socket > /var/lib/systemd/deb-systemd-helper-enabled/streamr-node.socket.dsh-also &&
           touch /var/lib/systemd/deb-systemd-helper-enabled/sockets.target.wants/streamr-node.socket'

    stage "node: upgrade to $UPG (agent enabled and running)"
    check "node: apt install (upgrade) streamr-node and streamrctl $UPG" \
        ct_long /bin/sh -c "apt-get install -y -q /root/upgrade/streamr-node_${UPG}_*.deb /root/upgrade/streamrctl_${UPG}_*.deb"
    check "node: streamr-node is at $UPG" ct_sh "[ \"\$(dpkg-query -W -f='\${Version}' streamr-node)\" = '$UPG' ]"
    check "node: upgrade removed the old layout's socket enablement" \
        ct_sh '[ ! -e /etc/systemd/system/sockets.target.wants/streamr-node.socket ] && [ ! -e /var/lib/systemd/deb-systemd-helper-enabled/streamr-node.socket.dsh-also ]'
    check "node: streamr-node.socket active after upgrade" is_active streamr-node.socket
    check "node: control.sock listening after upgrade" unix_listening /run/streamr-node/control.sock
    check "node: enabled agent running again after upgrade" wait_for 20 is_active streamr-node.service
    check "node: streamr-node.service still enabled after upgrade" expect_enabled_state streamr-node.service enabled
    check "node: streamrctl status after upgrade" ct streamrctl status
    check "node: state folder kept" expect_mode /var/lib/streamr-node "750 streamr:streamr"
    ct systemctl stop streamr-node >/dev/null 2>&1
    check "node: reinstall with the agent stopped" \
        ct_long /bin/sh -c "apt-get install -y -q --reinstall /root/upgrade/streamr-node_${UPG}_*.deb"
    check "node: a stopped agent stays stopped across an upgrade (socket too)" \
        ct_sh '! systemctl is-active --quiet streamr-node.service && ! systemctl is-active --quiet streamr-node.socket'

    stage "node: apt remove, apt purge"
    check "node: apt remove streamr-node streamrctl" ct_long apt-get remove -y -q streamr-node streamrctl
    check "node: streamr-node.service stopped" is_inactive streamr-node.service
    check "node: /usr/sbin/streamr-node removed" no_path /usr/sbin/streamr-node
    check "node: control socket gone" no_path /run/streamr-node
    check "node: apt purge streamr-node streamrctl" ct_long apt-get purge -y -q streamr-node streamrctl
    check "node: /var/lib/streamr-node removed" no_path /var/lib/streamr-node
    check "node: /etc/streamr removed" no_path /etc/streamr
    check "node: no streamr user or group" no_streamr_user
    check "node: no streamr unit files known to systemd (enabled service included)" no_streamr_units
    check "node: no file named *streamr* left anywhere" no_streamr_leftovers
    CURRENT=""
    stop_container node
}

# ================================================================ both
# streamr-host and streamr-node on one machine share the streamr user and
# /etc/streamr: purging one must leave the other working.
scenario_both() {
    stage "both: prepare root, boot"
    new_root both
    check "both: apt downloads the dependencies" \
        predownload both /root/debs/"$(basename "$DEB_HOST")" /root/debs/"$(basename "$DEB_NODE")" /root/debs/"$(basename "$DEB_CTL")" || return
    if boot both; then pass "both: container boots"; else fail "both: container boots"; return; fi
    CURRENT=both

    stage "both: install both, purge one then the other"
    check "both: apt install streamr-host streamr-node streamrctl" \
        apt_install /root/debs/"$(basename "$DEB_HOST")" /root/debs/"$(basename "$DEB_NODE")" /root/debs/"$(basename "$DEB_CTL")" || return
    check "both: coordinator answers" ct streamrctl status --socket /run/streamr/control.sock
    check "both: systemctl start streamr-node" ct systemctl start streamr-node
    check "both: node agent answers" ct streamrctl status --socket /run/streamr-node/control.sock
    check "both: apt purge streamr-host" ct_long apt-get purge -y -q streamr-host
    check "both: streamr user kept for streamr-node" ct getent passwd streamr
    check "both: node.conf kept" ct test -f /etc/streamr/node.conf
    check "both: host configuration removed" ct_sh '! ls /etc/streamr/coordinator.conf /etc/streamr/ingest.conf /etc/streamr/validator.conf 2>/dev/null | grep -q .'
    check "both: /var/lib/streamr removed, /var/lib/streamr-node kept" ct_sh '[ ! -e /var/lib/streamr ] && [ -d /var/lib/streamr-node ]'
    check "both: node agent still answers" ct streamrctl status --socket /run/streamr-node/control.sock
    check "both: apt purge streamr-node streamrctl" ct_long apt-get purge -y -q streamr-node streamrctl
    check "both: no streamr user or group" no_streamr_user
    check "both: /etc/streamr removed" no_path /etc/streamr
    check "both: no streamr unit files known to systemd" no_streamr_units
    check "both: no file named *streamr* left anywhere" no_streamr_leftovers
    CURRENT=""
    stop_container both
}

# ================================================================ main
log "container-test: packages $VERSION from $OUT"
stage "cached Debian $SUITE root"
prepare_base
for s in "${SCENARIOS[@]}"; do
    case $s in
        host) scenario_host ;;
        node) scenario_node ;;
        both) scenario_both ;;
        *) die "unknown scenario $s (host, node, both)" ;;
    esac
done
CURRENT=""
