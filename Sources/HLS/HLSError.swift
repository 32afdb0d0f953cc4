import FLV

/// Why a chunk could not be turned into an MPEG-TS segment. The muxer never traps on bad
/// input: everything a publisher controls ends up here.
public enum HLSError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The chunk's bytes are not a valid run of FLV tags.
    case flv(FLVError)
    /// A sequence header's configuration record could not be read.
    case codecConfiguration(CodecConfigError)
    /// Media of this type arrived with no sequence header to decode it.
    case missingSequenceHeader(FLVTagType)
    /// Only H.264 (AVC) is muxed; HEVC, AV1, VP9 and the legacy codecs are refused.
    case unsupportedVideoCodec(VideoCodec)
    /// Only AAC is muxed (as ADTS).
    case unsupportedAudioCodec(AudioCodec)
    /// An AudioSpecificConfig ADTS cannot describe: an object type over 4 that is not
    /// HE-AAC, an explicit sampling rate (index 15), or channel configuration 0 (a PCE).
    case unsupportedAudioConfiguration(AudioSpecificConfig)
    /// An Enhanced RTMP tag (FourCC signalling): only the legacy AVC/AAC tag layout is read.
    case enhancedRTMPTag(FLVTagType)
    /// A video or audio tag shorter than its fixed header.
    case truncatedTag(type: FLVTagType, size: Int)
    /// A NAL unit length prefix (or the unit it announces) runs past the end of the tag.
    case truncatedNALUnit(offset: Int, needed: Int, available: Int)
    /// A raw AAC frame too long for the 13-bit ADTS frame length.
    case audioFrameTooLarge(Int)

    public var description: String {
        switch self {
        case .flv(let e): "chunk is not valid FLV: \(e)"
        case .codecConfiguration(let e): "bad sequence header: \(e)"
        case .missingSequenceHeader(let t): "\(t) data without a sequence header"
        case .unsupportedVideoCodec(let c): "video codec \(c) is not supported for HLS (H.264 only)"
        case .unsupportedAudioCodec(let c): "audio codec \(c) is not supported for HLS (AAC only)"
        case .unsupportedAudioConfiguration(let c): "AAC configuration \(c) cannot be written as ADTS"
        case .enhancedRTMPTag(let t): "Enhanced RTMP \(t) tags are not supported for HLS"
        case .truncatedTag(let t, let n): "\(t) tag of \(n) bytes is shorter than its header"
        case .truncatedNALUnit(let o, let n, let a): "NAL unit at \(o) needs \(n) bytes, \(a) available"
        case .audioFrameTooLarge(let n): "AAC frame of \(n) bytes is too large for ADTS"
        }
    }
}
