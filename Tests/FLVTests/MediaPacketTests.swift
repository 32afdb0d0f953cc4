import FLV
import XCTest

/// Video and audio tag headers, legacy and Enhanced RTMP (veovera E-RTMP v2).
final class MediaPacketTests: XCTestCase {
    private let fourCC = { (s: String) in Array(s.utf8) }

    func testLegacyAVCAndHEVC() throws {
        let key = try VideoPacket([0x17, 0x01, 0xFF, 0xFF, 0xF6, 9, 9][...])  // CTS -10
        XCTAssertEqual(key.codec, .avc)
        XCTAssertEqual(key.content, .codedFrames)
        XCTAssertTrue(key.isKeyframe)
        XCTAssertEqual(key.compositionTimeMs, -10)
        XCTAssertEqual(Array(key.payload), [9, 9])
        XCTAssertFalse(key.isEnhanced)
        XCTAssertEqual(try VideoPacket([0x17, 0x00, 0, 0, 0, 1, 2][...]).content, .sequenceStart)
        XCTAssertEqual(try VideoPacket([0x17, 0x02, 0, 0, 0][...]).content, .sequenceEnd)
        XCTAssertFalse(try VideoPacket([0x27, 0x01, 0, 0, 0x21, 5][...]).isKeyframe)
        XCTAssertEqual(try VideoPacket([0x27, 0x01, 0x7F, 0xFF, 0xFF][...]).compositionTimeMs, 0x7F_FFFF)
        XCTAssertEqual(try VideoPacket([0x1C, 0x01, 0, 0, 0, 7][...]).codec, .hevc)
        // Frame type 5 carries a command byte, no codec data.
        XCTAssertEqual(try VideoPacket([0x57, 0x01][...]).content, .command(1))
        // Other legacy codecs: the body follows the first byte.
        let vp6 = try VideoPacket([0x24, 0xAA, 0xBB][...])
        XCTAssertEqual([vp6.codec], [.legacy(4)])
        XCTAssertEqual(Array(vp6.payload), [0xAA, 0xBB])
        XCTAssertThrowsError(try VideoPacket([0x17, 0x03, 0, 0, 0][...])) {
            XCTAssertEqual($0 as? MediaPacketError, .reservedPacketType(type: .video, 3))
        }
    }

    func testEnhancedVideoPacketTypes() throws {
        // CodedFrames: SI24 composition time for hvc1 (and avc1).
        let hevc = try VideoPacket([0x91] + fourCC("hvc1") + [0xFF, 0xFF, 0xDF, 1, 2][...])  // CTS -33
        XCTAssertEqual([hevc.codec], [.hevc])
        XCTAssertEqual(hevc.compositionTimeMs, -33)
        XCTAssertTrue(hevc.isKeyframe && hevc.isEnhanced)
        XCTAssertEqual(Array(hevc.payload), [1, 2])
        // CodedFramesX: no composition time on the wire.
        let x = try VideoPacket([0xA3] + fourCC("hvc1") + [0, 0, 0, 1, 0x02][...])
        XCTAssertEqual(x.content, .codedFrames)
        XCTAssertEqual(x.compositionTimeMs, 0)
        XCTAssertFalse(x.isKeyframe)
        XCTAssertEqual(Array(x.payload), [0, 0, 0, 1, 0x02])
        // AV1 CodedFrames have no composition time either: the OBUs start right away.
        let av1 = try VideoPacket([0x91] + fourCC("av01") + [0x12, 0x00, 0x32][...])
        XCTAssertEqual(Array(av1.payload), [0x12, 0x00, 0x32])
        XCTAssertEqual(av1.compositionTimeMs, 0)
        let avc = try VideoPacket([0x91] + fourCC("avc1") + [0, 0, 0x21, 7][...])
        XCTAssertEqual(avc.compositionTimeMs, 33)
        // SequenceStart, SequenceEnd, Metadata, MPEG2TSSequenceStart.
        let start = try VideoPacket([0x90] + fourCC("av01") + [0x81, 0, 0x0C, 0][...])
        XCTAssertEqual(start.content, .sequenceStart)
        XCTAssertEqual(Array(start.payload), [0x81, 0, 0x0C, 0])
        XCTAssertEqual(try VideoPacket([0x92] + fourCC("hvc1")[...]).content, .sequenceEnd)
        XCTAssertEqual(try VideoPacket([0xD4] + fourCC("hvc1") + [2, 0, 9][...]).content, .metadata)  // frame type 5 ignored
        XCTAssertEqual(try VideoPacket([0x95] + fourCC("av01") + [0x80][...]).content, .mpeg2TSSequenceStart)
        // A command frame (frame type 5, not Metadata): a command byte, no FourCC.
        let command = try VideoPacket([0xD1, 0x00][...])
        XCTAssertEqual(command.content, .command(0))
        XCTAssertEqual(command.codec, .unknown)
        XCTAssertThrowsError(try VideoPacket([0x98] + fourCC("hvc1")[...])) {
            XCTAssertEqual($0 as? MediaPacketError, .reservedPacketType(type: .video, 8))
        }
    }

    func testModEx() throws {
        // ModEx (7), size-1 = 2: three bytes of TimestampOffsetNano, then [type 0 | CodedFrames].
        let p = try VideoPacket([0x97, 0x02, 0x0F, 0x42, 0x3F, 0x01] + fourCC("hvc1") + [0, 0, 5, 0xAA][...])
        XCTAssertEqual(p.content, .codedFrames)
        XCTAssertEqual(p.compositionTimeMs, 5)
        XCTAssertEqual(Array(p.payload), [0xAA])
        // The 16-bit size form (size-1 = 255 escapes to UI16 size-1), twice in a row, on audio.
        let long = [0x97, 0xFF, 0x01, 0x2B] + [UInt8](repeating: 0, count: 300) + [0x07, 0x00, 0xEE, 0x01] + fourCC("Opus") + [0xF8]
        let audio = try AudioPacket(long[...])
        XCTAssertEqual([audio.codec], [.opus])
        XCTAssertEqual(audio.content, .codedFrames)
        XCTAssertEqual(Array(audio.payload), [0xF8])
        XCTAssertThrowsError(try VideoPacket([0x97, 0x05, 0xAA][...])) {
            XCTAssertEqual($0 as? MediaPacketError, .truncated(type: .video, field: "ModEx data", size: 3))
        }
    }

    func testMultitrack() throws {
        // OneTrack: [0 | CodedFrames], FourCC, track id, body (no size).
        let one = try VideoPacket([0x96, 0x01] + fourCC("hvc1") + [0x00, 0, 0, 0, 0xAB][...])
        XCTAssertEqual(one.trackID, 0)
        XCTAssertEqual(Array(one.payload), [0xAB])
        // ManyTracks: a 24-bit size bounds the first track; the second is not read.
        let many = try VideoPacket([0x96, 0x10] + fourCC("av01") + [0x02, 0, 0, 2, 0x81, 0x00, 0x03, 0, 0, 1, 0xCC][...])
        XCTAssertEqual(many.trackID, 2)
        XCTAssertEqual(many.content, .sequenceStart)
        XCTAssertEqual(Array(many.payload), [0x81, 0x00])
        // ManyTracksManyCodecs: the FourCC comes per track.
        let mixed = try AudioPacket([0x95, 0x21] + fourCC("Opus") + [0x01, 0, 0, 1, 0xF8] + fourCC("mp4a")[...])
        XCTAssertEqual(mixed.trackID, 1)
        XCTAssertEqual(Array(mixed.payload), [0xF8])
        XCTAssertThrowsError(try VideoPacket([0x96, 0x30] + fourCC("hvc1") + [0][...])) {
            XCTAssertEqual($0 as? MediaPacketError, .reservedMultitrackType(type: .video, 3))
        }
        XCTAssertThrowsError(try VideoPacket([0x96, 0x06] + fourCC("hvc1")[...])) {
            XCTAssertEqual($0 as? MediaPacketError, .reservedPacketType(type: .video, 6))
        }
    }

    func testAudio() throws {
        let aac = try AudioPacket([0xAF, 0x00, 0x12, 0x10][...])
        XCTAssertEqual([aac.codec], [.aac])
        XCTAssertEqual(aac.content, .sequenceStart)
        XCTAssertEqual(Array(aac.payload), [0x12, 0x10])
        XCTAssertEqual(try AudioPacket([0xAF, 0x01, 7][...]).content, .codedFrames)
        XCTAssertThrowsError(try AudioPacket([0xAF, 0x02][...])) { XCTAssertEqual($0 as? MediaPacketError, .reservedPacketType(type: .audio, 2)) }
        XCTAssertEqual(Array(try AudioPacket([0x2F, 0xFF, 0xFB][...]).payload), [0xFF, 0xFB])  // MP3: no packet type
        // Enhanced: Opus SequenceStart carries the OpusHead, CodedFrames the packets.
        let head = try AudioPacket([0x90] + fourCC("Opus") + Array("OpusHead".utf8)[...])
        XCTAssertEqual(head.content, .sequenceStart)
        XCTAssertEqual(Array(head.payload), Array("OpusHead".utf8))
        XCTAssertEqual(try AudioPacket([0x91] + fourCC("Opus") + [0xF8][...]).content, .codedFrames)
        XCTAssertEqual(try AudioPacket([0x92] + fourCC("Opus")[...]).content, .sequenceEnd)
        // MultichannelConfig (4) as ffmpeg 9 writes it: order Native, 1 channel, front centre.
        XCTAssertEqual(try AudioPacket([0x94] + fourCC("Opus") + [1, 1, 0, 0, 0, 4][...]).content, .multichannelConfig)
        XCTAssertEqual([try AudioPacket([0x91] + fourCC("mp4a") + [1][...]).codec], [.aac])
        XCTAssertThrowsError(try AudioPacket([0x93] + fourCC("Opus")[...])) { XCTAssertEqual($0 as? MediaPacketError, .reservedPacketType(type: .audio, 3)) }
    }

    /// Every prefix of valid packets throws or parses; random bytes never trap.
    func testTruncationAndNoiseNeverTrap() {
        let packets: [[UInt8]] = [[0x17, 0x01, 0, 0, 0, 1], [0x91] + fourCC("hvc1") + [0, 0, 1, 2],
                                  [0x97, 0x02, 1, 2, 3, 0x01] + fourCC("hvc1") + [0, 0, 0],
                                  [0x96, 0x10] + fourCC("av01") + [0x02, 0, 0, 2, 0x81, 0x00]]
        for p in packets {
            XCTAssertNoThrow(try VideoPacket(p[...]))
            for n in 0..<(p.count - 1) where p.count > 1 {
                // A prefix fails with a MediaPacketError (typed throws) or stops inside the body.
                _ = try? VideoPacket(p.prefix(n))
            }
        }
        XCTAssertThrowsError(try VideoPacket([][...]))
        XCTAssertThrowsError(try AudioPacket([][...]))
        var rng = SplitMix64(seed: 7)
        for _ in 0..<20_000 {
            let bytes = (0..<Int.random(in: 0...24, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            _ = try? VideoPacket(bytes[...])
            _ = try? AudioPacket(bytes[...])
        }
    }
}
