import NIOCore
import NIOEmbedded
import NIOTestUtils
import StreamrWire
import XCTest

final class FramingTests: XCTestCase {
    func testDecoderHandlesAnySplitOfTheStream() throws {
        let pairs = Samples.all.map { ($0.framed(), [$0]) }
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: pairs) { EnvelopeFrameDecoder() }
    }

    func testEncoderWritesVarintLengthThenEnvelope() throws {
        let envelope = Envelope(id: 300, .statusRequest)
        var out = ByteBuffer()
        try EnvelopeFrameEncoder().encode(data: envelope, out: &out)
        let body = ProtoCodec.encode(envelope)
        XCTAssertEqual(out.readInteger(as: UInt8.self), UInt8(body.count))
        XCTAssertEqual(out.readBytes(length: out.readableBytes), body)

        // A 64 KiB media frame needs a 3-byte varint.
        let big = Envelope(.media(MediaData(stream: "s", chunkSeq: 1, tags: Array(repeating: 1, count: 65_536))))
        var framed = big.framed()
        let size = ProtoCodec.encodedSize(big)
        XCTAssertEqual(framed.readBytes(length: 3), [UInt8(size & 0x7f) | 0x80, UInt8((size >> 7) & 0x7f) | 0x80, UInt8(size >> 14)])
        XCTAssertEqual(framed.readableBytes, size)
    }

    func testOversizedFrameIsRefusedFromItsPrefixAlone() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(EnvelopeFrameDecoder(maxFrameBytes: 1024)))
        var prefix = ByteBuffer()
        prefix.writeBytes([0x80, 0x80, 0x80, 0x02]) // 4 MiB, and not one byte of body sent
        XCTAssertThrowsError(try channel.writeInbound(prefix)) { error in
            XCTAssertEqual(error as? FrameError, .tooLarge(length: 4 << 20, limit: 1024))
            XCTAssertEqual((error as? FrameError)?.errorMessage.code, .tooLarge)
        }
    }

    func testOverlongVarintIsMalformed() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(EnvelopeFrameDecoder()))
        XCTAssertThrowsError(try channel.writeInbound(ByteBuffer(bytes: Array(repeating: 0xff, count: 11)))) { error in
            XCTAssertEqual(error as? FrameError, .malformedLength)
        }
    }

    func testUndecodableBodyIsReported() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(EnvelopeFrameDecoder()))
        XCTAssertThrowsError(try channel.writeInbound(ByteBuffer(bytes: [0x03, 0x0f, 0x01, 0x02]))) { error in
            XCTAssertEqual(error as? FrameError, .undecodable(.malformed(byteCount: 3)))
        }
    }

    func testEncoderRefusesFramesThePeerWouldRefuse() {
        var out = ByteBuffer()
        let big = Envelope(.media(MediaData(stream: "s", chunkSeq: 1, tags: Array(repeating: 1, count: 2048))))
        XCTAssertThrowsError(try EnvelopeFrameEncoder(maxFrameBytes: 1024).encode(data: big, out: &out)) { error in
            guard case .tooLarge(_, 1024)? = error as? FrameError else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(out.readableBytes, 0, "nothing written for a refused frame")
    }

    func testPartialFrameLeftAtEOFIsNotSilentlyAccepted() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(EnvelopeFrameDecoder()))
        var frame = Envelope(id: 1, .statusRequest).framed()
        let partial = frame.readSlice(length: frame.readableBytes - 1)!
        XCTAssertNoThrow(try channel.writeInbound(partial))
        XCTAssertNil(try channel.readInbound(as: Envelope.self))
        XCTAssertThrowsError(try channel.finish()) { error in
            XCTAssertEqual(error as? FrameError, .truncated(received: partial.readableBytes))
        }
    }
}
