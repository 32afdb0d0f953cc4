/// The validator's word that a node cheated (served bytes that are not the stream's).
public struct FraudFlag: Sendable, Hashable {
    public var atMs: Int64
    public var reason: String
    public init(atMs: Int64, reason: String) { self.atMs = atMs; self.reason = reason }
}

/// Everything known about one node for one stream in one period.
public struct NodePeriodFacts: Sendable, Hashable {
    public var node: String
    /// Heartbeat uptime intervals (UptimeInterval's start/end), clipped to the period here.
    public var uptime: [TimeSpan]
    public var checks: [SpotCheck]
    public var paused: [TimeSpan]
    /// Flags stamped inside the period flag it; others are ignored here.
    public var fraudFlags: [FraudFlag]
    /// The penalty the node carried out of the stream's previous period (0 for a new node).
    public var previousPenaltyPpm: Int64

    public init(node: String, uptime: [TimeSpan] = [], checks: [SpotCheck] = [], paused: [TimeSpan] = [],
                fraudFlags: [FraudFlag] = [], previousPenaltyPpm: Int64 = 0) {
        self.node = node; self.uptime = uptime; self.checks = checks; self.paused = paused
        self.fraudFlags = fraudFlags; self.previousPenaltyPpm = previousPenaltyPpm
    }
}

/// Everything known about one stream's period when it closes. Include every node that carries
/// a penalty even if it relayed nothing, so its penalty decays.
public struct StreamPeriodFacts: Sendable, Hashable {
    public var stream: String
    public var period: AccountingPeriod
    /// The stream's pool for a full period; a partial period carries its part of it.
    public var poolPerPeriodMinor: Int64
    public var currency: CurrencyUnit
    /// When the validator was up and checking.
    public var validatorCoverage: [TimeSpan]
    public var nodes: [NodePeriodFacts]

    public init(stream: String, period: AccountingPeriod, poolPerPeriodMinor: Int64, currency: CurrencyUnit,
                validatorCoverage: [TimeSpan], nodes: [NodePeriodFacts]) {
        self.stream = stream; self.period = period; self.poolPerPeriodMinor = poolPerPeriodMinor; self.currency = currency
        self.validatorCoverage = validatorCoverage; self.nodes = nodes
    }
}

public struct EarningsRules: Sendable, Hashable {
    /// How much of last period's penalty carries into this one.
    public var decay: Ratio
    public init(decay: Ratio = .half) { self.decay = decay }
}

/// One node's result for the period, every term kept for `streamrctl earnings --explain`.
public struct NodeEarnings: Sendable, Equatable {
    public var node: String
    public var uptime: VerifiedUptime
    public var quality: QualityAssessment
    public var share: Share
    /// The flags stamped inside the period.
    public var fraudFlags: [FraudFlag]

    public var amountMinor: Int64 { share.amountMinor }
    /// What to pass as `previousPenaltyPpm` for the stream's next period.
    public var penaltyCarriedPpm: Int64 { quality.penaltyPpm }
}

public struct PeriodEarnings: Sendable, Equatable {
    public var stream: String
    public var period: AccountingPeriod
    public var currency: CurrencyUnit
    public var poolMinor: Int64
    public var split: PoolSplit
    /// By node id.
    public var nodes: [NodeEarnings]
    /// Funding, one earning per node with an amount, and unspent: for the store to append.
    public var transactions: [LedgerTransaction]

    public var unspentMinor: Int64 { split.unspentMinor }
    public func node(_ id: String) -> NodeEarnings? { nodes.first { $0.node == id } }
}

public enum PeriodClose {
    /// Facts in; amounts, explanations and ledger transactions out. Pure: the same facts give the
    /// same result, whatever order nodes, intervals and checks come in.
    public static func close(_ facts: StreamPeriodFacts, rules: EarningsRules = EarningsRules(),
                             closedAtMs: Int64) throws -> PeriodEarnings {
        let span = facts.period.span
        guard (0...1_000_000_000_000_000).contains(facts.poolPerPeriodMinor) else { throw EarningsError("pool \(facts.poolPerPeriodMinor) is outside 0–10^15 minor units") }
        let aligned = facts.period.alignedSpan
        guard aligned.startMs <= span.startMs, span.endMs <= aligned.endMs, !span.isEmpty else {
            throw EarningsError("period \(span) does not lie within its aligned period \(aligned)")
        }
        let pool = facts.period.poolMinor(ofFullPeriod: facts.poolPerPeriodMinor)
        var evaluated: [(facts: NodePeriodFacts, flags: [FraudFlag], uptime: VerifiedUptime, quality: QualityAssessment)] = []
        for node in facts.nodes.sorted(by: { byteOrder($0.node, $1.node) }) {
            let counted = VerifiedUptime.checksThatCount(node.checks, period: span, paused: node.paused).counted
            let flags = node.fraudFlags.filter { span.contains($0.atMs) }
                .sorted { $0.atMs != $1.atMs ? $0.atMs < $1.atMs : byteOrder($0.reason, $1.reason) }
            let quality = try QualityAssessment.assess(
                checks: counted.count, failed: counted.filter { !$0.passed }.count,
                previousPenaltyPpm: node.previousPenaltyPpm, decay: rules.decay, fraudFlagged: !flags.isEmpty)
            let uptime = try VerifiedUptime.evaluate(period: span, uptime: node.uptime, checks: node.checks,
                                                     coverage: facts.validatorCoverage, paused: node.paused,
                                                     qualityPpm: quality.qualityPpm)
            evaluated.append((node, flags, uptime, quality))
        }
        let split = try PoolSplit.split(poolMinor: pool, claims: evaluated.map {
            Claim(node: $0.facts.node, uptimeSeconds: $0.uptime.verifiedSeconds, qualityPpm: $0.quality.qualityPpm,
                  fraudFlagged: !$0.flags.isEmpty)
        })
        let nodes = zip(evaluated, split.shares).map { e, share in
            NodeEarnings(node: e.facts.node, uptime: e.uptime, quality: e.quality, share: share, fraudFlags: e.flags)
        }

        let code = facts.currency.code
        let label = "\(facts.stream) \(facts.period)"
        var transactions: [LedgerTransaction] = []
        if pool > 0 {
            transactions.append(try LedgerTransactions.funding(
                stream: facts.stream, periodStartMs: span.startMs, poolMinor: pool, currency: code, atMs: closedAtMs,
                memo: "pool for \(label)"))
        }
        for node in nodes where node.amountMinor > 0 {
            transactions.append(try LedgerTransactions.earning(
                stream: facts.stream, periodStartMs: span.startMs, node: node.node, amountMinor: node.amountMinor, currency: code,
                atMs: closedAtMs, memo: "\(label): \(node.share.claim.uptimeSeconds) s × quality \(PPM.format(node.quality.qualityPpm))"))
        }
        if split.unspentMinor > 0 {
            transactions.append(try LedgerTransactions.unspent(
                stream: facts.stream, periodStartMs: span.startMs, amountMinor: split.unspentMinor, currency: code,
                atMs: closedAtMs, memo: "\(label): no node had verified uptime with quality"))
        }
        return PeriodEarnings(stream: facts.stream, period: facts.period, currency: facts.currency, poolMinor: pool,
                              split: split, nodes: nodes, transactions: transactions)
    }
}
