/// The tags of a stream's recent chunks, indexed so that each tag a live FLV watch received
/// can be found, byte for byte, with the chunk it belongs to. The validator keeps one per
/// stream and adds each chunk as it is sealed: nodes send exactly the ingest's tag bytes
/// (header, data, PreviousTagSize), so every media tag of an honest watch is in here.
public struct LiveReference: Sendable {
    private struct Location: Sendable {
        var seq: UInt64
        var start: Int
        var end: Int
    }

    private struct Held: Sendable {
        var seq: UInt64
        var bytes: [UInt8]
        var firstTimestamp: UInt32?
        var sealedAtMs: Int64
    }

    /// Chunks kept: ten more than nodes keep, so a node a little stuck is found serving
    /// genuine tags behind the edge. Memory is about `keepChunks` × the chunk size (40 × 1.5 MB
    /// at 6 Mbit/s); the daemon can serve range references from here too (`bytes(of:)`).
    public let keepChunks: Int
    private var held: [Held] = []
    private var index: [UInt64: [Location]] = [:]
    private var headerTags: [[UInt8]] = []

    public init(keepChunks: Int = 40) {
        self.keepChunks = max(1, keepChunks)
    }

    /// Adds a sealed chunk (newer than any held) and drops the oldest past `keepChunks`.
    public mutating func add(seq: UInt64, bytes: [UInt8], sealedAtMs: Int64) {
        if let last = held.last, seq <= last.seq { return }
        let spans = FLVTags.walk(bytes, from: 0).tags
        for span in spans {
            index[Self.key(bytes[span.start..<span.end]), default: []].append(Location(seq: seq, start: span.start, end: span.end))
        }
        held.append(Held(seq: seq, bytes: bytes, firstTimestamp: spans.first?.timestamp, sealedAtMs: sealedAtMs))
        while held.count > keepChunks {
            let old = held.removeFirst()
            for span in FLVTags.walk(old.bytes, from: 0).tags {
                let k = Self.key(old.bytes[span.start..<span.end])
                index[k]?.removeAll { $0.seq == old.seq }
                if index[k]?.isEmpty == true { index[k] = nil }
            }
        }
    }

    /// The metadata and sequence-header tags the ingest sends viewers before media (as
    /// serialized tags). Earlier ones stay valid for a while: a viewer may have joined before
    /// a change. The last 16 distinct are kept.
    public mutating func addHeaderTag(_ tag: [UInt8]) {
        headerTags.removeAll { $0 == tag }
        headerTags.append(tag)
        if headerTags.count > 16 { headerTags.removeFirst() }
    }

    public var newestSeq: UInt64? { held.last?.seq }
    /// A held chunk's bytes (the reference for range probes).
    public func bytes(of seq: UInt64) -> [UInt8]? { held.last { $0.seq == seq }?.bytes }
    public var oldestSeq: UInt64? { held.first?.seq }

    /// A watch that ended at `endMs` can be judged in full once a chunk sealed after it is
    /// held: every tag it got is then in a sealed chunk, so any tag not found is evidence.
    public func isSettled(watchEndedAtMs endMs: Int64) -> Bool {
        (held.last?.sealedAtMs ?? .min) >= endMs
    }

    func isHeader(_ tag: ArraySlice<UInt8>) -> Bool { headerTags.contains { $0[...] == tag } }

    /// The chunk holding exactly these tag bytes.
    func chunk(of tag: ArraySlice<UInt8>) -> UInt64? {
        guard let candidates = index[Self.key(tag)] else { return nil }
        for c in candidates {
            guard let h = held.last(where: { $0.seq == c.seq }) else { continue }
            if h.bytes[c.start..<c.end].elementsEqual(tag) { return c.seq }
        }
        return nil
    }

    /// True when `timestamp` is before the oldest chunk held (32-bit wrapping order).
    func isOlderThanHeld(_ timestamp: UInt32) -> Bool {
        guard let first = held.first?.firstTimestamp else { return false }
        return Int32(bitPattern: timestamp &- first) < 0
    }

    /// FNV-1a over the length, the tag header (type, size, timestamp) and the first data
    /// bytes: enough to find the few candidates, which are then compared in full.
    private static func key(_ tag: ArraySlice<UInt8>) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        var n = UInt64(tag.count)
        for _ in 0..<8 { h = (h ^ (n & 0xFF)) &* 0x100_0000_01B3; n >>= 8 }
        for b in tag.prefix(48) { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        return h
    }
}

/// Serialized FLV tags in a byte string, found by their headers alone: this module reads
/// no more of FLV than where each tag starts and ends (11-byte header, data, PreviousTagSize).
enum FLVTags {
    struct Span: Sendable, Hashable {
        var start: Int
        var end: Int
        var type: UInt8
        var timestamp: UInt32
    }

    /// Complete tags from `start`. Stops at an incomplete last tag (a watch is cut off
    /// mid-tag) or at a byte that cannot begin a tag (`malformed`).
    static func walk(_ b: [UInt8], from start: Int) -> (tags: [Span], malformed: Bool) {
        var tags: [Span] = []
        var i = start
        while i + 11 <= b.count {
            let type = b[i]
            guard type == 8 || type == 9 || type == 18 else { return (tags, true) }
            let size = Int(b[i + 1]) << 16 | Int(b[i + 2]) << 8 | Int(b[i + 3])
            let ts = UInt32(b[i + 7]) << 24 | UInt32(b[i + 4]) << 16 | UInt32(b[i + 5]) << 8 | UInt32(b[i + 6])
            let end = i + 11 + size + 4
            guard end <= b.count else { break }
            tags.append(Span(start: i, end: end, type: type, timestamp: ts))
            i = end
        }
        return (tags, false)
    }

    /// Where the first tag starts after an FLV file header ("FLV", version, flags,
    /// DataOffset, PreviousTagSize0); nil when the bytes are not one.
    static func bodyStart(_ b: [UInt8]) -> Int? {
        guard b.count >= 13, b[0] == 0x46, b[1] == 0x4C, b[2] == 0x56 else { return nil }
        let offset = Int(b[5]) << 24 | Int(b[6]) << 16 | Int(b[7]) << 8 | Int(b[8])
        guard offset >= 9, offset + 4 <= b.count else { return nil }
        return offset + 4
    }
}

/// A live FLV watch: every complete tag received must be one the ingest sent (a sequence
/// header or a media tag of a held chunk), and the newest must be near the live edge.
enum LiveCheck {
    static func evaluate(_ plan: PlannedProbe, _ o: HTTPObservation, reference: LiveReference) -> (Verdict, Reason) {
        if let failure = OutcomeEvaluator.statusFailure(o, accepting: [200, 206]) { return failure }
        let b = o.body
        if b.count >= 3 && !(b[0] == 0x46 && b[1] == 0x4C && b[2] == 0x56) { return (.altered, .notFLV) }
        guard let first = FLVTags.bodyStart(b) else {
            return (.failed, o.error.map(Reason.transport) ?? (b.count < 13 ? .shortBody : .transport(.badResponse)))
        }
        let (tags, malformed) = FLVTags.walk(b, from: first)

        // Tags in order: once one is found in a sealed chunk, everything before it is in a
        // sealed chunk too. After the last found one, a tag not found may still be in the
        // chunk that was open at the end, unless the reference has settled past the watch.
        let settled = o.startedAtMs.map { reference.isSettled(watchEndedAtMs: $0 + Int64(o.totalMs)) } ?? false
        var unknown: [UInt32] = []  // timestamps of tags found nowhere
        var pending: [UInt32] = []
        var newestSeq: UInt64?
        var minTs: UInt32?, maxTs: UInt32?
        for t in tags {
            let bytes = b[t.start..<t.end]
            if let seq = reference.chunk(of: bytes) {
                unknown += pending; pending = []
                newestSeq = max(newestSeq ?? seq, seq)
            } else if reference.isHeader(bytes) {
                continue
            } else {
                pending.append(t.timestamp)
            }
            // The media timeline, over pending tags too (before the seal they are the newest).
            if minTs == nil || Int32(bitPattern: t.timestamp &- minTs!) < 0 { minTs = t.timestamp }
            if maxTs == nil || Int32(bitPattern: t.timestamp &- maxTs!) > 0 { maxTs = t.timestamp }
        }
        if settled || malformed { unknown += pending }
        if malformed && unknown.isEmpty { unknown.append(0) }  // bytes that are not tags at all

        if !unknown.isEmpty {
            // Only old tags, none current: a node stuck on what it had (genuine tags older
            // than the reference reaches back), not altered ones.
            if newestSeq == nil && !malformed && unknown.allSatisfy(reference.isOlderThanHeld) {
                return (.stale, .olderThanReference)
            }
            return (.altered, .unknownTags)
        }
        if let error = o.error { return (.failed, .transport(error)) }
        guard let newest = newestSeq, let minTs, let maxTs else { return (.failed, .noMedia) }
        if let edge = plan.liveEdgeSeq, edge + 1 > newest, edge + 1 - newest > UInt64(plan.limits.maxLagChunks) {
            return (.stale, .behindLiveEdge)
        }
        // The media timeline must keep up with the wall clock (a quarter of slack, plus a
        // second for the player's start).
        let span = Int(maxTs &- minTs)  // maxTs is at or after minTs in wrapping order
        let watched = o.totalMs - (o.ttfbMs ?? 0)
        if Double(span + 1000) < 0.75 * Double(watched) { return (.failed, .slow) }
        return (.passed, .ok)
    }
}
