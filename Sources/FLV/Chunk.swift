/// A hash over bytes (SHA-256 in production, from StreamrTLS): injected so this module stays
/// free of C, and so nothing here re-implements a digest.
public typealias HashFunction = @Sendable ([UInt8]) -> [UInt8]

/// The chunk hash chain the ingest signs:
///
///     chain_0 = 32 zero bytes
///     chain_n = H(chain_(n-1) || digest_n),   digest_n = H(bytes of chunk n)
///
/// so one signature over chain_n vouches for every chunk up to n, and a node can check a
/// chunk given only the previous chain value.
public enum HashChain {
    public static let initial = [UInt8](repeating: 0, count: 32)

    public static func next(previous: [UInt8], digest: [UInt8], hash: HashFunction) -> [UInt8] {
        hash(previous + digest)
    }
}

/// A video keyframe inside a chunk: where its tag starts in the chunk's bytes.
public struct Keyframe: Sendable, Hashable {
    public var offset: Int
    public var timestamp: UInt32
    public init(offset: Int, timestamp: UInt32) {
        self.offset = offset
        self.timestamp = timestamp
    }
}

/// A sealed chunk: consecutive media tags, serialized and concatenated, with the values
/// ChunkSealed carries.
public struct Chunk: Sendable, Hashable {
    /// 1, 2, 3, ... in stream order.
    public var seq: UInt64
    /// Timestamps of the first and last tag, as the publisher sent them: `last` can be below
    /// `first` after a 32-bit wrap or a publisher restart.
    public var firstTimestamp: UInt32
    public var lastTimestamp: UInt32
    /// Tag header + data + PreviousTagSize for each tag; no FLV file header.
    public var bytes: [UInt8]
    public var digest: [UInt8]
    public var chain: [UInt8]
    public var tagCount: Int
    /// Video keyframes in the chunk; a chunk of a video stream normally starts with one.
    public var keyframes: [Keyframe]
    /// The sequence headers current when the chunk started: what a subscriber starting here
    /// needs first.
    public var headers: SequenceHeaders

    public init(seq: UInt64, firstTimestamp: UInt32, lastTimestamp: UInt32, bytes: [UInt8], digest: [UInt8],
                chain: [UInt8], tagCount: Int, keyframes: [Keyframe], headers: SequenceHeaders) {
        self.seq = seq
        self.firstTimestamp = firstTimestamp
        self.lastTimestamp = lastTimestamp
        self.bytes = bytes
        self.digest = digest
        self.chain = chain
        self.tagCount = tagCount
        self.keyframes = keyframes
        self.headers = headers
    }

    public var size: Int { bytes.count }
    public var startsWithKeyframe: Bool { keyframes.first?.offset == 0 }
    /// Milliseconds from the first to the last tag, across a 32-bit wrap; 0 when the last is
    /// earlier (a publisher restart inside the chunk).
    public var durationMs: Int { max(0, Timestamps.delta(from: firstTimestamp, to: lastTimestamp)) }
}

enum Timestamps {
    /// Signed distance between two 32-bit millisecond timestamps taken modulo 2^32, so that
    /// 0xFFFF_FF00 -> 0x100 is +512, not -4 billion (the wrap after 49.7 days).
    static func delta(from a: UInt32, to b: UInt32) -> Int { Int(Int32(bitPattern: b &- a)) }
}
