/// Why a video or audio tag's header could not be read. Everything here comes from the
/// publisher, so nothing traps: muxers turn these into their own errors.
public enum MediaPacketError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The data ends before `field` (the tag has `size` bytes).
    case truncated(type: FLVTagType, field: String, size: Int)
    /// A packet type the specs reserve (legacy AVCPacketType over 2, E-RTMP 8...15, or a
    /// Multitrack packet type nested in a Multitrack packet).
    case reservedPacketType(type: FLVTagType, UInt8)
    /// AvMultitrackType over 2.
    case reservedMultitrackType(type: FLVTagType, UInt8)

    public var description: String {
        switch self {
        case .truncated(let t, let f, let n): "\(t) tag of \(n) bytes ends inside \(f)"
        case .reservedPacketType(let t, let p): "\(t) packet type \(p) is reserved"
        case .reservedMultitrackType(let t, let m): "\(t) multitrack type \(m) is reserved"
        }
    }
}

/// A video tag's header read in full, legacy or Enhanced RTMP (veovera E-RTMP v1/v2):
/// which codec, what the body is, the composition time, and where the body starts.
public struct VideoPacket: Sendable, Hashable {
    public enum Content: Sendable, Hashable {
        /// The decoder configuration record (avcC, hvcC, av1C, vpcC body).
        case sequenceStart
        /// Coded frames: AVCC/HVCC length-prefixed NAL units, or AV1 OBUs (one temporal unit).
        case codedFrames
        case sequenceEnd
        /// E-RTMP Metadata (AMF, e.g. colorInfo): not video.
        case metadata
        /// E-RTMP MPEG2TSSequenceStart: an AV1 video descriptor, instead of av1C.
        case mpeg2TSSequenceStart
        /// Frame type 5 with a command byte (seek start/end) and no body.
        case command(UInt8)
    }

    public var codec: VideoCodec
    /// 1 keyframe, 2 inter, 3 disposable inter, 4 generated keyframe, 5 command/info.
    public var frameType: UInt8
    public var content: Content
    /// Milliseconds, PTS - DTS: the SI24 of legacy AVC/HEVC and E-RTMP CodedFrames for
    /// avc1/hvc1/vvc1; 0 for CodedFramesX and for codecs without one (AV1, VP9).
    public var compositionTimeMs: Int32
    /// The body: configuration record, frame data, metadata; empty for a command.
    public var payload: ArraySlice<UInt8>
    /// Signalled with a FourCC (IsExHeader set) rather than a CodecID.
    public var isEnhanced: Bool
    /// E-RTMP multitrack track id (0, the default track, for everything else).
    public var trackID: UInt8

    /// Coded frames a decoder can start at.
    public var isKeyframe: Bool { frameType == 1 && content == .codedFrames }

    public init(_ data: ArraySlice<UInt8>) throws(MediaPacketError) {
        var r = PacketReader(data, type: .video)
        let b0 = try r.u8("frame type")
        frameType = b0 >> 4 & 0x07
        compositionTimeMs = 0
        trackID = 0
        if b0 & 0x80 == 0 {
            isEnhanced = false
            codec = VideoCodec(codecID: b0 & 0x0F)
            if frameType == 5 {
                content = .command(try r.u8("video command"))
            } else if codec == .avc || codec == .hevc {
                switch try r.u8("AVCPacketType") {
                case 0: content = .sequenceStart
                case 1: content = .codedFrames
                case 2: content = .sequenceEnd
                case let p: throw .reservedPacketType(type: .video, p)
                }
                compositionTimeMs = try r.si24("CompositionTime")
            } else {
                content = .codedFrames
            }
            payload = r.rest
            return
        }
        isEnhanced = true
        var packetType = try r.skipModEx(packetType: b0 & 0x0F)
        if packetType != 4 && frameType == 5 {
            // A command frame names no codec and has no body.
            codec = .unknown
            content = .command(try r.u8("video command"))
            payload = r.rest
            return
        }
        var multitrack: UInt8?
        if packetType == 6 {
            let b = try r.u8("AvMultitrackType")
            multitrack = b >> 4
            packetType = b & 0x0F
            guard multitrack! <= 2 else { throw .reservedMultitrackType(type: .video, multitrack!) }
            guard packetType != 6 else { throw .reservedPacketType(type: .video, 6) }
        }
        // With one codec for all tracks the FourCC is in the header, with one per track
        // (ManyTracksManyCodecs) it opens each track: either way it comes next.
        codec = VideoCodec(fourCC: try r.u32("FourCC"))
        if let multitrack {
            // The first track only; the default track (id 0) is the one muxers want.
            trackID = try r.u8("track id")
            if multitrack != 0 {
                let size = Int(try r.u24("track size"))
                r.limit(to: size)
            }
        }
        switch packetType {
        case 0: content = .sequenceStart
        case 1:
            content = .codedFrames
            if codec == .avc || codec == .hevc || codec == .fourCC(FourCC("vvc1")) {
                compositionTimeMs = try r.si24("CompositionTime")
            }
        case 2: content = .sequenceEnd
        case 3: content = .codedFrames
        case 4: content = .metadata
        case 5: content = .mpeg2TSSequenceStart
        case let p: throw .reservedPacketType(type: .video, p)
        }
        payload = r.rest
    }
}

/// An audio tag's header read in full, legacy or Enhanced RTMP.
public struct AudioPacket: Sendable, Hashable {
    public enum Content: Sendable, Hashable {
        /// AudioSpecificConfig for AAC, the OpusHead ID header for Opus, ...
        case sequenceStart
        case codedFrames
        case sequenceEnd
        /// E-RTMP MultichannelConfig (channel order and layout): informative here.
        case multichannelConfig
    }

    public var codec: AudioCodec
    public var content: Content
    /// The body: configuration or one coded frame (raw AAC, an Opus packet, ...).
    public var payload: ArraySlice<UInt8>
    public var isEnhanced: Bool
    public var trackID: UInt8

    public init(_ data: ArraySlice<UInt8>) throws(MediaPacketError) {
        var r = PacketReader(data, type: .audio)
        let b0 = try r.u8("sound format")
        trackID = 0
        guard b0 >> 4 == 9 else {
            isEnhanced = false
            codec = AudioCodec(soundFormat: b0 >> 4)
            content = .codedFrames
            if codec == .aac {
                switch try r.u8("AACPacketType") {
                case 0: content = .sequenceStart
                case 1: content = .codedFrames
                case let p: throw .reservedPacketType(type: .audio, p)
                }
            }
            payload = r.rest
            return
        }
        isEnhanced = true
        var packetType = try r.skipModEx(packetType: b0 & 0x0F)
        var multitrack: UInt8?
        if packetType == 5 {
            let b = try r.u8("AvMultitrackType")
            multitrack = b >> 4
            packetType = b & 0x0F
            guard multitrack! <= 2 else { throw .reservedMultitrackType(type: .audio, multitrack!) }
            guard packetType != 5 else { throw .reservedPacketType(type: .audio, 5) }
        }
        codec = AudioCodec(fourCC: try r.u32("FourCC"))
        if let multitrack {
            trackID = try r.u8("track id")
            if multitrack != 0 {
                let size = Int(try r.u24("track size"))
                r.limit(to: size)
            }
        }
        switch packetType {
        case 0: content = .sequenceStart
        case 1: content = .codedFrames
        case 2: content = .sequenceEnd
        case 4: content = .multichannelConfig
        case let p: throw .reservedPacketType(type: .audio, p)
        }
        payload = r.rest
    }
}

/// Bounds-checked reads over tag data, throwing MediaPacketError.
struct PacketReader {
    private var data: ArraySlice<UInt8>
    private let type: FLVTagType
    private let size: Int
    private var at: Int
    private var end: Int

    init(_ data: ArraySlice<UInt8>, type: FLVTagType) {
        self.data = data
        self.type = type
        size = data.count
        at = data.startIndex
        end = data.endIndex
    }

    var rest: ArraySlice<UInt8> { data[at..<end] }

    /// Narrows the rest to `count` bytes (a multitrack track size), or leaves it when
    /// the size runs past the end: the track is then as long as the data allows.
    mutating func limit(to count: Int) { end = min(end, at + count) }

    private func need(_ n: Int, _ field: String) throws(MediaPacketError) {
        guard end - at >= n else { throw .truncated(type: type, field: field, size: size) }
    }

    mutating func u8(_ field: String) throws(MediaPacketError) -> UInt8 {
        try need(1, field)
        defer { at += 1 }
        return data[at]
    }

    mutating func u24(_ field: String) throws(MediaPacketError) -> UInt32 {
        try need(3, field)
        defer { at += 3 }
        return UInt32(data[at]) << 16 | UInt32(data[at + 1]) << 8 | UInt32(data[at + 2])
    }

    mutating func si24(_ field: String) throws(MediaPacketError) -> Int32 {
        Int32(bitPattern: try u24(field) << 8) >> 8
    }

    mutating func u32(_ field: String) throws(MediaPacketError) -> UInt32 {
        try need(4, field)
        defer { at += 4 }
        return UInt32(data[at]) << 24 | UInt32(data[at + 1]) << 16 | UInt32(data[at + 2]) << 8 | UInt32(data[at + 3])
    }

    /// Steps over ModEx blocks (ModEx = 7 in both video and audio packet types) and returns
    /// the packet type after them. TimestampOffsetNano is sub-millisecond: ignored here.
    mutating func skipModEx(packetType: UInt8) throws(MediaPacketError) -> UInt8 {
        var packetType = packetType
        while packetType == 7 {
            var size = Int(try u8("ModEx size")) + 1
            if size == 256 { size = Int(try u16("ModEx size")) + 1 }
            try need(size, "ModEx data")
            at += size
            packetType = try u8("ModEx type") & 0x0F
        }
        return packetType
    }

    private mutating func u16(_ field: String) throws(MediaPacketError) -> UInt16 {
        try need(2, field)
        defer { at += 2 }
        return UInt16(data[at]) << 8 | UInt16(data[at + 1])
    }
}
