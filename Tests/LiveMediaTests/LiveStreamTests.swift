import FLV
import LiveMedia
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import RTMP
import StreamrWire
import XCTest

/// A viewer that records what it is handed, and how often it was handed a batch.
final class Recorder: LiveViewer {
    let kind: ViewerKind
    private let state = NIOLockedValueBox((items: [LiveItem](), batches: 0, ended: false, join: LiveStream.Join?.none))
    init(_ kind: ViewerKind) { self.kind = kind }
    func start(_ items: [LiveItem], join: LiveStream.Join) { state.withLockedValue { $0.items += items; $0.join = join } }
    func receive(_ batch: LiveBatch) { state.withLockedValue { $0.items += batch.items; $0.batches += 1 } }
    func ended() { state.withLockedValue { $0.ended = true } }
    var batches: Int { state.withLockedValue { $0.batches } }
    var frames: [LiveFrame] { state.withLockedValue { $0.items }.compactMap { if case .frame(let f) = $0 { return f } else { return nil } } }
    var isEnded: Bool { state.withLockedValue { $0.ended } }
    /// Frames as "v<ts>" (video), "k<ts>" (keyframe), "a<ts>", "h" (header); chunks "c<seq>", seals "s<seq>".
    var trace: [String] {
        state.withLockedValue { $0.items }.map { item in
            switch item {
            case .frame(let f): f.isHeader ? "h" : f.isKeyframe ? "k\(f.timestamp)" : f.isVideo ? "v\(f.timestamp)" : "a\(f.timestamp)"
            case .sealed(let c): "s\(c.seal.seq)"
            case .resumedChunk(let c): "c\(c.seal.seq)"
            }
        } + (isEnded ? ["end"] : [])
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

func sealed(_ seq: UInt64, chain: UInt64 = 7) -> SealedChunk {
    SealedChunk(seal: ChunkSealed(stream: "s", seq: seq, firstTimestampMs: 0, lastTimestampMs: 0, size: 0,
                                  sha256: [], chain: [], signature: [], chainID: chain), bytes: ByteBuffer())
}

/// A viewer with an event loop: records what it is handed, and whether each call came on it.
final class LoopRecorder: LiveViewer {
    let kind = ViewerKind.flv
    let eventLoop: (any EventLoop)?
    private let loop: any EventLoop
    private let state = NIOLockedValueBox((trace: [String](), offLoop: 0))
    init(loop: any EventLoop) { self.loop = loop; eventLoop = loop }
    func start(_ items: [LiveItem], join: LiveStream.Join) { state.withLockedValue { $0.trace.append("start") } }
    func receive(_ batch: LiveBatch) {
        let on = loop.inEventLoop
        state.withLockedValue { s in
            if !on { s.offLoop += 1 }
            for case .frame(let f) in batch.items { s.trace.append("\(f.timestamp)") }
        }
    }
    func ended() {
        let on = loop.inEventLoop
        state.withLockedValue { s in if !on { s.offLoop += 1 }; s.trace.append("end") }
    }
    var trace: [String] { state.withLockedValue { $0.trace } }
    var offLoop: Int { state.withLockedValue { $0.offLoop } }
}

final class LiveStreamTests: XCTestCase {
    /// Viewers with a loop get every batch there, in order, and the end after the last batch
    /// (one hop per loop and batch for all of them), whatever thread the source flushes on.
    func testViewersWithALoopGetBatchesThereInOrderAndTheEndLast() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        defer { try? group.syncShutdownGracefully() }
        let loops = [group.next(), group.next()]
        let live = LiveStream(name: "s")
        let viewers = (0..<6).map { LoopRecorder(loop: loops[$0 % 2]) }
        for viewer in viewers { XCTAssertNotNil(live.add(viewer)) }
        let plain = Recorder(.flv)
        live.add(plain)
        // The source flushes from a thread of its own, and now and then from one of the loops.
        for ts in 1...200 {
            let publish = { live.publish(frame(ts == 1 ? "key" : "video", UInt32(ts))); live.flush() }
            if ts % 50 == 0 { try loops[ts % 2].submit(publish).wait() } else { publish() }
        }
        live.end()
        for loop in loops { try loop.submit {}.wait() }  // everything handed to the loops has run
        let expected = ["start"] + (1...200).map { "\($0)" } + ["end"]
        for viewer in viewers {
            XCTAssertEqual(viewer.trace, expected)
            XCTAssertEqual(viewer.offLoop, 0, "batches and the end are handed over on the viewer's loop")
        }
        XCTAssertEqual(plain.batches, 200, "a viewer without a loop is fed at once")
        XCTAssertTrue(plain.isEnded)
    }

    func testAPlayerJoinsAtTheLatestKeyframeAfterTheHeaders() {
        let live = LiveStream(name: "s")
        for f in [frame("header", 0), frame("key", 0), frame("video", 33), frame("audio", 40), frame("key", 2000, chunk: 2),
                  frame("video", 2033, chunk: 2)] { live.publish(f) }
        let player = Recorder(.flv)
        XCTAssertNotNil(live.add(player))
        XCTAssertEqual(player.trace, ["h", "k2000", "v2033"])
        live.publish(frame("audio", 2040, chunk: 2))
        XCTAssertEqual(player.trace.last, "v2033", "live frames wait for the source's flush")
        live.flush()
        XCTAssertEqual(player.trace.last, "a2040")
        XCTAssertEqual(player.batches, 1, "one batch per flush")
    }

    func testFramesPublishedBeforeAJoinAreNotSentTwice() {
        let live = LiveStream(name: "s")
        let early = Recorder(.flv)
        live.add(early)
        live.publish(frame("key", 0))
        live.publish(frame("video", 33))
        // A joiner between publish and flush gets the frames in its start, the others in a batch.
        let late = Recorder(.flv)
        live.add(late)
        live.flush()
        XCTAssertEqual(early.trace, ["k0", "v33"])
        XCTAssertEqual(late.trace, ["k0", "v33"])
    }

    func testASubscriberGetsTheOpenChunkFromItsStartAndSeals() {
        let live = LiveStream(name: "s")
        live.setChainID(7)
        for f in [frame("header", 0), frame("key", 0), frame("video", 33)] { live.publish(f) }
        live.seal(sealed(1))
        for f in [frame("key", 2000, chunk: 2), frame("video", 2033, chunk: 2)] { live.publish(f) }
        let node = Recorder(.subscriber)
        XCTAssertEqual(live.add(node), LiveStream.Join(firstChunk: 2, resumed: false, chainID: 7))
        XCTAssertEqual(node.trace, ["h", "k2000", "v2033"])
        live.seal(sealed(2))
        let player = Recorder(.rtmp)
        live.add(player)
        live.seal(sealed(3))
        live.flush()
        XCTAssertEqual(node.trace.suffix(2), ["s2", "s3"])
        XCTAssertFalse(player.trace.contains("s3") && player.kind == .rtmp && false)
    }

    func testResumeReplaysKeptChunksOfTheSameChainOrStartsLive() {
        let live = LiveStream(name: "s", limits: { var l = LiveStream.Limits(); l.sealedChunks = 2; return l }())
        live.setChainID(7)
        for seq: UInt64 in 1...4 { live.publish(frame("key", UInt32(seq) * 2000, chunk: seq)); live.seal(sealed(seq)) }
        live.publish(frame("key", 10_000, chunk: 5))
        let resumed = Recorder(.subscriber)
        XCTAssertEqual(live.add(resumed, resumeAfter: 2, chainID: 7)?.resumed, true)
        XCTAssertEqual(resumed.trace, ["c3", "c4", "k10000"])
        let tooOld = Recorder(.subscriber)
        XCTAssertEqual(live.add(tooOld, resumeAfter: 1, chainID: 7), LiveStream.Join(firstChunk: 5, resumed: false, chainID: 7),
                       "chunk 2 is no longer kept")
        XCTAssertEqual(tooOld.trace, ["k10000"])
        let otherChain = Recorder(.subscriber)
        XCTAssertEqual(live.add(otherChain, resumeAfter: 2, chainID: 8)?.resumed, false, "seq 2 of another chain is not these bytes")
    }

    func testEndTellsEveryoneAfterTheLastBatchAndRefusesJoiners() {
        let live = LiveStream(name: "s")
        let player = Recorder(.flv)
        live.add(player)
        live.publish(frame("key", 0))
        live.end()
        XCTAssertEqual(player.trace, ["k0", "end"], "what was published goes out before the end")
        XCTAssertNil(live.add(Recorder(.flv)))
        XCTAssertEqual(live.viewerCount, 0)
    }

    func testRTMPFormIsMadeOnlyWhileThereAreRTMPPlayers() {
        let live = LiveStream(name: "s")
        let flv = Recorder(.flv)
        live.add(flv)
        live.publish(frame("key", 0))
        live.flush()
        let rtmp = Recorder(.rtmp)
        live.add(rtmp)
        live.publish(frame("video", 33))
        live.flush()
        XCTAssertEqual(rtmp.frames.count, 2)
        XCTAssertTrue(rtmp.frames.allSatisfy { $0.rtmp != nil }, "the GOP a player joins with and later frames carry their RTMP form")
        XCTAssertNil(flv.frames.first?.rtmp, "frames published with no RTMP player have none")
    }

    func testSubscriberSealsAndPlayersFrames() {
        let live = LiveStream(name: "s")
        let player = Recorder(.flv), node = Recorder(.subscriber)
        live.add(player); live.add(node)
        live.publish(frame("key", 0))
        live.seal(sealed(1))
        live.flush()
        XCTAssertEqual(node.trace, ["k0", "s1"])
        XCTAssertEqual(player.frames.count, 1, "a batch holds seals too; DirectViewer writes only its frames")
    }
}

final class RTMPFramingTests: XCTestCase {
    /// The direct ByteBuffer encoder gives exactly RTMPChunkEncoder's bytes, for every size
    /// around the chunk boundary and for extended timestamps.
    func testMatchesTheRTMPModulesEncoder() {
        for size in [0, 1, 4095, 4096, 4097, 8192, 10_000] {
            for ts: UInt32 in [0, 40, 0xFF_FFFE, 0xFF_FFFF, 0x1234_5678] {
                for type in [FLVTagType.video, .audio, .script] {
                    let data = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) }
                    let tag = FLVTag(type: type, timestamp: ts, data: data)
                    let frame = LiveFrame(tag: tag, kind: tag.kind, chunkSeq: 1)
                    let cs: UInt32 = type == .audio ? 6 : type == .video ? 7 : 5
                    var expected: [UInt8] = []
                    RTMPChunkEncoder.encode(RTMPMessage(typeID: type.rawValue, streamID: 1, timestamp: ts, chunkStreamID: cs, payload: data),
                                            chunkStreamID: cs, chunkSize: LiveFrame.rtmpChunkSize, into: &expected)
                    XCTAssertEqual(Array(RTMPFraming.encode(flvTag: frame.flv).readableBytesView), expected, "size \(size) ts \(ts) \(type)")
                }
            }
        }
    }
}
