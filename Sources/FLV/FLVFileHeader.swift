/// The 9-byte FLV file header: "FLV", version 1, type flags, DataOffset 9.
/// A file then continues with PreviousTagSize0 (always 0) and tag + PreviousTagSize pairs.
public struct FLVFileHeader: Sendable, Hashable {
    public static let size = 9
    public static let signature: [UInt8] = Array("FLV".utf8)

    public var hasAudio: Bool
    public var hasVideo: Bool

    public init(hasAudio: Bool = true, hasVideo: Bool = true) {
        self.hasAudio = hasAudio
        self.hasVideo = hasVideo
    }

    /// The header and PreviousTagSize0 (13 bytes): what HTTP-FLV sends before the first tag.
    public func serialized() -> [UInt8] {
        let flags: UInt8 = (hasAudio ? 0x04 : 0) | (hasVideo ? 0x01 : 0)
        return Self.signature + [0x01, flags, 0, 0, 0, 9, 0, 0, 0, 0]
    }
}
