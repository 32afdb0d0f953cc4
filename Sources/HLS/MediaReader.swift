import FLV

/// A video track's decoder configuration, from its sequence header tag; the record's bytes
/// are kept as sent, since fMP4 carries them unchanged (avcC, hvcC, av1C).
public enum VideoConfiguration: Sendable, Hashable {
    case avc(AVCDecoderConfigurationRecord, record: [UInt8])
    case hevc(HEVCDecoderConfigurationRecord, record: [UInt8])
    case av1(AV1CodecConfigurationRecord, record: [UInt8])

    public var codec: VideoCodec {
        switch self {
        case .avc: .avc
        case .hevc: .hevc
        case .av1: .av1
        }
    }

    public var record: [UInt8] {
        switch self {
        case .avc(_, let r), .hevc(_, let r), .av1(_, let r): r
        }
    }

    /// Bytes before each NAL unit in a frame; nil for AV1 (OBUs carry their own sizes).
    var nalLengthSize: Int? {
        switch self {
        case .avc(let c, _): c.nalLengthSize
        case .hevc(let c, _): c.nalLengthSize
        case .av1: nil
        }
    }
}

/// An audio track's decoder configuration: AudioSpecificConfig (esds) or OpusHead (dOps).
public enum AudioConfiguration: Sendable, Hashable {
    case aac(AudioSpecificConfig, config: [UInt8])
    case opus(OpusHeader, head: [UInt8])

    public var codec: AudioCodec {
        switch self {
        case .aac: .aac
        case .opus: .opus
        }
    }
}

/// What a chunk's tags mean to a muxer, in tag order.
enum MediaEvent: Sendable {
    case videoConfiguration(VideoConfiguration)
    case audioConfiguration(AudioConfiguration)
    case video(VideoSample)
    case audio(AudioSample)
}

struct VideoSample: Sendable {
    var codec: VideoCodec
    var timestamp: UInt32
    var compositionTimeMs: Int32
    var keyframe: Bool
    /// Length-prefixed NAL units (AVC/HEVC) or OBUs (AV1), as the tag carried them.
    var data: ArraySlice<UInt8>
}

struct AudioSample: Sendable {
    var codec: AudioCodec
    var timestamp: UInt32
    /// A raw AAC frame or an Opus packet, as the tag carried it.
    var data: ArraySlice<UInt8>
}

/// Reads FLV tags (legacy or Enhanced RTMP) into configurations and samples, shared by the
/// MPEG-TS and fMP4 muxers. Tags that carry nothing to decode (empty tags, sequence end,
/// commands, E-RTMP metadata and multichannel config, tracks other than the default
/// track 0) are dropped here.
enum MediaReader {
    static func events(_ tags: [FLVTag]) throws(HLSError) -> [MediaEvent] {
        var events: [MediaEvent] = []
        events.reserveCapacity(tags.count)
        for tag in tags where !tag.data.isEmpty {
            switch tag.type {
            case .script: continue
            case .video:
                let packet: VideoPacket
                do { packet = try VideoPacket(tag.data[...]) } catch { throw .packet(error) }
                guard packet.trackID == 0 else { continue }
                switch packet.content {
                case .sequenceStart: events.append(.videoConfiguration(try videoConfiguration(packet)))
                case .codedFrames:
                    try checkVideoCodec(packet.codec)
                    guard !packet.payload.isEmpty else { continue }
                    events.append(.video(VideoSample(codec: packet.codec, timestamp: tag.timestamp, compositionTimeMs: packet.compositionTimeMs,
                                                     keyframe: packet.isKeyframe, data: packet.payload)))
                case .sequenceEnd, .metadata, .mpeg2TSSequenceStart, .command: continue
                }
            case .audio:
                let packet: AudioPacket
                do { packet = try AudioPacket(tag.data[...]) } catch { throw .packet(error) }
                guard packet.trackID == 0 else { continue }
                switch packet.content {
                case .sequenceStart: events.append(.audioConfiguration(try audioConfiguration(packet)))
                case .codedFrames:
                    try checkAudioCodec(packet.codec)
                    guard !packet.payload.isEmpty else { continue }
                    events.append(.audio(AudioSample(codec: packet.codec, timestamp: tag.timestamp, data: packet.payload)))
                case .sequenceEnd, .multichannelConfig: continue
                }
            }
        }
        return events
    }

    /// The configuration a sequence header tag carries.
    static func videoConfiguration(_ tag: FLVTag) throws(HLSError) -> VideoConfiguration {
        let packet: VideoPacket
        do { packet = try VideoPacket(tag.data[...]) } catch { throw .packet(error) }
        return try videoConfiguration(packet)
    }

    static func audioConfiguration(_ tag: FLVTag) throws(HLSError) -> AudioConfiguration {
        let packet: AudioPacket
        do { packet = try AudioPacket(tag.data[...]) } catch { throw .packet(error) }
        return try audioConfiguration(packet)
    }

    private static func videoConfiguration(_ packet: VideoPacket) throws(HLSError) -> VideoConfiguration {
        guard packet.content == .sequenceStart else { throw .missingSequenceHeader(.video) }
        try checkVideoCodec(packet.codec)
        let record = Array(packet.payload)
        do {
            switch packet.codec {
            case .avc: return .avc(try AVCDecoderConfigurationRecord(record), record: record)
            case .hevc: return .hevc(try HEVCDecoderConfigurationRecord(record), record: record)
            default: return .av1(try AV1CodecConfigurationRecord(record), record: record)
            }
        } catch {
            throw .codecConfiguration(error)
        }
    }

    private static func audioConfiguration(_ packet: AudioPacket) throws(HLSError) -> AudioConfiguration {
        guard packet.content == .sequenceStart else { throw .missingSequenceHeader(.audio) }
        try checkAudioCodec(packet.codec)
        var bytes = Array(packet.payload)
        // E-RTMP allows an empty Opus SequenceStart: "default to mono/stereo mode". A stereo
        // OpusHead (no pre-skip) decodes mono and stereo packets alike.
        if packet.codec == .opus && bytes.isEmpty { bytes = Self.defaultOpusHead }
        do {
            switch packet.codec {
            case .aac: return .aac(try AudioSpecificConfig(bytes), config: bytes)
            default: return .opus(try OpusHeader(bytes), head: bytes)
            }
        } catch {
            throw .codecConfiguration(error)
        }
    }

    static let defaultOpusHead: [UInt8] = Array("OpusHead".utf8) + [1, 2, 0, 0, 0x80, 0xBB, 0, 0, 0, 0, 0]

    private static func checkVideoCodec(_ codec: VideoCodec) throws(HLSError) {
        guard codec == .avc || codec == .hevc || codec == .av1 else { throw .unsupportedVideoCodec(codec) }
    }

    private static func checkAudioCodec(_ codec: AudioCodec) throws(HLSError) {
        guard codec == .aac || codec == .opus else { throw .unsupportedAudioCodec(codec) }
    }
}
