/// Chooses the node a viewer is sent to by `/watch/<stream>`.
///
/// A candidate is a node that is online, enabled, and listed the stream in its latest
/// heartbeat (a node lists only streams it is receiving). Among them the choice is random,
/// weighted by spare capacity × score, so load spreads by what each node can still carry
/// and how well it did in spot checks, without every viewer landing on the single "best" one.
public enum ViewerRouter {
    public struct Candidate: Sendable, Equatable {
        public var node: String
        /// Base URL viewers use, e.g. "http://203.0.113.5:8935".
        public var baseURL: String
        public var viewers: UInt32
        /// Bits per second; cap 0 means the node set no cap.
        public var uploadCapBps: UInt64
        public var uploadBps: UInt64
        /// Spot-check quality in 0...1 (1 until the validator has said otherwise).
        public var score: Double

        public init(node: String, baseURL: String, viewers: UInt32 = 0, uploadCapBps: UInt64 = 0, uploadBps: UInt64 = 0,
                    score: Double = 1) {
            self.node = node; self.baseURL = baseURL; self.viewers = viewers
            self.uploadCapBps = uploadCapBps; self.uploadBps = uploadBps; self.score = score
        }
    }

    /// Nodes without a cap count as having this many viewers' room (spare falls as they fill).
    public static let uncappedViewerRoom = 100.0

    /// Spare capacity in 0...1: the unused share of a capped node's upload; for an uncapped
    /// node, room / (room + viewers), so it still fills up relative to its peers.
    public static func spare(_ c: Candidate) -> Double {
        if c.uploadCapBps > 0 {
            guard c.uploadBps < c.uploadCapBps else { return 0 }
            return Double(c.uploadCapBps - c.uploadBps) / Double(c.uploadCapBps)
        }
        return uncappedViewerRoom / (uncappedViewerRoom + Double(c.viewers))
    }

    public static func weight(_ c: Candidate) -> Double {
        let score = c.score.isFinite ? min(1, max(0, c.score)) : 0
        return spare(c) * score
    }

    /// The chosen candidate, or nil when none has any weight (all full, or none at all).
    /// `random` is uniform in 0..<1 (injected, so the choice is testable).
    public static func choose(_ candidates: [Candidate], random: Double) -> Candidate? {
        let weighted = candidates.map { ($0, weight($0)) }.filter { $0.1 > 0 }
        let total = weighted.reduce(0) { $0 + $1.1 }
        guard total > 0 else { return nil }
        var point = min(max(random, 0), 1) * total
        for (candidate, w) in weighted {
            if point < w { return candidate }
            point -= w
        }
        return weighted.last?.0
    }
}

/// Viewer-facing formats `/watch` can route to: HTTP-FLV, HLS in MPEG-TS (`hls`), HLS in
/// fragmented MP4 (`fmp4`: also AV1 and Opus) and RTMP.
public enum WatchFormat: String, Sendable, CaseIterable {
    case flv, hls, fmp4, rtmp

    /// `?format=` value (default flv: every player in DESIGN.md plays it).
    public static func parse(_ text: String?) throws -> WatchFormat {
        guard let text, !text.isEmpty else { return .flv }
        guard let format = WatchFormat(rawValue: text.lowercased()) else {
            throw InvalidInput("unknown format `\(text)`: use flv, hls, fmp4 or rtmp")
        }
        return format
    }

    /// Path of `stream` in this format at a node's or the origin's HTTP base URL.
    public func path(stream: String) -> String {
        switch self {
        case .flv: "/live/\(stream).flv"
        case .hls: "/live/\(stream)/index.m3u8"
        case .fmp4: "/live/\(stream)/fmp4.m3u8"
        case .rtmp: "/live/\(stream)"
        }
    }
}

/// Events per second over a sliding window of whole seconds (for `/metrics` and status).
public struct RateWindow: Sendable {
    public let seconds: Int
    private var buckets: [UInt64]
    private var bucketSecond: [Int64]

    public init(seconds: Int = 10) {
        self.seconds = max(1, seconds)
        // One more bucket than the window: the current, incomplete second has its own.
        buckets = Array(repeating: 0, count: self.seconds + 1)
        bucketSecond = Array(repeating: -1, count: self.seconds + 1)
    }

    public mutating func add(_ count: UInt64 = 1, atMs: Int64) {
        let second = atMs / 1000
        let i = Int(second % Int64(buckets.count))
        if bucketSecond[i] != second { bucketSecond[i] = second; buckets[i] = 0 }
        buckets[i] += count
    }

    /// The rate over the last `seconds` complete seconds before `nowMs`.
    public func perSecond(nowMs: Int64) -> Double {
        let now = nowMs / 1000
        var total: UInt64 = 0
        for i in buckets.indices where bucketSecond[i] >= now - Int64(seconds) && bucketSecond[i] < now {
            total += buckets[i]
        }
        return Double(total) / Double(seconds)
    }
}
