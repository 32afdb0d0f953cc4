import Validation

/// The ingest's side of the simulation: one live stream sealing a chunk every 2 s, made of
/// FLV-shaped tags (a video frame every 66 ms and an audio frame beside each, random payloads;
/// ~125 kB per chunk, 0.5 Mbit/s, smaller than a real stream so the run stays short), and
/// what the validator holds of it: sealed chunk list, bytes, digests, the live tag index.
struct SimStream {
    static let chunkMs: Int64 = 2000
    static let kept = 64

    let name = "main"
    private(set) var newest: UInt64 = 0
    private(set) var bytes: [UInt64: [UInt8]] = [:]
    private(set) var digests: [UInt64: [UInt8]] = [:]
    private(set) var sealed: [StreamReference.Sealed] = []
    private(set) var live = LiveReference()
    let headerTag = SimStream.tag(type: 18, timestamp: 0, data: Array("onMetaData: sim".utf8))
    var reference: StreamReference { StreamReference(stream: name, sealed: sealed) }

    init() { live.addHeaderTag(headerTag) }

    /// The time chunk `seq` is sealed (and `seq + 1` opens).
    static func sealTime(_ seq: UInt64) -> Int64 { Int64(seq) * chunkMs }

    mutating func sealNext(using rng: inout SeededRandom) {
        newest += 1
        let seq = newest
        var chunk: [UInt8] = []
        chunk.reserveCapacity(130_000)
        let start = UInt32(truncatingIfNeeded: Int64(seq - 1) * Self.chunkMs)
        for frame in 0..<30 {
            let ts = start + UInt32(frame * 66)
            chunk += Self.tag(type: 9, timestamp: ts, data: Self.noise(frame == 0 ? 12_000 : 3_600, &rng))
            chunk += Self.tag(type: 8, timestamp: ts, data: Self.noise(180, &rng))
        }
        bytes[seq] = chunk
        digests[seq] = Self.noise(32, &rng)  // stands in for the ingest's SHA-256
        sealed.append(.init(seq: seq, size: chunk.count, durationMs: Int(Self.chunkMs), sealedAtMs: Self.sealTime(seq)))
        live.add(seq: seq, bytes: chunk, sealedAtMs: Self.sealTime(seq))
        if seq > UInt64(Self.kept) {
            bytes[seq - UInt64(Self.kept)] = nil
            digests[seq - UInt64(Self.kept)] = nil
        }
        if sealed.count > 40 { sealed.removeFirst(sealed.count - 40) }
    }

    static func tag(type: UInt8, timestamp: UInt32, data: [UInt8]) -> [UInt8] {
        let n = data.count
        var out: [UInt8] = [type, UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF),
                            UInt8(timestamp >> 16 & 0xFF), UInt8(timestamp >> 8 & 0xFF), UInt8(timestamp & 0xFF),
                            UInt8(timestamp >> 24), 0, 0, 0]
        out += data
        let total = UInt32(11 + n)
        out += [UInt8(total >> 24), UInt8(total >> 16 & 0xFF), UInt8(total >> 8 & 0xFF), UInt8(total & 0xFF)]
        return out
    }

    static func noise(_ count: Int, _ rng: inout SeededRandom) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var i = 0
        while i < count {
            var word = rng.next()
            for _ in 0..<8 where i < count {
                out[i] = UInt8(truncatingIfNeeded: word)
                word >>= 8
                i += 1
            }
        }
        return out
    }
}
