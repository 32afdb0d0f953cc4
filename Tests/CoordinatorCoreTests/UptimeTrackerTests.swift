import CoordinatorCore
import XCTest

/// Verified uptime with a synthetic clock: heartbeat interval 5 s, so gaps up to 15 s keep an
/// interval going.
final class UptimeTrackerTests: XCTestCase {
    var tracker = UptimeTracker(heartbeatIntervalMs: 5000)

    private func interval(_ node: String, _ stream: String, _ start: Int64, _ end: Int64) -> UptimeInterval {
        UptimeInterval(node: node, stream: stream, startMs: start, endMs: end)
    }

    /// n1's interval on `main`.
    private func interval(_ start: Int64, _ end: Int64) -> UptimeInterval { interval("n1", "main", start, end) }

    func testHeartbeatsWithinThreeIntervalsExtendOneInterval() {
        XCTAssertEqual(tracker.maxGapMs, 15_000)
        XCTAssertEqual(tracker.record(node: "n1", stream: "main", atMs: 1000), [.started(interval(1000, 1000))])
        XCTAssertEqual(tracker.record(node: "n1", stream: "main", atMs: 6000), [.extended(interval(1000, 6000))])
        // Two heartbeats missed (a 15 s gap, exactly the limit): still the same interval.
        XCTAssertEqual(tracker.record(node: "n1", stream: "main", atMs: 21_000), [.extended(interval(1000, 21_000))])
        XCTAssertEqual(tracker.openIntervals, [interval(1000, 21_000)])
    }

    func testAGapOverThreeIntervalsEndsTheInterval() {
        _ = tracker.record(node: "n1", stream: "main", atMs: 0)
        _ = tracker.record(node: "n1", stream: "main", atMs: 5000)
        XCTAssertEqual(tracker.record(node: "n1", stream: "main", atMs: 20_001),
                       [.closed(interval(0, 5000)), .started(interval(20_001, 20_001))])
        XCTAssertEqual(tracker.openIntervals, [interval(20_001, 20_001)])
    }

    func testNodesAndStreamsAreSeparate() {
        _ = tracker.record(node: "n1", streams: ["main", "other"], atMs: 0)
        _ = tracker.record(node: "n2", stream: "main", atMs: 1000)
        // n1 stops reporting `other`; its `main` goes on.
        _ = tracker.record(node: "n1", streams: ["main"], atMs: 10_000)
        XCTAssertEqual(tracker.expire(nowMs: 15_000), [])
        XCTAssertEqual(tracker.expire(nowMs: 15_001), [interval("n1", "other", 0, 0)])
        XCTAssertEqual(tracker.expire(nowMs: 16_001), [interval("n2", "main", 1000, 1000)])
        XCTAssertEqual(tracker.openIntervals, [interval("n1", "main", 0, 10_000)])
    }

    func testExpiryThenAHeartbeatStartsAfresh() {
        _ = tracker.record(node: "n1", stream: "main", atMs: 0)
        XCTAssertEqual(tracker.expire(nowMs: 30_000), [interval(0, 0)])
        XCTAssertEqual(tracker.record(node: "n1", stream: "main", atMs: 31_000), [.started(interval(31_000, 31_000))])
    }

    func testOlderTimesChangeNothingAndCloseAllEmpties() {
        _ = tracker.record(node: "n1", stream: "main", atMs: 10_000)
        XCTAssertEqual(tracker.record(node: "n1", stream: "main", atMs: 9000), [])
        XCTAssertEqual(tracker.openIntervals, [interval(10_000, 10_000)])
        _ = tracker.record(node: "n0", stream: "main", atMs: 10_000)
        XCTAssertEqual(tracker.closeAll(), [interval("n0", "main", 10_000, 10_000), interval(10_000, 10_000)])
        XCTAssertEqual(tracker.openIntervals, [])
    }

    func testOtherHeartbeatIntervals() {
        var fast = UptimeTracker(heartbeatIntervalMs: 1000)
        _ = fast.record(node: "n1", stream: "s", atMs: 0)
        XCTAssertEqual(fast.record(node: "n1", stream: "s", atMs: 3001).first, .closed(interval("n1", "s", 0, 0)))
    }
}
