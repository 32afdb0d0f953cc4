#!/usr/bin/env bash
# timeout: 900
# Bounded memory per viewer (issue 10): a 20 Mbit/s stream; 50 viewers that never read at the
# node and 50 at the ingest's origin (each replaced as soon as the server drops it, so 50 are
# stuck at every moment), plus 5 RTMP players stopped with SIGSTOP at the origin, for
# MEMORY_SECONDS (default 300, the 5 minutes make test runs too). Meanwhile an ffmpeg reader at the node and
# one at the origin must keep playing in real time; both daemons' RSS must stay bounded (under
# baseline + their stuck viewers x viewer_queue + 64 MiB, and flat: the last third no higher
# than the first third's peak + 64 MiB); stuck viewers must be dropped (viewer_lag_timeout) and the journal
# says so. The figures go to $MEMORY_REPORT when set (bench/README records a 5-minute run).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

SECONDS_TO_RUN=${MEMORY_SECONDS:-300}
command -v ffmpeg >/dev/null && command -v rtmpdump >/dev/null || fail "ffmpeg and rtmpdump are needed (make deps)"
PKI="$WORK/pki"
init_pki "$PKI"
pick_port CP; pick_port CH; pick_port RP; pick_port HP; pick_port SP; pick_port NH; pick_port NR
SOCK="$WORK/run/control.sock"
start_bg coordinator env STREAMR_LOG=stderr "$BIN/streamr-coordinator" --set "listen_http=127.0.0.1:$CH" --set "pki_directory=$PKI" \
    --set "state_directory=$WORK/state" --set "listen_rpc=127.0.0.1:$CP" --set "control_socket=$SOCK" --set public_host=127.0.0.1 \
    --set "public_subscribe_port=$SP" --set "public_origin_http_port=$HP"
check "coordinator listening" wait_until 10 unix_listening "$SOCK"
start_bg ingest env STREAMR_LOG=stderr "$BIN/streamr-ingest" --set "pki_directory=$PKI" --set "state_directory=$WORK/state" \
    --set "listen_rtmp=127.0.0.1:$RP" --set "listen_http=127.0.0.1:$HP" --set "listen_subscribe=127.0.0.1:$SP" \
    --set "coordinator_socket=$SOCK" --set "validator_socket=$WORK/run/no-validator.sock"
INGEST=$PID
check "ingest listening" wait_until 10 tcp_listening "$RP"
KEY=$("$BIN/streamrctl" stream create main --json --socket "$SOCK" | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
LINE=$("$BIN/streamrctl" invite create main --socket "$SOCK" 2>/dev/null)
run_cmd join "$BIN/streamr-node" join "$LINE" --name Friend --payout venmo:@friend-one --state-directory "$WORK/node"
expect_rc 0 "a friend joins"
start_bg node env STREAMR_LOG=stderr "$BIN/streamr-node" --set "state_directory=$WORK/node" --set "control_socket=$WORK/node/control.sock" \
    --set "listen_http=127.0.0.1:$NH" --set "listen_rtmp=127.0.0.1:$NR"
NODE=$PID

# 10 s of incompressible 20 Mbit/s (noise over testsrc2), published in a loop.
ffmpeg -hide_banner -loglevel error -nostdin -y -f lavfi -i testsrc2=size=1280x720:rate=30,noise=alls=60:allf=t \
    -f lavfi -i sine=frequency=440:sample_rate=48000 -t 10 -c:v libx264 -preset ultrafast -b:v 20M -minrate 20M -maxrate 20M \
    -bufsize 4M -g 60 -pix_fmt yuv420p -c:a aac -b:a 128k -f flv "$WORK/source.flv"
RATE=$(ffprobe -v error -show_entries format=bit_rate -of csv=p=0 "$WORK/source.flv")
check "the source is about 20 Mbit/s ($((RATE / 1000000)) Mbit/s)" test "$RATE" -ge 15000000
start_bg publisher ffmpeg -hide_banner -loglevel error -nostdin -re -stream_loop -1 -i "$WORK/source.flv" -c copy -f flv \
    "rtmp://127.0.0.1:$RP/live/$KEY"
check "the node relays it" wait_until 30 grep -q "event=stream_started" "$WORK/node.log"
check "the node serves it" wait_until 30 eval 'curl -s --max-time 2 -o /dev/null -r 0-1000 "http://127.0.0.1:$NH/live/main.flv"; (( $? == 0 || $? == 28 ))'

rss() { awk '/^VmRSS/ { print int($2 / 1024) }' "/proc/$1/status" 2>/dev/null || echo 0; }
start_bg sampler bash -c 'while :; do echo "$(date +%s) $(awk "/^VmRSS/ {print int(\$2/1024)}" /proc/$1/status) $(awk "/^VmRSS/ {print int(\$2/1024)}" /proc/$2/status)"; sleep 2; done' \
    _ "$INGEST" "$NODE"
SAMPLER=$PID
# Readers that play in real time, with progress reports.
start_bg reader-node timeout $((SECONDS_TO_RUN + 60)) ffmpeg -hide_banner -loglevel error -nostdin -progress "$WORK/reader-node.progress" \
    -i "http://127.0.0.1:$NH/live/main.flv" -f null -
READER_NODE=$PID
start_bg reader-origin timeout $((SECONDS_TO_RUN + 60)) ffmpeg -hide_banner -loglevel error -nostdin -progress "$WORK/reader-origin.progress" \
    -i "http://127.0.0.1:$HP/live/main.flv" -f null -
READER_ORIGIN=$PID
# Warm up: the node's caches (keep_chunks chunks, HLS renditions) fill in 30 s at 2-s chunks.
sleep 40
BASE_INGEST=$(rss "$INGEST") BASE_NODE=$(rss "$NODE")
echo "baseline RSS: ingest $BASE_INGEST MiB, node $BASE_NODE MiB"
START=$(date +%s)
start_bg stuck-node python3 "$IT_DIR/nonreader.py" 127.0.0.1 "$NH" /live/main.flv 50 "$SECONDS_TO_RUN"
STUCK_NODE=$PID
start_bg stuck-origin python3 "$IT_DIR/nonreader.py" 127.0.0.1 "$HP" /live/main.flv 50 "$SECONDS_TO_RUN"
STUCK_ORIGIN=$PID
RTMP_STUCK=()
for i in 1 2 3 4 5; do
    start_bg "rtmp-stuck-$i" rtmpdump -q -v -r "rtmp://127.0.0.1:$RP/live/main" -o /dev/null
    RTMP_STUCK+=("$PID")
done
sleep 3
for pid in "${RTMP_STUCK[@]}"; do kill -STOP "$pid" 2>/dev/null || true; done
on_cleanup 'for p in "${RTMP_STUCK[@]}"; do kill -CONT "$p"; done'
wait "$STUCK_NODE" || true
wait "$STUCK_ORIGIN" || true
END=$(date +%s)

out_time() { sed -nE 's/^out_time_us=([0-9]+)/\1/p' "$1" | tail -1; }
NODE_PLAYED=$(( $(out_time "$WORK/reader-node.progress") / 1000000 ))
ORIGIN_PLAYED=$(( $(out_time "$WORK/reader-origin.progress") / 1000000 ))
RAN=$((END - START + 40))
expect "the node's reader kept playing in real time ($NODE_PLAYED s of media in about $RAN s)" \
    eval '(( NODE_PLAYED * 100 >= RAN * 90 )) && kill -0 $READER_NODE'
expect "the origin's reader kept playing in real time ($ORIGIN_PLAYED s of media in about $RAN s)" \
    eval '(( ORIGIN_PLAYED * 100 >= RAN * 90 )) && kill -0 $READER_ORIGIN'
NODE_STUCK=$(tail -1 "$WORK/stuck-node.log") ORIGIN_STUCK=$(tail -1 "$WORK/stuck-origin.log")
dropped() { python3 -c 'import json, sys; print(json.loads(sys.argv[1])["dropped_by_server"])' "$1"; }
expect "the node dropped stuck viewers ($NODE_STUCK)" test "$(dropped "$NODE_STUCK")" -ge 50
expect "the origin dropped stuck viewers ($ORIGIN_STUCK)" test "$(dropped "$ORIGIN_STUCK")" -ge 50
expect "... and the journal says why" grep -q "HTTP-FLV viewer .* dropped: behind for over 10 s" "$WORK/node.log"
expect "the stopped RTMP players were dropped (only the publisher is left on the RTMP port)" \
    wait_until 30 eval '[[ $(ss -Htn state established "( sport = :$RP )" | wc -l) == 1 ]]'
expect "... and the journal says why" grep -q "rtmp connection closed: player behind" "$WORK/ingest.log"

stop_pid "$SAMPLER" 2 || true
# Peaks: whole run, first and last thirds (after the baseline).
read -r PEAK_I PEAK_N FIRST_I FIRST_N LAST_I LAST_N < <(awk -v s="$START" -v e="$END" '
    $1 >= s && $1 <= e { t = ($1 - s) / (e - s)
        if ($2 > pi) pi = $2; if ($3 > pn) pn = $3
        if (t <= 1/3) { if ($2 > fi) fi = $2; if ($3 > fn) fn = $3 }
        if (t >= 2/3) { if ($2 > li) li = $2; if ($3 > ln) ln = $3 } }
    END { print pi+0, pn+0, fi+0, fn+0, li+0, ln+0 }' "$WORK/sampler.log")
BOUND=$(( 55 * 2 + 64 ))  # each daemon's 50 (55) stuck viewers x 2 MiB of viewer_queue, + 64 MiB
echo "RSS MiB (baseline / peak / first-third peak / last-third peak): ingest $BASE_INGEST / $PEAK_I / $FIRST_I / $LAST_I," \
     "node $BASE_NODE / $PEAK_N / $FIRST_N / $LAST_N over $((END - START)) s"
expect "the ingest's RSS stays bounded (peak $PEAK_I MiB <= $BASE_INGEST + $BOUND)" test "$PEAK_I" -le $((BASE_INGEST + BOUND))
expect "the node's RSS stays bounded (peak $PEAK_N MiB <= $BASE_NODE + $BOUND)" test "$PEAK_N" -le $((BASE_NODE + BOUND))
expect "the ingest's RSS is flat (last third $LAST_I <= first third $FIRST_I + 64)" test "$LAST_I" -le $((FIRST_I + 64))
expect "the node's RSS is flat (last third $LAST_N <= first third $FIRST_N + 64)" test "$LAST_N" -le $((FIRST_N + 64))
if [[ -n "${MEMORY_REPORT:-}" ]]; then
    printf '%s\n' "duration_s=$((END - START)) ingest_baseline=$BASE_INGEST ingest_peak=$PEAK_I ingest_first=$FIRST_I ingest_last=$LAST_I" \
        "node_baseline=$BASE_NODE node_peak=$PEAK_N node_first=$FIRST_N node_last=$LAST_N" \
        "stuck_node=$NODE_STUCK stuck_origin=$ORIGIN_STUCK played_node=$NODE_PLAYED played_origin=$ORIGIN_PLAYED" >"$MEMORY_REPORT"
fi
