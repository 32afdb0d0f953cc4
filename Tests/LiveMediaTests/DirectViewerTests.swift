import LiveMedia
import NIOConcurrencyHelpers
import NIOCore
import XCTest

/// The player lag policy, driven through a viewer whose socket writability and clock the test
/// sets (what NIO reports for a socket over its high water mark).
final class DirectViewerTests: XCTestCase {
    final class Socket: Sendable {
        let state = NIOLockedValueBox((writable: true, nowMs: Int64(0), sent: [ByteBuffer](), dropped: String?.none, ended: false))
        var writable: Bool { get { state.withLockedValue { $0.writable } } set { state.withLockedValue { $0.writable = newValue } } }
        var nowMs: Int64 { get { state.withLockedValue { $0.nowMs } } set { state.withLockedValue { $0.nowMs = newValue } } }
        var sent: [ByteBuffer] { state.withLockedValue { $0.sent } }
        var dropped: String? { state.withLockedValue { $0.dropped } }
    }

    func viewer(_ socket: Socket, meter: TrafficMeter? = nil) -> DirectViewer {
        DirectViewer(kind: .flv, meter: meter, limits: ViewerLimits(queueBytes: 1 << 20, lagTimeoutMs: 5000),
                     clockMs: { socket.nowMs }, isWritable: { socket.writable },
                     send: { b in socket.state.withLockedValue { $0.sent.append(LiveBatch.joined(b)) } },
                     drop: { why in socket.state.withLockedValue { $0.dropped = why } },
                     onEnded: { socket.state.withLockedValue { $0.ended = true } })
    }

    func testInStepItWritesTheBatchesSharedBufferAndMetersIt() {
        let live = LiveStream(name: "s")
        let socket = Socket(), meter = TrafficMeter()
        let v = viewer(socket, meter: meter)
        live.add(v)
        live.publish(frame("key", 0)); live.publish(frame("audio", 10)); live.flush()
        XCTAssertEqual(socket.sent.count, 1, "one write per flush")
        XCTAssertEqual(socket.sent[0].readableBytes, frame("key", 0).flv.readableBytes + frame("audio", 10).flv.readableBytes)
        XCTAssertEqual(meter.bytes(.flv), Int64(socket.sent[0].readableBytes))
    }

    func testBehindItSkipsToTheNextKeyframeWithTheHeaders() {
        let live = LiveStream(name: "s")
        live.publish(frame("header", 0))
        let socket = Socket()
        let player = viewer(socket)
        live.add(player)
        socket.writable = false
        live.publish(frame("key", 0)); live.flush()
        live.publish(frame("video", 33)); live.flush()
        socket.writable = true
        live.publish(frame("video", 66)); live.flush()
        let before = socket.sent.count
        XCTAssertEqual(before, 1, "only the joining headers went; nothing while behind, nor a non-keyframe after")
        live.publish(frame("key", 2000, chunk: 2)); live.publish(frame("video", 2033, chunk: 2)); live.flush()
        XCTAssertEqual(socket.sent.count, 2)
        let expected = frame("header", 0).flv.readableBytes + frame("key", 2000).flv.readableBytes + frame("video", 2033).flv.readableBytes
        XCTAssertEqual(socket.sent.last?.readableBytes, expected, "it resumes at the keyframe, after the current sequence headers")
        XCTAssertEqual(player.lagCount, 1)
    }

    func testAViewerBehindPastTheTimeoutIsDropped() {
        let live = LiveStream(name: "s")
        let socket = Socket()
        let player = viewer(socket)
        live.add(player)
        socket.writable = false
        live.publish(frame("key", 0)); live.flush()
        socket.nowMs = 4000
        live.publish(frame("video", 33)); live.flush()
        XCTAssertNil(socket.dropped, "behind for 4 s: still waited for")
        socket.nowMs = 5001
        live.publish(frame("video", 66)); live.flush()
        XCTAssertNotNil(socket.dropped)
        XCTAssertEqual(player.lagCount, 1)
    }

    func testTheEndIsSaidOnce() {
        let live = LiveStream(name: "s")
        let socket = Socket()
        live.add(viewer(socket))
        live.end()
        XCTAssertTrue(socket.state.withLockedValue { $0.ended })
    }
}
