@testable import Validation
import XCTest

final class SchedulerTests: XCTestCase {
    /// Runs a scheduler from 0 to `endMs`, waking when it says; returns check times per node.
    func run(_ s: inout CheckScheduler, until endMs: Int64, from startMs: Int64 = 0, rng: inout SeededRandom,
             onWake: ((Int64, inout CheckScheduler, inout SeededRandom) -> Void)? = nil) -> [NodeID: [Int64]] {
        var times: [NodeID: [Int64]] = [:]
        var now = startMs
        while now <= endMs {
            onWake?(now, &s, &rng)
            for id in s.due(nowMs: now, using: &rng) { times[id, default: []].append(now) }
            now = max(now + 1, s.nextWakeMs ?? endMs + 1)
        }
        return times
    }

    func ids(_ n: Int) -> [NodeID] { (0..<n).map { NodeID("n\($0)") } }

    func testSingleNodeGetsItsBudget() {
        var rng = SeededRandom(seed: 1)
        var s = CheckScheduler()
        s.setOnline(["a"], nowMs: 0, using: &rng)
        let times = run(&s, until: 10 * 3_600_000, rng: &rng)
        // 120/h for 10 h; the deficit correction keeps it within a few checks.
        XCTAssertEqual(Double(times["a"]?.count ?? 0), 1200, accuracy: 10)
        XCTAssertEqual(s.checksPerNodePerHourNow, 120, accuracy: 1e-9)
    }

    func testGlobalCapDividesTheBudgetAndIsNeverExceeded() {
        var rng = SeededRandom(seed: 2)
        var config = CheckScheduler.Configuration()
        config.maxChecksPerSecond = 5
        var s = CheckScheduler(configuration: config)
        s.setOnline(ids(1000), nowMs: 0, using: &rng)
        XCTAssertEqual(s.checksPerNodePerHourNow, 0.9 * 5 * 3600 / 1000, accuracy: 1e-9)
        let times = run(&s, until: 3_600_000, rng: &rng)
        let all = times.values.flatMap { $0 }.sorted()
        XCTAssertEqual(Double(all.count), 0.9 * 5 * 3600, accuracy: 0.03 * 0.9 * 5 * 3600)
        // Token bucket: in any 10 s window at most 10 s × rate + the bucket's depth.
        var lo = 0
        for hi in all.indices {
            while all[hi] - all[lo] >= 10_000 { lo += 1 }
            XCTAssertLessThanOrEqual(hi - lo + 1, 50 + 10)
        }
    }

    /// The property the correction exists for: at a low budget every node is checked and
    /// none more than twice the mean; plain Poisson at the same budget spreads far wider.
    func testLowBudgetSpreadIsBounded() {
        func counts(_ config: CheckScheduler.Configuration, seed: UInt64) -> [Int] {
            var rng = SeededRandom(seed: seed)
            var s = CheckScheduler(configuration: config)
            let nodes = ids(1000)
            s.setOnline(nodes, nowMs: 0, using: &rng)
            let times = run(&s, until: 3_600_000, rng: &rng)
            return nodes.map { times[$0]?.count ?? 0 }
        }
        var config = CheckScheduler.Configuration()
        config.maxChecksPerSecond = 2.4  // ≈ 8 checks per node per hour
        let corrected = counts(config, seed: 3)
        var plainConfig = CheckScheduler.Configuration.plainPoisson
        plainConfig.maxChecksPerSecond = 2.4
        let plain = counts(plainConfig, seed: 3)

        func stats(_ c: [Int]) -> (min: Int, mean: Double, max: Int, variance: Double) {
            let mean = Double(c.reduce(0, +)) / Double(c.count)
            let variance = c.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(c.count)
            return (c.min()!, mean, c.max()!, variance)
        }
        let a = stats(corrected), b = stats(plain)
        XCTAssertEqual(a.mean, 8, accuracy: 1)
        XCTAssertGreaterThanOrEqual(a.min, 1, "every node checked")
        XCTAssertLessThanOrEqual(Double(a.max), 2 * a.mean, "none more than twice the mean")
        XCTAssertLessThan(a.variance, 0.4 * b.variance, "corrected \(a), plain \(b)")
        XCTAssertEqual(b.variance, b.mean, accuracy: 0.25 * b.mean, "plain counts are Poisson")
    }

    /// Never predictable: right after a check the next one can still come at once. For a
    /// Poisson process 9.5% of gaps are under a tenth of the mean gap; here there must still be
    /// a good share, and gaps must not be regular.
    func testGapsStayIrregular() {
        var rng = SeededRandom(seed: 4)
        var s = CheckScheduler()
        s.setOnline(ids(20), nowMs: 0, using: &rng)
        let times = run(&s, until: 20 * 3_600_000, rng: &rng)
        var gaps: [Double] = []
        for t in times.values { gaps += zip(t.dropFirst(), t).map { Double($0 - $1) } }
        let mean = gaps.reduce(0, +) / Double(gaps.count)
        let sd = (gaps.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(gaps.count)).squareRoot()
        XCTAssertEqual(mean, 30_000, accuracy: 1500, "120 per hour")
        let short = Double(gaps.filter { $0 < mean / 10 }.count) / Double(gaps.count)
        XCTAssertGreaterThan(short, 0.03, "short gaps still happen")
        XCTAssertGreaterThan(sd / mean, 0.5, "coefficient of variation: not a regular beat")
    }

    func testPausedNodesAreNotCheckedAndKeepTheirDeficit() {
        var rng = SeededRandom(seed: 5)
        var s = CheckScheduler()
        s.setOnline(["a", "b"], nowMs: 0, using: &rng)
        let times = run(&s, until: 3 * 3_600_000, rng: &rng) { now, s, rng in
            if now >= 3_600_000 && now < 7_200_000 { s.nodeOffline("b", nowMs: now, using: &rng) }
            if now >= 7_200_000 { s.nodeOnline("b", nowMs: now, using: &rng) }
        }
        let b = times["b"] ?? []
        XCTAssertTrue(b.allSatisfy { $0 < 3_600_000 || $0 >= 7_200_000 }, "no check while paused")
        XCTAssertEqual(Double(b.filter { $0 >= 7_200_000 }.count), 120, accuracy: 20, "back to its rate after")
        XCTAssertEqual(Double(b.count), 240, accuracy: 12, "owed nothing for the pause")
        XCTAssertEqual(Double(times["a"]?.count ?? 0), 360, accuracy: 12)
        XCTAssertEqual(s.onlineCount, 2)
    }

    func testSameSeedSameSchedule() {
        func schedule(_ seed: UInt64) -> [NodeID: [Int64]] {
            var rng = SeededRandom(seed: seed)
            var s = CheckScheduler()
            s.setOnline(ids(10), nowMs: 0, using: &rng)
            return run(&s, until: 600_000, rng: &rng)
        }
        XCTAssertEqual(schedule(9), schedule(9))
        XCTAssertNotEqual(schedule(9), schedule(10))
    }

    func testNothingIsDueBeforeTheWakeTime() {
        var rng = SeededRandom(seed: 6)
        var s = CheckScheduler()
        s.setOnline(ids(3), nowMs: 0, using: &rng)
        for _ in 0..<50 {
            guard let wake = s.nextWakeMs else { return XCTFail("a wake time") }
            XCTAssertEqual(s.due(nowMs: wake - 1, using: &rng), [])
            _ = s.due(nowMs: wake, using: &rng)
        }
    }

    func testNoNodesNoChecks() {
        var rng = SeededRandom(seed: 7)
        var s = CheckScheduler()
        XCTAssertEqual(s.due(nowMs: 1_000_000, using: &rng), [])
        XCTAssertNil(s.nextWakeMs)
        XCTAssertEqual(s.checksPerNodePerHourNow, 0)
    }
}
