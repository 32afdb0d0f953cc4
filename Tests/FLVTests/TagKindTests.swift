import FLV
import XCTest

final class TagKindTests: XCTestCase {
    private func video(_ bytes: [UInt8]) -> FLVTag { FLVTag(type: .video, timestamp: 0, data: bytes) }
    private func audio(_ bytes: [UInt8]) -> FLVTag { FLVTag(type: .audio, timestamp: 0, data: bytes) }
    private func script(_ bytes: [UInt8]) -> FLVTag { FLVTag(type: .script, timestamp: 0, data: bytes) }
    private let fourCC = { (s: String) in Array(s.utf8) }

    func testLegacyAVC() {
        let header = Make.videoHeader(0)
        XCTAssertEqual(header.kind, .videoSequenceHeader(.avc))
        XCTAssertEqual(header.codecConfiguration.map(Array.init), Real.avcRecord)
        XCTAssertEqual(Make.frame(0, key: true).kind, .videoKeyframe(.avc))
        XCTAssertEqual(Make.frame(0).kind, .video(.avc))
        XCTAssertNil(Make.frame(0, key: true).codecConfiguration)
        // End of sequence (AVCPacketType 2) in a keyframe-typed tag is not a keyframe.
        XCTAssertEqual(video([0x17, 0x02, 0, 0, 0]).kind, .video(.avc))
        // Disposable inter frame (3) and generated keyframe (4) are not keyframes either.
        XCTAssertEqual(video([0x37, 0x01, 0, 0, 0]).kind, .video(.avc))
        XCTAssertEqual(video([0x47, 0x01, 0, 0, 0]).kind, .video(.avc))
    }

    func testLegacyHEVCCodecID12() {
        XCTAssertEqual(video([0x1c, 0x00, 0, 0, 0, 1, 2]).kind, .videoSequenceHeader(.hevc))
        XCTAssertEqual(video([0x1c, 0x00, 0, 0, 0, 1, 2]).codecConfiguration.map(Array.init), [1, 2])
        XCTAssertEqual(video([0x1c, 0x01, 0, 0, 0, 1]).kind, .videoKeyframe(.hevc))
        XCTAssertEqual(video([0x2c, 0x01, 0, 0, 0, 1]).kind, .video(.hevc))
    }

    func testOtherLegacyCodecsUseTheFrameType() {
        XCTAssertEqual(video([0x12, 0xaa]).kind, .videoKeyframe(.legacy(2)))  // Sorenson H.263
        XCTAssertEqual(video([0x24, 0xaa]).kind, .video(.legacy(4)))          // VP6
    }

    func testEnhancedRTMPVideo() {
        // [IsExHeader | FrameType 1 | PacketType 0 SequenceStart] "hvc1" record
        let start = Make.exVideo(0, frameType: 1, packetType: 0, fourCC: "hvc1", body: [0xa, 0xb])
        XCTAssertEqual(start.data[0], 0x90)
        XCTAssertEqual(start.kind, .videoSequenceHeader(.hevc))
        XCTAssertEqual(start.codecConfiguration.map(Array.init), [0xa, 0xb])
        XCTAssertEqual(Make.exVideo(0, frameType: 1, packetType: 0, fourCC: "av01").kind, .videoSequenceHeader(.av1))
        XCTAssertEqual(Make.exVideo(0, frameType: 1, packetType: 0, fourCC: "vp09").kind, .videoSequenceHeader(.vp9))
        XCTAssertEqual(Make.exVideo(0, frameType: 1, packetType: 0, fourCC: "avc1").kind, .videoSequenceHeader(.avc))
        // CodedFrames (1, with composition time) and CodedFramesX (3): keyframe by frame type.
        XCTAssertEqual(Make.exVideo(0, frameType: 1, packetType: 1, fourCC: "hvc1").kind, .videoKeyframe(.hevc))
        XCTAssertEqual(Make.exVideo(0, frameType: 1, packetType: 3, fourCC: "av01").kind, .videoKeyframe(.av1))
        XCTAssertEqual(Make.exVideo(0, frameType: 2, packetType: 1, fourCC: "hvc1").kind, .video(.hevc))
        XCTAssertEqual(Make.exVideo(0, frameType: 2, packetType: 3, fourCC: "vp09").kind, .video(.vp9))
        // SequenceEnd (2) and Metadata (4) are neither.
        XCTAssertEqual(Make.exVideo(0, frameType: 1, packetType: 2, fourCC: "hvc1").kind, .video(.hevc))
        XCTAssertEqual(Make.exVideo(0, frameType: 5, packetType: 4, fourCC: "hvc1").kind, .video(.hevc))
        // A command frame carries a command byte, no FourCC.
        XCTAssertEqual(video([0xd1, 0x00]).kind, .video(.unknown))
        XCTAssertEqual(Make.exVideo(0, frameType: 1, packetType: 1, fourCC: "xyz1").kind,
                       .videoKeyframe(.fourCC(0x7879_7a31)))
        // Too short for a FourCC.
        XCTAssertEqual(video([0x91, 0x68, 0x76]).kind, .video(.unknown))
        XCTAssertEqual(video([]).kind, .video(.unknown))
    }

    func testEnhancedRTMPModExIsSkipped() {
        // PacketType 7 (ModEx): size-1 = 2, three bytes, then [ModExType 0 | PacketType 0].
        let modEx = video([0x97, 0x02, 0xaa, 0xbb, 0xcc, 0x00] + fourCC("hvc1") + [0x42])
        XCTAssertEqual(modEx.kind, .videoSequenceHeader(.hevc))
        XCTAssertEqual(modEx.codecConfiguration.map(Array.init), [0x42])
        // The 16-bit size form: size-1 = 0xff, then UI16 size-1 = 299.
        let long = video([0x97, 0xff, 0x01, 0x2b] + [UInt8](repeating: 0, count: 300) + [0x01] + fourCC("av01") + [0, 0, 0])
        XCTAssertEqual(long.kind, .videoKeyframe(.av1))
        // Data ending inside the ModEx block.
        XCTAssertEqual(video([0x97, 0x05, 0xaa]).kind, .video(.unknown))
        XCTAssertEqual(video([0x97, 0xff, 0x01]).kind, .video(.unknown))
    }

    func testEnhancedRTMPMultitrack() {
        // PacketType 6, then [OneTrack 0 | SequenceStart 0], FourCC, track id 0, record.
        let one = video([0x96, 0x00] + fourCC("av01") + [0x00, 0x81, 0x04])
        XCTAssertEqual(one.kind, .videoSequenceHeader(.av1))
        XCTAssertEqual(one.codecConfiguration.map(Array.init), [0x81, 0x04])
        // ManyTracks (1): track id then a 24-bit track size before the record.
        let many = video([0x96, 0x10] + fourCC("hvc1") + [0x00, 0, 0, 2, 0x01, 0x02])
        XCTAssertEqual(many.codecConfiguration.map(Array.init), [0x01, 0x02])
        XCTAssertEqual(video([0x96, 0x11] + fourCC("hvc1") + [0x00, 0, 0, 1, 9]).kind, .videoKeyframe(.hevc))
        XCTAssertEqual(video([0x96]).kind, .video(.unknown))
    }

    func testAudio() {
        let header = Make.audioHeader(0, config: Real.audioSpecificConfig)
        XCTAssertEqual(header.kind, .audioSequenceHeader(.aac))
        XCTAssertEqual(header.codecConfiguration.map(Array.init), Real.audioSpecificConfig)
        XCTAssertEqual(Make.audio(0).kind, .audio(.aac))
        XCTAssertEqual(audio([0xaf]).kind, .audio(.aac))
        XCTAssertEqual(audio([0x2f, 0xff, 0xfb]).kind, .audio(.mp3))
        XCTAssertEqual(audio([0x6e, 0x00]).kind, .audio(.legacy(6)))  // Nellymoser: no headers
        XCTAssertEqual(audio([]).kind, .audio(.unknown))
        XCTAssertNil(audio([0xaf, 0x00]).codecConfiguration)  // an empty config
    }

    func testEnhancedRTMPAudio() {
        // SoundFormat 9 (ExHeader) | AudioPacketType, then FourCC.
        let opus = audio([0x90] + fourCC("Opus") + [1, 2])
        XCTAssertEqual(opus.kind, .audioSequenceHeader(.opus))
        XCTAssertEqual(opus.codecConfiguration.map(Array.init), [1, 2])
        XCTAssertEqual(audio([0x91] + fourCC("fLaC") + [1]).kind, .audio(.flac))
        XCTAssertEqual(audio([0x90] + fourCC("mp4a") + [0x12, 0x10]).kind, .audioSequenceHeader(.aac))
        XCTAssertEqual(audio([0x91] + fourCC("ac-3")).kind, .audio(.ac3))
        XCTAssertEqual(audio([0x91] + fourCC("ec-3")).kind, .audio(.eac3))
        XCTAssertEqual(audio([0x91] + fourCC(".mp3")).kind, .audio(.mp3))
        // Multitrack (5): [OneTrack | SequenceStart], FourCC, track id.
        XCTAssertEqual(audio([0x95, 0x00] + fourCC("Opus") + [0, 7]).codecConfiguration.map(Array.init), [7])
        // ModEx (7) then CodedFrames.
        XCTAssertEqual(audio([0x97, 0x00, 0xee, 0x01] + fourCC("Opus") + [1]).kind, .audio(.opus))
        XCTAssertEqual(audio([0x91, 0x4f]).kind, .audio(.unknown))
    }

    func testScriptData() {
        XCTAssertEqual(Make.metadata(0).kind, .metadata)
        let setDataFrame = Make.amf0String("@setDataFrame") + Make.amf0String("onMetaData") + [0x08, 0, 0, 0, 0, 0, 0, 9]
        XCTAssertEqual(script(setDataFrame).kind, .metadata)
        XCTAssertEqual(script(Make.amf0String("@setDataFrame") + Make.amf0String("onCuePoint")).kind, .script)
        XCTAssertEqual(script(Make.amf0String("onCuePoint")).kind, .script)
        XCTAssertEqual(script(Make.amf0String("onMetaDataX")).kind, .script)
        XCTAssertEqual(script([]).kind, .script)
        XCTAssertEqual(script([0x02, 0x00, 0x0a] + Array("onMeta".utf8)).kind, .script)  // length past the end
        XCTAssertEqual(script([0x0c, 0, 0, 0, 10] + Array("onMetaData".utf8)).kind, .script)  // a long string: not a name
    }

    func testStrippingSetDataFrame() {
        let body = Make.amf0String("onMetaData") + [0x08, 0, 0, 0, 0, 0, 0, 9]
        XCTAssertEqual(ScriptData.strippingSetDataFrame(Make.amf0String("@setDataFrame") + body), body)
        XCTAssertEqual(ScriptData.strippingSetDataFrame(body), body)
        XCTAssertEqual(ScriptData.strippingSetDataFrame([0x02, 0x00]), [0x02, 0x00])
    }

    func testKindPredicates() {
        XCTAssertTrue(TagKind.videoSequenceHeader(.avc).isSequenceHeader)
        XCTAssertTrue(TagKind.audioSequenceHeader(.aac).isSequenceHeader)
        XCTAssertFalse(TagKind.metadata.isSequenceHeader)
        XCTAssertTrue(TagKind.videoKeyframe(.avc).isKeyframe)
        XCTAssertFalse(TagKind.video(.avc).isKeyframe)
        XCTAssertTrue(TagKind.video(.unknown).isVideo)
        XCTAssertFalse(TagKind.audio(.aac).isVideo)
    }
}
