import StreamrWire
import XCTest

final class ProtoCodecTests: XCTestCase {
    func testEveryBodyRoundTrips() throws {
        for envelope in Samples.all {
            let bytes = ProtoCodec.encode(envelope)
            XCTAssertEqual(bytes.count, ProtoCodec.encodedSize(envelope), envelope.body.name)
            XCTAssertEqual(try ProtoCodec.decode(bytes), envelope, envelope.body.name)
        }
    }

    func testGarbageIsAMalformedError() {
        // Field 1 with wire type 7 (invalid) cannot be parsed.
        XCTAssertThrowsError(try ProtoCodec.decode([0x0f, 0x01, 0x02])) { error in
            XCTAssertEqual(error as? WireDecodingError, .malformed(byteCount: 3))
        }
        // A length-delimited field claiming more bytes than there are.
        XCTAssertThrowsError(try ProtoCodec.decode([0x52, 0x7f, 0x00])) { error in
            XCTAssertEqual(error as? WireDecodingError, .malformed(byteCount: 3))
        }
    }

    func testEnvelopeWithoutBodyIsRefused() {
        XCTAssertThrowsError(try ProtoCodec.decode([])) { error in
            XCTAssertEqual(error as? WireDecodingError, .unknownBody(fieldNumber: 0))
        }
        // id = 5 only.
        XCTAssertThrowsError(try ProtoCodec.decode([0x08, 0x05])) { error in
            XCTAssertEqual(error as? WireDecodingError, .unknownBody(fieldNumber: 0))
        }
    }

    func testUnknownFieldsFromANewerPeerAreSkipped() throws {
        // A valid status_request envelope followed by an unknown field 99 (varint 1).
        var bytes = ProtoCodec.encode(Envelope(id: 3, .statusRequest))
        bytes += [0x98, 0x06, 0x01]
        XCTAssertEqual(try ProtoCodec.decode(bytes), Envelope(id: 3, .statusRequest))
    }
}
