@testable import Earnings
import XCTest

/// Whole periods closed from facts: amounts, explanations and ledger transactions.
final class PeriodCloseTests: XCTestCase {
    let start: Int64 = 1_764_583_200_000  // 2025-12-01T10:00:00Z
    var hour: AccountingPeriod { AccountingPeriod(span: TimeSpan(start, start + 3_600_000), alignedSpan: TimeSpan(start, start + 3_600_000)) }
    func m(_ minutes: Int64) -> Int64 { start + minutes * 60_000 }
    func check(_ minute: Int64, _ passed: Bool) -> SpotCheck { SpotCheck(atMs: m(minute), passed: passed, reason: passed ? "ok" : "digest mismatch") }

    func facts(_ nodes: [NodePeriodFacts], coverage: [TimeSpan]? = nil, pool: Int64 = 100_000) -> StreamPeriodFacts {
        StreamPeriodFacts(stream: "main", period: hour, poolPerPeriodMinor: pool, currency: .usd,
                          validatorCoverage: coverage ?? [hour.span], nodes: nodes)
    }

    func testOneNodeFullUptimeQualityOneTakesAll() throws {
        let e = try PeriodClose.close(facts([NodePeriodFacts(node: "node-a", uptime: [hour.span], checks: [check(30, true)])]), closedAtMs: m(61))
        XCTAssertEqual(e.node("node-a")?.amountMinor, 100_000)
        XCTAssertEqual(e.transactions.map(\.id), ["fund:main:\(start)", "earn:main:\(start):node-a"])
        XCTAssertEqual(e.unspentMinor, 0)
    }

    /// The worked example, by hand. Pool 1000.00; validator up all hour except 10:20–10:30.
    /// - node-a: up all hour; checks :10 pass, :25 fail, :50 pass. Pieces: 10:00–10:10 (pass),
    ///   10:10–10:25 (fail: its covered 10 min are cut, 10:20–10:25 is uncovered), 10:25–10:50
    ///   (pass: 20 min covered, 10:25–10:30 uncovered), 10:50–11:00 (follows :50, pass).
    ///   Counted 2400 s, cut 600 s, uncovered 600 s. Quality 1 − ⌈1/3⌉ = 1 − 0.333334 = 0.666666.
    ///   Uncovered credit ⌊600000 ms × 0.666666⌋ = 399999 ms → verified 2799.999 s → 2799 s.
    /// - node-b: up 10:00–10:30, one passed check at :15, previous penalty 0.2 → quality 0.9.
    ///   Counted 10:00–10:20 = 1200 s; uncovered 600 s × 0.9 = 540 s → 1740 s.
    /// - node-c: up all hour but flagged for fraud: weight 0, nothing.
    /// Weights: a 2799 × 666666 = 1865998134, b 1740 × 900000 = 1566000000; W = 3431998134.
    /// a: 100000 × 1865998134 = 54370 W + 2074854420; b: 100000 × 1566000000 = 45629 W + 1357143714.
    /// Floors 99999, one unit left → a (larger remainder): a 543.71, b 456.29.
    func testAWorkedPeriodWithACutCheckAnOutageAndAFlag() throws {
        let facts = facts([
            NodePeriodFacts(node: "node-c", uptime: [hour.span], checks: [check(40, true)],
                            fraudFlags: [FraudFlag(atMs: m(40), reason: "forged chunk 812")]),
            NodePeriodFacts(node: "node-b", uptime: [TimeSpan(m(0), m(30))], checks: [check(15, true)], previousPenaltyPpm: 200_000),
            NodePeriodFacts(node: "node-a", uptime: [hour.span], checks: [check(50, true), check(25, false), check(10, true)]),
        ], coverage: [TimeSpan(m(0), m(20)), TimeSpan(m(30), m(60))])
        let e = try PeriodClose.close(facts, closedAtMs: m(61))
        let a = try XCTUnwrap(e.node("node-a")), b = try XCTUnwrap(e.node("node-b")), c = try XCTUnwrap(e.node("node-c"))

        XCTAssertEqual([a.uptime.countedMs, a.uptime.cutMs, a.uptime.uncoveredMs], [2_400_000, 600_000, 600_000])
        XCTAssertEqual(a.quality.qualityPpm, 666_666)
        XCTAssertEqual(a.uptime.creditedUnverifiableMs, 399_999)
        XCTAssertEqual(a.share.claim.uptimeSeconds, 2799)
        XCTAssertEqual(b.quality.qualityPpm, 900_000)
        XCTAssertEqual(b.share.claim.uptimeSeconds, 1740)
        XCTAssertEqual([a.share.weight, b.share.weight, c.share.weight], [1_865_998_134, 1_566_000_000, 0])
        XCTAssertEqual(e.split.totalWeight, 3_431_998_134)
        XCTAssertEqual(a.share.exact, ExactShare(whole: 54_370, remainder: 2_074_854_420, denominator: 3_431_998_134))
        XCTAssertEqual(b.share.exact, ExactShare(whole: 45_629, remainder: 1_357_143_714, denominator: 3_431_998_134))
        XCTAssertEqual([a.share.gotExtraUnit, b.share.gotExtraUnit], [true, false])
        XCTAssertEqual([a.amountMinor, b.amountMinor], [54_371, 45_629])
        XCTAssertEqual(c.amountMinor, 0)
        XCTAssertEqual(c.quality.qualityPpm, 0)
        XCTAssertEqual(c.penaltyCarriedPpm, PPM.one)
        XCTAssertEqual(a.penaltyCarriedPpm, 333_334)

        XCTAssertEqual(e.transactions.map(\.id), ["fund:main:\(start)", "earn:main:\(start):node-a", "earn:main:\(start):node-b"])
        var balances = Balances()
        for tx in e.transactions { try balances.apply(tx) }
        XCTAssertEqual(balances[try Account(.period(stream: "main", startMs: start)), "USD"], 0)

        let lines = try XCTUnwrap(e.explanation(of: "node-a"))
        XCTAssertEqual(lines[0], "node-a in main 2025-12-01T10:00:00Z–2025-12-01T11:00:00Z: 543.71 USD")
        XCTAssertEqual(lines[1], "  heartbeat uptime 3600.000 s = paused 0.000 s + passed checks 2400.000 s + cut by failed checks 600.000 s"
                       + " + validator not covering 600.000 s + no check this period 0.000 s")
        XCTAssertEqual(lines[2], "    cut 600.000 s of 2025-12-01T10:10:00Z–2025-12-01T10:25:00Z: check at 2025-12-01T10:25:00Z failed (digest mismatch)")
        XCTAssertTrue(lines.contains("  weight 1865998134 = 2799 s × 666666 ppm"))
        XCTAssertTrue(try XCTUnwrap(e.explanation(of: "node-c")).contains { $0.contains("flagged for fraud (2025-12-01T10:40:00Z forged chunk 812)") })
        XCTAssertNil(e.explanation(of: "node-z"))
    }

    func testAPeriodWithNoWeightLeavesThePoolUnspent() throws {
        let e = try PeriodClose.close(facts([NodePeriodFacts(node: "node-a", previousPenaltyPpm: 500_000)]), closedAtMs: m(61))
        XCTAssertEqual(e.unspentMinor, 100_000)
        XCTAssertEqual(e.transactions.map(\.kind), [.funding, .unspent])
        XCTAssertEqual(e.node("node-a")?.penaltyCarriedPpm, 250_000)  // decays while it relays nothing
        XCTAssertTrue(e.summary.contains("  no node had weight: all 1000.00 USD unspent"))
        XCTAssertTrue(try PeriodClose.close(facts([], pool: 0), closedAtMs: m(61)).transactions.isEmpty)
    }

    func testBadFactsAreRefused() {
        var bad = facts([])
        bad.period = AccountingPeriod(span: TimeSpan(start, start + 7_200_000), alignedSpan: hour.span)
        XCTAssertThrowsError(try PeriodClose.close(bad, closedAtMs: 0))
        XCTAssertThrowsError(try PeriodClose.close(facts([], pool: -1), closedAtMs: 0))
        XCTAssertThrowsError(try PeriodClose.close(facts([NodePeriodFacts(node: "n"), NodePeriodFacts(node: "n")]), closedAtMs: 0))
    }

    func testNodeAndFactOrderChangeNothing() throws {
        try forEachSeed(100) { seed, r in
            let nodes = (0..<r.int(1...5)).map { i in
                NodePeriodFacts(node: "node-\(i)", uptime: (0..<r.int(0...3)).map { _ in let s = r.int(0...59); return TimeSpan(m(s), m(r.int(s...60))) },
                                checks: (0..<r.int(0...4)).map { _ in check(r.int(0...59), r.chance(75)) },
                                fraudFlags: r.chance(10) ? [FraudFlag(atMs: m(5), reason: "x")] : [], previousPenaltyPpm: r.int(0...PPM.one))
            }
            let a = try PeriodClose.close(facts(nodes), closedAtMs: m(61))
            let shuffled = nodes.shuffled(using: &r).map { n in
                var n = n
                n.uptime.shuffle(using: &r)
                n.checks.shuffle(using: &r)
                return n
            }
            let b = try PeriodClose.close(facts(shuffled), closedAtMs: m(61))
            XCTAssertEqual(a, b, "seed \(seed)")
            XCTAssertEqual(a.nodes.reduce(0) { $0 + $1.amountMinor } + a.unspentMinor, 100_000, "seed \(seed)")
        }
    }
}
