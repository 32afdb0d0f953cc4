/// Why a codec configuration record could not be read.
public enum CodecConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The record ends before `field` (needed `needed` bytes from the start, had `available`).
    case truncated(field: String, needed: Int, available: Int)
    case unsupportedVersion(UInt8)
    /// NAL unit length size 3 is not allowed (only 1, 2 or 4).
    case invalidLengthSize(Int)
    /// Sampling frequency index 13 or 14 (reserved).
    case reservedSampleRateIndex(UInt8)
    /// A fixed field (a magic signature, a marker bit) does not have its required value.
    case invalidMarker(field: String)
    /// An Opus channel mapping table that does not fit its counts (RFC 7845 5.1.1).
    case invalidChannelMapping

    public var description: String {
        switch self {
        case .truncated(let field, let needed, let available): "codec configuration truncated at \(field) (\(needed) > \(available) bytes)"
        case .unsupportedVersion(let v): "codec configuration version \(v) not supported"
        case .invalidLengthSize(let n): "NAL unit length size \(n) is invalid"
        case .reservedSampleRateIndex(let i): "sampling frequency index \(i) is reserved"
        case .invalidMarker(let field): "codec configuration field \(field) has a wrong value"
        case .invalidChannelMapping: "Opus channel mapping does not fit its stream counts"
        }
    }
}

/// H.264 decoder configuration (ISO/IEC 14496-15 5.3.3.1): the body of an AVC sequence
/// header tag after its 5-byte video header. HLS needs the SPS/PPS to prefix keyframes.
public struct AVCDecoderConfigurationRecord: Sendable, Hashable {
    public var profile: UInt8
    public var profileCompatibility: UInt8
    public var level: UInt8
    /// NAL units in FLV are prefixed by lengthSizeMinusOne + 1 bytes.
    public var lengthSizeMinusOne: UInt8
    public var sequenceParameterSets: [[UInt8]]
    public var pictureParameterSets: [[UInt8]]

    public var nalLengthSize: Int { Int(lengthSizeMinusOne) + 1 }

    /// Reads the record; trailing bytes (the High-profile chroma/bit-depth extension) are ignored.
    public init<Bytes: Collection>(_ bytes: Bytes) throws(CodecConfigError) where Bytes.Element == UInt8 {
        var r = ByteReader(Array(bytes))
        let version = try r.u8("configurationVersion")
        guard version == 1 else { throw .unsupportedVersion(version) }
        profile = try r.u8("AVCProfileIndication")
        profileCompatibility = try r.u8("profile_compatibility")
        level = try r.u8("AVCLevelIndication")
        lengthSizeMinusOne = try r.u8("lengthSizeMinusOne") & 0x03
        guard lengthSizeMinusOne != 2 else { throw .invalidLengthSize(3) }
        let spsCount = Int(try r.u8("numOfSequenceParameterSets") & 0x1f)
        sequenceParameterSets = []
        for _ in 0..<spsCount {
            let length = Int(try r.u16("sequenceParameterSetLength"))
            sequenceParameterSets.append(try r.bytes(length, "sequenceParameterSetNALUnit"))
        }
        let ppsCount = Int(try r.u8("numOfPictureParameterSets"))
        pictureParameterSets = []
        for _ in 0..<ppsCount {
            let length = Int(try r.u16("pictureParameterSetLength"))
            pictureParameterSets.append(try r.bytes(length, "pictureParameterSetNALUnit"))
        }
    }
}

/// MPEG-4 AudioSpecificConfig (ISO/IEC 14496-3 1.6.2.1), the body of an AAC sequence header:
/// what an ADTS header for HLS is built from.
public struct AudioSpecificConfig: Sendable, Hashable {
    /// Audio object type: 2 = AAC-LC, 5 = SBR (HE-AAC), 29 = PS; escape 31 is resolved.
    public var objectType: UInt8
    /// 0...12 index into the standard rates, or 15 when `explicitSampleRate` is given.
    public var sampleRateIndex: UInt8
    public var explicitSampleRate: UInt32?
    /// 1...7 channels per the standard layouts; 0 means "defined in the stream".
    public var channelConfiguration: UInt8

    static let sampleRates: [UInt32] = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350]

    /// Sampling rate in Hz (0 for an index set by hand to a reserved value).
    public var sampleRate: UInt32 {
        explicitSampleRate ?? (Int(sampleRateIndex) < Self.sampleRates.count ? Self.sampleRates[Int(sampleRateIndex)] : 0)
    }

    public init<Bytes: Collection>(_ bytes: Bytes) throws(CodecConfigError) where Bytes.Element == UInt8 {
        var r = BitReader(Array(bytes))
        objectType = UInt8(try r.bits(5, "audioObjectType"))
        if objectType == 31 { objectType = 32 + UInt8(try r.bits(6, "audioObjectTypeExt")) }
        sampleRateIndex = UInt8(try r.bits(4, "samplingFrequencyIndex"))
        switch sampleRateIndex {
        case 15: explicitSampleRate = try r.bits(24, "samplingFrequency")
        case 13, 14: throw .reservedSampleRateIndex(sampleRateIndex)
        default: explicitSampleRate = nil
        }
        channelConfiguration = UInt8(try r.bits(4, "channelConfiguration"))
    }
}

/// Bounds-checked big-endian byte reads.
struct ByteReader {
    let bytes: [UInt8]
    var at = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    private func need(_ n: Int, _ field: String) throws(CodecConfigError) {
        guard n <= bytes.count - at else { throw .truncated(field: field, needed: at + n, available: bytes.count) }
    }

    mutating func u8(_ field: String) throws(CodecConfigError) -> UInt8 {
        try need(1, field)
        defer { at += 1 }
        return bytes[at]
    }

    mutating func u16(_ field: String) throws(CodecConfigError) -> UInt16 {
        try need(2, field)
        defer { at += 2 }
        return UInt16(bytes[at]) << 8 | UInt16(bytes[at + 1])
    }

    mutating func u32(_ field: String) throws(CodecConfigError) -> UInt32 {
        UInt32(try u16(field)) << 16 | UInt32(try u16(field))
    }

    var remaining: [UInt8] { Array(bytes[at...]) }

    mutating func bytes(_ n: Int, _ field: String) throws(CodecConfigError) -> [UInt8] {
        try need(n, field)
        defer { at += n }
        return Array(bytes[at..<(at + n)])
    }
}

/// Bounds-checked MSB-first bit reads (up to 32 bits at a time).
struct BitReader {
    let bytes: [UInt8]
    var bit = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func bits(_ n: Int, _ field: String) throws(CodecConfigError) -> UInt32 {
        guard bit + n <= bytes.count * 8 else { throw .truncated(field: field, needed: (bit + n + 7) / 8, available: bytes.count) }
        var value: UInt32 = 0
        for _ in 0..<n {
            value = value << 1 | UInt32(bytes[bit >> 3] >> (7 - UInt8(bit & 7)) & 1)
            bit += 1
        }
        return value
    }
}
