/// What the validator knows of one stream when it plans a probe: the recent sealed chunks
/// (from the ingest's ChunkSealed reports) and whether it holds their bytes.
public struct StreamReference: Sendable, Hashable {
    public struct Sealed: Sendable, Hashable {
        public var seq: UInt64
        public var size: Int
        public var durationMs: Int
        public var sealedAtMs: Int64
        public init(seq: UInt64, size: Int, durationMs: Int, sealedAtMs: Int64) {
            self.seq = seq; self.size = size; self.durationMs = durationMs; self.sealedAtMs = sealedAtMs
        }
    }

    public var stream: String
    /// The chain the sealed chunks belong to. When known, chunks are fetched by their full
    /// name, `/chunks/<stream>/<chain hex>-<seq>`, so a node still on another chain answers
    /// 404 rather than other bytes under the same number.
    public var chainID: UInt64?
    /// Ascending seq; at least the last 30, as nodes keep.
    public var sealed: [Sealed]
    /// The validator keeps the chunks' bytes (range and live probes compare bytes; whole-chunk
    /// probes need only the digest).
    public var holdsBytes: Bool
    /// The publisher is on: live FLV and HLS probes make sense.
    public var isLive: Bool

    public init(stream: String, chainID: UInt64? = nil, sealed: [Sealed], holdsBytes: Bool = true, isLive: Bool = true) {
        self.stream = stream; self.chainID = chainID; self.sealed = sealed; self.holdsBytes = holdsBytes; self.isLive = isLive
    }

    public var newestSeq: UInt64? { sealed.last?.seq }

    /// The stream's bitrate over the chunks known, bits per second (0 when unknown).
    public var bitrateBps: UInt64 {
        let bytes = sealed.reduce(0) { $0 + $1.size }
        let ms = sealed.reduce(0) { $0 + $1.durationMs }
        return ms > 0 ? UInt64(bytes) * 8000 / UInt64(ms) : 0
    }
}

/// A node as the coordinator sees it. `host` is the address observed on the node's mutual-TLS
/// session, never a URL the node reports: a node must not choose where it is checked (it
/// could point at an honest peer's machine and earn from its work).
public struct NodeTarget: Sendable, Hashable {
    public struct Relayed: Sendable, Hashable {
        public var stream: String
        /// The first chunk the node can hold (it subscribed or resumed there), when known.
        public var holdsFromSeq: UInt64?
        public init(stream: String, holdsFromSeq: UInt64? = nil) { self.stream = stream; self.holdsFromSeq = holdsFromSeq }
    }

    public var id: NodeID
    public var host: String
    public var viewerPort: Int
    /// Streams the latest heartbeat listed.
    public var relayed: [Relayed]

    public init(id: NodeID, host: String, viewerPort: Int = 8935, relayed: [Relayed]) {
        self.id = id; self.host = host; self.viewerPort = viewerPort; self.relayed = relayed
    }

    /// "host:port", IPv6 in brackets, as a Host header and an authority carry it.
    public var authority: String { host.contains(":") ? "[\(host)]:\(viewerPort)" : "\(host):\(viewerPort)" }
}

/// Timeouts and floors for one probe.
public struct ProbeLimits: Sendable, Hashable {
    public var connectMs: Int
    public var firstByteMs: Int
    /// The whole exchange, from connect to the last byte read (for a live watch: past its length).
    public var totalMs: Int
    /// Below this a complete chunk or segment transfer is "slow" (0: no floor).
    public var minThroughputBps: UInt64
    /// A live watch or playlist more chunks than this behind the ingest is "stale".
    public var maxLagChunks: Int
}

/// One check, decided: where to send which request, what to compare, how long to wait.
/// The I/O layer executes it and hands what it saw to `OutcomeEvaluator`.
public struct PlannedProbe: Sendable, Hashable {
    public enum Route: Sendable, Hashable {
        /// Straight to the node's session address.
        case direct
        /// First `GET <path>` at the coordinator's viewer HTTP (`/watch/<stream>?format=...`),
        /// pinned to this node for this one request, then the redirect followed as a player
        /// follows it. A redirect to anywhere but the node's session address is not followed
        /// (`TransportError.misdirected`).
        case watch(path: String)
    }

    public var node: NodeID
    public var stream: String
    /// The chain of the stream's reference when planned (nil: unknown).
    public var chainID: UInt64?
    public var kind: ProbeKind
    public var route: Route
    /// Host (session address) and port of the node.
    public var host: String
    public var port: Int
    /// The request path at the node.
    public var path: String
    public var client: ClientProfile
    /// The first request's kind, for its headers.
    public var fetch: ClientProfile.Fetch
    /// The chunk fetched (range, chunk).
    public var chunkSeq: UInt64?
    /// The bytes compared (range).
    public var range: ByteRange?
    /// The chunk's size (range, chunk).
    public var chunkSize: Int?
    /// How long to watch (live FLV), milliseconds.
    public var watchMs: Int?
    /// The newest sealed chunk when planned (freshness is judged against it).
    public var liveEdgeSeq: UInt64?
    /// The watch page's origin, for browser profiles.
    public var pageOrigin: String
    public var limits: ProbeLimits
    public var plannedAtMs: Int64

    /// Headers for a request of this probe (by default its first), in the client's order:
    /// `host` is where it goes ("addr:port": the coordinator for the `/watch` hop, then the
    /// node's `authority`).
    public func headers(for fetch: ClientProfile.Fetch? = nil, host: String) -> [HTTPHeader] {
        client.headers(for: fetch ?? self.fetch, host: host, pageOrigin: pageOrigin)
    }

    /// The node's "host:port" (IPv6 in brackets): the Host of requests to it.
    public var authority: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Most body bytes to read for a response with this status; the I/O layer stops there
    /// (as a seeking player stops after what it needed) and closes the connection.
    public func readLimit(status: Int) -> Int {
        guard (200..<300).contains(status) else { return 4096 }
        switch kind {
        case .range:
            // A server that ignores Range answers 200 from byte 0.
            guard let range else { return 0 }
            return status == 206 ? range.length : range.end
        case .chunk: return (chunkSize ?? 0) + 1  // one more shows a body longer than the chunk
        case .liveFLV: return 64 << 20
        case .hls: return 32 << 20
        }
    }
}
