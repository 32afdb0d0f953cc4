/// One spot check of one node by the validator: fetched chunks compared byte for byte.
public struct SpotCheck: Sendable, Hashable {
    public var atMs: Int64
    public var passed: Bool
    /// Why, in the validator's words ("ok", "digest mismatch", "timeout"): shown, never interpreted.
    public var reason: String

    public init(atMs: Int64, passed: Bool, reason: String) { self.atMs = atMs; self.passed = passed; self.reason = reason }
}

/// Verified uptime of one node for one stream in one period, with every term that made it.
///
/// The rule (see README.md beside this file for the reasoning):
/// 1. Take the node's heartbeat uptime inside the period (overlaps merged). Paused time (downtime
///    the friend scheduled) is taken out: it never counts, and checks made while paused are
///    ignored, so they neither cut uptime nor lower quality.
/// 2. Uptime while the validator was not covering is *uncovered*.
/// 3. The rest is judged by the checks: the period is cut at every check time; a piece ending at a
///    check counts iff that check passed (every check, if several share the millisecond); the
///    piece after the last check counts iff the last check passed. A check outside the node's
///    uptime still decides its pieces: the rule looks only at check times, so more uptime never
///    earns less, and stopping heartbeats when a check looms does not escape it.
/// 4. If the period has no check of this node at all, its covered uptime is *unchecked*.
/// 5. Uncovered and unchecked time is *unverifiable*: it counts ⌊ms × quality⌋, standing in for
///    the checks we do not have (quality estimates how much would have passed). So a validator
///    outage costs a good node nothing and pays a node whose checks all failed nothing.
///
/// heartbeatMs = pausedMs + countedMs + cutMs + uncoveredMs + uncheckedMs, always.
public struct VerifiedUptime: Sendable, Equatable {
    /// The stretch between two check times (or a period edge and a check) and how it was judged.
    public struct Piece: Sendable, Equatable {
        public var span: TimeSpan
        /// The check time that decides this piece (the one at its end, or the last one).
        public var decidedByMs: Int64
        public var passed: Bool
        /// Reasons of the failed checks at `decidedByMs`, for the explanation.
        public var failedReasons: [String]
        /// The node's (unpaused) uptime in the piece while the validator covered: counted or cut.
        public var coveredMs: Int64
        /// Its uptime in the piece while the validator did not cover: unverifiable, not judged here.
        public var uncoveredMs: Int64
        public var countedMs: Int64 { passed ? coveredMs : 0 }
        public var cutMs: Int64 { passed ? 0 : coveredMs }
    }

    public var period: TimeSpan
    public var heartbeatMs: Int64
    public var pausedMs: Int64
    public var countedMs: Int64
    public var cutMs: Int64
    public var uncoveredMs: Int64
    public var uncheckedMs: Int64
    public var qualityPpm: Int64
    /// ⌊unverifiableMs × qualityPpm / 10^6⌋.
    public var creditedUnverifiableMs: Int64
    /// The checks that count (in the period, not paused), by time.
    public var checks: [SpotCheck]
    /// Checks made while the node was paused: ignored.
    public var pausedChecks: Int
    /// Pieces holding any of the node's uptime, in time order (empty when the period had no check).
    public var pieces: [Piece]

    public var unverifiableMs: Int64 { uncoveredMs + uncheckedMs }
    public var verifiedMs: Int64 { countedMs + creditedUnverifiableMs }
    /// Whole seconds, the unit of the split's weight.
    public var verifiedSeconds: Int64 { verifiedMs / 1000 }

    /// The checks of `checks` that count: inside the period and not while paused, sorted by time
    /// (then failures first, then reason, so equal inputs give equal outputs). Quality uses the same.
    public static func checksThatCount(_ checks: [SpotCheck], period: TimeSpan, paused: [TimeSpan]) -> (counted: [SpotCheck], paused: Int) {
        let pausedSet = SpanSet(paused)
        let inPeriod = checks.filter { period.contains($0.atMs) }
        let counted = inPeriod.filter { !pausedSet.contains($0.atMs) }
            .sorted { a, b in
                if a.atMs != b.atMs { return a.atMs < b.atMs }
                if a.passed != b.passed { return !a.passed }
                return byteOrder(a.reason, b.reason)
            }
        return (counted, inPeriod.count - counted.count)
    }

    public static func evaluate(period: TimeSpan, uptime: [TimeSpan], checks: [SpotCheck], coverage: [TimeSpan],
                                paused: [TimeSpan], qualityPpm: Int64) throws -> VerifiedUptime {
        try period.validate("period")
        guard !period.isEmpty else { throw EarningsError("empty period \(period)") }
        for span in uptime { try span.validate("uptime interval") }
        for span in coverage { try span.validate("validator coverage interval") }
        for span in paused { try span.validate("paused interval") }
        guard (0...PPM.one).contains(qualityPpm) else { throw EarningsError("quality \(qualityPpm) ppm is outside 0–1000000") }

        let up = SpanSet(uptime).intersection(period)
        let pausedSet = SpanSet(paused).intersection(period)
        let serving = up.subtracting(pausedSet)
        let covered = SpanSet(coverage).intersection(period)
        let judged = serving.intersection(covered)
        let uncovered = serving.subtracting(covered)
        let (counting, pausedChecks) = checksThatCount(checks, period: period, paused: paused)

        var result = VerifiedUptime(
            period: period, heartbeatMs: up.totalMs, pausedMs: up.totalMs - serving.totalMs, countedMs: 0, cutMs: 0,
            uncoveredMs: uncovered.totalMs, uncheckedMs: 0, qualityPpm: qualityPpm, creditedUnverifiableMs: 0,
            checks: counting, pausedChecks: pausedChecks, pieces: [])

        if counting.isEmpty {
            result.uncheckedMs = judged.totalMs
        } else {
            // One verdict per check time: a failure at that millisecond outweighs a pass.
            var times: [(atMs: Int64, passed: Bool, failed: [String])] = []
            for check in counting {
                if let last = times.last, last.atMs == check.atMs {
                    times[times.count - 1].passed = last.passed && check.passed
                    if !check.passed { times[times.count - 1].failed.append(check.reason) }
                } else {
                    times.append((check.atMs, check.passed, check.passed ? [] : [check.reason]))
                }
            }
            var start = period.startMs
            for (index, verdict) in times.enumerated() {
                let isLast = index == times.count - 1
                result.addPiece(TimeSpan(start, verdict.atMs), verdict, judged, uncovered)
                if isLast { result.addPiece(TimeSpan(verdict.atMs, period.endMs), verdict, judged, uncovered) }
                start = verdict.atMs
            }
        }
        result.creditedUnverifiableMs = mulDiv(result.unverifiableMs, qualityPpm, PPM.one).quotient
        return result
    }

    private mutating func addPiece(_ span: TimeSpan, _ verdict: (atMs: Int64, passed: Bool, failed: [String]),
                                   _ judged: SpanSet, _ uncovered: SpanSet) {
        let piece = Piece(span: span, decidedByMs: verdict.atMs, passed: verdict.passed, failedReasons: verdict.failed,
                          coveredMs: judged.measure(in: span), uncoveredMs: uncovered.measure(in: span))
        guard piece.coveredMs > 0 || piece.uncoveredMs > 0 else { return }
        countedMs += piece.countedMs
        cutMs += piece.cutMs
        pieces.append(piece)
    }
}
