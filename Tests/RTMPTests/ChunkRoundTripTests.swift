import RTMP
import XCTest

final class ChunkRoundTripTests: XCTestCase {
    private func randomMessage(_ g: inout SplitMix64) -> RTMPMessage {
        let length = [0, 1, 127, 128, 129, 255, 256, 1000, 4096, 4097, 70_000].randomElement(using: &g)! + Int.random(in: 0...3, using: &g)
        let timestamp: UInt32 = Bool.random(using: &g)
            ? UInt32.random(in: 0...0xFFFFFF, using: &g)
            : [0xFFFFFE, 0xFFFFFF, 0x0100_0000, .max].randomElement(using: &g)! - UInt32.random(in: 0...1, using: &g)
        let cs = [UInt32(2), 3, 63, 64, 319, 320, 65599, UInt32.random(in: 3...65599, using: &g)].randomElement(using: &g)!
        return RTMPMessage(typeID: [8, 9, 18, 20].randomElement(using: &g)!, streamID: UInt32.random(in: 0...3, using: &g),
                           timestamp: timestamp, chunkStreamID: cs, payload: randomBytes(length, &g))
    }

    func testRandomRoundTrips() throws {
        var g = SplitMix64(seed: 42)
        for round in 0 ..< 40 {
            let chunkSize = [1, 2, 127, 128, 129, 1000, 4096, 60_000, 1 << 20].randomElement(using: &g)!
            let messages = (0 ..< 12).map { _ in randomMessage(&g) }
            var wire = RTMPChunkEncoder.encode(RTMPControl.setChunkSize(UInt32(chunkSize)), chunkSize: 128)
            for m in messages {
                let before = wire.count
                RTMPChunkEncoder.encode(m, chunkStreamID: m.chunkStreamID, chunkSize: chunkSize, into: &wire)
                XCTAssertEqual(wire.count - before, RTMPChunkEncoder.encodedLength(
                    payloadCount: m.payload.count, chunkStreamID: m.chunkStreamID, timestamp: m.timestamp, chunkSize: chunkSize))
            }
            // Feed in random slices, including empty ones.
            var d = RTMPChunkDecoder()
            var decoded: [RTMPMessage] = []
            var i = 0
            while i < wire.count {
                let n = min(wire.count - i, Int.random(in: 0...3000, using: &g))
                d.append(wire[i ..< i + n])
                i += n
                while let m = try d.nextMessage() { decoded.append(m) }
            }
            XCTAssertEqual(Array(decoded.dropFirst()), messages, "round \(round), chunk size \(chunkSize)")
            XCTAssertEqual(d.bytesReceived, UInt64(wire.count))
        }
    }

    func testDripFeedOneByteAtATime() throws {
        var g = SplitMix64(seed: 7)
        let messages = (0 ..< 6).map { _ in randomMessage(&g) }.filter { $0.payload.count < 5000 }
        var wire: [UInt8] = []
        for m in messages { wire += RTMPChunkEncoder.encode(m, chunkSize: 128) }
        var d = RTMPChunkDecoder()
        XCTAssertEqual(try dripFeed(wire, decoder: &d), messages)
    }

    func testInterleavedChunkStreams() throws {
        // Audio and video interleaved chunk by chunk, as encoders do with large frames.
        let video = RTMPMessage(typeID: 9, streamID: 1, timestamp: 40, chunkStreamID: 7, payload: [UInt8](repeating: 9, count: 300))
        let audio = RTMPMessage(typeID: 8, streamID: 1, timestamp: 41, chunkStreamID: 6, payload: [UInt8](repeating: 8, count: 200))
        let v = RTMPChunkEncoder.encode(video, chunkSize: 128), a = RTMPChunkEncoder.encode(audio, chunkSize: 128)
        // v: 12+128 | 1+128 | 1+44 ; a: 12+128 | 1+72
        let wire = Array(v[0..<140]) + Array(a[0..<140]) + Array(v[140..<269]) + Array(a[140...]) + Array(v[269...])
        XCTAssertEqual(try decodeAll(wire), [audio, video])
    }

    func testEncodeOnceShareManyTimes() {
        // The fan-out form depends only on message, chunk stream and chunk size.
        let m = RTMPMessage(typeID: 9, streamID: 1, timestamp: 123_456, chunkStreamID: 7, payload: [UInt8](repeating: 5, count: 100_000))
        let a = RTMPChunkEncoder.encode(m, chunkSize: 4096)
        XCTAssertEqual(a, RTMPChunkEncoder.encode(m, chunkSize: 4096))
        XCTAssertEqual(a.count, 100_000 + 12 + 24)
        XCTAssertGreaterThanOrEqual(a.capacity, a.count)
    }

    func testControlMessageBytes() {
        func payload(_ m: RTMPMessage) -> [UInt8] { XCTAssertEqual(m.chunkStreamID, 2); XCTAssertEqual(m.streamID, 0); return m.payload }
        XCTAssertEqual(payload(RTMPControl.windowAcknowledgementSize(5_000_000)), [0x00, 0x4C, 0x4B, 0x40])
        XCTAssertEqual(payload(RTMPControl.setPeerBandwidth(5_000_000)), [0x00, 0x4C, 0x4B, 0x40, 0x02])
        XCTAssertEqual(payload(RTMPControl.acknowledgement(0x0102_0304)), [1, 2, 3, 4])
        XCTAssertEqual(payload(RTMPControl.streamBegin(streamID: 1)), [0, 0, 0, 0, 0, 1])
        XCTAssertEqual(payload(RTMPControl.streamEOF(streamID: 1)), [0, 1, 0, 0, 0, 1])
        XCTAssertEqual(payload(RTMPControl.pingResponse(timestamp: 9)), [0, 7, 0, 0, 0, 9])
        XCTAssertEqual(RTMPControl.setChunkSize(4096).typeID, 1)
        XCTAssertEqual(RTMPControl.abort(chunkStream: 6).payload, [0, 0, 0, 6])
    }
}
