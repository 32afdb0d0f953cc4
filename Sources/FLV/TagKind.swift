/// Video codecs, from the legacy CodecID nibble or an Enhanced RTMP FourCC.
public enum VideoCodec: Hashable, Sendable {
    case avc    // CodecID 7, FourCC "avc1"
    case hevc   // CodecID 12 (the pre-E-RTMP extension some encoders use), FourCC "hvc1"
    case av1    // FourCC "av01"
    case vp9    // FourCC "vp09"
    case legacy(UInt8)    // another CodecID (Sorenson, VP6, ...)
    case fourCC(UInt32)   // another FourCC
    case unknown          // too short to say, or a command frame that names none

    init(codecID: UInt8) {
        switch codecID {
        case 7: self = .avc
        case 12: self = .hevc
        default: self = .legacy(codecID)
        }
    }

    init(fourCC: UInt32) {
        switch fourCC {
        case FourCC("avc1"): self = .avc
        case FourCC("hvc1"): self = .hevc
        case FourCC("av01"): self = .av1
        case FourCC("vp09"): self = .vp9
        default: self = .fourCC(fourCC)
        }
    }
}

/// Audio codecs, from the legacy SoundFormat nibble or an Enhanced RTMP FourCC.
public enum AudioCodec: Hashable, Sendable {
    case aac    // SoundFormat 10, FourCC "mp4a"
    case mp3    // SoundFormat 2, FourCC ".mp3"
    case opus, flac, ac3, eac3
    case legacy(UInt8)
    case fourCC(UInt32)
    case unknown

    init(soundFormat: UInt8) {
        switch soundFormat {
        case 10: self = .aac
        case 2: self = .mp3
        default: self = .legacy(soundFormat)
        }
    }

    init(fourCC: UInt32) {
        switch fourCC {
        case FourCC("mp4a"): self = .aac
        case FourCC(".mp3"): self = .mp3
        case FourCC("Opus"): self = .opus
        case FourCC("fLaC"): self = .flac
        case FourCC("ac-3"): self = .ac3
        case FourCC("ec-3"): self = .eac3
        default: self = .fourCC(fourCC)
        }
    }
}

/// Four ASCII characters as the big-endian UInt32 they travel as.
@inline(__always) func FourCC(_ text: StaticString) -> UInt32 {
    precondition(text.utf8CodeUnitCount == 4)
    let p = text.utf8Start
    return UInt32(p[0]) << 24 | UInt32(p[1]) << 16 | UInt32(p[2]) << 8 | UInt32(p[3])
}

/// What a tag is, as far as chunking and subscribers care.
public enum TagKind: Hashable, Sendable {
    /// Script data named "onMetaData" (also inside "@setDataFrame").
    case metadata
    /// Any other script data.
    case script
    /// Decoder configuration: AVCDecoderConfigurationRecord, HEVC/AV1/VP9 records.
    case videoSequenceHeader(VideoCodec)
    /// A frame a decoder can start at (frame type 1), not a sequence header.
    case videoKeyframe(VideoCodec)
    /// Inter frames, end of sequence, command and metadata frames.
    case video(VideoCodec)
    /// Decoder configuration, e.g. AAC's AudioSpecificConfig.
    case audioSequenceHeader(AudioCodec)
    case audio(AudioCodec)

    public var isSequenceHeader: Bool {
        switch self {
        case .videoSequenceHeader, .audioSequenceHeader: true
        default: false
        }
    }

    public var isVideo: Bool {
        switch self {
        case .videoSequenceHeader, .videoKeyframe, .video: true
        default: false
        }
    }

    public var isKeyframe: Bool {
        if case .videoKeyframe = self { return true }
        return false
    }
}

extension FLVTag {
    /// The tag's kind, read from the first bytes of its data (never throws: a tag too short
    /// to tell is plain `.video(.unknown)` / `.audio(.unknown)`).
    public var kind: TagKind { TagClassifier.classify(type, data[...]).kind }

    /// For a sequence header, the codec configuration it carries (AVCDecoderConfigurationRecord,
    /// AudioSpecificConfig, ...); nil for other tags or when it is empty.
    public var codecConfiguration: ArraySlice<UInt8>? {
        guard let offset = TagClassifier.classify(type, data[...]).configurationOffset, offset < data.count else { return nil }
        return data[offset...]
    }
}

enum TagClassifier {
    struct Result {
        var kind: TagKind
        /// Where a sequence header's configuration record starts in the data.
        var configurationOffset: Int?
    }

    // Enhanced RTMP packet types shared by video and audio (v2 spec).
    private static let sequenceStart: UInt8 = 0
    private static let codedFrames: UInt8 = 1
    private static let videoMetadata: UInt8 = 4
    private static let videoMultitrack: UInt8 = 6
    private static let audioMultitrack: UInt8 = 5
    private static let modEx: UInt8 = 7
    private static let keyFrame: UInt8 = 1
    private static let commandFrame: UInt8 = 5

    static func classify(_ type: FLVTagType, _ d: ArraySlice<UInt8>) -> Result {
        switch type {
        case .script: Result(kind: ScriptData.isMetadata(d) ? .metadata : .script)
        case .video: video(Bytes(d))
        case .audio: audio(Bytes(d))
        }
    }

    private static func video(_ d: Bytes) -> Result {
        guard d.count > 0 else { return Result(kind: .video(.unknown)) }
        let b0 = d[0]
        if b0 & 0x80 == 0 {
            let frameType = b0 >> 4
            let codec = VideoCodec(codecID: b0 & 0x0f)
            if codec == .avc || codec == .hevc {
                guard d.count >= 2 else { return Result(kind: .video(codec)) }
                switch d[1] {  // AVCPacketType
                case 0: return Result(kind: .videoSequenceHeader(codec), configurationOffset: 5)
                case 1 where frameType == keyFrame: return Result(kind: .videoKeyframe(codec))
                default: return Result(kind: .video(codec))
                }
            }
            return Result(kind: frameType == keyFrame ? .videoKeyframe(codec) : .video(codec))
        }
        // Enhanced RTMP: [IsExHeader:1][FrameType:3][PacketType:4], then ModEx, then FourCC.
        let frameType = (b0 >> 4) & 0x07
        var packetType = b0 & 0x0f
        var i = 1
        guard skipModEx(d, packetType: &packetType, at: &i) else {
            return Result(kind: .video(.unknown))
        }
        if packetType != videoMetadata && frameType == commandFrame { return Result(kind: .video(.unknown)) }
        var trackHeader = 0
        if packetType == videoMultitrack {
            guard i < d.count else { return Result(kind: .video(.unknown)) }
            let multitrackType = d[i] >> 4
            packetType = d[i] & 0x0f
            i += 1
            // FourCC (here or first in the track loop), track id, and a size unless OneTrack.
            trackHeader = 1 + (multitrackType == 0 ? 0 : 3)
        }
        guard i + 4 <= d.count else { return Result(kind: .video(.unknown)) }
        let codec = VideoCodec(fourCC: d.u32(at: i))
        i += 4 + trackHeader
        if packetType == sequenceStart { return Result(kind: .videoSequenceHeader(codec), configurationOffset: i) }
        if frameType == keyFrame && (packetType == codedFrames || packetType == 3) { return Result(kind: .videoKeyframe(codec)) }
        return Result(kind: .video(codec))
    }

    private static func audio(_ d: Bytes) -> Result {
        guard d.count > 0 else { return Result(kind: .audio(.unknown)) }
        let b0 = d[0]
        let soundFormat = b0 >> 4
        guard soundFormat == 9 else {
            let codec = AudioCodec(soundFormat: soundFormat)
            if codec == .aac && d.count >= 2 && d[1] == 0 {
                return Result(kind: .audioSequenceHeader(.aac), configurationOffset: 2)
            }
            return Result(kind: .audio(codec))
        }
        // Enhanced RTMP audio: SoundFormat 9 = ExHeader, low nibble the packet type.
        var packetType = b0 & 0x0f
        var i = 1
        guard skipModEx(d, packetType: &packetType, at: &i) else {
            return Result(kind: .audio(.unknown))
        }
        var trackHeader = 0
        if packetType == audioMultitrack {
            guard i < d.count else { return Result(kind: .audio(.unknown)) }
            let multitrackType = d[i] >> 4
            packetType = d[i] & 0x0f
            i += 1
            trackHeader = 1 + (multitrackType == 0 ? 0 : 3)
        }
        guard i + 4 <= d.count else { return Result(kind: .audio(.unknown)) }
        let codec = AudioCodec(fourCC: d.u32(at: i))
        i += 4 + trackHeader
        if packetType == sequenceStart { return Result(kind: .audioSequenceHeader(codec), configurationOffset: i) }
        return Result(kind: .audio(codec))
    }

    /// Steps over ModEx blocks (size-prefixed extension data, then a new packet type);
    /// false when the data ends inside one.
    private static func skipModEx(_ d: Bytes, packetType: inout UInt8, at i: inout Int) -> Bool {
        while packetType == modEx {
            guard i < d.count else { return false }
            var size = Int(d[i]) + 1
            i += 1
            if size == 256 {
                guard i + 2 <= d.count else { return false }
                size = Int(d.u16(at: i)) + 1
                i += 2
            }
            i += size
            guard i < d.count else { return false }
            packetType = d[i] & 0x0f
            i += 1
        }
        return true
    }
}

/// Zero-based reads over a slice (tag data may come as a slice of a larger buffer).
struct Bytes {
    let slice: ArraySlice<UInt8>
    init(_ slice: ArraySlice<UInt8>) { self.slice = slice }
    var count: Int { slice.count }
    subscript(i: Int) -> UInt8 { slice[slice.startIndex + i] }
    func u16(at i: Int) -> UInt16 { UInt16(self[i]) << 8 | UInt16(self[i + 1]) }
    func u32(at i: Int) -> UInt32 { UInt32(u16(at: i)) << 16 | UInt32(u16(at: i + 2)) }
}
