import CoordinatorCore
import Earnings
import StreamrStore

/// The facts a period close needs, read from what the coordinator recorded (uptime intervals,
/// pauses, the validator's checks, fraud flags and coverage), and the closed periods and their
/// per-node results, which are immutable once written.
extension CoordinatorStore {
    /// One closed period as stored.
    public struct ClosedPeriod: Sendable, Equatable {
        public var stream: String
        public var startMs: Int64
        public var endMs: Int64
        public var closedMs: Int64
        public var poolMinor: Int64
        public var currency: String
        public var unspentMinor: Int64
        public var summary: String
    }

    /// One node's result in a closed period, as stored.
    public struct PeriodResult: Sendable, Equatable {
        public var stream: String
        public var startMs: Int64
        public var node: String
        public var uptimeMs: Int64
        public var verifiedMs: Int64
        public var checksPassed: Int64
        public var checksFailed: Int64
        public var qualityPpm: Int64
        public var penaltyPpm: Int64
        public var weight: String
        public var amountMinor: Int64
        public var flagged: Bool
        public var explanation: String
    }

    /// The end of the last closed period of `stream` (nil: none closed yet).
    public func closedThrough(stream: String) throws -> Int64? {
        try db.queryOne("SELECT max(end_ms) AS end_ms FROM period_closes WHERE stream = ?", stream)?.int64("end_ms")
    }

    /// Everything recorded about `stream` in `span`, as the earnings engine takes it. Nodes are
    /// those enrolled for the stream, those with uptime in it, and those still carrying a
    /// penalty (so it decays even while they relay nothing).
    func periodFacts(stream: StreamRecord, period: AccountingPeriod, currency: CurrencyUnit) throws -> StreamPeriodFacts {
        let span = period.span
        let from = span.startMs, to = span.endMs
        func spans(_ rows: [Row]) -> [TimeSpan] {
            rows.compactMap { row -> TimeSpan? in
                let s = max(from, row.int64("start_ms") ?? 0), e = min(to, row.int64("end_ms") ?? 0)
                return e > s ? TimeSpan(s, e) : nil
            }
        }
        var nodeIDs = Set(try db.query("SELECT node_id FROM nodes WHERE stream = ? AND pending = 0", stream.name).compactMap { $0.string("node_id") })
        nodeIDs.formUnion(try db.query("SELECT DISTINCT node_id FROM uptime_intervals WHERE stream = ? AND end_ms > ? AND start_ms < ?",
                                       stream.name, from, to).compactMap { $0.string("node_id") })
        let penalties = try lastPenalties(stream: stream.name, before: from)
        nodeIDs.formUnion(penalties.filter { $0.value > 0 }.map(\.key))
        let coverage = spans(try db.query("SELECT start_ms, end_ms FROM validator_coverage WHERE end_ms > ? AND start_ms < ?", from, to))
        var nodes: [NodePeriodFacts] = []
        for node in nodeIDs.sorted() {
            let uptime = spans(try db.query("SELECT start_ms, end_ms FROM uptime_intervals WHERE node_id = ? AND stream = ? AND end_ms > ? AND start_ms < ?",
                                            node, stream.name, from, to))
            let paused = spans(try db.query("SELECT start_ms, end_ms FROM pause_intervals WHERE node_id = ? AND end_ms > ? AND start_ms < ?",
                                            node, from, to))
            let checks = try db.query("""
                SELECT checked_ms, passed, reason, verdict FROM checks
                WHERE node_id = ? AND stream = ? AND checked_ms >= ? AND checked_ms < ? ORDER BY checked_ms
                """, node, stream.name, from, to).map {
                SpotCheck(atMs: $0.int64("checked_ms") ?? 0, passed: $0.bool("passed") ?? false,
                          reason: ($0.string("reason") ?? "").isEmpty ? ($0.string("verdict") ?? "") : ($0.string("reason") ?? ""))
            }
            let flags = try db.query("""
                SELECT at_ms, reason FROM fraud_flags WHERE node_id = ? AND (stream = ? OR stream = '') AND at_ms >= ? AND at_ms < ?
                AND cleared_ms IS NULL ORDER BY at_ms
                """, node, stream.name, from, to).map { FraudFlag(atMs: $0.int64("at_ms") ?? 0, reason: $0.string("reason") ?? "") }
            nodes.append(NodePeriodFacts(node: node, uptime: uptime, checks: checks, paused: paused, fraudFlags: flags,
                                         previousPenaltyPpm: penalties[node] ?? 0))
        }
        return StreamPeriodFacts(stream: stream.name, period: period, poolPerPeriodMinor: stream.pool.minor, currency: currency,
                                 validatorCoverage: coverage, nodes: nodes)
    }

    /// Each node's penalty as the last closed period of `stream` before `before` left it.
    func lastPenalties(stream: String, before: Int64) throws -> [String: Int64] {
        var penalties: [String: Int64] = [:]
        for row in try db.query("""
            SELECT r.node_id, r.penalty_ppm FROM period_results r
            JOIN (SELECT node_id, max(start_ms) AS start_ms FROM period_results WHERE stream = ? AND start_ms < ? GROUP BY node_id) last
              ON last.node_id = r.node_id AND last.start_ms = r.start_ms
            WHERE r.stream = ?
            """, stream, before, stream) {
            penalties[row.string("node_id") ?? ""] = row.int64("penalty_ppm") ?? 0
        }
        return penalties
    }

    /// Writes a closed period — its summary, each node's result and its ledger transactions —
    /// in one transaction. A period already closed is left as it is (returns false).
    @discardableResult
    func recordClose(_ result: PeriodEarnings, closedMs: Int64) throws -> Bool {
        try db.transaction { db in
            let span = result.period.span
            guard try db.queryOne("SELECT 1 FROM period_closes WHERE stream = ? AND start_ms = ?", result.stream, span.startMs) == nil else {
                return false
            }
            try db.run("""
                INSERT INTO period_closes (stream, start_ms, end_ms, closed_ms, pool_minor, currency, unspent_minor, summary)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, result.stream, span.startMs, span.endMs, closedMs, result.poolMinor, result.currency.code, result.unspentMinor,
                       result.summary.joined(separator: "\n"))
            let insert = try db.prepare("""
                INSERT INTO period_results (stream, start_ms, node_id, uptime_ms, verified_ms, checks_passed, checks_failed,
                    quality_ppm, penalty_ppm, weight, amount_minor, flagged, explanation)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for node in result.nodes {
                _ = try insert.run(result.stream, span.startMs, node.node, node.uptime.heartbeatMs, node.uptime.verifiedMs,
                                   Int64(node.quality.passed), Int64(node.quality.failed), node.quality.qualityPpm, node.quality.penaltyPpm,
                                   "\(node.share.weight)", node.amountMinor, !node.fraudFlags.isEmpty,
                                   (result.explanation(of: node.node) ?? []).joined(separator: "\n"))
            }
            try appendLedger(result.transactions, in: db)
            return true
        }
    }

    public func closedPeriods(stream: String? = nil, fromMs: Int64 = 0) throws -> [ClosedPeriod] {
        let rows = try stream.map { try db.query("SELECT * FROM period_closes WHERE stream = ? AND start_ms >= ? ORDER BY start_ms", $0, fromMs) }
            ?? db.query("SELECT * FROM period_closes WHERE start_ms >= ? ORDER BY start_ms, stream", fromMs)
        return rows.map { row in
            ClosedPeriod(stream: row.string("stream") ?? "", startMs: row.int64("start_ms") ?? 0, endMs: row.int64("end_ms") ?? 0,
                         closedMs: row.int64("closed_ms") ?? 0, poolMinor: row.int64("pool_minor") ?? 0, currency: row.string("currency") ?? "",
                         unspentMinor: row.int64("unspent_minor") ?? 0, summary: row.string("summary") ?? "")
        }
    }

    public func periodResults(stream: String? = nil, node: String? = nil, fromMs: Int64 = 0) throws -> [PeriodResult] {
        try db.query("""
            SELECT * FROM period_results WHERE (? IS NULL OR stream = ?) AND (? IS NULL OR node_id = ?) AND start_ms >= ?
            ORDER BY start_ms, stream, node_id
            """, stream, stream, node, node, fromMs).map { row in
            PeriodResult(stream: row.string("stream") ?? "", startMs: row.int64("start_ms") ?? 0, node: row.string("node_id") ?? "",
                         uptimeMs: row.int64("uptime_ms") ?? 0, verifiedMs: row.int64("verified_ms") ?? 0,
                         checksPassed: row.int64("checks_passed") ?? 0, checksFailed: row.int64("checks_failed") ?? 0,
                         qualityPpm: row.int64("quality_ppm") ?? 0, penaltyPpm: row.int64("penalty_ppm") ?? 0,
                         weight: row.string("weight") ?? "0", amountMinor: row.int64("amount_minor") ?? 0,
                         flagged: row.bool("flagged") ?? false, explanation: row.string("explanation") ?? "")
        }
    }

    /// Uncleared fraud flags, oldest first.
    func openFraudFlags() throws -> [(node: String, stream: String, atMs: Int64, reason: String)] {
        try db.query("SELECT node_id, stream, at_ms, reason FROM fraud_flags WHERE cleared_ms IS NULL ORDER BY at_ms").map {
            ($0.string("node_id") ?? "", $0.string("stream") ?? "", $0.int64("at_ms") ?? 0, $0.string("reason") ?? "")
        }
    }

    /// Records a payout batch's id before anything of it is written to the ledger.
    func recordPayoutBatch(id: String, currency: String, minimumMinor: Int64, createdMs: Int64) throws {
        try db.run("INSERT INTO payout_batches (id, currency, minimum_minor, created_ms) VALUES (?, ?, ?, ?)", id, currency, minimumMinor, createdMs)
    }

    public struct PayoutBatchRecord: Sendable, Equatable {
        public var id: String
        public var currency: String
        public var minimumMinor: Int64
        public var createdMs: Int64
    }

    /// Writes a batch's rows and its ledger transaction together (the id was stored before).
    func recordPayout(_ plan: PayoutPlan) throws {
        try db.transaction { db in
            let insert = try db.prepare("INSERT INTO payout_rows (batch, node_id, display_name, handle, amount_minor) VALUES (?, ?, ?, ?, ?)")
            for row in plan.batch.rows {
                _ = try insert.run(plan.batch.id, row.node, row.displayName, row.handle, row.amountMinor)
            }
            if let tx = plan.transaction { try appendLedger([tx], in: db) }
        }
    }

    public func payoutRows(batch: String) throws -> [(node: String, displayName: String, handle: String, amountMinor: Int64)] {
        try db.query("SELECT * FROM payout_rows WHERE batch = ? ORDER BY node_id", batch).map {
            ($0.string("node_id") ?? "", $0.string("display_name") ?? "", $0.string("handle") ?? "", $0.int64("amount_minor") ?? 0)
        }
    }

    public func payoutBatches() throws -> [PayoutBatchRecord] {
        try db.query("SELECT * FROM payout_batches ORDER BY created_ms, id").map {
            PayoutBatchRecord(id: $0.string("id") ?? "", currency: $0.string("currency") ?? "", minimumMinor: $0.int64("minimum_minor") ?? 0,
                              createdMs: $0.int64("created_ms") ?? 0)
        }
    }
}
