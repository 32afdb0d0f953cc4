import CoordinatorCore
import XCTest

final class ViewerRouterTests: XCTestCase {
    func candidate(_ node: String, cap: UInt64 = 0, used: UInt64 = 0, viewers: UInt32 = 0, score: Double = 1) -> ViewerRouter.Candidate {
        .init(node: node, baseURL: "http://\(node)", viewers: viewers, uploadCapBps: cap, uploadBps: used, score: score)
    }

    func testSpareCapacity() {
        XCTAssertEqual(ViewerRouter.spare(candidate("a", cap: 100, used: 25)), 0.75)
        XCTAssertEqual(ViewerRouter.spare(candidate("a", cap: 100, used: 100)), 0)
        XCTAssertEqual(ViewerRouter.spare(candidate("a", cap: 100, used: 150)), 0, "over the cap is full, not negative")
        XCTAssertEqual(ViewerRouter.spare(candidate("a", viewers: 0)), 1)
        XCTAssertEqual(ViewerRouter.spare(candidate("a", viewers: 100)), 0.5)
    }

    func testWeightsFollowSpareTimesScore() {
        XCTAssertEqual(ViewerRouter.weight(candidate("a", cap: 100, used: 50, score: 0.5)), 0.25)
        XCTAssertEqual(ViewerRouter.weight(candidate("a", score: .nan)), 0)
        XCTAssertEqual(ViewerRouter.weight(candidate("a", score: 7)), 1, "score is clamped to 1")
    }

    func testChoiceIsProportionalToWeight() {
        // a has weight 0.75, b 0.25: the first 3/4 of the unit interval picks a.
        let list = [candidate("a", cap: 4, used: 1), candidate("b", cap: 4, used: 3)]
        XCTAssertEqual(ViewerRouter.choose(list, random: 0)?.node, "a")
        XCTAssertEqual(ViewerRouter.choose(list, random: 0.74)?.node, "a")
        XCTAssertEqual(ViewerRouter.choose(list, random: 0.76)?.node, "b")
        XCTAssertEqual(ViewerRouter.choose(list, random: 0.9999)?.node, "b")
        var counts: [String: Int] = [:]
        for i in 0..<1000 { counts[ViewerRouter.choose(list, random: Double(i) / 1000)!.node, default: 0] += 1 }
        XCTAssertEqual(counts, ["a": 750, "b": 250])
    }

    func testFullOrZeroScoreNodesAreNeverChosen() {
        let list = [candidate("full", cap: 10, used: 10), candidate("bad", score: 0), candidate("ok")]
        for r in stride(from: 0.0, to: 1.0, by: 0.01) { XCTAssertEqual(ViewerRouter.choose(list, random: r)?.node, "ok") }
        XCTAssertNil(ViewerRouter.choose([candidate("full", cap: 10, used: 10)], random: 0.5))
        XCTAssertNil(ViewerRouter.choose([], random: 0.5))
    }

    func testWatchFormats() throws {
        XCTAssertEqual(try WatchFormat.parse(nil), .flv)
        XCTAssertEqual(try WatchFormat.parse("HLS"), .hls)
        XCTAssertThrowsError(try WatchFormat.parse("mp4"))
        XCTAssertEqual(WatchFormat.hls.path(stream: "main"), "/live/main/index.m3u8")
        XCTAssertEqual(WatchFormat.flv.path(stream: "main"), "/live/main.flv")
        XCTAssertEqual(try WatchFormat.parse("fmp4"), .fmp4)
        XCTAssertEqual(WatchFormat.fmp4.path(stream: "main"), "/live/main/fmp4.m3u8")
    }
}

final class RateWindowTests: XCTestCase {
    func testRateOverCompleteSeconds() {
        var window = RateWindow(seconds: 10)
        for second in 0..<10 { window.add(100, atMs: Int64(second) * 1000 + 500) }
        XCTAssertEqual(window.perSecond(nowMs: 10_000), 100)
        // The current, incomplete second does not count yet.
        window.add(1000, atMs: 10_100)
        XCTAssertEqual(window.perSecond(nowMs: 10_200), 100)
        // Old seconds fall out of the window.
        XCTAssertEqual(window.perSecond(nowMs: 15_000), (5 * 100 + 1000) / 10)
        XCTAssertEqual(window.perSecond(nowMs: 60_000), 0)
    }
}

final class LeaderboardTests: XCTestCase {
    func interval(_ node: String, _ stream: String, _ start: Int64, _ end: Int64) -> UptimeInterval {
        UptimeInterval(node: node, stream: stream, startMs: start, endMs: end)
    }

    func testClipsToTheWindowAndCountsOverlapsOnce() {
        let entries = Leaderboard.rank([
            interval("a", "s1", 0, 5000), interval("a", "s2", 2000, 6000),   // overlapping: 0..6000 inside window 1000...
            interval("b", "s1", 500, 3000), interval("b", "s1", 4000, 5000),
            interval("c", "s1", 20000, 30000),                               // outside the window
        ], fromMs: 1000, toMs: 10000)
        XCTAssertEqual(entries.map(\.node), ["a", "b"])
        XCTAssertEqual(entries.map(\.uptimeMs), [5000, 3000])
        XCTAssertEqual(entries[0].streams, ["s1", "s2"])
        XCTAssertEqual(entries.map(\.rank), [1, 2])
    }

    func testTiesShareARank() {
        let entries = Leaderboard.rank([interval("b", "s", 0, 10), interval("a", "s", 0, 10), interval("c", "s", 0, 5)],
                                       fromMs: 0, toMs: 100)
        XCTAssertEqual(entries.map(\.node), ["a", "b", "c"])
        XCTAssertEqual(entries.map(\.rank), [1, 1, 3])
    }

    func testDurationText() {
        XCTAssertEqual(Leaderboard.formatDuration(ms: 45_000), "45s")
        XCTAssertEqual(Leaderboard.formatDuration(ms: 750_000), "12m 30s")
        XCTAssertEqual(Leaderboard.formatDuration(ms: 7_500_000), "2h 05m")
    }
}
