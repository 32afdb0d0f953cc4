import FLV
import XCTest

final class CodecConfigurationTests: XCTestCase {
    func testRealAVCDecoderConfigurationRecord() throws {
        let record = try AVCDecoderConfigurationRecord(Real.avcRecord)
        XCTAssertEqual(record.profile, 100)  // High
        XCTAssertEqual(record.profileCompatibility, 0)
        XCTAssertEqual(record.level, 13)     // 1.3
        XCTAssertEqual(record.lengthSizeMinusOne, 3)
        XCTAssertEqual(record.nalLengthSize, 4)
        XCTAssertEqual(record.sequenceParameterSets, [Real.sps])
        XCTAssertEqual(record.pictureParameterSets, [Real.pps])
        // The SPS repeats the profile and level, as it must.
        XCTAssertEqual(Real.sps[1], record.profile)
        XCTAssertEqual(Real.sps[3], record.level)
        // Also from the tag, through codecConfiguration.
        XCTAssertEqual(try AVCDecoderConfigurationRecord(Make.videoHeader(0).codecConfiguration!), record)
    }

    func testAVCRecordWithSeveralParameterSetsAndShortLengths() throws {
        let bytes: [UInt8] = [1, 66, 0xc0, 30, 0xfd, 0xe2, 0, 2, 0x67, 1, 0, 1, 0x67, 1, 0, 1, 0x68]
        let record = try AVCDecoderConfigurationRecord(bytes)
        XCTAssertEqual(record.profile, 66)
        XCTAssertEqual(record.nalLengthSize, 2)
        XCTAssertEqual(record.sequenceParameterSets, [[0x67, 1], [0x67]])
        XCTAssertEqual(record.pictureParameterSets, [[0x68]])
    }

    func testAVCRecordErrors() {
        func fails(_ bytes: [UInt8], _ expected: CodecConfigError, line: UInt = #line) {
            XCTAssertThrowsError(try AVCDecoderConfigurationRecord(bytes), line: line) {
                XCTAssertEqual($0 as? CodecConfigError, expected, line: line)
            }
        }
        fails([], .truncated(field: "configurationVersion", needed: 1, available: 0))
        fails([2, 100, 0, 13, 0xff, 0xe0, 0], .unsupportedVersion(2))
        fails([1, 100, 0], .truncated(field: "AVCLevelIndication", needed: 4, available: 3))
        fails([1, 100, 0, 13, 0xfe, 0xe0, 0], .invalidLengthSize(3))
        fails([1, 100, 0, 13, 0xff, 0xe1, 0], .truncated(field: "sequenceParameterSetLength", needed: 8, available: 7))
        fails([1, 100, 0, 13, 0xff, 0xe1, 0, 5, 0x67], .truncated(field: "sequenceParameterSetNALUnit", needed: 13, available: 9))
        fails([1, 100, 0, 13, 0xff, 0xe0], .truncated(field: "numOfPictureParameterSets", needed: 7, available: 6))
        fails([1, 100, 0, 13, 0xff, 0xe0, 1, 0, 2, 0x68], .truncated(field: "pictureParameterSetNALUnit", needed: 11, available: 10))
        // Every prefix of the real record fails cleanly, never traps.
        for n in 0..<(Real.avcRecord.count - 4) {
            XCTAssertThrowsError(try AVCDecoderConfigurationRecord(Real.avcRecord.prefix(n)), "prefix \(n)")
        }
    }

    func testRealAudioSpecificConfig() throws {
        let config = try AudioSpecificConfig(Real.audioSpecificConfig)
        XCTAssertEqual(config.objectType, 2)  // AAC-LC
        XCTAssertEqual(config.sampleRateIndex, 4)
        XCTAssertEqual(config.sampleRate, 44100)
        XCTAssertEqual(config.channelConfiguration, 1)
        XCTAssertNil(config.explicitSampleRate)
    }

    func testAudioSpecificConfigForms() throws {
        // 00010 0011 0010 000: AAC-LC, 48 kHz, stereo (what OBS sends).
        let obs = try AudioSpecificConfig([0x11, 0x90])
        XCTAssertEqual([obs.objectType, obs.sampleRateIndex, obs.channelConfiguration], [2, 3, 2])
        XCTAssertEqual(obs.sampleRate, 48000)
        // Escaped object type: 11111 000010 -> 32 + 2 = 34; index 8 (16 kHz); 1 channel.
        // bits: 11111000 01010000 001 -> f8 50 20 (padded)
        let escaped = try AudioSpecificConfig([0xf8, 0x50, 0x20])
        XCTAssertEqual(escaped.objectType, 34)
        XCTAssertEqual(escaped.sampleRate, 16000)
        XCTAssertEqual(escaped.channelConfiguration, 1)
        // Explicit rate: 00010 1111 <24-bit 22050> 0010.
        // 00010111 1 0000000 01010110 00100010 0010xxxx -> 0x17 0x80 0x2b 0x11 0x10
        let explicit = try AudioSpecificConfig([0x17, 0x80, 0x2b, 0x11, 0x10])
        XCTAssertEqual(explicit.sampleRateIndex, 15)
        XCTAssertEqual(explicit.explicitSampleRate, 22050)
        XCTAssertEqual(explicit.sampleRate, 22050)
        XCTAssertEqual(explicit.channelConfiguration, 2)
    }

    func testAudioSpecificConfigErrors() {
        func fails(_ bytes: [UInt8], _ expected: CodecConfigError, line: UInt = #line) {
            XCTAssertThrowsError(try AudioSpecificConfig(bytes), line: line) {
                XCTAssertEqual($0 as? CodecConfigError, expected, line: line)
            }
        }
        fails([], .truncated(field: "audioObjectType", needed: 1, available: 0))
        fails([0x12], .truncated(field: "samplingFrequencyIndex", needed: 2, available: 1))
        fails([0x16, 0x80], .reservedSampleRateIndex(13))  // 00010 1101
        fails([0x17, 0x00], .reservedSampleRateIndex(14))  // 00010 1110
        fails([0x17, 0x80, 0x00], .truncated(field: "samplingFrequency", needed: 5, available: 3))
        fails([0xf8], .truncated(field: "audioObjectTypeExt", needed: 2, available: 1))
    }
}
