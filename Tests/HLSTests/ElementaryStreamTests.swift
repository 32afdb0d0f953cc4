import FLV
@testable import HLS
import XCTest

/// PES headers, ADTS headers and AVCC -> Annex-B: checked against bytes ffmpeg wrote.
final class ElementaryStreamTests: XCTestCase {
    func testPESHeadersMatchFFmpeg() {
        // ffmpeg's first video PES: PTS 132030, DTS 126000, length 0.
        let video = PES.header(streamID: 0xE0, pts: 132_030, dts: 126_000, payloadSize: 16564, unbounded: true)
        XCTAssertEqual(video, hex("000001e00000 84c00a 310009077d 110007d861"))
        // ffmpeg's first audio PES (PTS only): 0x0b3b bytes after the length field.
        let audio = PES.header(streamID: 0xC0, pts: 129_960, dts: 129_960, payloadSize: 0x0b3b - 8, unbounded: false)
        XCTAssertEqual(audio, hex("000001c00b3b 848005 210007f751"))
        // Over 65535 bytes an audio PES gets length 0 too rather than a wrong length.
        XCTAssertEqual(PES.header(streamID: 0xC0, pts: 0, dts: nil, payloadSize: 70_000, unbounded: false)[4...5], [0, 0])
    }

    func testTimestampEncodingCoversAll33Bits() {
        for value: UInt64 in [0, 1, 0x7FFF, 0x8000, 0x4000_0000, 0x1_FFFF_FFFF, 8_589_934_591, 123_456_789] {
            let bytes = PES.encodeTimestamp(value, prefix: 0b0011)
            XCTAssertEqual(bytes[0] >> 4, 0b0011)
            XCTAssertEqual([bytes[0] & 1, bytes[2] & 1, bytes[4] & 1], [1, 1, 1], "marker bits")
            XCTAssertEqual(PESPacket.timestamp(bytes[...]), value)
        }
        XCTAssertEqual(PESPacket.timestamp(PES.encodeTimestamp(0x2_0000_0005, prefix: 2)[...]), 5, "wraps at 2^33")
    }

    func testADTSHeaderMatchesFFmpeg() throws {
        let header = try ADTSHeader(AudioSpecificConfig(Real.audioSpecificConfig))  // LC, 44.1 kHz, mono
        XCTAssertEqual(try header.bytes(payloadSize: 258), hex("fff15040213ffc"))
        // LC 48 kHz stereo, and the largest frame that fits 13 bits.
        let stereo = try ADTSHeader(AudioSpecificConfig([0x11, 0x90]))
        XCTAssertEqual(try stereo.bytes(payloadSize: 371), hex("fff14c802f5ffc"))
        XCTAssertEqual(try stereo.bytes(payloadSize: ADTSHeader.maxPayloadSize).prefix(6).suffix(2), [0xFF, 0xFF])
        XCTAssertThrowsError(try stereo.bytes(payloadSize: ADTSHeader.maxPayloadSize + 1)) {
            XCTAssertEqual($0 as? HLSError, .audioFrameTooLarge(ADTSHeader.maxPayloadSize + 1))
        }
    }

    func testADTSProfilesAndRefusals() throws {
        // HE-AAC (object type 5, core 24 kHz stereo, SBR at 48 kHz) is written as its LC core.
        let he = try ADTSHeader(AudioSpecificConfig([0x2B, 0x11, 0x88, 0x00]))
        XCTAssertEqual(he.profile, 1)
        XCTAssertEqual(he.sampleRateIndex, 6)
        XCTAssertEqual(he.channelConfiguration, 2)
        XCTAssertEqual(try ADTSHeader(AudioSpecificConfig([0x0A, 0x10])).profile, 0)  // AAC Main
        for bytes: [UInt8] in [[0x11, 0x80],                 // channel configuration 0 (PCE)
                               [0x17, 0x80, 0xAC, 0x44, 0x10], // explicit sampling rate
                               [0x31, 0x90]] {                // object type 6 (not in ADTS)
            let config = try AudioSpecificConfig(bytes)
            XCTAssertThrowsError(try ADTSHeader(config)) { XCTAssertEqual($0 as? HLSError, .unsupportedAudioConfiguration(config)) }
        }
    }

    func testNALUnitSplittingWithEveryLengthSize() throws {
        XCTAssertEqual(try AnnexB.nalUnits(avcc: [0, 0, 0, 2, 0x65, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0x41][...], lengthSize: 4),
                       [[0x65, 1], [0x41]])
        XCTAssertEqual(try AnnexB.nalUnits(avcc: [0, 3, 6, 5, 4, 0, 1, 9][...], lengthSize: 2), [[6, 5, 4], [9]])
        XCTAssertEqual(try AnnexB.nalUnits(avcc: [1, 7, 2, 8, 8][...], lengthSize: 1), [[7], [8, 8]])
        XCTAssertEqual(try AnnexB.nalUnits(avcc: [][...], lengthSize: 4), [])
    }

    func testTruncatedNALUnitsThrow() {
        func fails(_ bytes: [UInt8], _ size: Int, _ expected: HLSError, line: UInt = #line) {
            XCTAssertThrowsError(try AnnexB.nalUnits(avcc: bytes[...], lengthSize: size), line: line) {
                XCTAssertEqual($0 as? HLSError, expected, line: line)
            }
        }
        fails([0, 0, 0], 4, .truncatedNALUnit(offset: 0, needed: 4, available: 3))
        fails([0, 0, 0, 5, 1, 2], 4, .truncatedNALUnit(offset: 0, needed: 9, available: 6))
        fails([0, 0, 0, 1, 9, 0, 0, 0, 0xFF], 4, .truncatedNALUnit(offset: 5, needed: 259, available: 4))
        fails([0, 1, 9, 0], 2, .truncatedNALUnit(offset: 3, needed: 2, available: 1))
        fails([0xFF, 0xFF, 0xFF, 0xFF], 4, .truncatedNALUnit(offset: 0, needed: 4 + 0xFFFF_FFFF, available: 4))
        // The same through the muxer, inside a real tag.
        var muxer = TSMuxer()
        let bad = FLVTag(type: .video, timestamp: 0, data: [0x17, 1, 0, 0, 0, 0, 0, 0x10, 0, 0x65])
        XCTAssertThrowsError(try muxer.segment(tags: [bad], headers: Make.headers())) {
            XCTAssertEqual($0 as? HLSError, .truncatedNALUnit(offset: 0, needed: 4096 + 4, available: 5))
        }
    }

    func testAccessUnitGetsAUDAndParameterSetsBeforeIDR() throws {
        let config = try AVCDecoderConfigurationRecord(Real.avcRecord)
        let sei: [UInt8] = [0x06, 5, 1, 0x80]
        let idr: [UInt8] = [0x65, 0x88, 0x84]
        let sc: [UInt8] = [0, 0, 0, 1]
        // IDR: AUD, SPS, PPS, then the SEI and the slice.
        XCTAssertEqual(AnnexB.accessUnit([sei[...], idr[...]], configuration: config),
                       sc + [0x09, 0xF0] + sc + Real.sps + sc + Real.pps + sc + sei + sc + idr)
        // Non-IDR: AUD and the slice only.
        XCTAssertEqual(AnnexB.accessUnit([[0x41, 0x9a][...]], configuration: config), sc + [0x09, 0xF0] + sc + [0x41, 0x9a])
        // In-band SPS/PPS and AUD are neither repeated nor duplicated.
        let aud: [UInt8] = [0x09, 0x10]
        XCTAssertEqual(AnnexB.accessUnit([aud[...], [0x67, 1][...], [0x68, 2][...], idr[...]], configuration: config),
                       sc + aud + sc + [0x67, 1] + sc + [0x68, 2] + sc + idr)
    }
}
