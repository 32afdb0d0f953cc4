#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer + AddressSanitizer) of the parsers that
# read the network: protobuf framing, RTMP and FLV. FUZZ_SECONDS (default 60) per harness;
# corpus in .build-fuzz/corpus.
# Usage: fuzz/run.sh [frames|rtmp|flv|all]   (default all)
set -euo pipefail
WHICH=${1:-all}
case "$WHICH" in frames|rtmp|flv|all) ;; *) echo "usage: $0 [frames|rtmp|flv|all]" >&2; exit 2 ;; esac
cd "$(dirname "$0")/.."
SECONDS_PER=${FUZZ_SECONDS:-60}
export STREAMR_FUZZ=1
mkdir -p .build-fuzz
build() {
    if ! swift build -c debug --scratch-path .build-fuzz --product "$1" \
        -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xcc -fsanitize=fuzzer-no-link,address \
        > .build-fuzz/build.log 2>&1; then
        grep -v "Cannot export local symbol" .build-fuzz/build.log | tail -30
        echo "fuzz: build of $1 failed" >&2
        exit 1
    fi
}
BIN=$(swift build -c debug --scratch-path .build-fuzz --show-bin-path)

if [ "$WHICH" = frames ] || [ "$WHICH" = all ]; then
build streamr-fuzz-frames
CORPUS=.build-fuzz/corpus/frames
mkdir -p "$CORPUS"
# Seed with real frames: every kind of envelope, framed, from protoc's own encoder.
i=0
while IFS= read -r text; do
    printf '%s' "$text" | protoc --encode=streamr.Envelope -Iproto proto/streamr.proto > .build-fuzz/seed.bin
    python3 -c 'import sys; b=open(sys.argv[1],"rb").read(); n=len(b); v=bytearray()
while True:
    c=n&0x7f; n>>=7
    if n: v.append(c|0x80)
    else: v.append(c); break
open(sys.argv[2],"wb").write(bytes(v)+b)' .build-fuzz/seed.bin "$CORPUS/seed-$i"
    i=$((i+1))
done <<'SEEDS'
id: 1 hello { protocol_version: 1 software: "streamr-node/0.1.0" role: ROLE_NODE }
id: 4 heartbeat { seq: 9 sent_unix_ms: 1764000000000 streams { stream: "main" viewers: 3 } buffer_health_ms: 4000 }
media { stream: "main" chunk_seq: 7 kind: MEDIA_SEQUENCE_HEADERS tags: "\x09\x00\x00\x05" }
chunk_sealed { stream: "main" seq: 7 size: 100 sha256: "0123456789abcdef0123456789abcdef" }
id: 8 admin_request { command: "stream" command: "list" arguments { name: "json" value: "1" } }
reply_to: 8 admin_response { columns: "name" rows { cells: "main" } message: "ok" }
reply_to: 2 enroll_response { node_id: "n1" settings { heartbeat_interval_ms: 5000 streams: "a" } }
SEEDS
echo "fuzzing the frame decoder for ${SECONDS_PER}s"
"$BIN/streamr-fuzz-frames" -max_total_time="$SECONDS_PER" -max_len=4096 -rss_limit_mb=2048 "$CORPUS" 2>&1 | tail -5
fi

if [ "$WHICH" = rtmp ] || [ "$WHICH" = all ]; then
build streamr-fuzz-rtmp
CORPUS=.build-fuzz/corpus/rtmp
mkdir -p "$CORPUS"
# Seeds: a connect command in one type 0 chunk; a 200-byte video message at chunk size 128
# (type 3 continuation); Set Chunk Size then an extended-timestamp message.
python3 - "$CORPUS" <<'PY'
import struct, sys
d = sys.argv[1]
def s(x): b = x.encode(); return b"\x02" + struct.pack(">H", len(b)) + b
def n(x): return b"\x00" + struct.pack(">d", x)
def chunk0(cs, ts, typ, sid, payload, size=128):
    ext = ts >= 0xFFFFFF
    h = bytes([cs]) + struct.pack(">I", 0xFFFFFF if ext else ts)[1:] + struct.pack(">I", len(payload))[1:] + bytes([typ]) + struct.pack("<I", sid)
    e = struct.pack(">I", ts) if ext else b""
    out = h + e + payload[:size]
    for i in range(size, len(payload), size):
        out += bytes([0xC0 | cs]) + e + payload[i:i + size]
    return out
obj = b"\x03" + b"\x00\x03app" + s("live") + b"\x00\x05tcUrl" + s("rtmp://h/live") + b"\x00\x00\x09"
seeds = [
    chunk0(3, 0, 20, 0, s("connect") + n(1) + obj),
    chunk0(3, 0, 20, 0, s("connect") + n(1) + obj) + chunk0(3, 0, 20, 1, s("publish") + n(5) + b"\x05" + s("key") + s("live"))
        + chunk0(4, 0, 18, 1, s("@setDataFrame") + s("onMetaData") + b"\x08\x00\x00\x00\x00\x00\x05width" + n(1280) + b"\x00\x00\x09"),
    chunk0(7, 40, 9, 1, bytes(range(200))),
    chunk0(2, 0, 1, 0, struct.pack(">I", 4096)) + chunk0(6, 0x1000000, 8, 1, b"\xaf\x01" * 100, 4096),
]
for i, seed in enumerate(seeds):
    open(f"{d}/seed-{i}", "wb").write(seed)
PY
echo "fuzzing the RTMP chunk decoder, AMF0 and session for ${SECONDS_PER}s"
"$BIN/streamr-fuzz-rtmp" -max_total_time="$SECONDS_PER" -max_len=8192 -rss_limit_mb=2048 "$CORPUS" 2>&1 | tail -5
fi

if [ "$WHICH" = flv ] || [ "$WHICH" = all ]; then
build streamr-fuzz-flv
CORPUS=.build-fuzz/corpus/flv
mkdir -p "$CORPUS"
# Seed with hand-made tags of every kind the classifier knows, and a real file when ffmpeg
# can make one.
python3 - "$CORPUS" <<'PY'
import struct, sys
def tag(t, ts, data):
    h = bytes([t]) + len(data).to_bytes(3, "big") + (ts & 0xffffff).to_bytes(3, "big") + bytes([ts >> 24]) + b"\0\0\0"
    return h + data + struct.pack(">I", 11 + len(data))
avc = bytes.fromhex("0164000dffe100196764000dacd94141fb0110000003001000000303c0f142996001000668ebe3cb22c0fdf8f800")
amf = lambda s: b"\x02" + struct.pack(">H", len(s)) + s
seeds = {
    "avc": b"FLV\x01\x05\0\0\0\x09\0\0\0\0" + tag(18, 0, amf(b"onMetaData") + b"\x08\0\0\0\0\0\0\x09")
           + tag(9, 0, b"\x17\0\0\0\0" + avc) + tag(8, 0, b"\xaf\x00\x12\x08\x56\xe5\x00")
           + tag(9, 0, b"\x17\x01\0\0\0" + b"\0\0\0\x02\x65\x88") + tag(8, 23, b"\xaf\x01\x21\x10")
           + tag(9, 1 << 24, b"\x27\x01\0\0\0\0\0\0\x01\x41"),
    "ertmp": tag(9, 0, b"\x90hvc1\x01\x02") + tag(9, 0, b"\x91hvc1\0\0\0\x05") + tag(9, 40, b"\x97\x02abc\x03av01\x09")
             + tag(9, 80, b"\x96\x10vp09\x00\0\0\x01\x07") + tag(8, 0, b"\x90Opus\x01") + tag(8, 20, b"\x95\x01mp4a\x00\x11\x90"),
    "script": tag(18, 0, amf(b"@setDataFrame") + amf(b"onMetaData") + b"\x08\0\0\0\0\0\0\x09"),
    "asc": b"\x17\x80\x2b\x11\x10",
}
for name, data in seeds.items():
    open(f"{sys.argv[1]}/seed-{name}", "wb").write(data)
PY
if command -v ffmpeg > /dev/null; then
    ffmpeg -hide_banner -loglevel error -nostdin -y -f lavfi -i testsrc2=size=64x48:rate=10 -f lavfi -i sine \
        -t 0.5 -c:v libx264 -g 3 -c:a aac -f flv "$CORPUS/seed-ffmpeg" || true
fi
echo "fuzzing the FLV parser and codec configuration parsers for ${SECONDS_PER}s"
"$BIN/streamr-fuzz-flv" -max_total_time="$SECONDS_PER" -max_len=8192 -rss_limit_mb=2048 "$CORPUS" 2>&1 | tail -5
fi
