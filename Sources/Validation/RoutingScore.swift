/// A node's current quality for `/watch` routing, in [0, 1], from its recent probe results
/// with exponentially decaying weights. Separate from period accounting: it reacts within
/// minutes and forgets, where the period's tally is final.
///
///     score = (prior × priorWeight + Σ wᵢ vᵢ) / (priorWeight + Σ wᵢ),   wᵢ = 2^(−ageᵢ / halfLife)
///
/// vᵢ is 1 for a pass with a quick first byte, falling linearly to ½ at `slowTTFBMs`, and 0 for
/// a failure or stale data. The prior keeps a new node routable (ViewerRouter treats an
/// unscored node as 1) and pulls a node with no recent checks back towards it. An altered
/// response sets the score to 0 for `alteredHoldMs`, whatever else it does.
public struct RoutingScore: Sendable, Hashable {
    public struct Configuration: Sendable, Hashable {
        public var halfLifeMs: Int64 = 10 * 60_000
        public var prior = 1.0
        public var priorWeight = 2.0
        public var goodTTFBMs = 500
        public var slowTTFBMs = 3000
        public var alteredHoldMs: Int64 = 3_600_000
        public init() {}
    }

    private var sum = 0.0
    private var weight = 0.0
    private var atMs: Int64?
    private var holdUntilMs: Int64 = .min

    public init() {}

    public mutating func record(_ o: ProbeOutcome, configuration c: Configuration) {
        decay(to: o.atMs, c)
        if o.verdict == .altered { holdUntilMs = max(holdUntilMs, o.atMs + c.alteredHoldMs) }
        sum += value(o, c)
        weight += 1
    }

    /// The score at `nowMs` (results are decayed to then; nothing is changed).
    public func value(nowMs: Int64, configuration c: Configuration) -> Double {
        if nowMs < holdUntilMs { return 0 }
        var copy = self
        copy.decay(to: nowMs, c)
        let score = (c.prior * c.priorWeight + copy.sum) / (c.priorWeight + copy.weight)
        return min(1, max(0, score))
    }

    /// The score in parts per million, as reports carry it.
    public func ppm(nowMs: Int64, configuration c: Configuration) -> UInt32 {
        UInt32(value(nowMs: nowMs, configuration: c) * 1_000_000 + 0.5)
    }

    private func value(_ o: ProbeOutcome, _ c: Configuration) -> Double {
        guard o.passed else { return 0 }
        guard let ttfb = o.ttfbMs, ttfb > c.goodTTFBMs else { return 1 }
        let late = Double(min(ttfb, c.slowTTFBMs) - c.goodTTFBMs) / Double(max(1, c.slowTTFBMs - c.goodTTFBMs))
        return 1 - 0.5 * late
    }

    private mutating func decay(to t: Int64, _ c: Configuration) {
        if let at = atMs, t > at {
            let f = FastMath.exp2(-Double(t - at) / Double(max(1, c.halfLifeMs)))
            sum *= f
            weight *= f
        }
        if atMs == nil || t > atMs! { atMs = t }
    }
}

/// Routing scores of every node.
public struct RoutingScores: Sendable {
    public let configuration: RoutingScore.Configuration
    public private(set) var scores: [NodeID: RoutingScore] = [:]

    public init(configuration: RoutingScore.Configuration = .init()) { self.configuration = configuration }

    public mutating func record(_ o: ProbeOutcome) {
        scores[o.node, default: RoutingScore()].record(o, configuration: configuration)
    }

    /// Forgets a node's results (a person cleared a flag as a false alarm): it starts again
    /// from the prior.
    public mutating func forget(_ node: NodeID) {
        scores[node] = nil
    }

    /// A node never checked has the prior.
    public func ppm(_ node: NodeID, nowMs: Int64) -> UInt32 {
        (scores[node] ?? RoutingScore()).ppm(nowMs: nowMs, configuration: configuration)
    }
}
