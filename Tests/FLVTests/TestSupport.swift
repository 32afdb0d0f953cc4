import FLV
import StreamrTLS

func hex(_ text: String) -> [UInt8] {
    SHA256Digest.parseHex(text.filter { !$0.isWhitespace })!
}

/// Real bytes from an ffmpeg-made FLV (libx264 High@1.3, 320x240; AAC-LC 44.1 kHz mono).
enum Real {
    /// AVCDecoderConfigurationRecord, after the 5-byte video tag header.
    static let avcRecord = hex("""
        0164000dffe100196764000dacd94141fb0110000003001000000303c0f142996001000668ebe3cb22c0fdf8f800
        """)
    static let sps = hex("6764000dacd94141fb0110000003001000000303c0f1429960")
    static let pps = hex("68ebe3cb22c0")
    /// AudioSpecificConfig, after "af 00"; ends with an SBR sync extension (0x2b7).
    static let audioSpecificConfig = hex("120856e500")
}

/// Tag builders for the common kinds.
enum Make {
    static func videoHeader(_ ts: UInt32, record: [UInt8] = Real.avcRecord) -> FLVTag {
        FLVTag(type: .video, timestamp: ts, data: [0x17, 0x00, 0, 0, 0] + record)
    }

    static func frame(_ ts: UInt32, key: Bool = false, size: Int = 20) -> FLVTag {
        FLVTag(type: .video, timestamp: ts,
               data: [key ? 0x17 : 0x27, 0x01, 0, 0, 0] + (0..<size).map { UInt8(truncatingIfNeeded: $0 &+ Int(ts)) })
    }

    static func audioHeader(_ ts: UInt32, config: [UInt8] = [0x12, 0x10]) -> FLVTag {
        FLVTag(type: .audio, timestamp: ts, data: [0xaf, 0x00] + config)
    }

    static func audio(_ ts: UInt32, size: Int = 10) -> FLVTag {
        FLVTag(type: .audio, timestamp: ts, data: [0xaf, 0x01] + [UInt8](repeating: UInt8(truncatingIfNeeded: ts), count: size))
    }

    static func amf0String(_ s: String) -> [UInt8] {
        let utf8 = Array(s.utf8)
        return [0x02, UInt8(utf8.count >> 8), UInt8(utf8.count & 0xff)] + utf8
    }

    static func metadata(_ ts: UInt32, width: UInt8 = 1) -> FLVTag {
        // onMetaData, then an ECMA array with one entry (just enough to differ by `width`).
        FLVTag(type: .script, timestamp: ts,
               data: amf0String("onMetaData") + [0x08, 0, 0, 0, 1, 0, 5] + Array("width".utf8)
                   + [0x00, 0x40, width, 0, 0, 0, 0, 0, 0, 0, 0, 9])
    }

    /// An Enhanced RTMP video tag: [1|frameType|packetType] FourCC body.
    static func exVideo(_ ts: UInt32, frameType: UInt8, packetType: UInt8, fourCC: String, body: [UInt8] = [1, 2, 3]) -> FLVTag {
        FLVTag(type: .video, timestamp: ts, data: [0x80 | frameType << 4 | packetType] + Array(fourCC.utf8) + body)
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
