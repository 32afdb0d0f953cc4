@testable import Validation

/// A serialized FLV tag: header, data, PreviousTagSize (as chunks and HTTP-FLV carry them).
func flvTag(type: UInt8, timestamp: UInt32, data: [UInt8]) -> [UInt8] {
    let size = data.count
    var out: [UInt8] = [type, UInt8(size >> 16 & 0xFF), UInt8(size >> 8 & 0xFF), UInt8(size & 0xFF),
                        UInt8(timestamp >> 16 & 0xFF), UInt8(timestamp >> 8 & 0xFF), UInt8(timestamp & 0xFF),
                        UInt8(timestamp >> 24), 0, 0, 0]
    out += data
    let total = UInt32(11 + size)
    out += [UInt8(total >> 24), UInt8(total >> 16 & 0xFF), UInt8(total >> 8 & 0xFF), UInt8(total & 0xFF)]
    return out
}

/// The 13 bytes before the first tag of an HTTP-FLV response.
let flvFileHeader: [UInt8] = [0x46, 0x4C, 0x56, 1, 5, 0, 0, 0, 9, 0, 0, 0, 0]

/// A chunk of `tags` alternating video and audio tags, a frame every 66 ms from `startMs`
/// (60 tags: 2 s), with payloads that differ per seq.
func testChunk(seq: UInt64, startMs: UInt32, tags: Int = 60) -> [UInt8] {
    var out: [UInt8] = []
    for i in 0..<tags {
        let video = i % 2 == 0
        let data = (0..<(video ? 900 : 120)).map { UInt8(truncatingIfNeeded: Int(seq) &* 31 &+ i &* 7 &+ $0) }
        out += flvTag(type: video ? 9 : 8, timestamp: startMs + UInt32(i / 2 * 66), data: data)
    }
    return out
}

func sealedList(_ seqs: ClosedRange<UInt64>, size: Int = 200_000, sealedAt: (UInt64) -> Int64) -> [StreamReference.Sealed] {
    seqs.map { StreamReference.Sealed(seq: $0, size: size, durationMs: 2000, sealedAtMs: sealedAt($0)) }
}

/// A stream whose chunk n was sealed at n × 2 s.
func testStream(_ seqs: ClosedRange<UInt64> = 1...50, size: Int = 200_000, holdsBytes: Bool = true, live: Bool = true) -> StreamReference {
    StreamReference(stream: "main", sealed: sealedList(seqs, size: size) { Int64($0) * 2000 }, holdsBytes: holdsBytes, isLive: live)
}

func testNode(_ id: String = "n1", holdsFrom: UInt64? = nil) -> NodeTarget {
    NodeTarget(id: NodeID(id), host: "203.0.113.5", viewerPort: 8935, relayed: [.init(stream: "main", holdsFromSeq: holdsFrom)])
}

func plan(kind: ProbeKind, stream: StreamReference = testStream(), nowMs: Int64 = 101_000, seed: UInt64 = 1) -> PlannedProbe {
    var config = ProbePlanner.Configuration()
    config.rangeWeight = kind == .range ? 1 : 0
    config.chunkWeight = kind == .chunk ? 1 : 0
    config.liveFLVWeight = kind == .liveFLV ? 1 : 0
    config.hlsWeight = kind == .hls ? 1 : 0
    var rng = SeededRandom(seed: seed)
    return ProbePlanner(configuration: config).plan(node: testNode(), stream: stream, nowMs: nowMs, using: &rng)!
}
