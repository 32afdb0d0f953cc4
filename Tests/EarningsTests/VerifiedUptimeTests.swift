@testable import Earnings
import XCTest

/// A 1-hour period from t = 0 (in ms), checks every so often; times written as minutes.
final class VerifiedUptimeTests: XCTestCase {
    let hour = TimeSpan(0, 3_600_000)
    func m(_ minutes: Int64) -> Int64 { minutes * 60_000 }
    func span(_ a: Int64, _ b: Int64) -> TimeSpan { TimeSpan(m(a), m(b)) }
    func check(_ minute: Int64, _ passed: Bool, _ reason: String = "") -> SpotCheck {
        SpotCheck(atMs: m(minute), passed: passed, reason: reason.isEmpty ? (passed ? "ok" : "digest mismatch") : reason)
    }

    func evaluate(uptime: [TimeSpan], checks: [SpotCheck], coverage: [TimeSpan]? = nil, paused: [TimeSpan] = [],
                  quality: Int64 = PPM.one) throws -> VerifiedUptime {
        try VerifiedUptime.evaluate(period: hour, uptime: uptime, checks: checks, coverage: coverage ?? [hour],
                                    paused: paused, qualityPpm: quality)
    }

    func testAllChecksPassedCountsAllUptime() throws {
        let u = try evaluate(uptime: [hour], checks: [check(10, true), check(40, true)])
        XCTAssertEqual(u.verifiedMs, m(60))
        XCTAssertEqual(u.countedMs, m(60))
        XCTAssertEqual(u.pieces.map(\.span), [span(0, 10), span(10, 40), span(40, 60)])
    }

    /// The worked example: checks at :10 (pass), :25 (fail), :50 (pass). The failed check cuts the
    /// piece 10–25 that ends at it; the piece after the last check counts because it passed.
    func testAFailedCheckCutsThePieceEndingAtIt() throws {
        let u = try evaluate(uptime: [hour], checks: [check(50, true), check(25, false, "digest mismatch"), check(10, true)])
        XCTAssertEqual(u.cutMs, m(15))
        XCTAssertEqual(u.countedMs, m(45))
        XCTAssertEqual(u.verifiedSeconds, 45 * 60)
        let cut = try XCTUnwrap(u.pieces.first { !$0.passed })
        XCTAssertEqual(cut.span, span(10, 25))
        XCTAssertEqual(cut.decidedByMs, m(25))
        XCTAssertEqual(cut.failedReasons, ["digest mismatch"])
    }

    func testThePieceAfterTheLastCheckFollowsIt() throws {
        let u = try evaluate(uptime: [hour], checks: [check(20, true), check(45, false)])
        XCTAssertEqual(u.countedMs, m(20))
        XCTAssertEqual(u.cutMs, m(40))
    }

    func testAFailureAtTheSameMillisecondAsAPassWins() throws {
        let u = try evaluate(uptime: [hour], checks: [check(30, true), check(30, false, "timeout")])
        XCTAssertEqual(u.countedMs, 0)
        XCTAssertEqual(u.cutMs, m(60))
        XCTAssertEqual(u.pieces.first?.failedReasons, ["timeout"])
    }

    /// A check while the node had no heartbeats still decides the pieces around it: the rule
    /// looks at check times only, so dropping heartbeats when a check comes does not help.
    func testACheckOutsideUptimeStillDecides() throws {
        let u = try evaluate(uptime: [span(0, 20), span(40, 60)], checks: [check(30, false), check(50, true)])
        XCTAssertEqual(u.cutMs, m(20))
        XCTAssertEqual(u.countedMs, m(20))
    }

    /// Validator down 20–40: that time counts weighted by quality, the rest by the checks.
    func testUncoveredTimeCountsByQuality() throws {
        let u = try evaluate(uptime: [hour], checks: [check(10, true), check(50, false)],
                             coverage: [span(0, 20), span(40, 60)], quality: 750_000)
        XCTAssertEqual(u.uncoveredMs, m(20))
        XCTAssertEqual(u.countedMs, m(10))  // 0–10
        XCTAssertEqual(u.cutMs, m(30))  // 10–20 and 40–60 (the last piece follows the failed check at 50)
        XCTAssertEqual(u.creditedUnverifiableMs, m(15))
        XCTAssertEqual(u.verifiedMs, m(25))
    }

    func testAGoodNodeLosesNothingToAValidatorOutage() throws {
        let u = try evaluate(uptime: [hour], checks: [], coverage: [])
        XCTAssertEqual(u.uncoveredMs, m(60))
        XCTAssertEqual(u.verifiedMs, m(60))
        XCTAssertEqual(try evaluate(uptime: [hour], checks: [], coverage: [], quality: 0).verifiedMs, 0)
    }

    func testNoCheckInThePeriodIsUncheckedAndCountsByQuality() throws {
        let u = try evaluate(uptime: [span(0, 30)], checks: [], quality: 500_000)
        XCTAssertEqual(u.uncheckedMs, m(30))
        XCTAssertEqual(u.verifiedMs, m(15))
        XCTAssertTrue(u.pieces.isEmpty)
    }

    /// Paused 20–30: neither counted nor held against the node; the failed check inside it is
    /// ignored, so it cuts nothing.
    func testPausedTimeAndChecksDuringItAreLeftOut() throws {
        let u = try evaluate(uptime: [hour], checks: [check(25, false), check(50, true)], paused: [span(20, 30)])
        XCTAssertEqual(u.pausedMs, m(10))
        XCTAssertEqual(u.pausedChecks, 1)
        XCTAssertEqual(u.checks.count, 1)
        XCTAssertEqual(u.countedMs, m(50))
        XCTAssertEqual(u.cutMs, 0)
    }

    func testUptimeIsClippedToThePeriodAndOverlapsCountOnce() throws {
        let u = try evaluate(uptime: [span(30, 90), span(10, 50), span(0, 5)], checks: [check(59, true)])
        XCTAssertEqual(u.heartbeatMs, m(55))
        XCTAssertEqual(u.verifiedMs, m(55))
    }

    func testBadInputIsRefused() {
        XCTAssertThrowsError(try evaluate(uptime: [TimeSpan(10, 5)], checks: []))
        XCTAssertThrowsError(try evaluate(uptime: [hour], checks: [], quality: PPM.one + 1))
        XCTAssertThrowsError(try VerifiedUptime.evaluate(period: TimeSpan(5, 5), uptime: [], checks: [], coverage: [], paused: [], qualityPpm: 0))
    }

    // MARK: properties

    func randomSpans(_ r: inout SeededRandom, count: ClosedRange<Int64>) -> [TimeSpan] {
        (0..<r.int(count)).map { _ in
            let a = r.int(-600_000...3_700_000)
            return TimeSpan(max(0, a), max(0, a) + r.int(0...1_200_000))
        }
    }

    func randomChecks(_ r: inout SeededRandom) -> [SpotCheck] {
        (0..<r.int(0...8)).map { _ in SpotCheck(atMs: r.int(-1000...3_601_000), passed: r.chance(70), reason: r.chance(50) ? "a" : "b") }
    }

    func testTermsAddUpToHeartbeatUptime() throws {
        try forEachSeed { seed, r in
            let u = try evaluate(uptime: randomSpans(&r, count: 0...5), checks: randomChecks(&r),
                                 coverage: randomSpans(&r, count: 0...4), paused: randomSpans(&r, count: 0...2),
                                 quality: r.int(0...PPM.one))
            XCTAssertEqual(u.heartbeatMs, u.pausedMs + u.countedMs + u.cutMs + u.uncoveredMs + u.uncheckedMs, "seed \(seed)")
            XCTAssertEqual(u.pieces.reduce(0) { $0 + $1.uncoveredMs }, u.checks.isEmpty ? 0 : u.uncoveredMs, "seed \(seed)")
            XCTAssertLessThanOrEqual(u.verifiedMs, u.heartbeatMs - u.pausedMs, "seed \(seed)")
        }
    }

    /// More heartbeat uptime never means less verified uptime; nor does higher quality.
    func testMoreUptimeOrQualityNeverVerifiesLess() throws {
        try forEachSeed { seed, r in
            let uptime = randomSpans(&r, count: 0...4), checks = randomChecks(&r)
            let coverage = randomSpans(&r, count: 0...4), paused = randomSpans(&r, count: 0...2)
            let quality = r.int(0...PPM.one)
            let base = try evaluate(uptime: uptime, checks: checks, coverage: coverage, paused: paused, quality: quality)
            let more = try evaluate(uptime: uptime + randomSpans(&r, count: 1...2), checks: checks, coverage: coverage,
                                    paused: paused, quality: quality)
            let better = try evaluate(uptime: uptime, checks: checks, coverage: coverage, paused: paused,
                                      quality: r.int(quality...PPM.one))
            XCTAssertGreaterThanOrEqual(more.verifiedMs, base.verifiedMs, "seed \(seed)")
            XCTAssertGreaterThanOrEqual(better.verifiedMs, base.verifiedMs, "seed \(seed)")
        }
    }

    func testInputOrderChangesNothing() throws {
        try forEachSeed(200) { seed, r in
            let uptime = randomSpans(&r, count: 0...5), checks = randomChecks(&r)
            let coverage = randomSpans(&r, count: 0...4), paused = randomSpans(&r, count: 0...2)
            let a = try evaluate(uptime: uptime, checks: checks, coverage: coverage, paused: paused)
            let b = try evaluate(uptime: uptime.shuffled(using: &r), checks: checks.shuffled(using: &r),
                                 coverage: coverage.shuffled(using: &r), paused: paused.shuffled(using: &r))
            XCTAssertEqual(a, b, "seed \(seed)")
        }
    }
}
