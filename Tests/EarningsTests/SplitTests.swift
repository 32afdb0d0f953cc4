@testable import Earnings
import XCTest

final class SplitTests: XCTestCase {
    func testOneNodeWithFullUptimeTakesThePool() throws {
        let split = try PoolSplit.split(poolMinor: 100_000, claims: [Claim(node: "node-a", uptimeSeconds: 3600, qualityPpm: PPM.one)])
        XCTAssertEqual(split.shares.map(\.amountMinor), [100_000])
        XCTAssertEqual(split.unspentMinor, 0)
        XCTAssertEqual(CurrencyUnit.usd.format(split.shares[0].amountMinor), "1000.00")
    }

    /// 100 / 3 = 33 + 1/3 each; the one unit left goes to the smallest node id, whatever the order.
    func testThreeEqualNodesSplit34_33_33ByNodeID() throws {
        let claims = ["node-c", "node-a", "node-b"].map { Claim(node: $0, uptimeSeconds: 3600, qualityPpm: PPM.one) }
        let split = try PoolSplit.split(poolMinor: 100, claims: claims)
        XCTAssertEqual(split.shares.map(\.node), ["node-a", "node-b", "node-c"])
        XCTAssertEqual(split.shares.map(\.amountMinor), [34, 33, 33])
        XCTAssertEqual(split.shares.map(\.exact), Array(repeating: ExactShare(whole: 33, remainder: 3_600_000_000, denominator: 10_800_000_000), count: 3))
        XCTAssertEqual(split.leftoverUnits, 1)
        XCTAssertEqual(split.shares.map(\.remainderRank), [1, 2, 3])
    }

    func testLargestRemaindersGetTheLeftoverUnits() throws {
        // Weights 5, 3, 2 of a pool of 8: exact 4, 2.4, 1.6 → floors 4, 2, 1, one left → c (0.6 > 0.4).
        let split = try PoolSplit.split(poolMinor: 8, claims: [
            Claim(node: "a", uptimeSeconds: 5, qualityPpm: 1), Claim(node: "b", uptimeSeconds: 3, qualityPpm: 1),
            Claim(node: "c", uptimeSeconds: 2, qualityPpm: 1),
        ])
        XCTAssertEqual(split.shares.map(\.amountMinor), [4, 2, 2])
        XCTAssertEqual(split.shares.map(\.gotExtraUnit), [false, false, true])
        XCTAssertEqual(split.shares.map(\.remainderRank), [3, 2, 1])
    }

    func testFlaggedNodesEarnNothing() throws {
        let split = try PoolSplit.split(poolMinor: 1000, claims: [
            Claim(node: "a", uptimeSeconds: 3600, qualityPpm: PPM.one, fraudFlagged: true),
            Claim(node: "b", uptimeSeconds: 60, qualityPpm: 10),
        ])
        XCTAssertEqual(split.shares.map(\.amountMinor), [0, 1000])
        XCTAssertEqual(split.share(of: "a")?.remainderRank, nil)
    }

    func testNoWeightSpendsNothing() throws {
        let split = try PoolSplit.split(poolMinor: 100_000, claims: [
            Claim(node: "a", uptimeSeconds: 0, qualityPpm: PPM.one), Claim(node: "b", uptimeSeconds: 3600, qualityPpm: 0),
        ])
        XCTAssertEqual(split.unspentMinor, 100_000)
        XCTAssertEqual(split.paidMinor, 0)
        XCTAssertEqual(split.shares.map(\.amountMinor), [0, 0])
        XCTAssertEqual(try PoolSplit.split(poolMinor: 500, claims: []).unspentMinor, 500)
    }

    /// 10^12 minor units over weights near 10^13: the products need 128 bits.
    func testLargePoolsAndWeightsAreExact() throws {
        let claims = (0..<7).map { Claim(node: "n\($0)", uptimeSeconds: 9_999_999 - Int64($0) * 1_234, qualityPpm: 999_983) }
        let split = try PoolSplit.split(poolMinor: 1_000_000_000_000, claims: claims)
        XCTAssertEqual(split.shares.reduce(0) { $0 + $1.amountMinor }, 1_000_000_000_000)
        for share in split.shares {
            XCTAssertEqual(share.exact.denominator, split.totalWeight)
            XCTAssertLessThan(share.exact.remainder, split.totalWeight)
        }
    }

    func testBadClaimsAreRefused() {
        XCTAssertThrowsError(try PoolSplit.split(poolMinor: 1, claims: [Claim(node: "a", uptimeSeconds: 1, qualityPpm: 1),
                                                                         Claim(node: "a", uptimeSeconds: 2, qualityPpm: 1)]))
        XCTAssertThrowsError(try PoolSplit.split(poolMinor: -1, claims: []))
        XCTAssertThrowsError(try PoolSplit.split(poolMinor: 1, claims: [Claim(node: "a", uptimeSeconds: -1, qualityPpm: 1)]))
        XCTAssertThrowsError(try PoolSplit.split(poolMinor: 1, claims: [Claim(node: "a", uptimeSeconds: 1, qualityPpm: PPM.one + 1)]))
    }
}

/// The split's promises over many random periods (seeded: a failure names its seed).
final class SplitPropertyTests: XCTestCase {
    func randomClaims(_ r: inout SeededRandom) -> [Claim] {
        let count = r.int(0...12)
        return (0..<count).map { i in
            // Mostly ordinary hours; sometimes huge, zero or equal weights, to reach ties and 128-bit products.
            let uptime = r.chance(10) ? 0 : (r.chance(20) ? 3600 : r.int(0...(r.chance(10) ? 10_000_000 : 3600)))
            let quality = r.chance(10) ? 0 : (r.chance(30) ? PPM.one : r.int(0...PPM.one))
            return Claim(node: "node-\(String(i * 7919 % 101, radix: 16))", uptimeSeconds: uptime, qualityPpm: quality,
                         fraudFlagged: r.chance(10))
        }
    }

    func randomPool(_ r: inout SeededRandom) -> Int64 { r.chance(20) ? r.int(0...10) : r.int(0...1_000_000_000_000) }

    func testSumIsExactAndNoShareIsNegative() throws {
        try forEachSeed(2000) { seed, r in
            let pool = randomPool(&r), split = try PoolSplit.split(poolMinor: pool, claims: randomClaims(&r))
            XCTAssertEqual(split.shares.reduce(0) { $0 + $1.amountMinor } + split.unspentMinor, pool, "seed \(seed)")
            XCTAssertTrue(split.shares.allSatisfy { $0.amountMinor >= 0 }, "seed \(seed)")
            XCTAssertEqual(split.unspentMinor, split.totalWeight == 0 ? pool : 0, "seed \(seed)")
            // Each amount is its exact share rounded down or up: never off by a whole unit.
            for share in split.shares where split.totalWeight > 0 {
                XCTAssertTrue(share.amountMinor == share.exact.whole || (share.amountMinor == share.exact.whole + 1 && share.exact.remainder > 0), "seed \(seed)")
            }
        }
    }

    func testFlaggedNodesGetZeroAndZeroWeightLeavesAllUnspent() throws {
        try forEachSeed(1000) { seed, r in
            let claims = randomClaims(&r), split = try PoolSplit.split(poolMinor: randomPool(&r), claims: claims)
            for share in split.shares where share.claim.fraudFlagged || share.weight == 0 {
                XCTAssertEqual(share.amountMinor, 0, "seed \(seed)")
            }
            let zeroed = claims.map { Claim(node: $0.node, uptimeSeconds: $0.uptimeSeconds, qualityPpm: 0) }
            let none = try PoolSplit.split(poolMinor: split.poolMinor, claims: zeroed)
            XCTAssertEqual(none.unspentMinor, split.poolMinor, "seed \(seed)")
        }
    }

    func testNodeOrderChangesNothing() throws {
        try forEachSeed(1000) { seed, r in
            let pool = randomPool(&r), claims = randomClaims(&r)
            XCTAssertEqual(try PoolSplit.split(poolMinor: pool, claims: claims),
                           try PoolSplit.split(poolMinor: pool, claims: claims.shuffled(using: &r)), "seed \(seed)")
        }
    }

    /// Raising one node's uptime or quality (others unchanged) never lowers its amount.
    func testAShareNeverFallsWhenItsUptimeOrQualityRises() throws {
        try forEachSeed(2000) { seed, r in
            let pool = randomPool(&r)
            var claims = randomClaims(&r)
            guard !claims.isEmpty else { return }
            let i = Int(r.int(0...Int64(claims.count - 1)))
            let before = try PoolSplit.split(poolMinor: pool, claims: claims).share(of: claims[i].node)!.amountMinor
            if r.chance(50) {
                claims[i].uptimeSeconds += r.int(0...(r.chance(50) ? 10 : 5000))
            } else {
                claims[i].qualityPpm = r.int(claims[i].qualityPpm...PPM.one)
            }
            let after = try PoolSplit.split(poolMinor: pool, claims: claims).share(of: claims[i].node)!.amountMinor
            XCTAssertGreaterThanOrEqual(after, before, "seed \(seed)")
        }
    }
}
