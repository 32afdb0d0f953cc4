import FLV
import XCTest

/// Byte layouts from the Adobe Flash Video File Format Specification v10, annex E.
final class TagSerializationTests: XCTestCase {
    func testFileHeaderIsSignatureVersionFlagsOffsetAndPreviousTagSize0() {
        XCTAssertEqual(FLVFileHeader().serialized(), hex("464c5601 05 00000009 00000000"))
        XCTAssertEqual(FLVFileHeader(hasAudio: true, hasVideo: false).serialized()[4], 0x04)
        XCTAssertEqual(FLVFileHeader(hasAudio: false, hasVideo: true).serialized()[4], 0x01)
        XCTAssertEqual(FLVFileHeader(hasAudio: false, hasVideo: false).serialized()[4], 0x00)
    }

    func testVideoTagHeaderDataAndPreviousTagSize() {
        // TagType 9, DataSize 5, Timestamp 1000 = 0x0003e8, TimestampExtended 0, StreamID 0,
        // then the data and PreviousTagSize 11 + 5 = 16.
        let tag = FLVTag(type: .video, timestamp: 1000, data: [0x17, 0x01, 0x00, 0x00, 0x00])
        XCTAssertEqual(tag.serialized(), hex("09 000005 0003e8 00 000000 1701000000 00000010"))
        XCTAssertEqual(tag.serializedSize, 20)
    }

    func testTimestampAtOrAbove2To24UsesTheExtendedByteAsTheHighByte() {
        // 0x01020304 ms: the low 24 bits 020304 in Timestamp, 01 in TimestampExtended.
        let tag = FLVTag(type: .audio, timestamp: 0x0102_0304, data: [0xaf, 0x01])
        XCTAssertEqual(tag.serialized(), hex("08 000002 020304 01 000000 af01 0000000d"))
        // Exactly 2^24 ms (4h 39m 37.216s) and the largest timestamp.
        XCTAssertEqual(Array(FLVTag(type: .video, timestamp: 1 << 24, data: []).serialized()[4...7]), [0, 0, 0, 1])
        XCTAssertEqual(Array(FLVTag(type: .video, timestamp: (1 << 24) - 1, data: []).serialized()[4...7]), [0xff, 0xff, 0xff, 0])
        XCTAssertEqual(Array(FLVTag(type: .video, timestamp: .max, data: []).serialized()[4...7]), [0xff, 0xff, 0xff, 0xff])
    }

    func testScriptTagAndEmptyData() {
        XCTAssertEqual(FLVTag(type: .script, timestamp: 0, data: []).serialized(), hex("12 000000 000000 00 000000 0000000b"))
    }

    func testLargeDataSizeUsesAll24Bits() {
        let tag = FLVTag(type: .video, timestamp: 0, data: [UInt8](repeating: 7, count: 0x01_0203))
        let bytes = tag.serialized()
        XCTAssertEqual(Array(bytes[0...3]), [9, 0x01, 0x02, 0x03])
        XCTAssertEqual(Array(bytes.suffix(4)), [0, 0x01, 0x02, 0x0e])
        XCTAssertEqual(bytes.count, 11 + 0x01_0203 + 4)
    }

    func testWriteAppendsToExistingBytes() {
        var out: [UInt8] = [1, 2]
        FLVTag(type: .audio, timestamp: 5, data: [9]).write(into: &out)
        XCTAssertEqual(out, [1, 2] + hex("08 000001 000005 00 000000 09 0000000c"))
    }

    func testStreamIDIsKeptTo24Bits() {
        let tag = FLVTag(type: .audio, timestamp: 0, streamID: 0xAB_CDEF01, data: [])
        XCTAssertEqual(tag.streamID, 0xCD_EF01)
        XCTAssertEqual(Array(tag.serialized()[8...10]), [0xcd, 0xef, 0x01])
    }
}
