import FLV
import LiveMedia
import NIOConcurrencyHelpers
import NIOCore
import StreamrWire
import XCTest

/// A viewer that records what it is handed, and what it had at each flush.
final class Recorder: LiveViewer {
    let wantsChunks: Bool
    private let state = NIOLockedValueBox((events: [LiveEvent](), flushed: 0))
    init(wantsChunks: Bool) { self.wantsChunks = wantsChunks }
    func deliver(_ event: LiveEvent) { state.withLockedValue { $0.events.append(event) } }
    func flush() { state.withLockedValue { $0.flushed = $0.events.count } }
    var events: [LiveEvent] { state.withLockedValue { $0.events } }
    var flushedCount: Int { state.withLockedValue { $0.flushed } }
    /// Frames as "v<ts>" (video), "k<ts>" (keyframe), "a<ts>", "h" (header); chunks as "c<seq>", seals "s<seq>".
    var trace: [String] {
        events.map { event in
            switch event {
            case .frame(let f): f.isHeader ? "h" : f.isKeyframe ? "k\(f.timestamp)" : f.isVideo ? "v\(f.timestamp)" : "a\(f.timestamp)"
            case .sealed(let c): "s\(c.seal.seq)"
            case .chunk(let c): "c\(c.seal.seq)"
            case .ended: "end"
            }
        }
    }
}

func frame(_ kind: String, _ ts: UInt32, chunk: UInt64 = 1) -> LiveFrame {
    let tag: FLVTag
    switch kind {
    case "header": tag = FLVTag(type: .video, timestamp: ts, data: [0x17, 0x00, 0, 0, 0, 1, 2, 3])
    case "key": tag = FLVTag(type: .video, timestamp: ts, data: [0x17, 0x01, 0, 0, 0, 9, 9])
    case "video": tag = FLVTag(type: .video, timestamp: ts, data: [0x27, 0x01, 0, 0, 0, 8])
    default: tag = FLVTag(type: .audio, timestamp: ts, data: [0xAF, 0x01, 7])
    }
    return LiveFrame(tag: tag, kind: tag.kind, chunkSeq: kind == "header" ? 0 : chunk)
}

func sealed(_ seq: UInt64) -> SealedChunk {
    SealedChunk(seal: ChunkSealed(stream: "s", seq: seq, firstTimestampMs: 0, lastTimestampMs: 0, size: 0,
                                  sha256: [], chain: [], signature: []), bytes: ByteBuffer())
}

final class LiveStreamTests: XCTestCase {
    func testAPlayerJoinsAtTheLatestKeyframeAfterTheHeaders() {
        let live = LiveStream(name: "s")
        for f in [frame("header", 0), frame("key", 0), frame("video", 33), frame("audio", 40), frame("key", 2000, chunk: 2),
                  frame("video", 2033, chunk: 2)] { live.publish(f) }
        let player = Recorder(wantsChunks: false)
        XCTAssertNotNil(live.add(player))
        XCTAssertEqual(player.trace, ["h", "k2000", "v2033"])
        XCTAssertEqual(player.flushedCount, 3, "a joiner is flushed at once")
        live.publish(frame("audio", 2040, chunk: 2))
        XCTAssertEqual(player.trace.last, "a2040")
        XCTAssertEqual(player.flushedCount, 3, "live frames wait for the source's flush")
        live.flush()
        XCTAssertEqual(player.flushedCount, 4)
    }

    func testASubscriberGetsTheOpenChunkFromItsStartAndSeals() {
        let live = LiveStream(name: "s")
        for f in [frame("header", 0), frame("key", 0), frame("video", 33)] { live.publish(f) }
        live.seal(sealed(1))
        for f in [frame("key", 2000, chunk: 2), frame("video", 2033, chunk: 2)] { live.publish(f) }
        let node = Recorder(wantsChunks: true)
        XCTAssertEqual(live.add(node), .live(firstChunk: 2))
        XCTAssertEqual(node.trace, ["h", "k2000", "v2033"])
        live.seal(sealed(2))
        let player = Recorder(wantsChunks: false)
        live.add(player)
        live.seal(sealed(3))
        XCTAssertEqual(node.trace.suffix(2), ["s2", "s3"])
        XCTAssertFalse(player.trace.contains("s3"), "players do not get chunk seals")
    }

    func testResumeReplaysKeptChunksOrStartsLive() {
        let live = LiveStream(name: "s", limits: { var l = LiveStream.Limits(); l.sealedChunks = 2; return l }())
        for seq: UInt64 in 1...4 { live.publish(frame("key", UInt32(seq) * 2000, chunk: seq)); live.seal(sealed(seq)) }
        live.publish(frame("key", 10_000, chunk: 5))
        let resumed = Recorder(wantsChunks: true)
        XCTAssertEqual(live.add(resumed, resumeAfter: 2), .resumed(firstChunk: 3))
        XCTAssertEqual(resumed.trace, ["c3", "c4", "k10000"])
        let tooOld = Recorder(wantsChunks: true)
        XCTAssertEqual(live.add(tooOld, resumeAfter: 1), .live(firstChunk: 5), "chunk 2 is no longer kept")
        XCTAssertEqual(tooOld.trace, ["k10000"])
    }

    func testEndTellsEveryoneAndRefusesJoiners() {
        let live = LiveStream(name: "s")
        let player = Recorder(wantsChunks: false)
        live.add(player)
        live.end()
        XCTAssertEqual(player.trace, ["end"])
        XCTAssertEqual(player.flushedCount, 1)
        XCTAssertNil(live.add(Recorder(wantsChunks: false)))
        XCTAssertEqual(live.viewerCount, 0)
    }
}

final class LiveQueueTests: XCTestCase {
    func testASlowConsumerIsToldAndSkipsToTheNextKeyframe() async {
        let queue = LiveQueue(wantsChunks: false, maxBytes: 100)
        queue.deliver(.frame(frame("header", 0)))
        queue.deliver(.frame(frame("key", 0)))
        for ts in 1...20 { queue.deliver(.frame(frame("video", UInt32(ts) * 33))) }  // 20 x 23 bytes > 100
        queue.deliver(.frame(frame("video", 700)))
        queue.deliver(.frame(frame("key", 2000)))
        queue.deliver(.frame(frame("video", 2033)))
        queue.flush()
        let items = await queue.next()
        let trace = items.map { item -> String in
            switch item {
            case .lagged: "lagged"
            case .event(.frame(let f)): f.isHeader ? "h" : f.isKeyframe ? "k\(f.timestamp)" : "v\(f.timestamp)"
            default: "?"
            }
        }
        XCTAssertEqual(trace.first, "h", "sequence headers are never dropped")
        XCTAssertTrue(trace.contains("lagged"))
        let after = trace[(trace.lastIndex(of: "lagged")! + 1)...]
        XCTAssertEqual(Array(after), ["k2000", "v2033"], "after the lag the stream resumes at a keyframe")
        XCTAssertGreaterThanOrEqual(queue.lagCount, 1)
    }

    func testEndWakesTheConsumerWithoutAFlush() async {
        let queue = LiveQueue(wantsChunks: false)
        async let items = queue.next()
        try? await Task.sleep(for: .milliseconds(20))
        queue.deliver(.ended)
        let got = await items
        guard case .event(.ended)? = got.last else { return XCTFail("\(got)") }
    }

    func testCancelWakesTheConsumerEmpty() async {
        let queue = LiveQueue(wantsChunks: false)
        async let items = queue.next()
        try? await Task.sleep(for: .milliseconds(20))
        queue.cancel()
        let got = await items
        XCTAssertTrue(got.isEmpty)
    }
}
