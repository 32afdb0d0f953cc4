/// H.265 decoder configuration (ISO/IEC 14496-15 8.3.3.1), the body of an hvc1 SequenceStart
/// (or a legacy CodecID 12 sequence header). MPEG-TS needs its VPS/SPS/PPS before IRAP
/// pictures; fMP4 carries the record itself as hvcC.
public struct HEVCDecoderConfigurationRecord: Sendable, Hashable {
    public struct NALArray: Sendable, Hashable {
        public var completeness: Bool
        public var nalUnitType: UInt8
        public var units: [[UInt8]]
    }

    public var generalProfileSpace: UInt8
    public var generalTierFlag: Bool
    public var generalProfileIDC: UInt8
    public var generalProfileCompatibilityFlags: UInt32
    /// 48 bits, most significant first.
    public var generalConstraintIndicatorFlags: [UInt8]
    public var generalLevelIDC: UInt8
    public var chromaFormat: UInt8
    public var bitDepthLumaMinus8: UInt8
    public var lengthSizeMinusOne: UInt8
    public var arrays: [NALArray]

    public var nalLengthSize: Int { Int(lengthSizeMinusOne) + 1 }

    /// The units of the arrays of `type` (32 VPS, 33 SPS, 34 PPS, 39/40 SEI), in order.
    public func units(ofType type: UInt8) -> [[UInt8]] {
        arrays.filter { $0.nalUnitType == type }.flatMap(\.units)
    }

    public init<Bytes: Collection>(_ bytes: Bytes) throws(CodecConfigError) where Bytes.Element == UInt8 {
        var r = ByteReader(Array(bytes))
        let version = try r.u8("configurationVersion")
        // Version 0 was written by early encoders with the same layout.
        guard version <= 1 else { throw .unsupportedVersion(version) }
        let b1 = try r.u8("general_profile_idc")
        generalProfileSpace = b1 >> 6
        generalTierFlag = b1 & 0x20 != 0
        generalProfileIDC = b1 & 0x1F
        generalProfileCompatibilityFlags = try r.u32("general_profile_compatibility_flags")
        generalConstraintIndicatorFlags = try r.bytes(6, "general_constraint_indicator_flags")
        generalLevelIDC = try r.u8("general_level_idc")
        _ = try r.u16("min_spatial_segmentation_idc")
        _ = try r.u8("parallelismType")
        chromaFormat = try r.u8("chromaFormat") & 0x03
        bitDepthLumaMinus8 = try r.u8("bitDepthLumaMinus8") & 0x07
        _ = try r.u8("bitDepthChromaMinus8")
        _ = try r.u16("avgFrameRate")
        lengthSizeMinusOne = try r.u8("lengthSizeMinusOne") & 0x03
        guard lengthSizeMinusOne != 2 else { throw .invalidLengthSize(3) }
        let count = Int(try r.u8("numOfArrays"))
        arrays = []
        for _ in 0..<count {
            let b = try r.u8("NAL_unit_type")
            let n = Int(try r.u16("numNalus"))
            var units: [[UInt8]] = []
            for _ in 0..<n {
                let length = Int(try r.u16("nalUnitLength"))
                units.append(try r.bytes(length, "nalUnit"))
            }
            arrays.append(NALArray(completeness: b & 0x80 != 0, nalUnitType: b & 0x3F, units: units))
        }
    }
}

/// AV1 codec configuration (AV1 Codec ISO Media File Format Binding, 2.3.3), the body of an
/// av01 SequenceStart: four fixed bytes, then config OBUs (normally the sequence header).
public struct AV1CodecConfigurationRecord: Sendable, Hashable {
    public var seqProfile: UInt8
    public var seqLevelIdx0: UInt8
    public var seqTier0: Bool
    public var highBitdepth: Bool
    public var twelveBit: Bool
    public var monochrome: Bool
    public var chromaSubsamplingX: Bool
    public var chromaSubsamplingY: Bool
    public var chromaSamplePosition: UInt8
    /// Low-overhead OBUs (with size fields), typically one sequence header OBU.
    public var configOBUs: [UInt8]

    /// 8, 10 or 12.
    public var bitDepth: Int { twelveBit ? 12 : highBitdepth ? 10 : 8 }

    public init<Bytes: Collection>(_ bytes: Bytes) throws(CodecConfigError) where Bytes.Element == UInt8 {
        var r = ByteReader(Array(bytes))
        let b0 = try r.u8("marker/version")
        guard b0 & 0x80 != 0 else { throw .invalidMarker(field: "marker") }
        guard b0 & 0x7F == 1 else { throw .unsupportedVersion(b0 & 0x7F) }
        let b1 = try r.u8("seq_profile")
        seqProfile = b1 >> 5
        seqLevelIdx0 = b1 & 0x1F
        let b2 = try r.u8("seq_tier_0")
        seqTier0 = b2 & 0x80 != 0
        highBitdepth = b2 & 0x40 != 0
        twelveBit = b2 & 0x20 != 0
        monochrome = b2 & 0x10 != 0
        chromaSubsamplingX = b2 & 0x08 != 0
        chromaSubsamplingY = b2 & 0x04 != 0
        chromaSamplePosition = b2 & 0x03
        _ = try r.u8("initial_presentation_delay")
        configOBUs = r.remaining
    }
}

/// The Opus ID header (RFC 7845 5.1, "OpusHead"), the body of an Opus SequenceStart: what
/// the dOps box of "Opus in ISOBMFF" is made from. Its integers are little-endian.
public struct OpusHeader: Sendable, Hashable {
    public var version: UInt8
    public var channelCount: UInt8
    public var preSkip: UInt16
    public var inputSampleRate: UInt32
    /// Q7.8 dB.
    public var outputGain: Int16
    public var mappingFamily: UInt8
    /// Present when `mappingFamily` is not 0.
    public var streamCount: UInt8?
    public var coupledCount: UInt8?
    public var channelMapping: [UInt8]

    static let magic = Array("OpusHead".utf8)

    public init<Bytes: Collection>(_ bytes: Bytes) throws(CodecConfigError) where Bytes.Element == UInt8 {
        var r = ByteReader(Array(bytes))
        guard try r.bytes(8, "OpusHead") == Self.magic else { throw .invalidMarker(field: "OpusHead") }
        version = try r.u8("version")
        // Only the major version (upper nibble) is incompatible.
        guard version >> 4 == 0 else { throw .unsupportedVersion(version) }
        channelCount = try r.u8("channel count")
        guard channelCount > 0 else { throw .invalidChannelMapping }
        preSkip = (try r.u16("pre-skip")).byteSwapped
        inputSampleRate = (try r.u32("input sample rate")).byteSwapped
        outputGain = Int16(bitPattern: (try r.u16("output gain")).byteSwapped)
        mappingFamily = try r.u8("channel mapping family")
        if mappingFamily == 0 {
            guard channelCount <= 2 else { throw .invalidChannelMapping }
            streamCount = nil
            coupledCount = nil
            channelMapping = []
        } else {
            let streams = try r.u8("stream count")
            let coupled = try r.u8("coupled count")
            guard streams > 0, coupled <= streams, Int(streams) + Int(coupled) <= 255 else { throw .invalidChannelMapping }
            streamCount = streams
            coupledCount = coupled
            channelMapping = try r.bytes(Int(channelCount), "channel mapping")
        }
    }
}
