import FLV
import FoundationEssentials
import Glibc
import LiveMedia
import NIOConcurrencyHelpers
import NIOCore
import StreamrTLS
import StreamrWire

/// One stream this node relays: tags from its ingest subscription go live to the node's
/// viewers; chunk bytes are assembled and checked against the ingest's ChunkSealed (SHA-256,
/// the hash chain, and the host key's signature over the chain) before they are kept as
/// chunks (for `/chunks/...`, HLS and child nodes). A chunk that fails is dropped and the
/// subscription restarted.
public final class RelayedStream: Sendable {
    public let name: String
    public let live: LiveStream
    let hls = HLSFeed()
    private let state = NIOLockedValueBox(State())

    struct State {
        var assembling: [UInt64: [UInt8]] = [:]
        /// Chunks whose start this node did not see (joined mid-chunk, or skipped while lagging).
        var incomplete = Set<UInt64>()
        var previousChain: [UInt8]?
        var lastVerified: UInt64 = 0
        var lastChunkSeq: UInt64 = 0
        var lastMediaMs: Int64 = 0
    }

    public enum Outcome: Equatable, Sendable {
        case verified
        /// Nothing to check against (the node did not see the whole chunk): not kept.
        case skipped
        case rejected(String)
    }

    init(name: String) {
        self.name = name
        live = LiveStream(name: name)
    }

    public var lastVerifiedChunk: UInt64 { state.withLockedValue { $0.lastVerified } }
    public var lastChunkSeq: UInt64 { state.withLockedValue { $0.lastChunkSeq } }

    /// Receiving media now (a tag within `windowMs`): what heartbeats report as relayed.
    public func isReceiving(nowMs: Int64, windowMs: Int64 = 15_000) -> Bool {
        !live.isEnded && state.withLockedValue { nowMs - $0.lastMediaMs <= windowMs }
    }

    /// A (re)subscription is about to be requested: what was being assembled is incomplete now.
    /// (Called before the request: the ingest's first pushes can arrive before its answer is seen.)
    func subscribing() {
        state.withLockedValue { s in
            s.assembling.removeAll()
            s.incomplete.removeAll()
        }
    }

    /// The ingest answered. Not resumed: its chunk sequence may have restarted (a new publish),
    /// so the chain is taken afresh from the next signed chunk.
    func subscribed(resumed: Bool) {
        if !resumed {
            state.withLockedValue { $0.previousChain = nil }
            hls.restart()
        }
    }

    /// Tags from the ingest: parsed (whole FLV tags, each with its PreviousTagSize), published
    /// live, and appended to their chunk.
    func media(_ media: MediaData) throws {
        var parser = FLVParser()
        let tags = try parser.feed(media.tags)
        try parser.finish()
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let started = state.withLockedValue { s -> Bool in
            s.lastMediaMs = now
            guard media.kind == .tags else { return false }
            var started = false
            if s.assembling[media.chunkSeq] == nil && !s.incomplete.contains(media.chunkSeq) {
                // Chunks arrive whole from their start (the ingest sends the open chunk from its
                // first tag), so a new seq starts a new chunk.
                s.assembling[media.chunkSeq] = []
                started = true
            }
            s.assembling[media.chunkSeq]?.append(contentsOf: media.tags)
            s.lastChunkSeq = max(s.lastChunkSeq, media.chunkSeq)
            return started
        }
        if started { hls.chunkStarted(media.chunkSeq) }
        for tag in tags {
            let kind = tag.kind
            if media.kind == .sequenceHeaders { hls.header(tag, kind: kind) }
            live.publish(LiveFrame(tag: tag, kind: kind, chunkSeq: media.kind == .sequenceHeaders ? 0 : media.chunkSeq))
        }
        live.flush()
    }

    /// Frames were skipped at the ingest: the chunks being assembled are incomplete.
    func lagged() {
        state.withLockedValue { s in
            for seq in s.assembling.keys { s.incomplete.insert(seq) }
            s.assembling.removeAll()
            s.incomplete.insert(s.lastChunkSeq + 1)
        }
    }

    /// Checks a sealed chunk; keeps it when every check passes. The chain value itself is
    /// authenticated by the host's signature, so it is taken even for a chunk this node did
    /// not see whole (the next chunk's chain is checked from it).
    func sealed(_ seal: ChunkSealed, host: Certificate?) -> Outcome {
        guard let host, host.verifies(signature: seal.signature, of: seal.chain) else {
            state.withLockedValue { s in s.previousChain = nil; _ = s.assembling.removeValue(forKey: seal.seq) }
            return .rejected("chunk \(seal.seq): the chain value is not signed by the host's key")
        }
        let (bytes, previous) = state.withLockedValue { s -> ([UInt8]?, [UInt8]?) in
            s.incomplete.remove(seal.seq)
            defer { s.previousChain = seal.chain }
            return (s.assembling.removeValue(forKey: seal.seq), s.previousChain)
        }
        guard let bytes else { return .skipped }
        let hash: HashFunction = { SHA256Digest.hash($0) }
        do {
            guard UInt64(bytes.count) == seal.size else { throw ChunkCheck("size \(bytes.count), the ingest sealed \(seal.size)") }
            if let previous {
                try ChunkVerifier.verify(bytes: bytes, expectedDigest: seal.sha256, previousChain: previous,
                                         expectedChain: seal.chain, hash: hash)
            } else {
                guard hash(bytes) == seal.sha256 else { throw ChunkCheck("SHA-256 differs from the ingest's digest") }
            }
        } catch {
            return .rejected("chunk \(seal.seq): \(error)")
        }
        state.withLockedValue { $0.lastVerified = seal.seq }
        live.seal(SealedChunk(seal: seal, bytes: ByteBuffer(bytes: bytes)))
        live.flush()
        hls.add(seq: seal.seq, bytes: bytes, firstMs: seal.firstTimestampMs, lastMs: seal.lastTimestampMs)
        return .verified
    }
}

struct ChunkCheck: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
