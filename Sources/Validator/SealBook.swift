import NIOConcurrencyHelpers
import Relay
import StreamrTLS
import StreamrWire
import Validation

/// What the validator knows of each stream: the ingest's seals, each checked against the
/// host's signing key (its signature over the chain value, and the chain's continuity with
/// its neighbours), kept per stream and chain (bounded), and — fetched from the ingest's
/// origin and checked against those digests — the chunks' bytes and the sequence-header tags
/// that probes are compared with. Duplicates (the ingest replays its kept seals at every
/// connect) change nothing.
public final class SealBook: Sendable {
    public enum Acceptance: Sendable, Equatable {
        /// New: stored; its bytes should be fetched.
        case new
        /// Already known, identical.
        case duplicate
        case rejected(String)
    }

    struct Entry: Sendable {
        var seal: ChunkSealed
        var receivedMs: Int64
    }

    struct Chain: Sendable {
        var id: UInt64
        var seals: [UInt64: Entry] = [:]
        var bytes: [UInt64: [UInt8]] = [:]
        var reference: LiveReference
        var newestSealedUnixMs: UInt64 = 0
    }

    struct Stream: Sendable {
        var current: UInt64
        var chains: [UInt64: Chain] = [:]
        var lastSealMs: Int64 = 0
        var headersAtMs: Int64?
        var headersChain: UInt64?
    }

    /// Checks seals against the host's signing key; nil until the key could be read.
    private let verifier: NIOLockedValueBox<ChunkVerifier?>
    /// Reads the key again (at most every 10 s) while it is missing: a validator started before
    /// the host's PKI exists, or unable to read it, keeps running and says why it refuses seals.
    private let loadKey: @Sendable () -> PublicKey?
    private let lastKeyAttemptMs = NIOLockedValueBox(Int64.min)
    /// Seals kept per chain (nodes keep 15 chunks by default, the ingest 8).
    let keepSeals: Int
    /// Chunk bytes kept per chain, for range references and live watches.
    let keepChunks: Int
    private let state = NIOLockedValueBox([String: Stream]())
    private let counters = NIOLockedValueBox((accepted: UInt64(0), duplicates: UInt64(0), rejected: UInt64(0)))

    public init(signingKey: PublicKey, keepSeals: Int = 64, keepChunks: Int = 40) {
        verifier = NIOLockedValueBox(ChunkVerifier(signingKey: signingKey))
        loadKey = { signingKey }
        self.keepSeals = max(8, keepSeals)
        self.keepChunks = max(4, keepChunks)
    }

    /// With the key read by `loadKey` (now, and again while it fails).
    public init(loadKey: @escaping @Sendable () -> PublicKey?, keepSeals: Int = 64, keepChunks: Int = 40) {
        verifier = NIOLockedValueBox(loadKey().map { ChunkVerifier(signingKey: $0) })
        self.loadKey = loadKey
        self.keepSeals = max(8, keepSeals)
        self.keepChunks = max(4, keepChunks)
    }

    public var hasSigningKey: Bool { currentVerifier(nowMs: nil) != nil }

    private func currentVerifier(nowMs: Int64?) -> ChunkVerifier? {
        if let v = verifier.withLockedValue({ $0 }) { return v }
        guard let now = nowMs else { return nil }
        let due = lastKeyAttemptMs.withLockedValue { last -> Bool in
            guard last == .min || now - last >= 10_000 else { return false }
            last = now
            return true
        }
        guard due, let key = loadKey() else { return nil }
        let v = ChunkVerifier(signingKey: key)
        verifier.withLockedValue { $0 = v }
        return v
    }

    public var counts: (accepted: UInt64, duplicates: UInt64, rejected: UInt64) { counters.withLockedValue { $0 } }

    /// Checks and keeps one seal.
    public func accept(_ seal: ChunkSealed, receivedMs: Int64) -> Acceptance {
        let verdict = check(seal, receivedMs: receivedMs)
        counters.withLockedValue { c in
            switch verdict {
            case .new: c.accepted += 1
            case .duplicate: c.duplicates += 1
            case .rejected: c.rejected += 1
            }
        }
        return verdict
    }

    private func check(_ seal: ChunkSealed, receivedMs: Int64) -> Acceptance {
        guard seal.sha256.count == 32, seal.chain.count == 32, seal.seq > 0, !seal.stream.isEmpty else {
            return .rejected("malformed seal (digest or chain not 32 bytes, or no seq)")
        }
        guard let verifier = currentVerifier(nowMs: receivedMs) else {
            return .rejected("the host's signing key is not readable (pki_directory); seals cannot be checked")
        }
        guard verifier.signatureIsValid(seal) else { return .rejected("the chain value is not signed by the host's key") }
        return state.withLockedValue { streams -> Acceptance in
            var stream = streams[seal.stream] ?? Stream(current: seal.chainID)
            var chain = stream.chains[seal.chainID] ?? Chain(id: seal.chainID, reference: LiveReference(keepChunks: keepChunks))
            if let known = chain.seals[seal.seq] {
                return known.seal == seal ? .duplicate : .rejected("a different seal for \(seal.seq) of this chain is already known")
            }
            if let previous = chain.seals[seal.seq - 1]?.seal, SHA256Digest.hash(previous.chain + seal.sha256) != seal.chain {
                return .rejected("the hash chain does not continue from chunk \(seal.seq - 1)")
            }
            if let next = chain.seals[seal.seq + 1]?.seal, SHA256Digest.hash(seal.chain + next.sha256) != next.chain {
                return .rejected("the hash chain does not lead to chunk \(seal.seq + 1)")
            }
            chain.seals[seal.seq] = Entry(seal: seal, receivedMs: receivedMs)
            chain.newestSealedUnixMs = max(chain.newestSealedUnixMs, seal.sealedUnixMs)
            if chain.seals.count > keepSeals, let oldest = chain.seals.keys.min() { chain.seals[oldest] = nil }
            stream.chains[seal.chainID] = chain
            // The chain sealed most recently is the stream's current one (a new chain after an
            // ingest restart; a replayed older chain's seals do not take over).
            let current = stream.chains[stream.current]
            if seal.chainID != stream.current, chain.newestSealedUnixMs >= (current?.newestSealedUnixMs ?? 0) {
                stream.current = seal.chainID
            }
            if stream.current == seal.chainID { stream.lastSealMs = max(stream.lastSealMs, receivedMs) }
            // Two chains are enough: the current one and the one nodes may still be finishing.
            while stream.chains.count > 2, let stale = stream.chains.values.filter({ $0.id != stream.current })
                .min(by: { $0.newestSealedUnixMs < $1.newestSealedUnixMs }) {
                stream.chains[stale.id] = nil
            }
            streams[seal.stream] = stream
            return .new
        }
    }

    /// A seal by name, if kept.
    public func seal(stream: String, chainID: UInt64, seq: UInt64) -> ChunkSealed? {
        state.withLockedValue { $0[stream]?.chains[chainID]?.seals[seq]?.seal }
    }

    /// Keeps a chunk's bytes once they match the seal (size and SHA-256). False when they do not.
    @discardableResult
    public func addBytes(_ bytes: [UInt8], stream: String, chainID: UInt64, seq: UInt64) -> Bool {
        guard let seal = seal(stream: stream, chainID: chainID, seq: seq), UInt64(bytes.count) == seal.size,
              SHA256Digest.hash(bytes) == seal.sha256 else { return false }
        state.withLockedValue { streams in
            guard var chain = streams[stream]?.chains[chainID], let entry = chain.seals[seq] else { return }
            chain.bytes[seq] = bytes
            while chain.bytes.count > keepChunks, let oldest = chain.bytes.keys.min() { chain.bytes[oldest] = nil }
            chain.reference.add(seq: seq, bytes: bytes, sealedAtMs: entry.receivedMs)
            streams[stream]?.chains[chainID] = chain
        }
        return true
    }

    /// Sequence-header and metadata tags the origin sends viewers before media (serialized).
    public func addHeaderTags(_ tags: [[UInt8]], stream: String, atMs: Int64) {
        state.withLockedValue { streams in
            guard var s = streams[stream], var chain = s.chains[s.current] else { return }
            for tag in tags { chain.reference.addHeaderTag(tag) }
            s.chains[s.current] = chain
            s.headersAtMs = atMs
            s.headersChain = s.current
            streams[stream] = s
        }
    }

    /// Whether the stream's header tags should be fetched again (none yet, another chain, or old).
    public func headersDue(stream: String, nowMs: Int64, maxAgeMs: Int64) -> Bool {
        state.withLockedValue { streams in
            guard let s = streams[stream] else { return false }
            guard let at = s.headersAtMs, s.headersChain == s.current else { return true }
            return nowMs - at > maxAgeMs
        }
    }

    public func headersAgeMs(stream: String, nowMs: Int64) -> Int64? {
        state.withLockedValue { s in s[stream]?.headersAtMs.map { nowMs - $0 } }
    }

    /// A chunk's bytes, if held.
    public func bytes(stream: String, chainID: UInt64, seq: UInt64) -> [UInt8]? {
        state.withLockedValue { $0[stream]?.chains[chainID]?.bytes[seq] }
    }

    /// The live reference of a chain (a copy), and whether it holds every sealed chunk's bytes
    /// from `fromSeq` on (a gap would make genuine tags look unknown).
    public func liveReference(stream: String, chainID: UInt64, fromSeq: UInt64) -> (reference: LiveReference, complete: Bool)? {
        state.withLockedValue { streams in
            guard let s = streams[stream], let chain = s.chains[chainID], s.headersChain == chainID else { return nil }
            // Every chunk from `fromSeq` to the newest, without a gap (a seal the validator
            // missed is a gap too).
            guard let newest = chain.seals.keys.max(), newest >= fromSeq else { return (chain.reference, false) }
            let complete = (fromSeq...newest).allSatisfy { chain.bytes[$0] != nil }
            return (chain.reference, complete)
        }
    }

    /// The stream's current chain and its newest sealed seq.
    public func current(stream: String) -> (chainID: UInt64, newestSeq: UInt64?)? {
        state.withLockedValue { streams in
            streams[stream].map { s in (s.current, s.chains[s.current]?.seals.keys.max()) }
        }
    }

    /// When the stream's current chain last sealed a chunk (validator clock).
    public func lastSealMs(stream: String) -> Int64? { state.withLockedValue { $0[stream]?.lastSealMs } }

    /// What the planner needs per stream: the current chain's seals, whether their bytes are
    /// held, whether the stream is live (a seal within `liveWithinMs`).
    public func references(nowMs: Int64, liveWithinMs: Int64) -> [String: StreamReference] {
        state.withLockedValue { streams in
            var out: [String: StreamReference] = [:]
            for (name, s) in streams {
                guard let chain = s.chains[s.current], !chain.seals.isEmpty else { continue }
                let sealed = chain.seals.values.sorted { $0.seal.seq < $1.seal.seq }.map { e in
                    StreamReference.Sealed(seq: e.seal.seq, size: Int(clamping: e.seal.size),
                                           durationMs: Int(e.seal.lastTimestampMs &- e.seal.firstTimestampMs),
                                           sealedAtMs: e.receivedMs)
                }
                let live = nowMs - s.lastSealMs <= liveWithinMs
                // Bytes are held when the last few sealed chunks' are (fetches keep up).
                let recent = sealed.suffix(3).map(\.seq)
                let holds = !recent.isEmpty && recent.dropLast().allSatisfy { chain.bytes[$0] != nil } && s.headersChain == s.current
                out[name] = StreamReference(stream: name, chainID: s.current, sealed: sealed, holdsBytes: holds, isLive: live)
            }
            return out
        }
    }

    /// Streams with a seal within `withinMs` (live), with their chain.
    public func liveStreams(nowMs: Int64, withinMs: Int64) -> [String] {
        state.withLockedValue { $0.filter { nowMs - $0.value.lastSealMs <= withinMs }.keys.sorted() }
    }
}
