@testable import Validation
import XCTest

final class SpotCheckerTests: XCTestCase {
    /// The daemon's loop, in miniature: nodes and references in, planned probes out.
    func testLoopPlansProbesForNodesThatRelay() {
        var rng = SeededRandom(seed: 11)
        var checker = SpotChecker()
        let idle = NodeTarget(id: "idle", host: "198.51.100.9", relayed: [])
        let other = NodeTarget(id: "other", host: "198.51.100.8", relayed: [.init(stream: "unknown")])
        checker.setNodes([testNode("a"), testNode("b"), idle, other], nowMs: 0, using: &rng)
        XCTAssertEqual(checker.scheduler.onlineCount, 3, "a node relaying nothing is paused")
        var probes: [PlannedProbe] = []
        var now: Int64 = 101_000
        let streams = ["main": testStream()]
        while now < 101_000 + 600_000 {
            probes += checker.next(nowMs: now, streams: streams, using: &rng)
            now = max(now + 1, checker.nextWakeMs ?? now + 1000)
        }
        let perNode = Dictionary(grouping: probes, by: \.node).mapValues(\.count)
        XCTAssertNil(perNode["idle"])
        XCTAssertNil(perNode["other"], "no reference for its stream: nothing to compare")
        XCTAssertEqual(Double(perNode["a"] ?? 0), 20, accuracy: 8, "120/h for 10 minutes")
        XCTAssertEqual(Double(perNode["b"] ?? 0), 20, accuracy: 8)
        XCTAssertTrue(probes.allSatisfy { $0.stream == "main" && $0.host == "203.0.113.5" })

        checker.removeNode("a", nowMs: now, using: &rng)
        var later: [PlannedProbe] = []
        for t in stride(from: now, to: now + 600_000, by: 500) { later += checker.next(nowMs: t, streams: streams, using: &rng) }
        XCTAssertFalse(later.contains { $0.node == "a" })
        XCTAssertTrue(later.contains { $0.node == "b" })
    }
}
