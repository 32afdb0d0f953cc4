/// A node's quality for one period, in ppm, with its terms.
///
/// penalty_P = min(1, ⌈failed_P / checks_P⌉ + ⌊decay × penalty_(P−1)⌋), quality_P = 1 − penalty_P.
/// - No checks this period: only the decayed previous penalty.
/// - A fraud flag: quality 0 and the penalty carried forward is 1, which then decays.
/// Rounding, in ppm: the fresh part rounds up, so any failure costs at least 1 ppm; the carried
/// part rounds down, so an old penalty decays all the way to 0 instead of sticking at 1 ppm.
public struct QualityAssessment: Sendable, Equatable {
    public var checks: Int
    public var failed: Int
    public var previousPenaltyPpm: Int64
    public var decay: Ratio
    /// ⌈failed × 10^6 / checks⌉, or 0 without checks.
    public var failedPartPpm: Int64
    /// ⌊previousPenaltyPpm × decay⌋.
    public var carriedPartPpm: Int64
    public var fraudFlagged: Bool
    /// The penalty of this period, carried into the next one: 10^6 when flagged.
    public var penaltyPpm: Int64

    public var passed: Int { checks - failed }
    public var uncappedPenaltyPpm: Int64 { failedPartPpm + carriedPartPpm }
    public var capped: Bool { uncappedPenaltyPpm > PPM.one }
    public var qualityPpm: Int64 { PPM.one - penaltyPpm }

    public static func assess(checks: Int, failed: Int, previousPenaltyPpm: Int64, decay: Ratio = .half,
                              fraudFlagged: Bool = false) throws -> QualityAssessment {
        guard checks >= 0, (0...checks).contains(failed), checks <= 100_000_000 else {
            throw EarningsError("bad check counts: \(failed) failed of \(checks)")
        }
        guard (0...PPM.one).contains(previousPenaltyPpm) else {
            throw EarningsError("previous penalty \(previousPenaltyPpm) ppm is outside 0–1000000")
        }
        let fresh = checks == 0 ? 0 : mulDivCeil(Int64(failed), PPM.one, Int64(checks))
        let carried = decay.floorTimes(previousPenaltyPpm)
        let penalty = fraudFlagged ? PPM.one : min(PPM.one, fresh + carried)
        return QualityAssessment(checks: checks, failed: failed, previousPenaltyPpm: previousPenaltyPpm, decay: decay,
                                 failedPartPpm: fresh, carriedPartPpm: carried, fraudFlagged: fraudFlagged, penaltyPpm: penalty)
    }

    /// A penalty after `periods` periods without checks (a node that relayed nothing for a
    /// while still has its penalty decay period by period).
    public static func decayed(_ penaltyPpm: Int64, periods: Int, decay: Ratio = .half) -> Int64 {
        var penalty = penaltyPpm
        for _ in 0..<max(0, periods) where penalty > 0 { penalty = decay.floorTimes(penalty) }
        return penalty
    }

    /// One period's inputs to the penalty, as the store keeps them per closed period.
    public struct PeriodRecord: Sendable, Equatable {
        public var checks: Int
        public var failed: Int
        public var fraudFlagged: Bool
        public init(checks: Int, failed: Int, fraudFlagged: Bool) {
            self.checks = checks; self.failed = failed; self.fraudFlagged = fraudFlagged
        }
    }

    /// The penalty chain recomputed over `periods` (oldest first) from `startPenaltyPpm`: how a
    /// fraud flag that arrives after its period closed is carried into the periods since.
    public static func replay(from startPenaltyPpm: Int64, periods: [PeriodRecord], decay: Ratio = .half) throws -> [QualityAssessment] {
        var penalty = startPenaltyPpm
        return try periods.map { record in
            let assessed = try assess(checks: record.checks, failed: record.failed, previousPenaltyPpm: penalty,
                                      decay: decay, fraudFlagged: record.fraudFlagged)
            penalty = assessed.penaltyPpm
            return assessed
        }
    }
}
