@testable import Earnings
import XCTest

final class QualityTests: XCTestCase {
    func testFailedShareAndDecayedPrevious() throws {
        // 1 of 4 failed, previous penalty 0.2 → 0.25 + 0.1 = 0.35 → quality 0.65.
        let q = try QualityAssessment.assess(checks: 4, failed: 1, previousPenaltyPpm: 200_000)
        XCTAssertEqual(q.failedPartPpm, 250_000)
        XCTAssertEqual(q.carriedPartPpm, 100_000)
        XCTAssertEqual(q.penaltyPpm, 350_000)
        XCTAssertEqual(q.qualityPpm, 650_000)
        XCTAssertEqual(q.passed, 3)
        XCTAssertFalse(q.capped)
    }

    func testNoChecksOnlyDecays() throws {
        let q = try QualityAssessment.assess(checks: 0, failed: 0, previousPenaltyPpm: 500_000)
        XCTAssertEqual(q.penaltyPpm, 250_000)
        XCTAssertEqual(q.qualityPpm, 750_000)
        XCTAssertEqual(try QualityAssessment.assess(checks: 0, failed: 0, previousPenaltyPpm: 0).qualityPpm, PPM.one)
    }

    func testPenaltyIsCappedAtOne() throws {
        let q = try QualityAssessment.assess(checks: 2, failed: 2, previousPenaltyPpm: 800_000)
        XCTAssertEqual(q.uncappedPenaltyPpm, 1_400_000)
        XCTAssertTrue(q.capped)
        XCTAssertEqual(q.qualityPpm, 0)
    }

    func testFraudFlagZeroesQualityAndCarriesAFullPenalty() throws {
        let q = try QualityAssessment.assess(checks: 5, failed: 0, previousPenaltyPpm: 0, fraudFlagged: true)
        XCTAssertEqual(q.qualityPpm, 0)
        XCTAssertEqual(q.penaltyPpm, PPM.one)
        let next = try QualityAssessment.assess(checks: 0, failed: 0, previousPenaltyPpm: q.penaltyPpm)
        XCTAssertEqual(next.qualityPpm, 500_000)
    }

    /// Fresh failures round up (one failure in 3 million checks still costs 1 ppm), carried
    /// penalties round down (so they reach 0).
    func testRounding() throws {
        XCTAssertEqual(try QualityAssessment.assess(checks: 3, failed: 1, previousPenaltyPpm: 0).failedPartPpm, 333_334)
        XCTAssertEqual(try QualityAssessment.assess(checks: 3_000_000, failed: 1, previousPenaltyPpm: 0).penaltyPpm, 1)
        XCTAssertEqual(try QualityAssessment.assess(checks: 0, failed: 0, previousPenaltyPpm: 1).penaltyPpm, 0)
        XCTAssertEqual(QualityAssessment.decayed(PPM.one, periods: 20), 0)
        XCTAssertEqual(QualityAssessment.decayed(PPM.one, periods: 2), 250_000)
    }

    func testDecayIsConfigurable() throws {
        let q = try QualityAssessment.assess(checks: 0, failed: 0, previousPenaltyPpm: 900_000, decay: try Ratio(2, 3))
        XCTAssertEqual(q.penaltyPpm, 600_000)
        XCTAssertThrowsError(try Ratio(3, 2))
        XCTAssertThrowsError(try Ratio(0, 0))
    }

    /// A flag learnt after its period closed: replaying the chain from then carries it forward.
    func testReplayCarriesALateFlag() throws {
        let chain = try QualityAssessment.replay(from: 0, periods: [
            .init(checks: 4, failed: 0, fraudFlagged: true), .init(checks: 4, failed: 1, fraudFlagged: false),
            .init(checks: 0, failed: 0, fraudFlagged: false),
        ])
        XCTAssertEqual(chain.map(\.penaltyPpm), [1_000_000, 750_000, 375_000])
    }

    func testBadCountsAreRefused() {
        XCTAssertThrowsError(try QualityAssessment.assess(checks: 1, failed: 2, previousPenaltyPpm: 0))
        XCTAssertThrowsError(try QualityAssessment.assess(checks: 1, failed: 0, previousPenaltyPpm: -1))
    }

    func testMoreFailuresNeverRaiseQuality() throws {
        try forEachSeed { seed, r in
            let checks = Int(r.int(1...50)), failed = Int(r.int(0...Int64(checks))), previous = r.int(0...PPM.one)
            let q = try QualityAssessment.assess(checks: checks, failed: failed, previousPenaltyPpm: previous)
            let worse = try QualityAssessment.assess(checks: checks, failed: min(checks, failed + 1), previousPenaltyPpm: previous)
            let worseBefore = try QualityAssessment.assess(checks: checks, failed: failed, previousPenaltyPpm: r.int(previous...PPM.one))
            XCTAssertLessThanOrEqual(worse.qualityPpm, q.qualityPpm, "seed \(seed)")
            XCTAssertLessThanOrEqual(worseBefore.qualityPpm, q.qualityPpm, "seed \(seed)")
            XCTAssertTrue((0...PPM.one).contains(q.qualityPpm), "seed \(seed)")
        }
    }
}
