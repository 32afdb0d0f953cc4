# Shared by fanout.sh and latency.sh (sourced, not run): tools, cleanup, and the two servers.
# Each start_TARGET sets SERVER_PIDS (the processes measured), PORT, and defines the URLs through
# publish_url NAME / play_url NAME. Streams are named in STREAM_NAMES (default: bench).
# Callers set STREAMR_INGEST_BIN, STREAMR_COORDINATOR_BIN, STREAMRCTL_BIN (see streamr_defaults).
# shellcheck shell=bash
streamr_defaults() {  # ROOT of the checkout
    STREAMR_BIN=${STREAMR_BIN:-$1/.build/release}
    STREAMR_INGEST_BIN=${STREAMR_INGEST_BIN:-$STREAMR_BIN/streamr-ingest}
    STREAMR_COORDINATOR_BIN=${STREAMR_COORDINATOR_BIN:-$STREAMR_BIN/streamr-coordinator}
    STREAMRCTL_BIN=${STREAMRCTL_BIN:-$STREAMR_BIN/streamrctl}
}
need() { command -v "$1" >/dev/null || { echo "missing $1 (apt-get install $2)" >&2; exit 1; }; }
# Test media, generated here (never downloaded) and cached by its parameters.
MEDIA_CACHE=${MEDIA_CACHE:-/tmp/streamr-bench-media}
MEDIA_SIZE=1920x1080 MEDIA_RATE=30 MEDIA_SECONDS=30 MEDIA_VBITRATE=8M MEDIA_GOP=60
MEDIA="$MEDIA_CACHE/testsrc2-${MEDIA_SIZE}-${MEDIA_RATE}fps-${MEDIA_SECONDS}s-${MEDIA_VBITRATE}-g${MEDIA_GOP}.flv"

make_media() {
    [[ -s $MEDIA ]] && return
    mkdir -p "$MEDIA_CACHE"
    echo "# generating $MEDIA (once; cached)" >&2
    ffmpeg -hide_banner -loglevel error -y \
        -f lavfi -i "testsrc2=size=$MEDIA_SIZE:rate=$MEDIA_RATE" -f lavfi -i "sine=frequency=440:sample_rate=48000" \
        -t "$MEDIA_SECONDS" -c:v libx264 -preset veryfast -b:v "$MEDIA_VBITRATE" -maxrate "$MEDIA_VBITRATE" -bufsize 16M \
        -g "$MEDIA_GOP" -pix_fmt yuv420p -c:a aac -b:a 128k -f flv "$MEDIA.part"
    mv "$MEDIA.part" "$MEDIA"
}

# install_tools TARGET: the peer (nginx-light + libnginx-mod-rtmp) and the player (rtmpdump) from
# Debian, when missing. The system nginx service is never used: each run has its own prefix.
# nginx is only needed when TARGET runs it (not for streamr or fanout.sh's bare writer).
install_tools() {
    need ss iproute2; need python3 python3
    local want_nginx=yes
    case ${1:-nginx} in streamr|bare) want_nginx=no ;; esac
    if ! command -v rtmpdump >/dev/null ||
        { [[ $want_nginx == yes ]] && ! { command -v nginx >/dev/null && [[ -e /usr/lib/nginx/modules/ngx_rtmp_module.so ]]; }; }; then
        echo "# installing nginx-light libnginx-mod-rtmp rtmpdump" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light libnginx-mod-rtmp rtmpdump >/dev/null 2>&1 ||
            { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light libnginx-mod-rtmp rtmpdump >/dev/null; }
    fi
}

# setup_work PREFIX: a temporary directory and an EXIT trap that ends everything started here.
setup_work() {
    WORK=$(mktemp -d "/tmp/$1.XXXXXX")
    trap cleanup EXIT
    # Every player is a socket in the server: raise the open-file limit to the hard limit (callers
    # check it is enough). Children (the servers) inherit it.
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
}
PIDS=()        # everything this script started, killed by pid on exit
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [[ ${BENCH_KEEP:-0} == 1 ]]; then echo "# kept $WORK" >&2; else rm -rf "$WORK"; fi
}

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_listen() {  # PORT PID → waits until something listens on 127.0.0.1:PORT (and PID is alive)
    for _ in $(seq 150); do
        kill -0 "$2" 2>/dev/null || return 1
        [[ -n $(ss -tlnH "( sport = :$1 )") ]] && return 0
        sleep 0.1
    done
    return 1
}
established() { ss -tnH state established "( sport = :$1 )" | wc -l; }

# ---- targets ----

start_nginx() {
    local dir=$WORK/nginx module
    module=$(ls /usr/lib/nginx/modules/ngx_rtmp_module.so 2>/dev/null || dpkg -L libnginx-mod-rtmp | grep 'ngx_rtmp_module\.so$' | head -1)
    PORT=$(free_port)
    mkdir -p "$dir"
    # worker_processes 1: one core for the server, like streamr-ingest's event loop would get
    # on this 2-core machine; the rest of the box is the publisher's and the players'.
    # worker_connections counts every connection of the worker (players + publisher + listener);
    # callers with more than ~4000 players set NGINX_WORKER_CONNECTIONS.
    cat >"$dir/nginx.conf" <<EOF
load_module $module;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections ${NGINX_WORKER_CONNECTIONS:-4096}; }
rtmp {
    server {
        listen 127.0.0.1:$PORT;
        chunk_size 4096;
        application live { live on; }
    }
}
EOF
    nginx -p "$dir" -c "$dir/nginx.conf" -g 'daemon off;' 2>>"$dir/error.log" &
    local master=$!; PIDS+=("$master")
    wait_listen "$PORT" "$master" || { echo "nginx did not start:" >&2; cat "$dir/error.log" >&2; return 1; }
    local worker
    for _ in $(seq 50); do worker=$(pgrep -P "$master" | head -1 || true); [[ -n $worker ]] && break; sleep 0.1; done
    [[ -n $worker ]] || { echo "no nginx worker" >&2; return 1; }
    SERVER_PIDS=("$master" "$worker")
    publish_url() { echo "rtmp://127.0.0.1:$PORT/live/$1"; }
    play_url() { echo "rtmp://127.0.0.1:$PORT/live/$1"; }
}

# The ingest's command line. PROVISIONAL: the ingest is being written; adjust here only.
#   streamr_ingest_args PORT PKI STATE COORDINATOR_SOCKET
streamr_ingest_args() {
    printf '%s\n' \
        --set "listen_rtmp=127.0.0.1:$1" \
        --set "listen_subscribe=127.0.0.1:0" \
        --set "listen_http=127.0.0.1:0" \
        --set "pki_directory=$2" \
        --set "state_directory=$3" \
        --set "coordinator_socket=$4"
}
# Publish to live/<key from `streamrctl stream create NAME`>, play live/<NAME>.
declare -A STREAM_KEYS=()
streamr_publish_url() { echo "rtmp://127.0.0.1:$PORT/live/${STREAM_KEYS[$1]}"; }
streamr_play_url() { echo "rtmp://127.0.0.1:$PORT/live/$1"; }

start_streamr() {
    local dir=$WORK/streamr bin
    for bin in "$STREAMR_INGEST_BIN" "$STREAMR_COORDINATOR_BIN" "$STREAMRCTL_BIN"; do
        [[ -x $bin ]] || { echo "missing $bin (build with: swift build -c release; or set STREAMR_BIN)" >&2; return 1; }
    done
    mkdir -p "$dir/coordinator" "$dir/ingest"
    "$STREAMR_COORDINATOR_BIN" init-pki --directory "$dir/pki" >/dev/null
    STREAMR_LOG=stderr "$STREAMR_COORDINATOR_BIN" --set "pki_directory=$dir/pki" --set "state_directory=$dir/coordinator" \
        --set listen_rpc=127.0.0.1:0 --set listen_http=127.0.0.1:0 --set "control_socket=$dir/control.sock" \
        --set log_level=warning ${COORDINATOR_EXTRA[@]+"${COORDINATOR_EXTRA[@]}"} 2>"$dir/coordinator.log" &
    PIDS+=("$!")
    for _ in $(seq 100); do [[ -S $dir/control.sock ]] && break; sleep 0.1; done
    [[ -S $dir/control.sock ]] || { echo "coordinator did not start:" >&2; cat "$dir/coordinator.log" >&2; return 1; }
    local key name
    for name in ${STREAM_NAMES:-bench}; do
        key=$("$STREAMRCTL_BIN" stream create "$name" --socket "$dir/control.sock" --json |
            python3 -c 'import json, sys; print(json.load(sys.stdin)["key"])') || true
        [[ -n $key ]] || { echo "streamrctl stream create $name failed" >&2; return 1; }
        STREAM_KEYS[$name]=$key
    done
    PORT=$(free_port)
    local args
    mapfile -t args < <(streamr_ingest_args "$PORT" "$dir/pki" "$dir/ingest" "$dir/control.sock")
    STREAMR_LOG=stderr "$STREAMR_INGEST_BIN" "${args[@]}" 2>"$dir/ingest.log" &
    local ingest=$!; PIDS+=("$ingest")
    wait_listen "$PORT" "$ingest" || { echo "streamr-ingest did not listen on $PORT:" >&2; tail -20 "$dir/ingest.log" >&2; return 1; }
    SERVER_PIDS=("$ingest")
    publish_url() { streamr_publish_url "$1"; }
    play_url() { streamr_play_url "$1"; }
}

