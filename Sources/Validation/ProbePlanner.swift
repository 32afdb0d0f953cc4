/// Decides what a due check fetches: kind, chunk, range, route and client.
public struct ProbePlanner: Sendable {
    public struct Configuration: Sendable, Hashable {
        /// Relative weights of the kinds. Ranges are cheap (~48 KiB) and catch altered chunk
        /// bytes; whole chunks cost a chunk (~1–2 MB) and check the digest; live FLV (a few
        /// seconds of the stream) and HLS look exactly like viewers, so a node serving viewers
        /// something else than `/chunks` is still caught. Average ≈ 0.35 MB per check.
        public var rangeWeight = 82.0
        public var chunkWeight = 6.0
        public var liveFLVWeight = 6.0
        public var hlsWeight = 6.0
        /// Relative weights of the client profiles (ffmpeg/VLC players, the browser watch page).
        public var clients: [ClientProfile] = [.lavf, .vlc, .chromium]
        public var clientWeights: [Double] = [40, 25, 35]
        /// Share of live FLV and HLS probes that come through `/watch` as viewers do (chunk
        /// probes go straight to `/chunks`: `/watch` does not route those).
        public var viaWatchShare = 0.5
        public var rangeLength: ClosedRange<Int> = 32 * 1024...64 * 1024
        /// Nodes keep the last 30 chunks; the oldest two are left out, as they may be evicted
        /// while the probe is on its way.
        public var nodeKeepsChunks = 30
        public var evictionMargin = 2
        /// A chunk sealed this recently may not have reached (and been verified by) the node yet.
        public var sealGraceMs: Int64 = 2000
        /// Live FLV watch length, drawn uniformly (a fixed length would be a fingerprint).
        public var watchMs: ClosedRange<Int> = 3000...6000
        public var connectTimeoutMs = 3000
        public var firstByteTimeoutMs = 5000
        /// A whole chunk or segment must arrive faster than this, and than the stream's own
        /// bitrate × `throughputOverBitrate` (slower cannot keep even one viewer playing).
        public var minThroughputBps: UInt64 = 1_000_000
        public var throughputOverBitrate = 1.25
        /// Three chunks (~6 s) behind the ingest is stale.
        public var maxLagChunks = 3
        /// Origin of the coordinator's watch page ("http://HOST:8000"), which browsers send as
        /// Origin and Referer.
        public var pageOrigin = "http://localhost:8000"
        public init() {}
    }

    public let configuration: Configuration
    public init(configuration: Configuration = Configuration()) {
        precondition(configuration.clients.count == configuration.clientWeights.count && !configuration.clients.isEmpty)
        precondition(configuration.rangeLength.lowerBound > 0)
        self.configuration = configuration
    }

    /// A probe of `node` on `stream`, or nil when there is nothing to check yet (no sealed
    /// chunk the node should hold, and no live stream).
    public func plan(node: NodeTarget, stream: StreamReference, nowMs: Int64,
                     using rng: inout some RandomNumberGenerator) -> PlannedProbe? {
        let c = configuration
        let holdsFrom = node.relayed.first { $0.stream == stream.stream }?.holdsFromSeq
        let chunks = eligibleChunks(stream, holdsFrom: holdsFrom, nowMs: nowMs)
        let canChunk = !chunks.isEmpty
        let weights = [
            canChunk && stream.holdsBytes ? c.rangeWeight : 0,
            canChunk ? c.chunkWeight : 0,
            stream.isLive && stream.holdsBytes ? c.liveFLVWeight : 0,
            stream.isLive ? c.hlsWeight : 0,
        ]
        guard let k = rng.weightedIndex(weights) else { return nil }
        let kind: ProbeKind = [.range, .chunk, .liveFLV, .hls][k]
        let client = c.clients[rng.weightedIndex(c.clientWeights) ?? 0]
        let bitrate = stream.bitrateBps
        let floor = max(c.minThroughputBps, UInt64(Double(bitrate) * c.throughputOverBitrate))
        let name = stream.stream

        var probe = PlannedProbe(
            node: node.id, stream: name, chainID: stream.chainID, kind: kind, route: .direct, host: node.host, port: node.viewerPort,
            path: "", client: client, fetch: .flvStream, chunkSeq: nil, range: nil, chunkSize: nil, watchMs: nil,
            liveEdgeSeq: stream.newestSeq, pageOrigin: c.pageOrigin,
            limits: ProbeLimits(connectMs: c.connectTimeoutMs, firstByteMs: c.firstByteTimeoutMs, totalMs: 10_000,
                                minThroughputBps: 0, maxLagChunks: c.maxLagChunks),
            plannedAtMs: nowMs)

        switch kind {
        case .range, .chunk:
            let chunk = chunks[Int.random(in: 0..<chunks.count, using: &rng)]
            probe.chunkSeq = chunk.seq
            probe.chunkSize = chunk.size
            probe.path = stream.chainID.map { "/chunks/\(name)/\(String($0, radix: 16))-\(chunk.seq)" } ?? "/chunks/\(name)/\(chunk.seq)"
            if kind == .range {
                let length = min(chunk.size, Int.random(in: c.rangeLength, using: &rng))
                let offset = Int.random(in: 0...(chunk.size - length), using: &rng)
                probe.range = ByteRange(offset: offset, length: length)
                probe.fetch = .chunk(offset: offset)
            } else {
                probe.fetch = .chunk(offset: 0)
                probe.limits.minThroughputBps = floor
                // Twice the time the chunk takes at the floor, and never under 10 s.
                let floorMs = floor > 0 ? Int(UInt64(chunk.size) * 8000 / floor) : 0
                probe.limits.totalMs = max(10_000, c.firstByteTimeoutMs + 2 * floorMs)
            }
        case .liveFLV:
            let watch = Int.random(in: c.watchMs, using: &rng)
            probe.path = "/live/\(name).flv"
            probe.fetch = .flvStream
            probe.watchMs = watch
            probe.limits.totalMs = watch + c.firstByteTimeoutMs
            if rng.chance(c.viaWatchShare) { probe.route = .watch(path: "/watch/\(name)?format=flv") }
        case .hls:
            probe.path = "/live/\(name)/index.m3u8"
            probe.fetch = .playlist(first: true)
            probe.limits.minThroughputBps = floor
            probe.limits.totalMs = 20_000  // the playlist, then one segment
            if rng.chance(c.viaWatchShare) { probe.route = .watch(path: "/watch/\(name)?format=hls") }
        }
        return probe
    }

    /// Sealed chunks a node relaying the stream must hold now: the newest `nodeKeepsChunks`
    /// less the eviction margin, none from before it started holding, none just sealed.
    public func eligibleChunks(_ stream: StreamReference, holdsFrom: UInt64?, nowMs: Int64) -> [StreamReference.Sealed] {
        guard let newest = stream.newestSeq else { return [] }
        let c = configuration
        let window = UInt64(max(1, c.nodeKeepsChunks - c.evictionMargin))
        var lowest = newest >= window ? newest - window + 1 : 0
        if let holdsFrom { lowest = max(lowest, holdsFrom) }
        return stream.sealed.filter { $0.seq >= lowest && $0.sealedAtMs + c.sealGraceMs <= nowMs && $0.size > 0 }
    }
}
