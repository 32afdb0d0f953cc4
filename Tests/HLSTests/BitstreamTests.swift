import FLV
@testable import HLS
import XCTest

/// Exp-Golomb, emulation prevention, AV1's uvlc/leb128, and the picture sizes read from real
/// parameter sets (x264, x265, SVT-AV1 output), including the edge cases that break readers.
final class BitstreamTests: XCTestCase {
    func testExpGolombCodes() throws {
        // ue(v): 1 -> 0, 010 -> 1, 011 -> 2, 00100 -> 3, 0001000 -> 7; se(v) maps 1, 2, 3, 4 to 1, -1, 2, -2.
        var r = BitReader([0b1010_0110, 0b0100_0001, 0b0000_0000])
        XCTAssertEqual(try r.ue(), 0)
        XCTAssertEqual(try r.ue(), 1)
        XCTAssertEqual(try r.ue(), 2)
        XCTAssertEqual(try r.ue(), 3)
        XCTAssertEqual(try r.ue(), 7)
        XCTAssertEqual(r.position, 1 + 3 + 3 + 5 + 7)
        var s = BitReader([0b0100_1100, 0b1000_0101, 0b0000_0000])  // 010 011 00100 00101
        XCTAssertEqual(try s.se(), 1)
        XCTAssertEqual(try s.se(), -1)
        XCTAssertEqual(try s.se(), 2)
        XCTAssertEqual(try s.se(), -2)
        // The largest code that fits: 31 zeros, a one, 31 ones = 2^32 - 2.
        var big = BitReader([0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF])
        XCTAssertEqual(try big.ue(), UInt32.max - 1)
        // 32 leading zeros: refused rather than overflowing; a code cut short: refused.
        var tooBig = BitReader([0, 0, 0, 0, 0x80, 0, 0, 0, 0])
        XCTAssertThrowsError(try tooBig.ue())
        var cut = BitReader([0b0001_0000])  // 000 1 then 3 bits missing... 4 of them present
        XCTAssertEqual(try cut.ue(), 8 - 1 + 0)
        var empty = BitReader([0b0000_0001])
        XCTAssertThrowsError(try empty.ue(), "the ones after the prefix are missing")
        var none = BitReader([])
        XCTAssertThrowsError(try none.ue())
        XCTAssertThrowsError(try none.bits(1))
        var skip = BitReader([0xFF])
        XCTAssertThrowsError(try skip.skip(9))
        XCTAssertEqual(skip.position, 0, "a refused skip moves nothing")
    }

    func testEmulationPreventionBytesAreRemoved() throws {
        // 00 00 03 xx -> 00 00 xx, wherever it is; a 03 not after two zeros stays.
        var r = BitReader.rbsp(nal: [0x67, 0x00, 0x00, 0x03, 0x01, 0x03, 0x00, 0x00, 0x03], headerSize: 1)
        XCTAssertEqual(try r.bits(32), 0x0000_0103)
        XCTAssertEqual(try r.bits(16), 0x0000)
        XCTAssertEqual(r.bitsLeft, 0, "the trailing 03 was an emulation prevention byte")
        // 00 00 03 00 00 03: both removed; the count restarts after each.
        var twice = BitReader.rbsp(nal: [0x42, 0x01, 0, 0, 3, 0, 0, 3, 0xAA], headerSize: 2)
        XCTAssertEqual(try twice.bits(32), 0x0000_0000)
        XCTAssertEqual(try twice.bits(8), 0xAA)
        var notAfterOneZero = BitReader.rbsp(nal: [0x67, 0x00, 0x03, 0x00], headerSize: 1)
        XCTAssertEqual(try notAfterOneZero.bits(24), 0x00_0300)
    }

    func testAV1VariableLengthCodes() throws {
        var u = BitReader([0b0010_1000])  // uvlc: 2 zeros, 1, bits 01 -> 3 + 1 = 4
        XCTAssertEqual(try u.uvlc(), 4)
        var huge = BitReader([0, 0, 0, 0, 0])
        XCTAssertEqual(try huge.uvlc(), UInt32.max)
        var leb = BitReader([0xE5, 0x8E, 0x26])  // 624485
        XCTAssertEqual(try leb.leb128(), 624_485)
        var tooLong = BitReader([UInt8](repeating: 0x80, count: 8) + [0])
        XCTAssertThrowsError(try tooLong.leb128(), "more than 8 bytes")
        var over32 = BitReader([0xFF, 0xFF, 0xFF, 0xFF, 0x1F])
        XCTAssertThrowsError(try over32.leb128(), "values from 2^32 on are not allowed")
    }

    func testPictureSizesFromRealParameterSets() throws {
        XCTAssertEqual(try PictureSize.h264(sps: Real.sps), PictureSize(width: 320, height: 240))
        // 1920x1088 coded, cropped to 1080 (frame_crop_bottom_offset 4 in 2-row units).
        XCTAssertEqual(try PictureSize.h264(sps: hex("6742c028da01e0089f970110000003001000000303c0f1832a")), PictureSize(width: 1920, height: 1080))
        // Interlaced PAL (frame_mbs_only_flag 0: map units are field macroblock pairs).
        XCTAssertEqual(try PictureSize.h264(sps: hex("674d4016f405a126c044000003000800000300c87c50aa80")), PictureSize(width: 720, height: 576))
        XCTAssertEqual(try PictureSize.h265(sps: Real.hevcSPS), PictureSize(width: 320, height: 240))
        // x265 1080p: 1088 coded rows, conformance window bottom 4 (x2 for 4:2:0).
        let sps1080 = hex("420101016000000300900000030000030078a003c0801107cb965654a4c2f0168080000003008000000f04")
        XCTAssertEqual(try PictureSize.h265(sps: sps1080), PictureSize(width: 1920, height: 1080))
        XCTAssertEqual(try PictureSize.av1(obus: try AV1CodecConfigurationRecord(Real.av1Record).configOBUs),
                       PictureSize(width: 320, height: 240))
        // Through the configuration, as the init segment reads it.
        XCTAssertEqual(try PictureSize(.hevc(try HEVCDecoderConfigurationRecord(Real.hevcRecord), record: Real.hevcRecord)),
                       PictureSize(width: 320, height: 240))
    }

    func testBrokenParameterSetsThrowTypedErrors() throws {
        // Every prefix of each real parameter set: a typed error until the size fields are
        // all there, then the right size (the VUI after them is not read); never a trap.
        let sizes: [(String, [UInt8], (([UInt8]) throws -> PictureSize), Int)] = [
            ("H.264", Real.sps, { try PictureSize.h264(sps: $0) }, 9), ("H.265", Real.hevcSPS, { try PictureSize.h265(sps: $0) }, 23)]
        for (name, sps, read, firstWhole) in sizes {
            for n in 0..<sps.count {
                if n < firstWhole {
                    XCTAssertThrowsError(try read(Array(sps.prefix(n))), "\(name) prefix \(n)") { XCTAssertTrue($0 is BitstreamError) }
                } else {
                    XCTAssertEqual(try read(Array(sps.prefix(n))), PictureSize(width: 320, height: 240), "\(name) prefix \(n)")
                }
            }
        }
        let obus = try AV1CodecConfigurationRecord(Real.av1Record).configOBUs
        for n in 0..<obus.count { XCTAssertThrowsError(try PictureSize.av1(obus: Array(obus.prefix(n))), "AV1 prefix \(n)") }
        // No sequence header among the OBUs (a temporal delimiter only), or one without a size field.
        XCTAssertThrowsError(try PictureSize.av1(obus: [0x12, 0x00]))
        XCTAssertThrowsError(try PictureSize.av1(obus: [0x08, 0x00]))
        // pic_order_cnt_type 3 does not exist.
        XCTAssertThrowsError(try PictureSize.h264(sps: [0x67, 0x42, 0xC0, 0x1E, 0b1100_0010, 0x00]))
        // An AVC record without an SPS cannot give a size: the init segment says which codec.
        let noSPS: [UInt8] = [1, 0x42, 0xC0, 0x1E, 0xFF, 0xE0, 0]
        XCTAssertThrowsError(try PictureSize(.avc(try AVCDecoderConfigurationRecord(noSPS), record: noSPS))) {
            XCTAssertEqual($0 as? HLSError, .invalidSequenceParameters(.avc))
        }
        var rng = SplitMix64(seed: 11)
        for _ in 0..<5000 {
            let noise = (0..<Int.random(in: 0...40, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            _ = try? PictureSize.h264(sps: noise)
            _ = try? PictureSize.h265(sps: noise)
            _ = try? PictureSize.av1(obus: noise)
        }
    }

    func testOpusPacketDurations() throws {
        // config 31 (CELT 20 ms), code 0: 960; config 0 (SILK 10 ms) code 1: 2 x 480;
        // config 15 (Hybrid 20 ms) code 3 with 3 frames: 2880; config 16 (CELT 2.5 ms): 120.
        XCTAssertEqual(try OpusPacket.duration([0xF8][...]), 960)
        XCTAssertEqual(try OpusPacket.duration([0x01, 0][...]), 960)
        XCTAssertEqual(try OpusPacket.duration([0x7B, 0x03][...]), 2880)
        XCTAssertEqual(try OpusPacket.duration([0x80][...]), 120)
        XCTAssertEqual(try OpusPacket.duration([0x1B, 0x02][...]), 5760, "SILK 60 ms x 2 = 120 ms, the most a packet holds")
        XCTAssertThrowsError(try OpusPacket.duration([][...])) { XCTAssertEqual($0 as? HLSError, .invalidOpusPacket(size: 0)) }
        XCTAssertThrowsError(try OpusPacket.duration([0x7B][...]), "code 3 without its frame count")
        XCTAssertThrowsError(try OpusPacket.duration([0x7B, 0x00][...]), "zero frames")
        XCTAssertThrowsError(try OpusPacket.duration([0x1B, 0x03][...]), "180 ms")
    }
}

/// Deterministic randomness, so a failure can be replayed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
