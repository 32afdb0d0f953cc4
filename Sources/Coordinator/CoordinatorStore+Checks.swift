import StreamrStore

/// One spot check as stored (a SpotCheckReport from the validator).
public struct CheckRecord: Sendable, Equatable {
    public var reportID: UInt64
    public var nodeID: String
    public var stream: String
    public var chainID: UInt64
    public var chunkSeq: UInt64?
    public var kind: String
    public var passed: Bool
    public var verdict: String
    public var reason: String
    /// nil when no body byte came (then there is no time to first byte, nor a throughput).
    public var ttfbMs: Int64?
    public var throughputBps: Int64?
    public var bytes: Int64
    public var viaWatch: Bool
    public var checkedMs: Int64
    public var receivedMs: Int64

    public init(reportID: UInt64, nodeID: String, stream: String, chainID: UInt64 = 0, chunkSeq: UInt64? = nil, kind: String,
                passed: Bool, verdict: String, reason: String, ttfbMs: Int64? = nil, throughputBps: Int64? = nil, bytes: Int64 = 0,
                viaWatch: Bool = false, checkedMs: Int64, receivedMs: Int64) {
        self.reportID = reportID; self.nodeID = nodeID; self.stream = stream; self.chainID = chainID; self.chunkSeq = chunkSeq
        self.kind = kind; self.passed = passed; self.verdict = verdict; self.reason = reason; self.ttfbMs = ttfbMs
        self.throughputBps = throughputBps; self.bytes = bytes; self.viaWatch = viaWatch; self.checkedMs = checkedMs
        self.receivedMs = receivedMs
    }

    init(row: Row) {
        reportID = UInt64(bitPattern: row.int64("report_id") ?? 0)
        nodeID = row.string("node_id") ?? ""
        stream = row.string("stream") ?? ""
        chainID = UInt64(bitPattern: row.int64("chain_id") ?? 0)
        chunkSeq = row.int64("chunk_seq").map { UInt64(bitPattern: $0) }
        kind = row.string("kind") ?? ""
        passed = row.bool("passed") ?? false
        verdict = row.string("verdict") ?? ""
        reason = row.string("reason") ?? ""
        ttfbMs = row.int64("ttfb_ms")
        throughputBps = row.int64("throughput_bps")
        bytes = row.int64("bytes") ?? 0
        viaWatch = row.bool("via_watch") ?? false
        checkedMs = row.int64("checked_ms") ?? 0
        receivedMs = row.int64("received_ms") ?? 0
    }
}

/// One fraud flag: the node earns nothing for `stream` in the period holding `atMs`, unless cleared.
public struct FraudFlagRecord: Sendable, Equatable {
    public var id: Int64
    public var nodeID: String
    public var stream: String
    public var atMs: Int64
    /// "altered", "stale", "sybil".
    public var reason: String
    public var evidence: String
    public var clearedMs: Int64?
    public var clearedNote: String?

    init(row: Row) {
        id = row.int64("id") ?? 0
        nodeID = row.string("node_id") ?? ""
        stream = row.string("stream") ?? ""
        atMs = row.int64("at_ms") ?? 0
        reason = row.string("reason") ?? ""
        evidence = row.string("evidence") ?? ""
        clearedMs = row.int64("cleared_ms")
        clearedNote = row.string("cleared_note")
    }
}

/// A flag to raise, decided inside the transaction that stores the check proving it.
public struct NewFraudFlag: Sendable, Equatable {
    public var reason: String
    public var evidence: String
    public init(reason: String, evidence: String) { self.reason = reason; self.evidence = evidence }
}

/// A claim (bytes or viewers a node reported) not counted in full for a period.
public struct ClaimAdjustmentRecord: Sendable, Equatable {
    public var nodeID: String
    public var stream: String
    public var periodStartMs: Int64
    /// "inflated_bytes", "inflated_viewers", "self_viewing".
    public var kind: String
    public var claimed: Int64
    public var counted: Int64
    public var evidence: Int64
    public var lastMs: Int64

    public init(nodeID: String, stream: String, periodStartMs: Int64, kind: String, claimed: Int64, counted: Int64,
                evidence: Int64, lastMs: Int64) {
        self.nodeID = nodeID; self.stream = stream; self.periodStartMs = periodStartMs; self.kind = kind
        self.claimed = claimed; self.counted = counted; self.evidence = evidence; self.lastMs = lastMs
    }

    init(row: Row) {
        self.init(nodeID: row.string("node_id") ?? "", stream: row.string("stream") ?? "",
                  periodStartMs: row.int64("period_start_ms") ?? 0, kind: row.string("kind") ?? "",
                  claimed: row.int64("claimed") ?? 0, counted: row.int64("counted") ?? 0, evidence: row.int64("evidence") ?? 0,
                  lastMs: row.int64("last_ms") ?? 0)
    }
}

/// What `recordCheck` did.
public enum CheckStoreOutcome: Sendable, Equatable {
    /// Stored now, with the flags it raised.
    case stored(flags: [FraudFlagRecord])
    /// A report with this id is already stored (a retry): nothing changed.
    case duplicate
}

extension CoordinatorStore {
    // MARK: - Checks

    /// The highest report id stored (0: none): the replay guard's start after a restart.
    public func lastReportID() throws -> UInt64 {
        UInt64(bitPattern: try db.queryOne("SELECT max(report_id) AS m FROM checks")?.int64("m") ?? 0)
    }

    /// Stores `check` and, in the same transaction, the flags `flags` decides from the stored
    /// history (it runs only when the check is new). All or nothing: a flag is never raised
    /// without its evidence stored, nor evidence stored without its flag.
    public func recordCheck(_ check: CheckRecord, flags: (Database) throws -> [NewFraudFlag] = { _ in [] }) throws -> CheckStoreOutcome {
        try db.transaction { db in
            let inserted = try db.run("""
                INSERT INTO checks (report_id, node_id, stream, chain_id, chunk_seq, kind, passed, verdict, reason, ttfb_ms,
                                    throughput_bps, bytes, via_watch, checked_ms, received_ms)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(report_id) DO NOTHING
                """, Int64(bitPattern: check.reportID), check.nodeID, check.stream, Int64(bitPattern: check.chainID),
                       check.chunkSeq.map { Int64(bitPattern: $0) }, check.kind, check.passed, check.verdict, check.reason,
                       check.ttfbMs, check.throughputBps, check.bytes, check.viaWatch, check.checkedMs, check.receivedMs)
            guard inserted == 1 else { return .duplicate }
            var raised: [FraudFlagRecord] = []
            for flag in try flags(db) {
                if let row = try db.queryOne("""
                    INSERT INTO fraud_flags (node_id, stream, at_ms, reason, evidence) VALUES (?, ?, ?, ?, ?) RETURNING *
                    """, check.nodeID, check.stream, check.checkedMs, flag.reason, flag.evidence) {
                    raised.append(FraudFlagRecord(row: row))
                }
            }
            return .stored(flags: raised)
        }
    }

    /// Verdict and kind of `node`'s checks of `stream` since `sinceMs` (for the fraud rules).
    public func checkVerdicts(node: String, stream: String, sinceMs: Int64, in db: Database? = nil) throws -> [(kind: String, verdict: String)] {
        try (db ?? self.db).query("""
            SELECT kind, verdict FROM checks WHERE node_id = ? AND stream = ? AND checked_ms >= ? ORDER BY checked_ms
            """, node, stream, sinceMs).map { ($0.string("kind") ?? "", $0.string("verdict") ?? "") }
    }

    /// Checks, newest first: all, `node`'s, failed ones only, since a time, at most `limit`.
    public func checks(node: String? = nil, stream: String? = nil, failedOnly: Bool = false, sinceMs: Int64? = nil,
                       limit: Int = 100) throws -> [CheckRecord] {
        var sql = "SELECT * FROM checks WHERE 1"
        var args: [any SQLBindable] = []
        if let node { sql += " AND node_id = ?"; args.append(node) }
        if let stream { sql += " AND stream = ?"; args.append(stream) }
        if failedOnly { sql += " AND passed = 0" }
        if let sinceMs { sql += " AND checked_ms >= ?"; args.append(sinceMs) }
        sql += " ORDER BY checked_ms DESC, report_id DESC LIMIT ?"
        args.append(Int64(max(0, limit)))
        return try db.query(sql, arguments: args).map(CheckRecord.init(row:))
    }

    /// The newest `limit` checks since `sinceMs`, oldest first (to rebuild routing scores after a restart).
    public func checksInOrder(sinceMs: Int64, limit: Int = 500_000) throws -> [CheckRecord] {
        try db.query("SELECT * FROM checks WHERE checked_ms >= ? ORDER BY checked_ms DESC, report_id DESC LIMIT ?", sinceMs, Int64(limit))
            .map(CheckRecord.init(row:)).reversed()
    }

    /// Per node since `sinceMs` (optionally one stream): checks, passed, and failures by reason.
    public func checkSummary(sinceMs: Int64, stream: String? = nil, node: String? = nil)
        throws -> [String: (checks: Int, passed: Int, reasons: [String: Int])] {
        var sql = "SELECT node_id, passed, reason, count(*) AS n FROM checks WHERE checked_ms >= ?"
        var args: [any SQLBindable] = [sinceMs]
        if let stream { sql += " AND stream = ?"; args.append(stream) }
        if let node { sql += " AND node_id = ?"; args.append(node) }
        sql += " GROUP BY node_id, passed, reason"
        var out: [String: (checks: Int, passed: Int, reasons: [String: Int])] = [:]
        for row in try db.query(sql, arguments: args) {
            let node = row.string("node_id") ?? "", n = row.int("n") ?? 0
            var entry = out[node] ?? (0, 0, [:])
            entry.checks += n
            if row.bool("passed") == true { entry.passed += n } else { entry.reasons[row.string("reason") ?? "", default: 0] += n }
            out[node] = entry
        }
        return out
    }

    /// Every node with when it enrolled, in enrolment order (by time, then by insertion: joins
    /// within the same second keep their order), as unix ms with the order within the second
    /// added, so "the earliest enrolled" is well defined.
    public func enrolmentOrder() throws -> [(node: String, enrolledAtMs: Int64)] {
        var out: [(String, Int64)] = []
        var second: Int64 = .min, index: Int64 = 0
        for row in try db.query("SELECT node_id, enrolled_at FROM nodes ORDER BY enrolled_at, rowid") {
            let at = row.int64("enrolled_at") ?? 0
            index = at == second ? index + 1 : 0
            second = at
            out.append((row.string("node_id") ?? "", at * 1000 + min(index, 999)))
        }
        return out
    }

    // MARK: - Fraud flags

    /// When the latest flag of `reason` for the node and stream was cleared (evidence before
    /// it was judged by a person and is not counted again).
    public func lastClearedMs(node: String, stream: String, reason: String, in db: Database? = nil) throws -> Int64? {
        try (db ?? self.db).queryOne("""
            SELECT max(cleared_ms) AS m FROM fraud_flags WHERE node_id = ? AND stream = ? AND reason = ?
            """, node, stream, reason)?.int64("m")
    }

    /// A flag of `reason` for the node and stream raised at or after `sinceMs` (cleared ones
    /// too, with `includingCleared`).
    public func hasFlag(node: String, stream: String, reason: String, sinceMs: Int64, includingCleared: Bool = false,
                        in db: Database? = nil) throws -> Bool {
        try (db ?? self.db).queryOne("""
            SELECT 1 FROM fraud_flags WHERE node_id = ? AND stream = ? AND reason = ? AND at_ms >= ? AND (cleared_ms IS NULL OR ?)
            """, node, stream, reason, sinceMs, includingCleared) != nil
    }

    /// Raises a flag not proven by one check (sybil), unless `unless` says one is there.
    @discardableResult
    public func raiseFlag(node: String, stream: String, atMs: Int64, reason: String, evidence: String,
                          unlessSince sinceMs: Int64) throws -> FraudFlagRecord? {
        try db.transaction { db in
            guard try !hasFlag(node: node, stream: stream, reason: reason, sinceMs: sinceMs, includingCleared: true, in: db) else { return nil }
            return try db.queryOne("""
                INSERT INTO fraud_flags (node_id, stream, at_ms, reason, evidence) VALUES (?, ?, ?, ?, ?) RETURNING *
                """, node, stream, atMs, reason, evidence).map(FraudFlagRecord.init(row:))
        }
    }

    /// Flags, newest first (cleared ones only with `includingCleared`; one node's with `node`).
    public func fraudFlags(includingCleared: Bool = false, node: String? = nil) throws -> [FraudFlagRecord] {
        var sql = "SELECT * FROM fraud_flags WHERE (cleared_ms IS NULL OR ?)"
        var args: [any SQLBindable] = [includingCleared]
        if let node { sql += " AND node_id = ?"; args.append(node) }
        return try db.query(sql + " ORDER BY at_ms DESC, id DESC", arguments: args).map(FraudFlagRecord.init(row:))
    }

    /// Clears a flag (a person judged it a false alarm): kept, with when and why. Clearing a
    /// cleared flag is refused, so the first judgement stands.
    public func clearFlag(id: Int64, note: String, atMs: Int64) throws -> FraudFlagRecord {
        try db.transaction { db in
            guard let row = try db.queryOne("SELECT * FROM fraud_flags WHERE id = ?", id) else { throw CheckStoreError.unknownFlag(id) }
            let flag = FraudFlagRecord(row: row)
            guard flag.clearedMs == nil else { throw CheckStoreError.alreadyCleared(id) }
            guard let updated = try db.queryOne("UPDATE fraud_flags SET cleared_ms = ?, cleared_note = ? WHERE id = ? RETURNING *",
                                                atMs, note, id) else { throw CheckStoreError.unknownFlag(id) }
            return FraudFlagRecord(row: updated)
        }
    }

    // MARK: - Validator coverage

    /// Opens a coverage interval at `atMs`; returns its id.
    public func startCoverage(atMs: Int64) throws -> Int64 {
        try db.queryOne("INSERT INTO validator_coverage (start_ms, end_ms) VALUES (?, ?) RETURNING id", atMs, atMs)?.int64("id") ?? 0
    }

    /// Moves the interval's end on to `toMs` (never back).
    public func extendCoverage(id: Int64, toMs: Int64) throws {
        try db.run("UPDATE validator_coverage SET end_ms = max(end_ms, ?) WHERE id = ?", toMs, id)
    }

    /// Coverage intervals overlapping [fromMs, toMs], oldest first.
    public func coverage(fromMs: Int64, toMs: Int64) throws -> [(startMs: Int64, endMs: Int64)] {
        try db.query("SELECT start_ms, end_ms FROM validator_coverage WHERE end_ms >= ? AND start_ms <= ? ORDER BY start_ms", fromMs, toMs)
            .map { ($0.int64("start_ms") ?? 0, $0.int64("end_ms") ?? 0) }
    }

    // MARK: - Claim adjustments

    /// Records (or updates) a claim not counted in full. Returns whether it is the period's first of its kind.
    @discardableResult
    public func recordAdjustment(_ a: ClaimAdjustmentRecord) throws -> Bool {
        try db.transaction { db in
            let existed = try db.queryOne("""
                SELECT 1 FROM claim_adjustments WHERE node_id = ? AND stream = ? AND period_start_ms = ? AND kind = ?
                """, a.nodeID, a.stream, a.periodStartMs, a.kind) != nil
            try db.run("""
                INSERT INTO claim_adjustments (node_id, stream, period_start_ms, kind, claimed, counted, evidence, first_ms, last_ms)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT DO UPDATE SET claimed = excluded.claimed, counted = excluded.counted, evidence = excluded.evidence,
                    last_ms = excluded.last_ms
                """, a.nodeID, a.stream, a.periodStartMs, a.kind, a.claimed, a.counted, a.evidence, a.lastMs, a.lastMs)
            return !existed
        }
    }

    /// Adjustments, newest period first (one node's with `node`).
    public func adjustments(node: String? = nil, sinceMs: Int64 = 0) throws -> [ClaimAdjustmentRecord] {
        if let node {
            return try db.query("SELECT * FROM claim_adjustments WHERE node_id = ? AND last_ms >= ? ORDER BY period_start_ms DESC, kind",
                                node, sinceMs).map(ClaimAdjustmentRecord.init(row:))
        }
        return try db.query("SELECT * FROM claim_adjustments WHERE last_ms >= ? ORDER BY period_start_ms DESC, node_id, kind", sinceMs)
            .map(ClaimAdjustmentRecord.init(row:))
    }
}

public enum CheckStoreError: Error, Equatable, Sendable, CustomStringConvertible {
    case unknownFlag(Int64)
    case alreadyCleared(Int64)

    public var description: String {
        switch self {
        case .unknownFlag(let id): "unknown fraud flag \(id) (see `streamrctl fraud list --all`)"
        case .alreadyCleared(let id): "fraud flag \(id) is already cleared"
        }
    }
}
