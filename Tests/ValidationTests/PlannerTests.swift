@testable import Validation
import XCTest

final class PlannerTests: XCTestCase {
    func plans(_ n: Int, node: NodeTarget = testNode(), stream: StreamReference = testStream(), nowMs: Int64 = 101_000,
               config: ProbePlanner.Configuration = .init(), seed: UInt64 = 1) -> [PlannedProbe] {
        var rng = SeededRandom(seed: seed)
        let planner = ProbePlanner(configuration: config)
        return (0..<n).compactMap { _ in planner.plan(node: node, stream: stream, nowMs: nowMs, using: &rng) }
    }

    func testKindMixFollowsTheWeights() {
        let all = plans(20_000)
        XCTAssertEqual(all.count, 20_000)
        var counts: [ProbeKind: Int] = [:]
        for p in all { counts[p.kind, default: 0] += 1 }
        XCTAssertEqual(Double(counts[.range] ?? 0) / 20_000, 0.82, accuracy: 0.015)
        for kind in [ProbeKind.chunk, .liveFLV, .hls] {
            XCTAssertEqual(Double(counts[kind] ?? 0) / 20_000, 0.06, accuracy: 0.01, "\(kind)")
        }
    }

    /// Stream sealed chunks 1...50 at n × 2 s; now is 101 s. Nodes keep 30, less a margin of 2:
    /// 23...50; chunk 50 (sealed at 100 s) is still in its grace, so 23...49.
    func testChunksAreRecentSealedAndHeld() {
        var seen = Set<UInt64>()
        for p in plans(5000) where p.kind == .range || p.kind == .chunk {
            let seq = p.chunkSeq!
            seen.insert(seq)
            XCTAssertEqual(p.path, "/chunks/main/\(seq)")
            XCTAssertEqual(p.chunkSize, 200_000)
        }
        XCTAssertEqual(seen, Set(23...49), "uniform over the window, never the newest in its grace, never evicted ones")
        let late = plans(2000, node: testNode(holdsFrom: 45)).compactMap(\.chunkSeq)
        XCTAssertEqual(Set(late), Set(45...49), "none from before the node started holding")
    }

    func testRangesAreSlicesOfThirtyTwoToSixtyFourKiB() {
        for p in plans(5000) where p.kind == .range {
            let r = p.range!
            XCTAssertTrue((32 * 1024...64 * 1024).contains(r.length))
            XCTAssertTrue(r.offset >= 0 && r.end <= 200_000)
            XCTAssertEqual(p.fetch, .chunk(offset: r.offset))
            XCTAssertEqual(p.readLimit(status: 206), r.length)
            XCTAssertEqual(p.readLimit(status: 200), r.end, "a server ignoring Range sends from 0")
        }
        // A chunk smaller than the slice is read whole.
        let small = plans(50, stream: testStream(size: 1000)).filter { $0.kind == .range }
        XCTAssertFalse(small.isEmpty)
        for p in small { XCTAssertEqual(p.range, ByteRange(offset: 0, length: 1000)) }
    }

    func testWatchRouteOnlyForViewerKindsAboutHalfTheTime() {
        var viewer = 0, viaWatch = 0
        for p in plans(10_000) {
            switch p.kind {
            case .range, .chunk: XCTAssertEqual(p.route, .direct)
            case .liveFLV:
                viewer += 1
                if case .watch(let path) = p.route { viaWatch += 1; XCTAssertEqual(path, "/watch/main?format=flv") }
            case .hls:
                viewer += 1
                if case .watch(let path) = p.route { viaWatch += 1; XCTAssertEqual(path, "/watch/main?format=hls") }
            }
            XCTAssertEqual(p.host, "203.0.113.5", "the session address, always")
        }
        XCTAssertEqual(Double(viaWatch) / Double(viewer), 0.5, accuracy: 0.05)
    }

    func testClientsRotate() {
        var counts: [ClientProfile.Family: Int] = [:]
        for p in plans(10_000) { counts[p.client.family, default: 0] += 1 }
        XCTAssertEqual(Double(counts[.lavf] ?? 0) / 10_000, 0.40, accuracy: 0.02)
        XCTAssertEqual(Double(counts[.vlc] ?? 0) / 10_000, 0.25, accuracy: 0.02)
        XCTAssertEqual(Double(counts[.chromium] ?? 0) / 10_000, 0.35, accuracy: 0.02)
    }

    func testLiveWatchesVaryInLength() {
        let lengths = plans(3000).compactMap(\.watchMs)
        XCTAssertTrue(lengths.allSatisfy { (3000...6000).contains($0) })
        XCTAssertGreaterThan(Set(lengths).count, 100)
        for p in plans(500) where p.kind == .liveFLV {
            XCTAssertEqual(p.path, "/live/main.flv")
            XCTAssertEqual(p.liveEdgeSeq, 50)
            XCTAssertEqual(p.limits.totalMs, p.watchMs! + 5000)
        }
    }

    func testThroughputFloorFollowsTheBitrate() {
        // 200 kB per 2 s = 800 kbit/s: the 1 Mbit/s floor wins.
        XCTAssertEqual(plan(kind: .chunk).limits.minThroughputBps, 1_000_000)
        // 2 MB per 2 s = 8 Mbit/s: 1.25 × that.
        XCTAssertEqual(plan(kind: .chunk, stream: testStream(size: 2_000_000)).limits.minThroughputBps, 10_000_000)
        XCTAssertEqual(plan(kind: .range).limits.minThroughputBps, 0, "slices are too short to measure")
    }

    func testWhatCannotBeCheckedIsNotPlanned() {
        // No bytes held: only whole chunks (digest) and HLS.
        let digestOnly = plans(2000, stream: testStream(holdsBytes: false))
        XCTAssertTrue(digestOnly.allSatisfy { $0.kind == .chunk || $0.kind == .hls })
        // Publisher gone: only chunks the node still holds.
        let ended = plans(2000, stream: testStream(live: false))
        XCTAssertTrue(ended.allSatisfy { $0.kind == .range || $0.kind == .chunk })
        // Nothing sealed yet but live: live kinds only.
        let fresh = plans(500, stream: StreamReference(stream: "main", sealed: []))
        XCTAssertTrue(fresh.allSatisfy { $0.kind == .liveFLV || $0.kind == .hls })
        XCTAssertTrue(plans(10, stream: StreamReference(stream: "main", sealed: [], isLive: false)).isEmpty)
    }

    func testPlayerHeadersAreExact() {
        // As ffmpeg 5.1 sent them to a listening socket, in order.
        XCTAssertEqual(ClientProfile.lavf.headers(for: .flvStream, host: "203.0.113.5:8935", pageOrigin: "").map(\.description), [
            "User-Agent: Lavf/59.27.100", "Accept: */*", "Range: bytes=0-", "Connection: close",
            "Host: 203.0.113.5:8935", "Icy-MetaData: 1",
        ])
        XCTAssertEqual(ClientProfile.lavf.headers(for: .segment, host: "h:1", pageOrigin: "").value(of: "connection"), "keep-alive")
        XCTAssertEqual(ClientProfile.lavf.headers(for: .chunk(offset: 4096), host: "h:1", pageOrigin: "").value(of: "Range"), "bytes=4096-")
        XCTAssertEqual(ClientProfile.vlc.headers(for: .flvStream, host: "h:1", pageOrigin: "").map(\.name),
                       ["Host", "Accept", "Accept-Language", "User-Agent", "Range"])
        XCTAssertNil(ClientProfile.vlc.headers(for: .segment, host: "h:1", pageOrigin: "").value(of: "Range"))
        let chrome = ClientProfile.chromium.headers(for: .playlist(first: true), host: "h:1", pageOrigin: "http://host:8000")
        XCTAssertEqual(chrome.map(\.name), ["Host", "Connection", "User-Agent", "Accept", "Origin", "Referer",
                                            "Accept-Encoding", "Accept-Language"])
        XCTAssertEqual(chrome.value(of: "Referer"), "http://host:8000/")
        XCTAssertNil(chrome.value(of: "Sec-Fetch-Mode"), "not sent to plain-HTTP origins")
    }

    func testPlanHeadersFollowTheProfile() {
        var config = ProbePlanner.Configuration()
        config.pageOrigin = "http://streamer.example:8000"
        config.clients = [.chromium]
        config.clientWeights = [1]
        let p = plans(1, config: config)[0]
        let headers = p.headers(host: p.authority)
        XCTAssertEqual(headers.value(of: "Host"), "203.0.113.5:8935")
        XCTAssertEqual(headers.value(of: "Origin"), "http://streamer.example:8000")
        XCTAssertEqual(p.headers(for: .segment, host: "h:1").value(of: "Host"), "h:1")
    }

    func testAuthorityBracketsIPv6() {
        XCTAssertEqual(testNode().authority, "203.0.113.5:8935")
        XCTAssertEqual(NodeTarget(id: "x", host: "2001:db8::1", viewerPort: 8935, relayed: []).authority, "[2001:db8::1]:8935")
    }

    func testChunksAreFetchedByChainAndSeqWhenTheChainIsKnown() {
        var stream = testStream()
        stream.chainID = 0x1f2e
        let p = plan(kind: .range, stream: stream)
        XCTAssertEqual(p.chainID, 0x1f2e)
        XCTAssertEqual(p.path, "/chunks/main/1f2e-\(p.chunkSeq!)")
        XCTAssertEqual(plan(kind: .chunk, stream: stream).path.hasPrefix("/chunks/main/1f2e-"), true)
        XCTAssertNil(plan(kind: .range).chainID)
    }
}
