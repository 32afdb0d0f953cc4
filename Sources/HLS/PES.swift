/// PES packet headers (ISO/IEC 13818-1 2.4.3.6) with 90 kHz PTS/DTS.
enum PES {
    static let videoStreamID: UInt8 = 0xE0
    static let audioStreamID: UInt8 = 0xC0

    /// Header for one access unit. DTS is written only when it differs from PTS. The
    /// length is 0 ("unbounded", allowed for video only) when the packet exceeds 65535 bytes
    /// or `unbounded` is set: video frames routinely do, so video always uses it.
    static func header(streamID: UInt8, pts: UInt64, dts: UInt64?, payloadSize: Int, unbounded: Bool) -> [UInt8] {
        let withDTS = dts != nil && dts != pts
        let headerDataLength = withDTS ? 10 : 5
        let packetLength = 3 + headerDataLength + payloadSize
        let lengthField = unbounded || packetLength > 0xFFFF ? 0 : packetLength
        var h: [UInt8] = [0x00, 0x00, 0x01, streamID, UInt8(lengthField >> 8), UInt8(lengthField & 0xFF),
                          0x84,                        // '10', not scrambled, data_alignment_indicator
                          withDTS ? 0xC0 : 0x80,       // PTS_DTS_flags
                          UInt8(headerDataLength)]
        h += encodeTimestamp(pts, prefix: withDTS ? 0b0011 : 0b0010)
        if withDTS, let dts { h += encodeTimestamp(dts, prefix: 0b0001) }
        return h
    }

    /// 33 bits as [prefix:4][32..30][1] [29..22] [21..15][1] [14..7] [6..0][1].
    static func encodeTimestamp(_ value: UInt64, prefix: UInt8) -> [UInt8] {
        let t = value & 0x1_FFFF_FFFF
        return [prefix << 4 | UInt8(truncatingIfNeeded: t >> 29) & 0x0E | 1,
                UInt8(truncatingIfNeeded: t >> 22),
                UInt8(truncatingIfNeeded: t >> 14) & 0xFE | 1,
                UInt8(truncatingIfNeeded: t >> 7),
                UInt8(truncatingIfNeeded: t << 1) | 1]
    }
}
