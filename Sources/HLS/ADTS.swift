import FLV

/// The 7-byte ADTS header (ISO/IEC 14496-3 1.A.2.2, no CRC) that MPEG-TS carries before each
/// raw AAC frame, since a TS has no other place for the AudioSpecificConfig.
public struct ADTSHeader: Sendable, Hashable {
    public static let size = 7
    /// The 13-bit frame length counts the header too.
    public static let maxPayloadSize = (1 << 13) - 1 - size

    /// ADTS profile: the audio object type minus one (0 Main, 1 LC, 2 SSR, 3 LTP).
    public var profile: UInt8
    public var sampleRateIndex: UInt8
    public var channelConfiguration: UInt8

    /// HE-AAC (object type 5, SBR, or 29, PS) is written as its AAC-LC core, the implicit
    /// signalling ADTS allows: the decoder finds the SBR/PS data in the frames themselves.
    /// The index and channels of an explicit HE-AAC config are the core's already.
    public init(_ config: AudioSpecificConfig) throws(HLSError) {
        switch config.objectType {
        case 1...4: profile = config.objectType - 1
        case 5, 29: profile = 1
        default: throw .unsupportedAudioConfiguration(config)
        }
        guard config.sampleRateIndex <= 12, (1...7).contains(config.channelConfiguration) else {
            throw .unsupportedAudioConfiguration(config)
        }
        sampleRateIndex = config.sampleRateIndex
        channelConfiguration = config.channelConfiguration
    }

    /// The header for a raw frame of `payloadSize` bytes.
    public func bytes(payloadSize: Int) throws(HLSError) -> [UInt8] {
        guard payloadSize <= Self.maxPayloadSize else { throw .audioFrameTooLarge(payloadSize) }
        let length = payloadSize + Self.size
        return [0xFF, 0xF1,  // syncword, MPEG-4, layer 0, protection_absent
                profile << 6 | sampleRateIndex << 2 | channelConfiguration >> 2,  // private_bit 0
                (channelConfiguration & 0x03) << 6 | UInt8(length >> 11),           // original/home/copyright 0
                UInt8(length >> 3 & 0xFF),
                UInt8(length & 0x07) << 5 | 0x1F,  // buffer fullness 0x7FF: variable bit rate
                0xFC]                               // ... and one raw data block per frame
    }
}
