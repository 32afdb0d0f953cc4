import FLV
import LiveMedia
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import RTMP
import StreamrTLS
import StreamrWire

/// One stream at the ingest: RTMP messages become FLV tags, cut into chunks whose digests form
/// a chain signed with the host key, and go live to players, HTTP-FLV viewers and subscribers.
///
/// It outlives its publisher: when the publisher goes (closed, lost, or silent past the idle
/// timeout) its viewers stay for a grace period. A publisher that comes back with the key
/// within it continues the same stream — the same chain (sequence numbers go on, the chain
/// stays signed), new sequence headers, and timestamps moved on so they keep increasing (by
/// the wall-clock time of the gap, so audio and video stay in step). Only when the grace runs
/// out do viewers get the end of the stream.
final class IngestStream: Sendable {
    let name: String
    let live: LiveStream
    unowned let owner: IngestStreams
    let chainID: UInt64
    /// The stream's HLS at the origin (kept by IngestStreams across publishes).
    let hls: HLSFeed
    private let state: NIOLockedValueBox<State>

    struct State {
        var chunker: Chunker
        var nextSession: UInt64 = 1
        var session: UInt64?
        var publisher: RTMPPublisher?
        /// Added to every incoming timestamp: 0 for the first publisher; for one that comes
        /// back, chosen at its first message so the timeline continues.
        var offset: Int64 = 0
        var rebaseAtNextMessage = false
        var lastOut: Int64?
        var lastOutWallMs: Int64 = 0
        var grace: Scheduled<Void>?
        var ended = false
    }

    init(name: String, owner: IngestStreams, hls: HLSFeed) {
        self.name = name; self.owner = owner; self.hls = hls
        var id: UInt64 = 0
        while id == 0 { id = UInt64.random(in: 1...UInt64.max) }
        chainID = id
        live = LiveStream(name: name, limits: owner.limits)
        live.setChainID(id)
        state = NIOLockedValueBox(State(chunker: Chunker(configuration: owner.chunking, hash: { SHA256Digest.hash($0) })))
    }

    var isPublishing: Bool { state.withLockedValue { $0.session != nil } }

    /// Takes `publisher` as the stream's source: at once when there is none (a new stream, or
    /// one in its grace), or in place of one silent for `takeoverAfterMs`. Returns the session,
    /// and the publisher replaced (for the caller to close); nil when the stream is busy.
    func attach(_ publisher: RTMPPublisher) -> (PublishSession?, replaced: RTMPPublisher?) {
        state.withLockedValue { s in
            guard !s.ended else { return (nil, nil) }
            var replaced: RTMPPublisher?
            if let current = s.publisher {
                guard current.silentMs() >= owner.policy.takeoverAfterMs else { return (nil, nil) }
                replaced = current
                sealOpenChunk(&s)
            }
            s.grace?.cancel(); s.grace = nil
            let id = s.nextSession
            s.nextSession += 1
            s.session = id
            s.publisher = publisher
            s.rebaseAtNextMessage = s.lastOut != nil
            return (PublishSession(stream: self, id: id), replaced)
        }
    }

    func media(_ message: RTMPMessage, session: UInt64) {
        guard let type = FLVTagType(rawValue: message.typeID), message.payload.count <= FLVTag.maxDataSize else { return }
        let (output, timestamp) = state.withLockedValue { s -> (Chunker.Output?, UInt32) in
            guard s.session == session, !s.ended else { return (nil, 0) }
            let now = LiveClock.nowMs()
            if s.rebaseAtNextMessage, let last = s.lastOut {
                // Continue from the last timestamp sent, by the time the publisher was away.
                s.offset = last + max(1, now - s.lastOutWallMs) - Int64(message.timestamp)
                s.rebaseAtNextMessage = false
            }
            let out = Int64(message.timestamp) + s.offset
            s.lastOut = max(s.lastOut ?? out, out)
            s.lastOutWallMs = now
            let timestamp = UInt32(truncatingIfNeeded: out)
            return (s.chunker.push(FLVTag(type: type, timestamp: timestamp, data: message.payload)), timestamp)
        }
        guard let output else { return }
        if let sealed = output.sealed { seal(sealed) }
        live.publish(LiveFrame(flv: ByteBuffer(bytes: output.bytes), kind: output.kind, timestamp: timestamp,
                               chunkSeq: output.isHeader ? 0 : output.chunkSeq))
    }

    func flush(session: UInt64) {
        guard state.withLockedValue({ $0.session == session }) else { return }
        live.flush()
    }

    /// The publisher went away (or was dropped): seal what it sent, and wait out the grace.
    func unpublished(reason: String, session: UInt64) {
        let wasCurrent = state.withLockedValue { s -> Bool in
            guard s.session == session, !s.ended else { return false }
            s.session = nil
            s.publisher = nil
            sealOpenChunk(&s)
            let grace = owner.policy.graceMs
            s.grace = MultiThreadedEventLoopGroup.singleton.next().scheduleTask(in: .milliseconds(grace)) { [self] in
                self.graceExpired(session: session, reason: reason)
            }
            return true
        }
        guard wasCurrent else { return }
        live.flush()
        owner.logger.notice("stream \(name): publisher gone (\(reason)); viewers wait \(owner.policy.graceMs / 1000) s for it",
                            metadata: ["event": "publisher_lost", "stream": "\(name)", "reason": "\(reason)"])
        owner.coordinator?.reconnecting(stream: name, reason: reason)
    }

    private func graceExpired(session: UInt64, reason: String) {
        let expired = state.withLockedValue { s -> Bool in
            guard s.session == nil, !s.ended else { return false }
            s.ended = true
            s.grace = nil
            return true
        }
        guard expired else { return }
        live.end()
        owner.expired(self, reason: reason)
    }

    /// Shutdown: no grace.
    func endNow() {
        let publisher = state.withLockedValue { s -> RTMPPublisher? in
            s.grace?.cancel(); s.grace = nil
            s.ended = true
            sealOpenChunk(&s)
            defer { s.publisher = nil; s.session = nil }
            return s.publisher
        }
        live.end()
        publisher?.close(reason: "the ingest is stopping")
    }

    private func sealOpenChunk(_ s: inout State) {
        if let last = s.chunker.finish() { seal(last) }
    }

    private func seal(_ chunk: Chunk) {
        let signature: [UInt8]
        do { signature = try owner.signer.sign(chunk.chain) } catch {
            owner.logger.error("cannot sign chunk \(chunk.seq) of \(name): \(error)", metadata: ["stream": "\(name)"])
            signature = []
        }
        let seal = ChunkSealed(stream: name, seq: chunk.seq, firstTimestampMs: chunk.firstTimestamp, lastTimestampMs: chunk.lastTimestamp,
                               size: UInt64(chunk.size), sha256: chunk.digest, chain: chunk.chain, signature: signature,
                               chainID: chainID, sealedUnixMs: UInt64(LiveClock.nowMs()))
        let bytes = ByteBuffer(bytes: chunk.bytes)
        live.seal(SealedChunk(seal: seal, bytes: bytes))
        hls.add(chainID: chainID, seq: chunk.seq, firstTimestampMs: chunk.firstTimestamp, lastTimestampMs: chunk.lastTimestamp,
                bytes: bytes, headers: chunk.headers, newChain: false)
        owner.validator?.sealed(seal)
        owner.logger.debug("chunk \(chunk.seq) of \(name) sealed: \(chunk.size) bytes", metadata: [
            "event": "chunk_sealed", "stream": "\(name)", "chunk": "\(chunk.seq)"])
    }
}
