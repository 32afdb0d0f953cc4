import FLV
import XCTest

/// HEVC, AV1 and Opus configurations, from bytes ffmpeg 9 (libx265, libsvtav1, libopus) wrote.
final class EnhancedCodecConfigurationTests: XCTestCase {
    /// libx265 320x240 Main@L2 hvcC, its VPS/SPS/PPS arrays only.
    static let hevcRecord = hex("""
        0101600000009000000000003cf000fcfdf8f800000f03200001001840010c01ffff0160000003009000000300\
        0003003c959009210001002a42010101600000030090000003000003003ca00a080f16595912930bc05a020000\
        030002000003003c1022000100064401c073c189
        """)
    static let av1Record = hex("81000c000a0b0200000521e7fde017c002")
    static let opusHead = hex("4f707573486561640101380180bb0000000000")

    func testRealHEVCRecord() throws {
        let r = try HEVCDecoderConfigurationRecord(Self.hevcRecord)
        XCTAssertEqual(r.generalProfileSpace, 0)
        XCTAssertFalse(r.generalTierFlag)
        XCTAssertEqual(r.generalProfileIDC, 1)  // Main
        XCTAssertEqual(r.generalProfileCompatibilityFlags, 0x6000_0000)
        XCTAssertEqual(r.generalConstraintIndicatorFlags, [0x90, 0, 0, 0, 0, 0])
        XCTAssertEqual(r.generalLevelIDC, 60)   // 2.0
        XCTAssertEqual(r.chromaFormat, 1)
        XCTAssertEqual(r.bitDepthLumaMinus8, 0)
        XCTAssertEqual(r.nalLengthSize, 4)
        XCTAssertEqual(r.arrays.map(\.nalUnitType), [32, 33, 34])
        XCTAssertEqual(r.units(ofType: 32).first?.prefix(2), [0x40, 0x01])  // VPS NAL header
        XCTAssertEqual(r.units(ofType: 33).first?.count, 42)
        XCTAssertEqual(r.units(ofType: 34), [hex("4401c073c189")])
        XCTAssertEqual(r.units(ofType: 39), [])
    }

    func testHEVCRecordErrors() {
        XCTAssertThrowsError(try HEVCDecoderConfigurationRecord([2] + Self.hevcRecord.dropFirst())) {
            XCTAssertEqual($0 as? CodecConfigError, .unsupportedVersion(2))
        }
        var three = Self.hevcRecord
        three[21] = 0xFE  // lengthSizeMinusOne 2
        XCTAssertThrowsError(try HEVCDecoderConfigurationRecord(three)) { XCTAssertEqual($0 as? CodecConfigError, .invalidLengthSize(3)) }
        // Every prefix short of the whole record throws (a typed error, never a trap).
        for n in 0..<Self.hevcRecord.count {
            XCTAssertThrowsError(try HEVCDecoderConfigurationRecord(Self.hevcRecord.prefix(n)), "prefix \(n)") {
                guard case .truncated = $0 as? CodecConfigError else { return XCTFail("\($0)") }
            }
        }
    }

    func testRealAV1Record() throws {
        let r = try AV1CodecConfigurationRecord(Self.av1Record)
        XCTAssertEqual(r.seqProfile, 0)
        XCTAssertEqual(r.seqLevelIdx0, 0)
        XCTAssertFalse(r.seqTier0)
        XCTAssertEqual(r.bitDepth, 8)
        XCTAssertFalse(r.monochrome)
        XCTAssertTrue(r.chromaSubsamplingX && r.chromaSubsamplingY)  // 4:2:0
        XCTAssertEqual(r.configOBUs.first, 0x0A)  // a sequence header OBU with a size field
        XCTAssertEqual(r.configOBUs.count, 13)
        // 10-bit, high tier, level 8 (4.0).
        let ten = try AV1CodecConfigurationRecord([0x81, 0x08, 0xC0, 0x00])
        XCTAssertEqual([ten.seqLevelIdx0, UInt8(ten.bitDepth)], [8, 10])
        XCTAssertTrue(ten.seqTier0)
        XCTAssertEqual(try AV1CodecConfigurationRecord([0x81, 0x40, 0x60, 0]).bitDepth, 12)
    }

    func testAV1RecordErrors() {
        XCTAssertThrowsError(try AV1CodecConfigurationRecord([0x01, 0, 0, 0])) {
            XCTAssertEqual($0 as? CodecConfigError, .invalidMarker(field: "marker"))
        }
        XCTAssertThrowsError(try AV1CodecConfigurationRecord([0x82, 0, 0, 0])) { XCTAssertEqual($0 as? CodecConfigError, .unsupportedVersion(2)) }
        for n in 0..<4 { XCTAssertThrowsError(try AV1CodecConfigurationRecord(Self.av1Record.prefix(n))) }
    }

    func testRealOpusHead() throws {
        let h = try OpusHeader(Self.opusHead)
        XCTAssertEqual(h.version, 1)
        XCTAssertEqual(h.channelCount, 1)
        XCTAssertEqual(h.preSkip, 312)
        XCTAssertEqual(h.inputSampleRate, 48000)
        XCTAssertEqual(h.outputGain, 0)
        XCTAssertEqual(h.mappingFamily, 0)
        XCTAssertNil(h.streamCount)
        XCTAssertEqual(h.channelMapping, [])
    }

    func testOpusHeadWithAMappingTable() throws {
        // 5.1 (family 1): 4 streams, 2 coupled, mapping 0 4 1 2 3 5; gain -256 (-1 dB), little-endian.
        let head = Array("OpusHead".utf8) + [1, 6, 0x38, 0x01, 0x80, 0xBB, 0, 0, 0x00, 0xFF, 1, 4, 2, 0, 4, 1, 2, 3, 5]
        let h = try OpusHeader(head)
        XCTAssertEqual(h.outputGain, -256)
        XCTAssertEqual([h.streamCount, h.coupledCount], [4, 2])
        XCTAssertEqual(h.channelMapping, [0, 4, 1, 2, 3, 5])
    }

    func testOpusHeadErrors() {
        func fails(_ bytes: [UInt8], _ expected: CodecConfigError, line: UInt = #line) {
            XCTAssertThrowsError(try OpusHeader(bytes), line: line) { XCTAssertEqual($0 as? CodecConfigError, expected, line: line) }
        }
        let base = Self.opusHead
        fails(Array("OpusTags".utf8) + base.dropFirst(8), .invalidMarker(field: "OpusHead"))
        fails(Array(base.prefix(8)) + [0x10] + base.dropFirst(9), .unsupportedVersion(0x10))
        fails(Array(base.prefix(9)) + [0] + base.dropFirst(10), .invalidChannelMapping)   // no channels
        fails(Array(base.prefix(9)) + [3] + base.dropFirst(10), .invalidChannelMapping)   // 3 channels need a table
        fails(Array(base.prefix(18)) + [1, 0, 0], .invalidChannelMapping)                  // zero streams
        fails(Array(base.prefix(18)) + [1, 1, 2], .invalidChannelMapping)                  // more coupled than streams
        fails(Array(base.prefix(18)) + [1, 1, 0], .truncated(field: "channel mapping", needed: 22, available: 21))
        for n in 0..<base.count { XCTAssertThrowsError(try OpusHeader(base.prefix(n)), "prefix \(n)") }
    }
}
