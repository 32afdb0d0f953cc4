/// The last sealed chunks of one stream, bounded by count and by bytes (whichever bites
/// first; the newest chunk is always kept). The ingest resumes subscribers from it, a node
/// answers `GET /chunks/<stream>/<seq>` from it.
public struct ChunkBuffer: Sendable {
    public let maxChunks: Int
    public let maxBytes: Int
    public private(set) var totalBytes = 0
    // Ascending seq; a node may have gaps (chunks it never received), hence binary search.
    private var chunks: [Chunk] = []
    private var head = 0

    public init(maxChunks: Int = 30, maxBytes: Int = 256 << 20) {
        precondition(maxChunks >= 1 && maxBytes >= 0)
        self.maxChunks = maxChunks
        self.maxBytes = maxBytes
    }

    public var count: Int { chunks.count - head }
    public var isEmpty: Bool { count == 0 }
    public var oldestSeq: UInt64? { isEmpty ? nil : chunks[head].seq }
    public var newestSeq: UInt64? { chunks.last?.seq }
    /// Sequence numbers held, oldest first.
    public var seqs: [UInt64] { chunks[head...].map(\.seq) }

    /// Adds a chunk newer than every one held; false (nothing changes) for an older or
    /// repeated seq. Evicts the oldest chunks past either limit.
    @discardableResult
    public mutating func append(_ chunk: Chunk) -> Bool {
        if let newest = newestSeq, chunk.seq <= newest { return false }
        chunks.append(chunk)
        totalBytes += chunk.size
        while count > maxChunks || (totalBytes > maxBytes && count > 1) {
            totalBytes -= chunks[head].size
            head += 1
        }
        // Drop evicted slots in one move once they are half the array.
        if head > 0 && head * 2 >= chunks.count {
            chunks.removeFirst(head)
            head = 0
        }
        return true
    }

    public func chunk(seq: UInt64) -> Chunk? {
        index(of: seq).map { chunks[$0] }
    }

    /// What a subscriber that has every chunk up to `seq` needs next.
    public enum Resume: Sendable, Hashable {
        /// The held chunks after `seq`, oldest first (empty when it is up to date).
        case chunks([Chunk])
        /// Chunk `seq + 1` is gone: it must skip ahead (to `oldest`, or to live when nil).
        case evicted(oldest: UInt64?)
    }

    public func resume(after seq: UInt64) -> Resume {
        guard let oldest = oldestSeq else { return .evicted(oldest: nil) }
        if seq &+ 1 < oldest { return .evicted(oldest: oldest) }
        let from = lowerBound(seq &+ 1)
        return .chunks(Array(chunks[from...]))
    }

    private func lowerBound(_ seq: UInt64) -> Int {
        var lo = head, hi = chunks.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if chunks[mid].seq < seq { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    private func index(of seq: UInt64) -> Int? {
        let i = lowerBound(seq)
        return i < chunks.count && chunks[i].seq == seq ? i : nil
    }
}
