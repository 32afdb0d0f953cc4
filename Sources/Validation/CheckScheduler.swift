/// When each node is checked.
///
/// Every online node is checked at random times: a Poisson process whose rate is the node's
/// share of the budget, `base = min(checksPerNodePerHour, maxChecksPerSecond / online)`, times
/// a correction factor from the node's *deficit* (checks it was owed so far minus checks it
/// got): `factor = clamp(2^(gain · deficit), minRateFactor, maxRateFactor)`.
///
/// Why the correction: a plain Poisson count over an hour has variance equal to its mean, so
/// at low budgets (when the global cap divides few checks among many nodes) some nodes get
/// none and some three times the mean. With the correction a node's count over any interval
/// is `owed − Δdeficit`, and the deficit is mean-reverting and clipped to ±`deficitLimit`,
/// so the count stays within a few checks of what was owed whatever the budget.
///
/// Why it stays unpredictable: between checks the process is memoryless at a rate that is
/// never below `minRateFactor × base` (a quarter by default), so no moment is ever safe for
/// a node, even right after a check; and a node cannot compute its own deficit without
/// telling probes from viewers. A hard cap (no checks after 2× the mean) would give
/// exactly such a safe window, so there is none: the soft factor bounds the variance instead.
///
/// Sampling is by thinning: each online node has candidate times at the fixed rate
/// `maxRateFactor × checksPerNodePerHour`, and a candidate becomes a check with probability
/// `base × factor / that rate`, evaluated at the candidate's time. So membership changes need
/// no redrawing, and a node that goes offline and comes back keeps its deficit (reconnecting
/// earns nothing). A token bucket enforces the global cap exactly; checks over it wait in
/// order for a token.
///
/// Pure and clocked by the caller: times are milliseconds from any fixed origin, never
/// decreasing; randomness is passed in.
public struct CheckScheduler: Sendable {
    public struct Configuration: Sendable, Hashable {
        /// Checks per node per hour when the global cap does not bind (see README: 120 makes
        /// a node that alters 5% of its responses flagged within an hour in over 99% of runs).
        public var checksPerNodePerHour: Double = 120
        /// Checks per second across all nodes; 50 leaves room for 1,350 nodes at the full budget.
        public var maxChecksPerSecond: Double = 50
        /// Share of the global cap handed out as base rate when it binds: the rest absorbs the
        /// correction's bursts, so checks rarely wait for a token.
        public var capUtilization: Double = 0.9
        /// Depth of the global token bucket, in seconds of `maxChecksPerSecond`.
        public var burstSeconds: Double = 2
        /// The rate doubles per check owed (and halves per check ahead) ...
        public var deficitGain: Double = 1
        /// ... within these bounds ...
        public var minRateFactor: Double = 0.25
        public var maxRateFactor: Double = 4
        /// ... and the deficit is clipped above, so a node starved for long (the global cap
        /// binding hard) is not flooded later. Not below: the count over any stretch is
        /// `owed − Δdeficit` exactly only while nothing is clipped, and a lower clip would
        /// let a node that was checked a lot be checked more still.
        public var deficitLimit: Double = 3

        public init() {}

        /// No correction: plain Poisson times at the base rate (for comparison only).
        public static var plainPoisson: Configuration {
            var c = Configuration()
            c.deficitGain = 0; c.minRateFactor = 1; c.maxRateFactor = 1
            return c
        }
    }

    public let configuration: Configuration

    private struct NodeState: Sendable {
        var online = false
        /// Owed minus done, as of `mark`; add `owed − mark` for the current value.
        var deficit = 0.0
        var mark = 0.0
        /// Bumped on every offline/online change, so queued candidates of an earlier
        /// stretch online are dropped.
        var epoch: UInt32 = 0
        var checks = 0
    }

    private struct Candidate: Comparable, Sendable {
        var atMs: Double
        var index: Int
        var epoch: UInt32
        static func < (a: Candidate, b: Candidate) -> Bool { a.atMs < b.atMs }
    }

    private var indexOf: [NodeID: Int] = [:]
    private var ids: [NodeID] = []
    private var states: [NodeState] = []
    private var onlineTotal = 0
    private var queue = MinHeap<Candidate>()
    /// Accepted checks waiting for a global token, oldest first.
    private var backlog: [(index: Int, epoch: UInt32)] = []
    private var backlogHead = 0
    private var tokens: Double
    private var clockMs: Double?
    /// Checks owed so far to a node online all along: the integral of the base rate.
    private var owed = 0.0

    public init(configuration: Configuration = Configuration()) {
        precondition(configuration.checksPerNodePerHour >= 0 && configuration.maxChecksPerSecond > 0)
        precondition(configuration.minRateFactor > 0 && configuration.minRateFactor <= 1 && configuration.maxRateFactor >= 1)
        self.configuration = configuration
        tokens = bucketDepth(configuration)
    }

    // MARK: - Membership

    /// Sets the nodes that may be checked now (online, not paused, relaying a live stream);
    /// every other node is paused. O(n): prefer `nodeOnline`/`nodeOffline` for single changes.
    public mutating func setOnline(_ online: some Sequence<NodeID>, nowMs: Int64, using rng: inout some RandomNumberGenerator) {
        let wanted = Set(online)
        for id in ids where !wanted.contains(id) { nodeOffline(id, nowMs: nowMs, using: &rng) }
        for id in wanted { nodeOnline(id, nowMs: nowMs, using: &rng) }
    }

    public mutating func nodeOnline(_ id: NodeID, nowMs: Int64, using rng: inout some RandomNumberGenerator) {
        collect(upTo: Double(nowMs), using: &rng)
        let i = index(of: id)
        guard !states[i].online else { return }
        states[i].online = true
        states[i].mark = owed
        states[i].epoch &+= 1
        onlineTotal += 1
        if let rate = candidateRatePerMs {
            queue.push(Candidate(atMs: Double(nowMs) + rng.exponential(rate: rate), index: i, epoch: states[i].epoch))
        }
    }

    /// Pauses a node; candidates of other nodes up to now are decided first (with `rng`).
    public mutating func nodeOffline(_ id: NodeID, nowMs: Int64, using rng: inout some RandomNumberGenerator) {
        collect(upTo: Double(nowMs), using: &rng)
        guard let i = indexOf[id], states[i].online else { return }
        states[i].deficit = currentDeficit(i)
        states[i].mark = owed
        states[i].online = false
        states[i].epoch &+= 1
        onlineTotal -= 1
    }

    // MARK: - Checks

    /// The nodes to check now, in order (a node may appear twice in a burst).
    public mutating func due(nowMs: Int64, using rng: inout some RandomNumberGenerator) -> [NodeID] {
        collect(upTo: Double(nowMs), using: &rng)
        var out: [NodeID] = []
        while backlogHead < backlog.count && tokens >= 1 {
            let (i, epoch) = backlog[backlogHead]
            backlogHead += 1
            if states[i].online && states[i].epoch == epoch {
                tokens -= 1
                out.append(ids[i])
            } else {
                // It left before its turn: give the check back.
                states[i].deficit += 1
                states[i].checks -= 1
            }
        }
        if backlogHead > 64 && backlogHead * 2 > backlog.count {
            backlog.removeFirst(backlogHead)
            backlogHead = 0
        }
        return out
    }

    /// When `due` may next return something: the earliest candidate, or the next global token
    /// while checks wait for one. The daemon sleeps until then (or the next membership change).
    public var nextWakeMs: Int64? {
        var wake = queue.min.map { $0.atMs }
        if backlogHead < backlog.count, let clock = clockMs {
            let tokenAt = clock + max(0, 1 - tokens) / (configuration.maxChecksPerSecond / 1000)
            wake = min(wake ?? tokenAt, tokenAt)
        }
        return wake.map { Int64(FastMath.ceil($0)) }
    }

    // MARK: - Inspection

    public var onlineCount: Int { onlineTotal }
    /// The rate each online node is checked at now, on average, after the global cap.
    public var checksPerNodePerHourNow: Double { baseRatePerMs * 3_600_000 }
    /// Checks made of a node since it was first seen (for tests and the simulation).
    public func checks(of id: NodeID) -> Int { indexOf[id].map { states[$0].checks } ?? 0 }
    /// Checks the node is owed now (negative: it got more than its share).
    public func deficit(of id: NodeID) -> Double {
        guard let i = indexOf[id] else { return 0 }
        return states[i].online ? currentDeficit(i) : states[i].deficit
    }

    // MARK: - Internals

    private var budgetPerMs: Double { configuration.checksPerNodePerHour / 3_600_000 }
    private var baseRatePerMs: Double {
        onlineTotal == 0 ? 0 : min(budgetPerMs, configuration.capUtilization * configuration.maxChecksPerSecond / 1000 / Double(onlineTotal))
    }
    private var candidateRatePerMs: Double? {
        let r = configuration.maxRateFactor * budgetPerMs
        return r > 0 ? r : nil
    }

    private mutating func index(of id: NodeID) -> Int {
        if let i = indexOf[id] { return i }
        indexOf[id] = ids.count
        ids.append(id)
        states.append(NodeState())
        return ids.count - 1
    }

    private func currentDeficit(_ i: Int) -> Double {
        min(configuration.deficitLimit, states[i].deficit + owed - states[i].mark)
    }

    private func rateFactor(deficit: Double) -> Double {
        let c = configuration
        return min(c.maxRateFactor, max(c.minRateFactor, FastMath.exp2(c.deficitGain * deficit)))
    }

    /// Moves the clock to `t`: what is owed grows at the base rate, tokens refill.
    private mutating func advance(to t: Double) {
        guard let clock = clockMs else { clockMs = t; return }
        guard t > clock else { return }
        owed += baseRatePerMs * (t - clock)
        tokens = min(bucketDepth(configuration), tokens + (t - clock) * configuration.maxChecksPerSecond / 1000)
        clockMs = t
    }

    /// Decides every candidate up to `t`, in time order, each with the state at its time.
    private mutating func collect(upTo t: Double, using rng: inout some RandomNumberGenerator) {
        while let next = queue.min, next.atMs <= t {
            _ = queue.pop()
            advance(to: next.atMs)
            let i = next.index
            guard states[i].online, states[i].epoch == next.epoch, let rate = candidateRatePerMs else { continue }
            let d = currentDeficit(i)
            if rng.chance(baseRatePerMs * rateFactor(deficit: d) / rate) {
                states[i].deficit = d - 1
                states[i].mark = owed
                states[i].checks += 1
                backlog.append((i, next.epoch))
            }
            queue.push(Candidate(atMs: next.atMs + rng.exponential(rate: rate), index: i, epoch: next.epoch))
        }
        advance(to: t)
    }
}

private func bucketDepth(_ c: CheckScheduler.Configuration) -> Double {
    max(1, c.maxChecksPerSecond * c.burstSeconds)
}
