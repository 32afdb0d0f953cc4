/// One node's probe results over one accounting period, in counts: what the fraud policy
/// and the earnings engine read. Fed one outcome at a time, so a period costs O(1) memory.
public struct ProbeTally: Sendable, Hashable {
    public private(set) var checks = 0
    public private(set) var passed = 0
    public private(set) var failed = 0
    public private(set) var altered = 0
    public private(set) var stale = 0
    /// Checks that could have seen old data (live FLV, HLS): the base of the stale share.
    public private(set) var freshnessChecks = 0
    public private(set) var reasons: [Reason: Int] = [:]
    /// Body bytes the node sent the validator (it counts them as served to viewers).
    public private(set) var bytes = 0
    /// Throughput of passed whole-chunk and segment transfers (ranges are too short to
    /// measure it, a live watch runs at the stream's rate).
    public private(set) var bulkSamples = 0
    public private(set) var maxBulkThroughputBps: UInt64 = 0
    public private(set) var ttfbSamples = 0
    public private(set) var ttfbTotalMs = 0

    public init() {}

    public mutating func add(_ o: ProbeOutcome) {
        checks += 1
        switch o.verdict {
        case .passed: passed += 1
        case .failed: failed += 1
        case .altered: altered += 1
        case .stale: stale += 1
        }
        if o.kind.seesLiveEdge { freshnessChecks += 1 }
        reasons[o.reason, default: 0] += 1
        bytes += o.bytes
        if o.passed, o.kind == .chunk || o.kind == .hls, let bps = o.throughputBps {
            bulkSamples += 1
            maxBulkThroughputBps = max(maxBulkThroughputBps, bps)
        }
        if let ttfb = o.ttfbMs {
            ttfbSamples += 1
            ttfbTotalMs += ttfb
        }
    }

    /// Passed share of checks, 0 with none (quality for the earnings engine).
    public var passRate: Double { checks == 0 ? 0 : Double(passed) / Double(checks) }
    public var meanTTFBMs: Int? { ttfbSamples == 0 ? nil : ttfbTotalMs / ttfbSamples }
}
