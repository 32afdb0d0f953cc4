#!/bin/bash
# Shared by container-test.sh and cross-host-test.sh (sourced, not run): reporting
# (PASS/FAIL lines, stages with their durations), the cached debootstrapped Debian 12
# root, booting copies of it with systemd-nspawn and running commands inside them
# with nsenter. The sourcing script sets CACHE, SUITE, BASE and WORK, the counters
# PASSED and FAILED, and may define on_fail (called after every FAIL).
#
# Containers by name: ROOT_OF[name] (its root), NSPAWN_PID[name], INIT_PID[name] (its systemd).
declare -A NSPAWN_PID=() INIT_PID=() ROOT_OF=() BOOT_ARGS=()

# ---------------------------------------------------------------- reporting
log() { printf '%s\n' "$*"; }
pass() { PASSED=$((PASSED + 1)); printf 'PASS: %s\n' "$*"; }
fail() {
    FAILED=$((FAILED + 1)); printf 'FAIL: %s\n' "$*"
    if declare -F on_fail >/dev/null; then on_fail; fi
    return 0
}
stage() {
    local now=$SECONDS
    [ -n "${STAGE_NAME:-}" ] && log "== ${STAGE_NAME}: $((now - STAGE_T))s"
    STAGE_NAME=$1; STAGE_T=$now
    log ""; log "== $1"
}
# check NAME COMMAND...: PASS when COMMAND succeeds (its output is shown on failure).
check() {
    local name=$1 output rc; shift
    output=$("$@" 2>&1); rc=$?
    if [ $rc -eq 0 ]; then pass "$name"; return 0; fi
    [ -n "$output" ] && printf '%s\n' "$output" | tail -n 20 | sed 's/^/    | /'
    fail "$name"
    return 1
}
die() { log "FATAL: $*"; FAILED=$((FAILED + 1)); exit 1; }

# ---------------------------------------------------------------- cached root
host_mirror() {
    local m
    m=$(awk 'BEGIN { RS = ""; FS = "\n" }
             /(^|\n)Suites:[^\n]*[[:space:]]bookworm([[:space:]]|$)/ && !/(^|\n)Types:[^\n]*deb-src/ {
                 for (i = 1; i <= NF; i++) if ($i ~ /^URIs:/) { split($i, u, /[[:space:]]+/); print u[2]; exit }
             }' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
    [ -z "$m" ] && m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
        awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $(i+1) == "bookworm") { print $i; exit } }')
    echo "${m:-http://deb.debian.org/debian}"
}
MIRROR=${STREAMR_DEBIAN_MIRROR:-$(host_mirror)}

prepare_base() {
    exec 9>"$CACHE/.base.lock"
    timeout 1200 flock 9 || die "timed out waiting for another run to build $BASE"
    if [ "${STREAMR_REFRESH_ROOT:-0}" = 1 ] || [ ! -f "$BASE.ready" ] || [ ! -d "$BASE" ]; then
        log "debootstrap $SUITE from $MIRROR into $BASE"
        rm -rf --one-file-system "$BASE" "$BASE.tmp" "$BASE.ready"
        timeout 1200 debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus \
            "$SUITE" "$BASE.tmp" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 ||
            { tail -n 20 "$CACHE/debootstrap.log"; rm -rf --one-file-system "$BASE.tmp"; die "debootstrap failed"; }
        # No getty on the container console, and a predictable machine id per copy.
        rm -f "$BASE.tmp/etc/machine-id" && : >"$BASE.tmp/etc/machine-id"
        mv "$BASE.tmp" "$BASE"
        touch "$BASE.ready"
    fi
    flock -u 9; exec 9>&-
}

# Debian packages the containers need, kept between runs in $CACHE/apt (lists/ and
# archives/): a run downloads only what is new, and asks the mirror for new package lists at
# most every 12 hours (or when a download fails because the lists went stale).
APT_CACHE=$CACHE/apt
apt_lists_fresh() { [ -f "$APT_CACHE/lists.stamp" ] && [ $(($(date +%s) - $(stat -c %Y "$APT_CACHE/lists.stamp"))) -lt 43200 ]; }
# predownload_into ROOT LOG DEBS...: puts into ROOT's apt lists and archives what installing
# DEBS (paths inside ROOT) needs, so that `apt install` works later without a network.
predownload_into() {
    local root=$1 log=$2 rc; shift 2
    local binds=(--bind="$APT_CACHE/archives:/var/cache/apt/archives" --bind="$APT_CACHE/lists:/var/lib/apt/lists")
    exec 8>"$CACHE/.apt.lock"
    timeout 900 flock 8 || { echo "timed out waiting for $CACHE/.apt.lock"; return 1; }
    mkdir -p "$APT_CACHE/archives/partial" "$APT_CACHE/lists/partial"
    rc=0
    if ! apt_lists_fresh; then
        run_in_root "$root" "${binds[@]}" apt-get -q update >>"$log" 2>&1 && touch "$APT_CACHE/lists.stamp" || rc=1
    fi
    if [ $rc = 0 ] && ! run_in_root "$root" "${binds[@]}" apt-get install -y -q --download-only "$@" >>"$log" 2>&1; then
        # Stale lists (a package moved on at the mirror): once more with fresh ones.
        run_in_root "$root" "${binds[@]}" apt-get -q update >>"$log" 2>&1 && touch "$APT_CACHE/lists.stamp" &&
            run_in_root "$root" "${binds[@]}" apt-get install -y -q --download-only "$@" >>"$log" 2>&1 || rc=1
    fi
    # Old versions the mirror no longer has go; the root gets the lists and the archives.
    [ $rc = 0 ] && run_in_root "$root" "${binds[@]}" apt-get -q autoclean >>"$log" 2>&1
    if [ $rc = 0 ]; then
        cp -a "$APT_CACHE/lists/." "$root/var/lib/apt/lists/" && rm -f "$root/var/lib/apt/lists/lock" &&
            find "$APT_CACHE/archives" -maxdepth 1 -name '*.deb' -exec cp -t "$root/var/cache/apt/archives/" {} + || rc=1
    fi
    flock -u 8; exec 8>&-
    [ $rc = 0 ] || { tail -n 20 "$log"; return 1; }
}

# ---------------------------------------------------------------- containers
# Non-booted command in a root (host network: reaches the Debian mirror).
run_in_root() {
    local root=$1; shift
    timeout 900 systemd-nspawn -q -D "$root" --register=no --keep-unit \
        --setenv=DEBIAN_FRONTEND=noninteractive --setenv=LANG=C.UTF-8 "$@" </dev/null
}

# boot NAME [NSPAWN OPTIONS...]: boots ROOT_OF[NAME] (default network: --private-network,
# loopback only) and waits until its systemd says the system is up.
boot() {
    local name=$1 root=${ROOT_OF[$1]} nspawn child pid init i state; shift
    local net=("$@")
    [ ${#net[@]} -gt 0 ] || net=(--private-network)
    BOOT_ARGS[$name]="${net[*]}"
    setsid systemd-nspawn -q -D "$root" --boot --register=no --keep-unit "${net[@]}" \
        -M "streamr-$name-$$" </dev/null >>"$WORK/$name.console" 2>&1 &
    nspawn=$!
    NSPAWN_PID[$name]=$nspawn
    # The container's systemd is a child of systemd-nspawn (or a grandchild,
    # depending on the nspawn version and options).
    init=""
    for i in $(seq 1 120); do
        for child in $(pgrep -P "$nspawn"); do
            for pid in "$child" $(pgrep -P "$child"); do
                if [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = systemd ]; then init=$pid; break 3; fi
            done
        done
        kill -0 "$nspawn" 2>/dev/null || break
        sleep 0.5
    done
    [ -n "${init:-}" ] || { tail -n 20 "$WORK/$name.console"; return 1; }
    INIT_PID[$name]=$init
    # `is-system-running --wait` needs the container's systemd to be listening on its private
    # bus already; asked too early (a loaded machine) it fails at once and prints nothing. So
    # ask again until it gives a final answer, within one deadline.
    local deadline=$((SECONDS + 180)) err="$WORK/$name.is-system-running"
    state=""
    while ((SECONDS < deadline)); do
        state=$(timeout $((deadline - SECONDS)) nsenter -t "$init" -a systemctl is-system-running --wait 2>"$err")
        case $state in running | degraded | maintenance | stopping) break ;; esac
        kill -0 "$nspawn" 2>/dev/null || break
        sleep 0.5
    done
    log "container $name: systemd pid $init, system ${state:-unknown ($(tr '\n' ' ' <"$err"))}"
    case $state in running | degraded) return 0 ;; *) tail -n 20 "$WORK/$name.console"; return 1 ;; esac
}

# reboot_container NAME: `systemctl reboot` inside; systemd-nspawn exits (status 133, "reboot
# asked") once the container has shut down, and the same root boots again with the same
# options. Run it in the main shell (not in $(...) or `check`): it records the new pids.
reboot_container() {
    local name=$1 nspawn=${NSPAWN_PID[$1]:-} end rc
    [ -n "$nspawn" ] || { log "reboot $name: not running"; return 1; }
    ctn "$name" systemctl reboot --no-block >/dev/null 2>&1 || { log "reboot $name: systemctl reboot failed"; return 1; }
    end=$((SECONDS + 90))
    while kill -0 "$nspawn" 2>/dev/null; do
        [ $SECONDS -ge $end ] && { log "reboot $name: still shutting down after 90 s"; return 1; }
        sleep 0.3
    done
    wait "$nspawn"; rc=$?
    log "container $name: shut down for reboot (systemd-nspawn exit status $rc; 133 = reboot)"
    unset "NSPAWN_PID[$name]" "INIT_PID[$name]"
    [ "$rc" = 133 ] || return 1
    # shellcheck disable=SC2086 # the options were stored as words
    boot "$name" ${BOOT_ARGS[$name]}
}

# ctn NAME COMMAND...: a command inside the booted container NAME, clean environment,
# bounded by CT_TIMEOUT (default 60 s).
ctn() {
    local init=${INIT_PID[$1]:?container $1 is not running}; shift
    timeout "${CT_TIMEOUT:-60}" nsenter -t "$init" -a \
        env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 TERM=dumb HOME=/root \
        DEBIAN_FRONTEND=noninteractive SYSTEMD_PAGER= SYSTEMD_COLORS=0 "$@"
}

stop_container() {
    local name=$1 nspawn=${NSPAWN_PID[$1]:-} init=${INIT_PID[$1]:-} i t=$SECONDS
    if [ -n "$nspawn" ] && kill -0 "$nspawn" 2>/dev/null; then
        if [ -n "$init" ] && kill -0 "$init" 2>/dev/null; then
            timeout 15 nsenter -t "$init" -a systemctl poweroff --no-block >/dev/null 2>&1 || true
        fi
        for i in $(seq 1 40); do kill -0 "$nspawn" 2>/dev/null || break; sleep 0.5; done
        if kill -0 "$nspawn" 2>/dev/null; then
            kill -TERM "$nspawn" 2>/dev/null
            for i in $(seq 1 20); do kill -0 "$nspawn" 2>/dev/null || break; sleep 0.5; done
        fi
        kill -0 "$nspawn" 2>/dev/null && kill -KILL "$nspawn" 2>/dev/null
        for i in $(seq 1 20); do kill -0 "$nspawn" 2>/dev/null || break; sleep 0.5; done
    fi
    [ -n "$nspawn" ] && log "container $name: stopped in $((SECONDS - t))s"
    unset "NSPAWN_PID[$name]" "INIT_PID[$name]"
}

# wait_for SECONDS COMMAND...: polls COMMAND (every 0.3 s) until it succeeds; fails after SECONDS.
wait_for() { # SECONDS COMMAND...
    local end=$((SECONDS + $1)); shift
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -ge $end ] && return 1
        sleep 0.3
    done
}
