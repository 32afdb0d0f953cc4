import RTMP
import XCTest

/// Chunk headers written out by hand from the Adobe RTMP specification 1.0, section 5.3.
final class ChunkDecoderTests: XCTestCase {
    func testType0HeaderKnownAnswer() throws {
        // fmt 0, csid 3 | timestamp 1000 | length 5 | type 20 | stream id 1 (little-endian)
        let bytes: [UInt8] = [0x03, 0x00, 0x03, 0xE8, 0x00, 0x00, 0x05, 0x14, 0x01, 0x00, 0x00, 0x00, 1, 2, 3, 4, 5]
        XCTAssertEqual(try decodeAll(bytes), [RTMPMessage(typeID: 20, streamID: 1, timestamp: 1000, chunkStreamID: 3, payload: [1, 2, 3, 4, 5])])
    }

    func testBasicHeaderForms() throws {
        // csid 64 and 319: two-byte form (first byte's low bits 0, then csid - 64);
        // 320 and 65599: three-byte form (low bits 1, then csid - 64 little-endian).
        let cases: [(UInt32, [UInt8])] = [(2, [0x02]), (63, [0x3F]), (64, [0x00, 0x00]), (319, [0x00, 0xFF]),
                                          (320, [0x01, 0x00, 0x01]), (65599, [0x01, 0xFF, 0xFF])]
        for (cs, basic) in cases {
            let bytes = basic + [0, 0, 9, 0, 0, 1, 8, 0, 0, 0, 0, 0xAB]
            let m = try decodeAll(bytes)
            XCTAssertEqual(m.map(\.chunkStreamID), [cs], "\(cs)")
            XCTAssertEqual(m.first?.timestamp, 9)
            let encoded = RTMPChunkEncoder.encode(RTMPMessage(typeID: 8, timestamp: 9, payload: [0xAB]), chunkStreamID: cs, chunkSize: 128)
            XCTAssertEqual(encoded, bytes, "encoder basic header for \(cs)")
        }
    }

    func testSpecExample1TimestampDeltas() throws {
        // 5.3.2.1: four audio messages of 32 bytes on csid 3, stream 12345: type 0 at 1000,
        // type 2 with delta 20, then two type 3 headers that reuse the delta.
        let payload = [UInt8](repeating: 0x11, count: 32)
        var bytes: [UInt8] = [0x03, 0x00, 0x03, 0xE8, 0x00, 0x00, 0x20, 0x08, 0x39, 0x30, 0x00, 0x00] + payload
        bytes += [0x83, 0x00, 0x00, 0x14] + payload
        bytes += [0xC3] + payload
        bytes += [0xC3] + payload
        let messages = try decodeAll(bytes)
        XCTAssertEqual(messages.map(\.timestamp), [1000, 1020, 1040, 1060])
        XCTAssertEqual(Set(messages.map(\.streamID)), [12345])
        XCTAssertEqual(Set(messages.map(\.typeID)), [8])
    }

    func testSpecExample2MessageSplitIntoChunks() throws {
        // 5.3.2.2: a 307-byte video message on csid 4 at chunk size 128: type 0 + 128 bytes,
        // type 3 + 128, type 3 + 51.
        let payload = (0..<307).map { UInt8(truncatingIfNeeded: $0) }
        var bytes: [UInt8] = [0x04, 0x00, 0x03, 0xE8, 0x00, 0x01, 0x33, 0x09, 0x3A, 0x30, 0x00, 0x00] + payload[0..<128]
        bytes += [0xC4] + payload[128..<256]
        bytes += [0xC4] + payload[256...]
        let message = RTMPMessage(typeID: 9, streamID: 12346, timestamp: 1000, chunkStreamID: 4, payload: payload)
        XCTAssertEqual(try decodeAll(bytes), [message])
        XCTAssertEqual(RTMPChunkEncoder.encode(message, chunkSize: 128), bytes, "encoder writes the spec's bytes")
        XCTAssertEqual(RTMPChunkEncoder.encodedLength(payloadCount: 307, chunkStreamID: 4, timestamp: 1000, chunkSize: 128), bytes.count)
    }

    func testType1AndType3AfterType0AddsTheFieldAsFFmpegDoes() throws {
        // fmt 0 at 40, then fmt 3 starting a new message: ffmpeg's encoder picks fmt 3 when the
        // new delta equals the previous timestamp field, so the message is at 80.
        var bytes: [UInt8] = [0x06, 0x00, 0x00, 0x28, 0x00, 0x00, 0x01, 0x08, 0x01, 0x00, 0x00, 0x00, 0xA0]
        bytes += [0xC6, 0xA1]
        // fmt 1: delta 5, new length 2 and type 9; stream id kept.
        bytes += [0x46, 0x00, 0x00, 0x05, 0x00, 0x00, 0x02, 0x09, 0xB0, 0xB1]
        let m = try decodeAll(bytes)
        XCTAssertEqual(m.map(\.timestamp), [40, 80, 85])
        XCTAssertEqual(m.map(\.typeID), [8, 8, 9])
        XCTAssertEqual(m.map(\.streamID), [1, 1, 1])
        XCTAssertEqual(m.last?.payload, [0xB0, 0xB1])
    }

    func testExtendedTimestampRepeatedInType3Chunks() throws {
        // Timestamp 0x01000000 needs the extended field; each type 3 continuation repeats it.
        let payload = [UInt8](repeating: 0x22, count: 200)
        var bytes: [UInt8] = [0x05, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0xC8, 0x09, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00]
        bytes += payload[0..<128]
        bytes += [0xC5, 0x01, 0x00, 0x00, 0x00] + payload[128...]
        let message = RTMPMessage(typeID: 9, streamID: 1, timestamp: 0x0100_0000, chunkStreamID: 5, payload: payload)
        XCTAssertEqual(try decodeAll(bytes), [message])
        XCTAssertEqual(RTMPChunkEncoder.encode(message, chunkSize: 128), bytes)
        var d = RTMPChunkDecoder()
        XCTAssertEqual(try dripFeed(bytes, decoder: &d), [message])

        // A type 2 header with an extended delta, then a type 3 new message that repeats it.
        var more = bytes
        more += [0x85, 0xFF, 0xFF, 0xFF, 0x01, 0x00, 0x00, 0x00] + payload[0..<128] + [0xC5, 0x01, 0x00, 0x00, 0x00] + payload[128...]
        more += [0xC5, 0x01, 0x00, 0x00, 0x00] + payload[0..<128] + [0xC5, 0x01, 0x00, 0x00, 0x00] + payload[128...]
        XCTAssertEqual(try decodeAll(more).map(\.timestamp), [0x0100_0000, 0x0200_0000, 0x0300_0000])
    }

    func testTimestampBelowExtendedThresholdHasNoExtendedField() throws {
        let m = RTMPMessage(typeID: 8, timestamp: 0xFFFFFE, chunkStreamID: 4, payload: [1])
        XCTAssertEqual(RTMPChunkEncoder.encode(m, chunkSize: 128).count, 13)
        let ext = RTMPMessage(typeID: 8, timestamp: 0xFFFFFF, chunkStreamID: 4, payload: [1])
        let bytes = RTMPChunkEncoder.encode(ext, chunkSize: 128)
        XCTAssertEqual(Array(bytes[1..<4]), [0xFF, 0xFF, 0xFF])
        XCTAssertEqual(Array(bytes[12..<16]), [0x00, 0xFF, 0xFF, 0xFF])
        XCTAssertEqual(try decodeAll(bytes), [ext])
    }

    func testSetChunkSizeAppliesToFollowingChunks() throws {
        let payload = [UInt8](repeating: 3, count: 300)
        var bytes = RTMPChunkEncoder.encode(RTMPControl.setChunkSize(4096), chunkSize: 128)
        XCTAssertEqual(bytes, [0x02, 0, 0, 0, 0, 0, 4, 0x01, 0, 0, 0, 0, 0x00, 0x00, 0x10, 0x00])
        bytes += RTMPChunkEncoder.encode(RTMPMessage(typeID: 9, streamID: 1, chunkStreamID: 7, payload: payload), chunkSize: 4096)
        var d = RTMPChunkDecoder()
        let m = try decodeAll(bytes, decoder: &d)
        XCTAssertEqual(m.count, 2)
        XCTAssertEqual(m[1].payload, payload)
        XCTAssertEqual(d.chunkSize, 4096)
    }

    func testAbortDiscardsThePartialMessage() throws {
        // 300-byte message, first chunk only; Abort(csid 6); then a fresh type 0 on csid 6.
        let full = RTMPChunkEncoder.encode(RTMPMessage(typeID: 9, chunkStreamID: 6, payload: [UInt8](repeating: 1, count: 300)), chunkSize: 128)
        var bytes = Array(full[0 ..< 12 + 128])
        bytes += RTMPChunkEncoder.encode(RTMPControl.abort(chunkStream: 6), chunkSize: 128)
        bytes += RTMPChunkEncoder.encode(RTMPMessage(typeID: 8, timestamp: 5, chunkStreamID: 6, payload: [9]), chunkSize: 128)
        let m = try decodeAll(bytes)
        XCTAssertEqual(m.map(\.typeID), [2, 8])
        XCTAssertEqual(m.last?.payload, [9])
    }

    func testAcknowledgementWindow() throws {
        var d = RTMPChunkDecoder(bytesAlreadyReceived: 3073)
        XCTAssertNil(d.acknowledgementDue(), "no window from the peer yet")
        let win = RTMPChunkEncoder.encode(RTMPControl.windowAcknowledgementSize(100), chunkSize: 128)
        _ = try decodeAll(win, decoder: &d)
        XCTAssertEqual(d.windowAcknowledgementSize, 100)
        XCTAssertNil(d.acknowledgementDue(), "16 bytes since the handshake")
        let media = RTMPChunkEncoder.encode(RTMPMessage(typeID: 8, chunkStreamID: 4, payload: [UInt8](repeating: 0, count: 100)), chunkSize: 128)
        _ = try decodeAll(media, decoder: &d)
        XCTAssertEqual(d.bytesReceived, 3073 + 16 + 112)
        XCTAssertEqual(d.acknowledgementDue(), UInt32(3073 + 16 + 112))
        XCTAssertNil(d.acknowledgementDue())
    }

    // MARK: Errors and limits

    private func expect(_ bytes: [UInt8], limits: RTMPChunkDecoder.Limits = .init(), _ expected: RTMPChunkError,
                        file: StaticString = #filePath, line: UInt = #line) {
        var d = RTMPChunkDecoder(limits: limits)
        XCTAssertThrowsError(try decodeAll(bytes, decoder: &d), file: file, line: line) { error in
            XCTAssertEqual(error as? RTMPChunkError, expected, file: file, line: line)
            XCTAssertFalse("\(error)".isEmpty)
        }
        // The decoder stays failed.
        XCTAssertThrowsError(try d.nextMessage(), file: file, line: line)
        var drip = RTMPChunkDecoder(limits: limits)
        XCTAssertThrowsError(try dripFeed(bytes, decoder: &drip), "drip-fed", file: file, line: line) { error in
            XCTAssertEqual(error as? RTMPChunkError, expected, file: file, line: line)
        }
    }

    func testHeaderWithoutPreviousType0() {
        expect([0x43, 0, 0, 1, 0, 0, 1, 8, 0], .noPreviousHeader(chunkStream: 3, format: 1))
        expect([0x83, 0, 0, 1, 0], .noPreviousHeader(chunkStream: 3, format: 2))
        expect([0xC3, 0], .noPreviousHeader(chunkStream: 3, format: 3))
        expect([0xC0, 0x10], .noPreviousHeader(chunkStream: 80, format: 3))
    }

    func testType0InsideAMessage() {
        let first = Array(RTMPChunkEncoder.encode(RTMPMessage(typeID: 9, chunkStreamID: 6, payload: [UInt8](repeating: 1, count: 300)), chunkSize: 128)[0 ..< 140])
        expect(first + [0x06, 0, 0, 0, 0, 0, 1, 8, 0, 0, 0, 0, 1], .headerInsideMessage(chunkStream: 6, format: 0))
        expect(first + [0x86, 0, 0, 0], .headerInsideMessage(chunkStream: 6, format: 2))
    }

    func testMessageTooLong() {
        var limits = RTMPChunkDecoder.Limits()
        limits.maxMessageLength = 1000
        expect([0x04, 0, 0, 0, 0x00, 0x03, 0xE9, 9, 0, 0, 0, 0], limits: limits, .messageTooLong(length: 1001, limit: 1000))
        XCTAssertEqual(RTMPChunkDecoder.Limits().maxMessageLength, 16 << 20)
        // The default limit, from a 3-byte length field that can say 16 MiB - 1: fine; the
        // limit bites on what a lower configuration allows.
    }

    func testTooManyPartialMessages() {
        var limits = RTMPChunkDecoder.Limits()
        limits.maxPartialMessages = 2
        var bytes: [UInt8] = []
        for cs: UInt8 in 3...5 { bytes += [cs, 0, 0, 0, 0, 1, 0, 9, 0, 0, 0, 0] + [UInt8](repeating: 0, count: 128) }
        expect(bytes, limits: limits, .tooManyPartialMessages(limit: 2))
    }

    func testTooManyBufferedBytes() {
        var limits = RTMPChunkDecoder.Limits()
        limits.maxBufferedBytes = 500
        var bytes: [UInt8] = []
        for cs: UInt8 in 3...4 { bytes += [cs, 0, 0, 0, 0, 1, 0, 9, 0, 0, 0, 0] + [UInt8](repeating: 0, count: 128) }
        expect(bytes, limits: limits, .tooManyBufferedBytes(limit: 500))
    }

    func testTooManyChunkStreams() {
        var limits = RTMPChunkDecoder.Limits()
        limits.maxChunkStreams = 3
        var bytes: [UInt8] = []
        for cs: UInt8 in 3...6 { bytes += [cs, 0, 0, 0, 0, 0, 1, 8, 0, 0, 0, 0, 0] }
        expect(bytes, limits: limits, .tooManyChunkStreams(limit: 3))
    }

    func testInvalidChunkSizes() {
        func setChunkSize(_ v: UInt32) -> [UInt8] {
            [0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]
        }
        expect(setChunkSize(0), .invalidChunkSize(0))
        expect(setChunkSize(0x8000_0080), .invalidChunkSize(0x8000_0080))
        expect(setChunkSize(0x7FFF_FFFF), .chunkSizeOverLimit(0x7FFF_FFFF, limit: 16 << 20))
        var limits = RTMPChunkDecoder.Limits()
        limits.maxChunkSize = 65536
        expect(setChunkSize(65537), limits: limits, .chunkSizeOverLimit(65537, limit: 65536))
        XCTAssertNoThrow(try decodeAll(setChunkSize(1)))
    }

    func testShortControlMessages() {
        for (type, length) in [(UInt8(1), 3), (2, 2), (3, 0), (4, 1), (5, 3), (6, 4)] {
            expect([0x02, 0, 0, 0, 0, 0, UInt8(length), type, 0, 0, 0, 0] + [UInt8](repeating: 0, count: length),
                   .malformedControlMessage(type: type, length: length))
        }
    }

    func testZeroLengthMessageAndIncompleteInput() throws {
        XCTAssertEqual(try decodeAll([0x03, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0, 0]).map(\.payload), [[]])
        var d = RTMPChunkDecoder()
        XCTAssertEqual(try decodeAll([0x03, 0, 0, 0, 0, 0, 5, 20, 0, 0, 0, 0, 1, 2], decoder: &d), [])
        XCTAssertEqual(try decodeAll([3, 4, 5], decoder: &d).map(\.payload), [[1, 2, 3, 4, 5]])
    }
}
