/// The kind of an FLV tag: the low five bits of the tag header's first byte. The two reserved
/// bits and the filter (encryption) bit must be zero, so any other byte is refused.
public enum FLVTagType: UInt8, Sendable, Hashable, CaseIterable {
    case audio = 8
    case video = 9
    case script = 18
}

/// One FLV tag: what the ingest builds from an RTMP audio, video or data message, and what
/// chunks are made of once serialized.
public struct FLVTag: Sendable, Hashable {
    /// Largest payload the 24-bit DataSize field can describe.
    public static let maxDataSize = (1 << 24) - 1
    /// Tag header length; the PreviousTagSize after each tag is 4 more bytes.
    public static let headerSize = 11

    public var type: FLVTagType
    /// Milliseconds, all 32 bits: the low 24 go in Timestamp, the top 8 in TimestampExtended.
    public var timestamp: UInt32
    /// StreamID: always 0 in files this project writes; a parsed non-zero value is kept as is
    /// (24 bits) so re-serializing gives back the same bytes.
    public var streamID: UInt32
    /// The payload (the RTMP message body), at most `maxDataSize` bytes.
    public var data: [UInt8]

    public init(type: FLVTagType, timestamp: UInt32, streamID: UInt32 = 0, data: [UInt8]) {
        self.type = type
        self.timestamp = timestamp
        self.streamID = streamID & 0xFF_FFFF
        self.data = data
    }

    /// Bytes this tag takes serialized: header, data and its PreviousTagSize.
    public var serializedSize: Int { Self.headerSize + data.count + 4 }

    /// Header + data + PreviousTagSize (11 + data.count): the exact form carried in
    /// MediaData.tags and concatenated into chunks.
    public func serialized() -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(serializedSize)
        write(into: &out)
        return out
    }

    /// Appends the serialized tag to `out` (one bulk copy of the data).
    public func write(into out: inout [UInt8]) {
        // A larger payload cannot be described by the format; the ingest refuses such RTMP
        // messages before they get here, so this is a programming error.
        precondition(data.count <= Self.maxDataSize, "FLV tag data over 16 MiB - 1")
        let size = UInt32(data.count)
        let ts = timestamp
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Self.headerSize) { h in
            h[0] = type.rawValue
            h[1] = UInt8(truncatingIfNeeded: size >> 16)
            h[2] = UInt8(truncatingIfNeeded: size >> 8)
            h[3] = UInt8(truncatingIfNeeded: size)
            h[4] = UInt8(truncatingIfNeeded: ts >> 16)
            h[5] = UInt8(truncatingIfNeeded: ts >> 8)
            h[6] = UInt8(truncatingIfNeeded: ts)
            h[7] = UInt8(truncatingIfNeeded: ts >> 24)  // TimestampExtended: the high byte
            h[8] = UInt8(truncatingIfNeeded: streamID >> 16)
            h[9] = UInt8(truncatingIfNeeded: streamID >> 8)
            h[10] = UInt8(truncatingIfNeeded: streamID)
            out.append(contentsOf: h)
        }
        out.append(contentsOf: data)
        out.appendUInt32(UInt32(Self.headerSize) + size)
    }
}

extension [UInt8] {
    mutating func appendUInt32(_ v: UInt32) {
        append(UInt8(truncatingIfNeeded: v >> 24))
        append(UInt8(truncatingIfNeeded: v >> 16))
        append(UInt8(truncatingIfNeeded: v >> 8))
        append(UInt8(truncatingIfNeeded: v))
    }
}
