/// Cuts a stream of FLV tags into chunks.
///
/// Cut rules, checked for each media tag before adding it:
/// - Video stream: a video keyframe starts a new chunk once the open chunk has lasted at least
///   `targetDurationMs` (from its first tag's timestamp to the keyframe's).
/// - Audio-only stream (no video tag within the last `audioOnlyAfterMs`): any audio tag
///   starts a new chunk once the target duration is reached.
/// - A changed video or audio sequence header seals the open chunk at once, so every chunk is
///   decodable with the headers current at its start (encoders send a keyframe right after a
///   new video header, so the next chunk still starts with one). A repeated identical header
///   or new metadata does not cut.
/// - A timestamp discontinuity (a step back of more than `jitterToleranceMs`, or forward by
///   more than `maxGapMs`, e.g. a publisher restart or an encoder wrapping at 2^24 ms) cuts at
///   the next tag that could start a chunk, whatever the duration so far.
/// - `maxChunkBytes`: a safety valve; a tag that would overflow it starts a new chunk even
///   without a keyframe (`startsWithKeyframe` is then false).
///
/// Durations use 32-bit wrapping arithmetic, so the wrap at 2^32 ms is not a discontinuity.
/// Metadata and sequence headers never go into chunk bodies: they are kept in `headers`.
public struct Chunker: Sendable {
    public struct Configuration: Sendable, Hashable {
        public var targetDurationMs: Int = 2000
        public var audioOnlyAfterMs: Int = 5000
        public var jitterToleranceMs: Int = 1000
        public var maxGapMs: Int = 10_000
        public var maxChunkBytes: Int = 64 << 20
        public init(targetDurationMs: Int = 2000) { self.targetDurationMs = targetDurationMs }
    }

    /// What happened to one tag.
    public struct Output: Sendable, Hashable {
        public var kind: TagKind
        /// The chunk this tag went into; for metadata and sequence headers, the chunk the
        /// following media tags go into (what MediaData.chunk_seq carries either way).
        public var chunkSeq: UInt64
        /// Metadata or a video/audio sequence header: kept in `headers`, not in a chunk.
        public var isHeader: Bool
        /// For a header: it differs from the one kept before (subscribers need the new one).
        public var headerChanged: Bool
        /// The tag serialized, as MediaData.tags carries it.
        public var bytes: [UInt8]
        /// A chunk that closed before this tag (so it does not contain it).
        public var sealed: Chunk?
    }

    /// The chunk being filled.
    public struct OpenChunk: Sendable, Hashable {
        public var seq: UInt64
        public var firstTimestamp: UInt32
        public var lastTimestamp: UInt32
        public var bytes: [UInt8]
        public var tagCount: Int
        public var keyframes: [Keyframe]
        public var headers: SequenceHeaders
        /// Any video tag so far (keyframe or not).
        public var containsVideo: Bool
    }

    public let configuration: Configuration
    public private(set) var headers = SequenceHeaders()
    public private(set) var openChunk: OpenChunk?
    /// The number the next chunk to open gets.
    public private(set) var nextSeq: UInt64 = 1
    /// Chain value of the last sealed chunk (`HashChain.initial` before the first).
    public private(set) var chain = HashChain.initial

    private let hash: HashFunction
    private var lastMediaTimestamp: UInt32?
    private var lastVideoTimestamp: UInt32?
    private var discontinuity = false

    public init(configuration: Configuration = Configuration(), hash: @escaping HashFunction) {
        self.configuration = configuration
        self.hash = hash
    }

    /// Takes the next tag in stream order.
    public mutating func push(_ tag: FLVTag) -> Output {
        let kind = tag.kind
        let bytes = tag.serialized()
        switch kind {
        case .metadata, .videoSequenceHeader, .audioSequenceHeader:
            let changed = headers.update(with: tag, kind: kind) == .changed
            if kind.isVideo { lastVideoTimestamp = tag.timestamp }
            // Only decoder configuration forces a cut; metadata is informative.
            let sealed = changed && kind != .metadata ? seal() : nil
            return Output(kind: kind, chunkSeq: openChunk?.seq ?? nextSeq, isHeader: true, headerChanged: changed,
                          bytes: bytes, sealed: sealed)
        default:
            let sealed = shouldCut(before: tag, kind: kind, size: bytes.count) ? seal() : nil
            append(tag, kind: kind, bytes: bytes)
            return Output(kind: kind, chunkSeq: openChunk!.seq, isHeader: false, headerChanged: false,
                          bytes: bytes, sealed: sealed)
        }
    }

    /// End of stream: seals what is left, if anything.
    public mutating func finish() -> Chunk? { seal() }

    private mutating func shouldCut(before tag: FLVTag, kind: TagKind, size: Int) -> Bool {
        if let last = lastMediaTimestamp {
            let step = Timestamps.delta(from: last, to: tag.timestamp)
            if step < -configuration.jitterToleranceMs || step > configuration.maxGapMs { discontinuity = true }
        }
        lastMediaTimestamp = tag.timestamp
        let audioOnly = lastVideoTimestamp.map {
            Timestamps.delta(from: $0, to: tag.timestamp) > configuration.audioOnlyAfterMs
        } ?? true
        if kind.isVideo { lastVideoTimestamp = tag.timestamp }
        guard let open = openChunk else { return false }  // this tag starts the next chunk anyway
        if open.bytes.count + size > configuration.maxChunkBytes { return true }
        let canStart = kind.isKeyframe || (audioOnly && tag.type == .audio)
        guard canStart else { return false }
        return discontinuity
            || Timestamps.delta(from: open.firstTimestamp, to: tag.timestamp) >= configuration.targetDurationMs
    }

    private mutating func append(_ tag: FLVTag, kind: TagKind, bytes: [UInt8]) {
        if openChunk == nil {
            discontinuity = false
            var chunkBytes = [UInt8]()
            chunkBytes.reserveCapacity(openCapacityHint)
            openChunk = OpenChunk(seq: nextSeq, firstTimestamp: tag.timestamp, lastTimestamp: tag.timestamp,
                                  bytes: chunkBytes, tagCount: 0, keyframes: [], headers: headers, containsVideo: false)
            nextSeq += 1
        }
        if kind.isKeyframe { openChunk!.keyframes.append(Keyframe(offset: openChunk!.bytes.count, timestamp: tag.timestamp)) }
        openChunk!.bytes.append(contentsOf: bytes)
        openChunk!.lastTimestamp = tag.timestamp
        openChunk!.tagCount += 1
        if kind.isVideo { openChunk!.containsVideo = true }
    }

    /// Size of the last sealed chunk: a good guess for the next, saving regrowth copies.
    private var openCapacityHint = 0

    private mutating func seal() -> Chunk? {
        guard let open = openChunk else { return nil }
        openChunk = nil
        let digest = hash(open.bytes)
        chain = HashChain.next(previous: chain, digest: digest, hash: hash)
        openCapacityHint = min(open.bytes.count + open.bytes.count / 4, configuration.maxChunkBytes)
        return Chunk(seq: open.seq, firstTimestamp: open.firstTimestamp, lastTimestamp: open.lastTimestamp,
                     bytes: open.bytes, digest: digest, chain: chain, tagCount: open.tagCount,
                     keyframes: open.keyframes, headers: open.headers)
    }
}
