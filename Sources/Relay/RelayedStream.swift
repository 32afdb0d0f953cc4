import FLV
import LiveMedia
import NIOConcurrencyHelpers
import NIOCore
import StreamrTLS
import StreamrWire

/// One stream as a relay receives it (a node from the ingest or from a parent node): live tags
/// go to the relay's own viewers as they arrive (slices of the received bytes, never re-made);
/// chunk bytes are assembled and checked against the host's signing key (`ChunkVerifier`)
/// before they are kept as chunks (for `/chunks`, HLS, probes and child relays). A chunk that
/// fails is dropped and the subscription restarted.
///
/// Viewers stay connected across a lost subscription that resumes in the same chain. A new
/// chain (the ingest restarted, or the stream was republished after its grace ran out) ends the
/// viewers' stream — their timestamps would jump back — and starts a fresh one.
public final class RelayedStream: Sendable {
    public let name: String
    let limits: LiveStream.Limits
    let meter: TrafficMeter
    private let state: NIOLockedValueBox<State>
    /// Held while pushes are applied, and by `subscribed` while it replays those that came
    /// before the ack: the connection's reader goes on with later pushes meanwhile, and they
    /// must not be applied ahead of the replay (the chunk would be assembled out of order).
    private let applying = NIOLock()
    /// Called for every verified chunk, with the sequence headers it plays with (the node makes
    /// HLS from them) and whether it starts a new chain.
    private let onChunk: @Sendable (SealedChunk, _ headers: [LiveFrame], _ newChain: Bool) -> Void

    struct State {
        var live: LiveStream
        var verifier: ChunkVerifier
        var assembling: [UInt64: ByteBuffer] = [:]
        /// Chunks whose start this relay did not see (joined mid-chunk, or skipped while lagging).
        var incomplete = Set<UInt64>()
        var lastVerified: UInt64 = 0
        var lastChunkSeq: UInt64 = 0
        var lastMediaMs: Int64 = 0
        var chainAnnounced: UInt64 = 0
        /// Between a Subscribe and its ack, what the parent pushes waits here: the ack says
        /// whether a new chain (and so a new stream for viewers) begins, and its pushes can be
        /// read before the task awaiting the ack runs.
        var awaitingAck = false
        var early: [Early] = []
    }

    enum Early { case media(MediaData), sealed(ChunkSealed), lagged }

    public enum Outcome: Equatable, Sendable {
        case verified
        /// Nothing to check against (the relay did not see the whole chunk): not kept.
        case skipped
        case rejected(String)
    }

    public init(name: String, signingKey: PublicKey, limits: LiveStream.Limits = LiveStream.Limits(),
                meter: TrafficMeter = TrafficMeter(),
                onChunk: @escaping @Sendable (SealedChunk, [LiveFrame], Bool) -> Void = { _, _, _ in }) {
        self.name = name; self.limits = limits; self.meter = meter; self.onChunk = onChunk
        state = NIOLockedValueBox(State(live: LiveStream(name: name, limits: limits, meter: meter),
                                        verifier: ChunkVerifier(signingKey: signingKey)))
    }

    /// The stream as viewers reach it now.
    public var live: LiveStream { state.withLockedValue { $0.live } }
    public var lastVerifiedChunk: UInt64 { state.withLockedValue { $0.lastVerified } }
    public var lastChunkSeq: UInt64 { state.withLockedValue { $0.lastChunkSeq } }
    public var chainID: UInt64 { state.withLockedValue { $0.live.chainID } }

    /// Receiving media now (a tag within `windowMs`): what heartbeats report as relayed.
    public func isReceiving(nowMs: Int64, windowMs: Int64 = 15_000) -> Bool {
        state.withLockedValue { !$0.live.isEnded && nowMs - $0.lastMediaMs <= windowMs }
    }

    /// What to ask the parent for: resume after the last verified chunk of the current chain.
    public func subscribeRequest() -> Subscribe {
        applying.withLock { state.withLockedValue { s in
            // Whatever was being assembled is incomplete now: pushes of the new subscription
            // can arrive before its ack is read.
            s.assembling.removeAll()
            s.incomplete.removeAll()
            s.awaitingAck = true
            s.early.removeAll()
            return Subscribe(stream: name, resumeAfterChunk: s.lastVerified, chainID: s.live.chainID)
        } }
    }

    /// The parent answered. Not resumed: the chain is taken afresh from the next seal; a new
    /// chain id: the viewers' stream ends and a new one starts.
    @discardableResult
    public func subscribed(_ ack: SubscribeAck) -> Outcome {
        applying.withLock { applySubscribed(ack) }
    }

    private func applySubscribed(_ ack: SubscribeAck) -> Outcome {
        let (ended, early) = state.withLockedValue { s -> (LiveStream?, [Early]) in
            defer { s.awaitingAck = false; s.early.removeAll() }
            if !ack.resumed { s.verifier.restart() }
            let current = s.live.chainID
            var old: LiveStream?
            if current != 0, ack.chainID != current {
                old = s.live
                s.live = LiveStream(name: name, limits: limits, meter: meter)
                s.lastVerified = 0
            }
            s.live.setChainID(ack.chainID)
            return (old, s.early)
        }
        ended?.end()
        // Now in order, into the stream the ack chose.
        for item in early {
            switch item {
            case .media(let data): do { try applyMedia(data) } catch { return .rejected("bad tags: \(error)") }
            case .sealed(let seal): if case .rejected(let why) = applySealed(seal) { return .rejected(why) }
            case .lagged: applyLagged()
            }
        }
        return .verified
    }

    /// Keeps `item` for after the ack when one is awaited; false when it can be handled now.
    private func deferred(_ item: Early) -> Bool {
        state.withLockedValue { s in
            guard s.awaitingAck else { return false }
            s.early.append(item)
            return true
        }
    }

    /// Tags from the parent: split into frames (slices of the received bytes), published live,
    /// and appended to their chunk.
    public func media(_ media: MediaData) throws {
        try applying.withLock {
            if deferred(.media(media)) { return }
            try applyMedia(media)
        }
    }

    private func applyMedia(_ media: MediaData) throws {
        let frames = try Self.frames(in: media)
        let now = LiveClock.nowMs()
        let live = state.withLockedValue { s -> LiveStream in
            s.lastMediaMs = now
            if media.kind == .tags {
                if s.assembling[media.chunkSeq] == nil && !s.incomplete.contains(media.chunkSeq) {
                    // Chunks arrive whole from their start (the parent sends the open chunk from its
                    // first tag), so a new seq starts a new chunk.
                    s.assembling[media.chunkSeq] = ByteBuffer()
                }
                s.assembling[media.chunkSeq]?.writeImmutableBuffer(media.tags)
                s.lastChunkSeq = max(s.lastChunkSeq, media.chunkSeq)
            }
            return s.live
        }
        for frame in frames { live.publish(frame) }
        live.flush()
    }

    /// Frames were skipped at the parent: the chunks being assembled are incomplete.
    public func lagged() {
        applying.withLock { if !deferred(.lagged) { applyLagged() } }
    }

    private func applyLagged() {
        state.withLockedValue { s in
            for seq in s.assembling.keys { s.incomplete.insert(seq) }
            s.assembling.removeAll()
            s.incomplete.insert(s.lastChunkSeq + 1)
        }
    }

    /// Checks a sealed chunk; keeps it when every check passes. The chain value itself is
    /// authenticated by the host's signature, so it is taken even for a chunk this relay did
    /// not see whole (the next chunk's chain is checked from it).
    public func sealed(_ seal: ChunkSealed) -> Outcome {
        applying.withLock { deferred(.sealed(seal)) ? .skipped : applySealed(seal) }
    }

    private func applySealed(_ seal: ChunkSealed) -> Outcome {
        let checked = state.withLockedValue { s -> Result<(ByteBuffer?, [UInt8]?, LiveStream), ChunkRejection> in
            let previous: [UInt8]?
            do throws(ChunkRejection) { previous = try s.verifier.accept(seal) } catch {
                s.assembling.removeValue(forKey: seal.seq)
                return .failure(error)
            }
            s.incomplete.remove(seal.seq)
            return .success((s.assembling.removeValue(forKey: seal.seq), previous, s.live))
        }
        let bytes: ByteBuffer?, previous: [UInt8]?, live: LiveStream
        switch checked {
        case .failure(let rejection): return .rejected("\(rejection)")
        case .success(let value): (bytes, previous, live) = value
        }
        guard let bytes else { return .skipped }
        do { try ChunkVerifier.verify(bytes, against: seal, previousChain: previous) } catch {
            return .rejected("\(error)")
        }
        let chunk = SealedChunk(seal: seal, bytes: bytes)
        let newChain = state.withLockedValue { s -> Bool in
            s.lastVerified = seal.seq
            defer { s.chainAnnounced = seal.chainID }
            return s.chainAnnounced != seal.chainID
        }
        // The headers now are the chunk's: a changed header seals the chunk before it (the seal
        // arrives ahead of the new header).
        let headers = live.headerFrames
        live.seal(chunk)
        live.flush()
        onChunk(chunk, headers, newChain)
        return .verified
    }

    /// The parent's stream ended for good: viewers get the end; a later publish starts afresh.
    public func ended() {
        let old = applying.withLock { state.withLockedValue { s -> LiveStream in
            let old = s.live
            s.live = LiveStream(name: name, limits: limits, meter: meter)
            s.verifier.restart()
            s.assembling.removeAll()
            s.incomplete.removeAll()
            s.lastVerified = 0
            return old
        } }
        old.end()
    }

    /// Stops relaying: viewers get the end.
    public func stop() { live.end() }

    /// Splits MediaData's tags into frames without copying them: each frame is a slice.
    static func frames(in media: MediaData) throws(FLVError) -> [LiveFrame] {
        var frames: [LiveFrame] = []
        var tags = media.tags
        while tags.readableBytes > 0 {
            guard tags.readableBytes >= FLVTag.headerSize + 4,
                  let typeByte = tags.getInteger(at: tags.readerIndex, as: UInt8.self),
                  let type = FLVTagType(rawValue: typeByte),
                  let sizeHigh = tags.getInteger(at: tags.readerIndex + 1, as: UInt8.self),
                  let sizeLow = tags.getInteger(at: tags.readerIndex + 2, as: UInt16.self),
                  let tsHigh = tags.getInteger(at: tags.readerIndex + 4, as: UInt8.self),
                  let tsLow = tags.getInteger(at: tags.readerIndex + 5, as: UInt16.self),
                  let tsExt = tags.getInteger(at: tags.readerIndex + 7, as: UInt8.self) else {
                if let typeByte = tags.getInteger(at: tags.readerIndex, as: UInt8.self), FLVTagType(rawValue: typeByte) == nil {
                    throw FLVError.unsupportedTagType(typeByte)
                }
                throw FLVError.truncated(bufferedBytes: tags.readableBytes)
            }
            let size = Int(sizeHigh) << 16 | Int(sizeLow)
            let total = FLVTag.headerSize + size + 4
            guard tags.readableBytes >= total,
                  let previousSize = tags.getInteger(at: tags.readerIndex + FLVTag.headerSize + size, as: UInt32.self) else {
                throw FLVError.truncated(bufferedBytes: tags.readableBytes)
            }
            guard previousSize == UInt32(FLVTag.headerSize + size) else {
                throw FLVError.previousTagSizeMismatch(expected: UInt32(FLVTag.headerSize + size), found: previousSize)
            }
            let prefix = tags.getBytes(at: tags.readerIndex + FLVTag.headerSize, length: min(size, TagKind.classificationPrefix)) ?? []
            let kind = TagKind.of(type: type, data: prefix[...])
            let timestamp = UInt32(tsExt) << 24 | UInt32(tsHigh) << 16 | UInt32(tsLow)
            let slice = tags.readSlice(length: total)!
            frames.append(LiveFrame(flv: slice, kind: kind, timestamp: timestamp,
                                    chunkSeq: media.kind == .sequenceHeaders ? 0 : media.chunkSeq))
        }
        return frames
    }
}
