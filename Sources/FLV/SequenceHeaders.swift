/// The latest onMetaData, video and audio sequence header tags of a stream: sent to every
/// new subscriber before any media, since decoders need them and chunks do not carry them.
public struct SequenceHeaders: Sendable, Hashable {
    public private(set) var metadata: FLVTag?
    public private(set) var video: FLVTag?
    public private(set) var audio: FLVTag?

    /// What `update` did with a tag.
    public enum Update: Sendable, Hashable {
        /// Not metadata or a sequence header: nothing kept.
        case notAHeader
        /// Same data as the one already kept (publishers repeat them); only its timestamp is taken.
        case unchanged
        /// New data: the first one, or the publisher changed its configuration.
        case changed
    }

    public init() {}

    public var isEmpty: Bool { metadata == nil && video == nil && audio == nil }

    /// Keeps `tag` if it is metadata or a sequence header. `kind` saves classifying it twice.
    @discardableResult
    public mutating func update(with tag: FLVTag, kind: TagKind? = nil) -> Update {
        switch kind ?? tag.kind {
        case .metadata: Self.replace(&metadata, with: tag)
        case .videoSequenceHeader: Self.replace(&video, with: tag)
        case .audioSequenceHeader: Self.replace(&audio, with: tag)
        default: .notAHeader
        }
    }

    private static func replace(_ slot: inout FLVTag?, with tag: FLVTag) -> Update {
        defer { slot = tag }
        return slot?.data == tag.data && slot?.type == tag.type ? .unchanged : .changed
    }

    /// Metadata first, then video, then audio: the order an FLV file has them.
    public var tags: [FLVTag] { [metadata, video, audio].compactMap { $0 } }

    /// The serialized tags, as sent in MediaData(kind: MEDIA_SEQUENCE_HEADERS).
    public func serialized() -> [UInt8] {
        let tags = tags
        var out = [UInt8]()
        out.reserveCapacity(tags.reduce(0) { $0 + $1.serializedSize })
        for tag in tags { tag.write(into: &out) }
        return out
    }
}
