@testable import Validation
import XCTest

final class RoutingScoreTests: XCTestCase {
    func outcome(_ verdict: Verdict, at: Int64, ttfb: Int = 50, node: NodeID = "a") -> ProbeOutcome {
        ProbeOutcome(node: node, stream: "main", kind: .range, verdict: verdict, reason: verdict == .passed ? .ok : .slow,
                     ttfbMs: ttfb, atMs: at)
    }

    func testNewNodesHaveThePrior() {
        XCTAssertEqual(RoutingScores().ppm("new", nowMs: 0), 1_000_000)
    }

    func testFailuresLowerTheScoreAndDecayAway() {
        var s = RoutingScores()
        for i in 0..<8 { s.record(outcome(.failed, at: Int64(i) * 1000)) }
        let low = s.ppm("a", nowMs: 8000)
        XCTAssertLessThan(low, 250_000)
        // Passing again brings it back up; with no results it returns towards the prior.
        for i in 0..<20 { s.record(outcome(.passed, at: 10_000 + Int64(i) * 30_000)) }
        XCTAssertGreaterThan(s.ppm("a", nowMs: 610_000), 700_000)
        var idle = RoutingScores()
        idle.record(outcome(.failed, at: 0))
        XCTAssertEqual(idle.ppm("a", nowMs: 0), 666_667)
        XCTAssertGreaterThan(idle.ppm("a", nowMs: 3_600_000), 990_000, "six half-lives later")
    }

    func testHalfLife() {
        let c = RoutingScore.Configuration()
        var s = RoutingScore()
        s.record(outcome(.failed, at: 0), configuration: c)
        // One failure of weight 1 with a prior weight 2: 2/3; after one half-life weight ½: 2/2.5.
        XCTAssertEqual(s.value(nowMs: 0, configuration: c), 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(s.value(nowMs: c.halfLifeMs, configuration: c), 0.8, accuracy: 1e-12)
    }

    func testSlowFirstBytesCountHalf() {
        var s = RoutingScore()
        var c = RoutingScore.Configuration()
        c.priorWeight = 0.000_001
        s.record(outcome(.passed, at: 0, ttfb: 3000), configuration: c)
        XCTAssertEqual(s.value(nowMs: 0, configuration: c), 0.5, accuracy: 1e-5)
        var t = RoutingScore()
        t.record(outcome(.passed, at: 0, ttfb: 1750), configuration: c)
        XCTAssertEqual(t.value(nowMs: 0, configuration: c), 0.75, accuracy: 1e-5)
    }

    func testAlteredHoldsTheScoreAtZero() {
        var s = RoutingScores()
        s.record(outcome(.altered, at: 0))
        for i in 1...50 { s.record(outcome(.passed, at: Int64(i) * 30_000)) }
        XCTAssertEqual(s.ppm("a", nowMs: 1_600_000), 0)
        XCTAssertGreaterThan(s.ppm("a", nowMs: 3_600_000), 900_000, "after the hold")
    }
}
