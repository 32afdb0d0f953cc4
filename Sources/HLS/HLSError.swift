import FLV

/// Why a chunk could not be turned into an HLS segment (MPEG-TS or fMP4). The muxers never
/// trap on bad input: everything a publisher controls ends up here.
public enum HLSError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The chunk's bytes are not a valid run of FLV tags.
    case flv(FLVError)
    /// A video or audio tag header (legacy or Enhanced RTMP) could not be read.
    case packet(MediaPacketError)
    /// A sequence header's configuration record could not be read.
    case codecConfiguration(CodecConfigError)
    /// Media of this type arrived with no sequence header to decode it.
    case missingSequenceHeader(FLVTagType)
    /// A codec neither muxer carries (VP9, VP8, Sorenson, ...).
    case unsupportedVideoCodec(VideoCodec)
    /// An audio codec neither muxer carries (MP3, FLAC, AC-3, ...).
    case unsupportedAudioCodec(AudioCodec)
    /// A codec only the fMP4 muxer carries (AV1): ask for the fMP4 rendition instead.
    case videoCodecNotInMPEGTS(VideoCodec)
    /// Opus: fMP4 only.
    case audioCodecNotInMPEGTS(AudioCodec)
    /// An AudioSpecificConfig ADTS cannot describe: an object type over 4 that is not
    /// HE-AAC, an explicit sampling rate (index 15), or channel configuration 0 (a PCE).
    case unsupportedAudioConfiguration(AudioSpecificConfig)
    /// A NAL unit length prefix (or the unit it announces) runs past the end of the tag.
    case truncatedNALUnit(offset: Int, needed: Int, available: Int)
    /// A raw AAC frame too long for the 13-bit ADTS frame length.
    case audioFrameTooLarge(Int)
    /// The SPS (H.264/H.265) or AV1 sequence header the init segment needs for the picture
    /// size is missing or cannot be read.
    case invalidSequenceParameters(VideoCodec)
    /// An Opus packet whose TOC byte does not give its duration (RFC 6716 3.1).
    case invalidOpusPacket(size: Int)
    /// A different sequence header inside the tags of one fMP4 fragment: one fragment has
    /// one init segment, so a new configuration must start a new fragment.
    case configurationChangedInsideFragment(FLVTagType)

    public var description: String {
        switch self {
        case .flv(let e): "chunk is not valid FLV: \(e)"
        case .packet(let e): "bad media tag: \(e)"
        case .codecConfiguration(let e): "bad sequence header: \(e)"
        case .missingSequenceHeader(let t): "\(t) data without a sequence header"
        case .unsupportedVideoCodec(let c): "video codec \(c) is not supported for HLS (H.264, HEVC, AV1 only)"
        case .unsupportedAudioCodec(let c): "audio codec \(c) is not supported for HLS (AAC, Opus only)"
        case .videoCodecNotInMPEGTS(let c): "video codec \(c) is served as fMP4 HLS only, not MPEG-TS"
        case .audioCodecNotInMPEGTS(let c): "audio codec \(c) is served as fMP4 HLS only, not MPEG-TS"
        case .unsupportedAudioConfiguration(let c): "AAC configuration \(c) cannot be written as ADTS"
        case .truncatedNALUnit(let o, let n, let a): "NAL unit at \(o) needs \(n) bytes, \(a) available"
        case .audioFrameTooLarge(let n): "AAC frame of \(n) bytes is too large for ADTS"
        case .invalidSequenceParameters(let c): "\(c) sequence parameters missing or unreadable"
        case .invalidOpusPacket(let n): "Opus packet of \(n) bytes has no valid TOC"
        case .configurationChangedInsideFragment(let t): "\(t) sequence header changed inside one fMP4 fragment"
        }
    }
}
