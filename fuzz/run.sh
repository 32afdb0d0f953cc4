#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer + AddressSanitizer) of the parsers that
# read the network. FUZZ_SECONDS (default 60) per harness; corpus in .build-fuzz/corpus.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER=${FUZZ_SECONDS:-60}
export STREAMR_FUZZ=1
mkdir -p .build-fuzz
if ! swift build -c debug --scratch-path .build-fuzz --product streamr-fuzz-frames \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xcc -fsanitize=fuzzer-no-link,address \
    > .build-fuzz/build.log 2>&1; then
    grep -v "Cannot export local symbol" .build-fuzz/build.log | tail -30
    echo "fuzz: build failed" >&2
    exit 1
fi
BIN=$(swift build -c debug --scratch-path .build-fuzz --show-bin-path)
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
