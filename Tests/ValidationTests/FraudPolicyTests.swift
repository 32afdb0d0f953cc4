@testable import Validation
import XCTest

final class FraudPolicyTests: XCTestCase {
    func outcome(_ verdict: Verdict, kind: ProbeKind = .range, reason: Reason = .ok, bps: UInt64? = nil, bytes: Int = 0) -> ProbeOutcome {
        ProbeOutcome(node: "a", stream: "main", kind: kind, verdict: verdict, reason: reason, ttfbMs: 50,
                     throughputBps: bps, bytes: bytes, atMs: 0)
    }

    func tally(_ outcomes: [ProbeOutcome]) -> ProbeTally {
        var t = ProbeTally()
        for o in outcomes { t.add(o) }
        return t
    }

    func period(_ node: String = "a", machine: String = "m-a", address: String = "198.51.100.1", enrolled: Int64 = 0,
                tally t: ProbeTally = ProbeTally(), claims: FraudPolicy.Claims = .init(), uptimeMs: Int64 = 3_600_000,
                redirects: [String] = [], bitrate: UInt64 = 0) -> FraudPolicy.NodePeriod {
        FraudPolicy.NodePeriod(identity: Identity(node: NodeID(node), machineID: machine, address: address, enrolledAtMs: enrolled),
                               tally: t, claims: claims, uptimeMs: uptimeMs, watchRedirects: redirects, bitrateBps: bitrate)
    }

    func assess(_ periods: [FraudPolicy.NodePeriod], _ config: FraudPolicy.Configuration = .init()) -> [FraudPolicy.Assessment] {
        FraudPolicy(configuration: config).assess(periods)
    }

    func testHonestNodeWithBlipsEarns() {
        let t = tally(Array(repeating: outcome(.passed), count: 118) + [outcome(.failed, reason: .transport(.reset)), outcome(.failed, reason: .slow)])
        let a = assess([period(tally: t)])[0]
        XCTAssertTrue(a.earns)
        XCTAssertEqual(a.tally.passRate, 118.0 / 120, accuracy: 1e-12)
        XCTAssertEqual(a.tally.reasons[.slow], 1)
    }

    func testOneAlteredResponseFlags() {
        let t = tally(Array(repeating: outcome(.passed), count: 100) + [outcome(.altered, reason: .bytesDiffer)])
        let a = assess([period(tally: t)])[0]
        XCTAssertFalse(a.earns)
        XCTAssertEqual(a.flags.map(\.reason), ["altered"])
        XCTAssertEqual(a.flags[0].evidence, 1)
        XCTAssertTrue(a.fraudFlagged)
    }

    func testStaleMustRepeat() {
        let live = Array(repeating: outcome(.passed, kind: .liveFLV), count: 10)
        let stale = outcome(.stale, kind: .liveFLV, reason: .behindLiveEdge)
        XCTAssertTrue(assess([period(tally: tally(live + [stale, stale]))])[0].earns, "twice is not repeated")
        let flagged = assess([period(tally: tally(live + [stale, stale, stale]))])[0]
        XCTAssertEqual(flagged.flags.map(\.reason), ["stale"])
        // Three among many live checks is under the 20% share.
        let many = Array(repeating: outcome(.passed, kind: .hls), count: 20)
        XCTAssertTrue(assess([period(tally: tally(many + [stale, stale, stale]))])[0].earns)
    }

    func testViewersBeyondWhatWatchSentAreCapped() {
        let claims = FraudPolicy.Claims(bytesServed: 0, peakViewers: 50)
        let a = assess([period(claims: claims, redirects: Array(repeating: "203.0.113.9", count: 10))])[0]
        XCTAssertEqual(a.countedViewers, 12, "10 sent + a margin of 2")
        XCTAssertEqual(a.adjustments.map(\.reason), ["inflated_viewers"])
        XCTAssertEqual(a.adjustments[0].claimed, 50)
        XCTAssertTrue(a.earns, "capped and reported, not flagged")
        // With 100 sent, the margin is 10%.
        let b = assess([period(claims: .init(peakViewers: 200), redirects: Array(repeating: "v", count: 100))])[0]
        XCTAssertEqual(b.countedViewers, 110)
    }

    func testBytesBeyondViewersTimesBitrateAreCapped() {
        // 2 viewers at 4 Mbit/s for an hour: 3.6 GB, plus 25%.
        let claims = FraudPolicy.Claims(bytesServed: 20_000_000_000, peakViewers: 2)
        let a = assess([period(claims: claims, redirects: ["v1", "v2"], bitrate: 4_000_000)])[0]
        XCTAssertEqual(a.countedBytes, 4_500_000_000)
        XCTAssertEqual(a.adjustments.map(\.reason), ["inflated_bytes"])
        let honest = assess([period(claims: .init(bytesServed: 3_000_000_000, peakViewers: 2), redirects: ["v1", "v2"], bitrate: 4_000_000)])[0]
        XCTAssertEqual(honest.countedBytes, 3_000_000_000)
        XCTAssertTrue(honest.adjustments.isEmpty)
    }

    func testBytesBeyondMeasuredUploadAreCapped() {
        // Best transfer 10 Mbit/s, × 4 headroom: 40 Mbit/s for an hour = 18 GB (+ probe bytes).
        let t = tally((0..<3).map { _ in outcome(.passed, kind: .chunk, bps: 10_000_000, bytes: 1000) })
        let a = assess([period(tally: t, claims: .init(bytesServed: 50_000_000_000, peakViewers: 0))])[0]
        XCTAssertEqual(a.countedBytes, 18_000_000_000 + 3000)
        // Under three samples there is no throughput bound.
        let few = tally([outcome(.passed, kind: .chunk, bps: 10_000_000)])
        XCTAssertEqual(assess([period(tally: few, claims: .init(bytesServed: 50_000_000_000))])[0].countedBytes, 50_000_000_000)
    }

    func testSelfViewingIsNotCounted() {
        let claims = FraudPolicy.Claims(bytesServed: 1_000, peakViewers: 3, viewerConnections: [
            .init(address: "198.51.100.1", bytes: 600), .init(address: "203.0.113.7", bytes: 400),
        ])
        let a = assess([period(claims: claims, redirects: ["198.51.100.1", "203.0.113.7"])])[0]
        XCTAssertEqual(a.countedBytes, 400)
        XCTAssertEqual(a.adjustments.first?.reason, "self_viewing")
        XCTAssertEqual(a.adjustments.first?.evidence, 2, "one connection, one redirect from its own address")
        // Plausible viewers: one redirect not its own, plus the margin.
        XCTAssertEqual(a.countedViewers, 2)
        // Another address of the same machine is self too.
        let twin = period("b", machine: "m-a", address: "198.51.100.2", enrolled: 5)
        let b = assess([period(claims: .init(bytesServed: 100, viewerConnections: [.init(address: "198.51.100.2", bytes: 100)])), twin])
        XCTAssertEqual(b[0].countedBytes, 0)
    }

    /// A sybil flag's evidence is the number of active identities sharing its machine or its
    /// address: counted from per-key tallies, it equals a scan of all of them, for random mixes
    /// (empty ids included, and inactive identities left out).
    func testSybilEvidenceCountsTheIdentitiesSharingAMachineOrAnAddress() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<50 {
            let periods = (0..<Int.random(in: 2...60, using: &rng)).map { i in
                period("n\(i)", machine: ["", "m1", "m2", "m3"].randomElement(using: &rng)!,
                       address: ["", "10.0.0.1", "10.0.0.2"].randomElement(using: &rng)!,
                       enrolled: Int64.random(in: 0...5, using: &rng), uptimeMs: Bool.random(using: &rng) ? 0 : 1000)
            }
            let active = periods.filter { $0.uptimeMs > 0 }.map(\.identity)
            for a in assess(periods) {
                guard let flag = a.flags.first(where: { $0.kind == .sybil }) else { continue }
                let me = periods.first { $0.node == a.node }!.identity
                XCTAssertEqual(flag.evidence, active.filter { $0.machineID == me.machineID || $0.address == me.address }.count)
            }
        }
    }

    func testSybilsEarnOncePerMachineAndAddress() {
        let periods = [
            period("a", machine: "m1", address: "10.0.0.1", enrolled: 100),
            period("b", machine: "m1", address: "10.0.0.2", enrolled: 50),  // earliest on m1
            period("c", machine: "m2", address: "10.0.0.2", enrolled: 200),  // b's address
            period("d", machine: "m3", address: "10.0.0.3", enrolled: 300),
            period("e", machine: "m2", address: "10.0.0.4", enrolled: 400),  // m2's earlier one lost, so e earns
        ]
        let result = Dictionary(uniqueKeysWithValues: assess(periods).map { ($0.node, $0) })
        XCTAssertTrue(result["b"]!.earns)
        XCTAssertEqual(result["a"]!.flags.map(\.reason), ["sybil"])
        XCTAssertEqual(result["c"]!.flags.map(\.reason), ["sybil"])
        XCTAssertTrue(result["d"]!.earns)
        XCTAssertTrue(result["e"]!.earns)
        XCTAssertFalse(result["a"]!.fraudFlagged, "sybil earns nothing but is not a fraud flag on its service")

        var perMachine = FraudPolicy.Configuration()
        perMachine.sybil = .perMachine
        let m = Dictionary(uniqueKeysWithValues: assess(periods, perMachine).map { ($0.node, $0.earns) })
        XCTAssertEqual(m, ["a": false, "b": true, "c": true, "d": true, "e": false])
        var perAddress = FraudPolicy.Configuration()
        perAddress.sybil = .perAddress
        let ad = Dictionary(uniqueKeysWithValues: assess(periods, perAddress).map { ($0.node, $0.earns) })
        XCTAssertEqual(ad, ["a": true, "b": true, "c": false, "d": true, "e": true])
        var off = FraudPolicy.Configuration()
        off.sybil = .off
        XCTAssertTrue(assess(periods, off).allSatisfy(\.earns))
    }

    func testSybilChoiceIsDeterministicAndSkipsInactive() {
        // Same enrolment time: the smaller node id earns, whatever the input order.
        let x = period("x", machine: "m", enrolled: 1), y = period("y", machine: "m", enrolled: 1)
        XCTAssertEqual(assess([y, x]).filter(\.earns).map(\.node), ["x"])
        XCTAssertEqual(assess([x, y]).filter(\.earns).map(\.node), ["x"])
        // The rule itself takes whom it is given; assess passes only identities with uptime, so an
        // earlier one with none this period does not block a later one.
        let idle = period("old", machine: "m", enrolled: 0, uptimeMs: 0)
        XCTAssertEqual(SybilRule.losers([idle.identity, y.identity], policy: .perMachine), ["y": "old"])
        XCTAssertTrue(assess([idle, y]).first { $0.node == "y" }!.earns)
        // Unknown machine ids are not shared.
        XCTAssertTrue(assess([period("p", machine: "", address: "1"), period("q", machine: "", address: "2")]).allSatisfy(\.earns))
    }

    func testReplayGuard() {
        var guardian = ReplayGuard<NodeID>()
        XCTAssertEqual(guardian.admit(5, from: "a"), .accepted)
        XCTAssertEqual(guardian.admit(6, from: "a"), .accepted)
        XCTAssertEqual(guardian.admit(6, from: "a"), .replayed(lastAccepted: 6))
        XCTAssertEqual(guardian.admit(2, from: "a"), .replayed(lastAccepted: 6))
        XCTAssertEqual(guardian.admit(1, from: "b"), .accepted, "per sender")
        var restored = ReplayGuard(lastAccepted: guardian.lastAccepted)
        XCTAssertEqual(restored.admit(6, from: "a"), .replayed(lastAccepted: 6), "across restarts")
    }
}
