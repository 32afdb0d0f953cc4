#!/usr/bin/env bash
# Every HLS rendition a node serves, from real publishes to the ingest: H.264/AAC (Debian's
# ffmpeg, legacy RTMP), HEVC/AAC, AV1/Opus and H.264/Opus (ffmpeg 9, Enhanced RTMP). For each,
# the node's fMP4 playlist (fmp4.m3u8: init segment + .m4s fragments) and, where MPEG-TS can
# carry the codecs, its TS playlist (index.m3u8) are read back: ffprobe names the codecs,
# `ffmpeg -v error ... -f null` decodes them without a word, the init segment says its codecs
# for MSE, HEAD and Range work on fragments, CORS is there, every byte is on the node's meter,
# and where TS cannot carry the stream index.m3u8 is a 404 that says why. /watch?format=fmp4
# routes to the node; the ingest's origin serves the same fragments.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$IT_DIR/lib-live.sh"

command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || fail "ffmpeg/ffprobe not installed (make deps)"
FF9=$(ffmpeg9)
[[ -n "$FF9" && -x "$FF9" ]] || fail "ffmpeg 9 not found: make ffmpeg9 (or set STREAMR_FFMPEG9)"

live_system 2s
live_node 1 "Friend One"
NODE="http://127.0.0.1:$N1H"
ORIGIN="http://127.0.0.1:$HP"
NODE_SOCK="$WORK/node1/control.sock"
served() { "$BIN/streamrctl" status --socket "$NODE_SOCK" --json | python3 -c 'import json, sys; print(int(json.load(sys.stdin)["items"]["bytes_served"]))'; }

#          name       encoder video                                                                         audio          ffprobe names  codecs    TS?
RENDITIONS=(
    "h264-aac  debian  -c:v libx264 -preset ultrafast -g 60 -pix_fmt yuv420p                                 -c:a aac       h264,aac       avc1,mp4a yes"
    "hevc-aac  ff9     -c:v libx265 -preset ultrafast -pix_fmt yuv420p -x265-params log-level=error:keyint=60:open-gop=0  -c:a aac  hevc,aac  hvc1,mp4a yes"
    "av1-opus  ff9     -c:v libsvtav1 -preset 12 -g 60 -pix_fmt yuv420p -svtav1-params lp=1                 -c:a libopus   av1,opus       av01,opus no"
    "h264-opus ff9     -c:v libx264 -preset ultrafast -g 60 -pix_fmt yuv420p                                 -c:a libopus   h264,opus      avc1,opus no"
)

previous_chain=none
for line in "${RENDITIONS[@]}"; do
    read -r -a f <<<"$line"
    name=${f[0]} encoder=${f[1]}
    ts=${f[-1]} codecs=${f[-2]} probed=${f[-3]}
    # video args: from index 2 up to "-c:a"; audio: "-c:a X"
    args=("${f[@]:2:${#f[@]}-5}")
    tool=ffmpeg
    [[ $encoder == ff9 ]] && tool=$FF9
    echo "# $name ($([[ $encoder == ff9 ]] && echo "ffmpeg 9, Enhanced RTMP" || echo "Debian ffmpeg"))"
    "$tool" -hide_banner -loglevel error -nostdin -y -f lavfi -i testsrc2=size=640x360:rate=30 -f lavfi -i sine=frequency=440:sample_rate=48000 \
        -t 20 "${args[@]}" -b:a 96k -f flv "$WORK/$name.flv" || fail "$name: cannot encode the source"
    start_bg "publish-$name" "$tool" -hide_banner -loglevel warning -nostdin -re -i "$WORK/$name.flv" -c copy -f flv "rtmp://127.0.0.1:$RP/live/$KEY"
    PUBLISHER=$PID

    # Three fragments of this publish's chain (a new one: the last stream went offline).
    fresh() {
        curl -sf "$NODE/live/main/fmp4.m3u8" -o "$WORK/$name.m3u8" || return 1
        local last chain
        last=$(grep -E '\.m4s$' "$WORK/$name.m3u8" | tail -1)
        chain=${last%%-*}
        [[ $chain != "$previous_chain" ]] && (($(grep -c "^$chain-[0-9]*\.m4s$" "$WORK/$name.m3u8") >= 3))
    }
    check "$name: the node's fMP4 playlist has three fragments of the new publish" wait_until 40 fresh
    last=$(grep -E '\.m4s$' "$WORK/$name.m3u8" | tail -1)
    chain=${last%%-*}
    previous_chain=$chain
    map=$(grep -o 'URI="[^"]*"' "$WORK/$name.m3u8" | tail -1 | cut -d'"' -f2)
    check "$name: EXT-X-MAP names the init segment by chain and chunk ($map)" bash -c '[[ $1 =~ ^$2-init-[0-9]+\.mp4$ ]]' _ "$map" "$chain"
    frags=($(grep -E "^$chain-[0-9]+\.m4s$" "$WORK/$name.m3u8" | tail -3))
    check "$name: /watch?format=fmp4 routes to the node's fMP4 playlist" \
        test "$(curl -s -o /dev/null -w '%{redirect_url}' "http://127.0.0.1:$CH/watch/main?format=fmp4")" = "$NODE/live/main/fmp4.m3u8"
    # The same chunk's fragment, with the same samples (mdat); the moof may differ (its sequence
    # number and, after a join, the audio's decode time follow each muxer's own history).
    curl -sf "$ORIGIN/live/main/${frags[0]}" -o "$WORK/$name.origin.m4s"
    curl -sf "$NODE/live/main/${frags[0]}" -o "$WORK/$name.node.m4s"
    check "$name: the ingest's origin serves the same fragment name, with the node's samples byte for byte" python3 -c '
import struct, sys
def mdat(path):
    data, p = open(path, "rb").read(), 0
    while p + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[p:p + 8])
        if kind == b"mdat": return data[p + 8:p + size]
        p += size
sys.exit(0 if mdat(sys.argv[1]) and mdat(sys.argv[1]) == mdat(sys.argv[2]) else 1)' "$WORK/$name.origin.m4s" "$WORK/$name.node.m4s"

    before=$(served)
    fetched=0
    curl -sf -D "$WORK/$name.init.headers" "$NODE/live/main/$map" -o "$WORK/$name.init.mp4"
    fetched=$((fetched + $(stat -c %s "$WORK/$name.init.mp4")))
    cp "$WORK/$name.init.mp4" "$WORK/$name.mp4"
    for frag in "${frags[@]}"; do
        curl -sf "$NODE/live/main/$frag" -o "$WORK/$name.frag"
        fetched=$((fetched + $(stat -c %s "$WORK/$name.frag")))
        cat "$WORK/$name.frag" >>"$WORK/$name.mp4"
    done
    header=$(grep -i '^x-streamr-codecs:' "$WORK/$name.init.headers" | cut -d' ' -f2 | tr -d '\r')
    check "$name: the init segment is video/mp4 and names its codecs for MSE ($header)" bash -c '
      grep -qi "^content-type: video/mp4" "$1" && grep -qi "^access-control-allow-origin: \*" "$1" &&
      IFS=, read -r v a <<<"$3" && [[ $2 == "$v".*,"$a"* ]]' _ "$WORK/$name.init.headers" "$header" "$codecs"
    run_cmd "probe-$name" ffprobe -v error -show_entries stream=codec_name -of csv=p=0 "$WORK/$name.mp4"
    check "$name: ffprobe reads the init + 3 fragments as ${probed} ($(tr '\n' ' ' <<<"$OUT"))" \
        test "$(awk 'NF && !seen[$0]++' <<<"$OUT" | tr '\n' ',')" = "$probed,"
    run_cmd "decode-$name" "$FF9" -hide_banner -v error -nostdin -i "$WORK/$name.mp4" -f null -
    check "$name: ffmpeg 9 decodes them without a word" bash -c '[[ $1 == 0 && -z $2 ]]' _ "$RC" "$ERR"
    if [[ $name != av1-opus ]]; then  # Debian's ffmpeg 5.1 has no AV1 decoder
        run_cmd "decode5-$name" ffmpeg -hide_banner -v error -nostdin -i "$WORK/$name.mp4" -f null -
        check "$name: so does Debian's ffmpeg" bash -c '[[ $1 == 0 && -z $2 ]]' _ "$RC" "$ERR"
    fi
    frag=${frags[0]}
    size=$(curl -sf "$NODE/live/main/$frag" | wc -c)
    fetched=$((fetched + size))
    check "$name: HEAD on a fragment gives its length and no body" python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(f"HEAD /live/main/{sys.argv[2]} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
data = b""
while chunk := s.recv(65536): data += chunk
head, _, body = data.partition(b"\r\n\r\n"); head = head.decode().lower()
assert head.startswith("http/1.1 200") and f"content-length: {sys.argv[3]}" in head and "accept-ranges: bytes" in head, head
assert "cache-control: public" in head and body == b"", (head, len(body))' "$N1H" "$frag" "$size"
    check "$name: Range on a fragment gets 206 with exactly those bytes" bash -c '
      code=$(curl -s -o "$2.range" -w "%{http_code}" -H "Range: bytes=100-1099" "$1")
      [[ $code == 206 && $(stat -c %s "$2.range") == 1000 ]] && cmp -s "$2.range" <(curl -sf "$1" | tail -c +101 | head -c 1000)' \
        _ "$NODE/live/main/$frag" "$WORK/$name"
    fetched=$((fetched + 1000 + size))
    after=$(served)
    check "$name: every byte fetched is on the node's meter (+$((after - before)) for $fetched fetched)" test "$((after - before))" -eq "$fetched"

    run_cmd "live-$name" timeout 60 "$FF9" -hide_banner -v error -nostdin -i "$NODE/live/main/fmp4.m3u8" -t 3 -f null -
    check "$name: ffmpeg 9 plays the live fMP4 playlist from the node without errors" bash -c '[[ $1 == 0 && -z $2 ]]' _ "$RC" "$ERR"

    if [[ $ts == yes ]]; then
        curl -sf "$NODE/live/main/index.m3u8" -o "$WORK/$name.ts.m3u8"
        seg=$(grep -E "^$chain-[0-9]+\.ts$" "$WORK/$name.ts.m3u8" | tail -1)
        check "$name: the MPEG-TS playlist lists the same chunks ($seg)" test -n "$seg"
        curl -sf "$NODE/live/main/$seg" -o "$WORK/$name.ts"
        run_cmd "probe-ts-$name" ffprobe -v error -show_entries stream=codec_name -of csv=p=0 "$WORK/$name.ts"
        check "$name: ffprobe reads the TS segment as ${probed} ($(tr '\n' ' ' <<<"$OUT"))" test "$(awk 'NF && !seen[$0]++' <<<"$OUT" | tr '\n' ',')" = "$probed,"
        run_cmd "decode-ts-$name" ffmpeg -hide_banner -v error -nostdin -i "$WORK/$name.ts" -f null -
        check "$name: Debian's ffmpeg decodes the TS segment without a word" bash -c '[[ $1 == 0 && -z $2 ]]' _ "$RC" "$ERR"
        run_cmd "live-ts-$name" timeout 60 ffmpeg -hide_banner -v error -nostdin -i "$NODE/live/main/index.m3u8" -t 3 -f null -
        check "$name: and plays the live TS playlist without errors" bash -c '[[ $1 == 0 && -z $2 ]]' _ "$RC" "$ERR"
    else
        code=$(curl -s -o "$WORK/$name.refusal" -w '%{http_code}' "$NODE/live/main/index.m3u8")
        check "$name: index.m3u8 is a 404 that says why and where to go ($(head -c 160 "$WORK/$name.refusal"))" bash -c '
          [[ $1 == 404 ]] && grep -q "not available" "$2" && grep -qi "fMP4 HLS only" "$2" && grep -q "/live/main/fmp4.m3u8" "$2"' _ "$code" "$WORK/$name.refusal"
    fi

    check "$name: the publisher finishes" wait_until 40 eval '! kill -0 $PUBLISHER 2>/dev/null'
    wait "$PUBLISHER" 2>/dev/null || true
    state() { "$BIN/streamrctl" stream show main --json --socket "$LIVE_SOCK" | python3 -c 'import json, sys; print(json.load(sys.stdin)["state"])'; }
    check "$name: the stream goes offline after the grace" wait_until 20 eval '[[ $(state) == offline ]]'
done
