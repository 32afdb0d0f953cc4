/// Keyframe positions, and where a subscriber that fell behind rejoins.
public enum KeyframeIndex {
    /// The video keyframes in serialized tags (a chunk body as a node received it).
    public static func scan(_ bytes: [UInt8]) throws(FLVError) -> [Keyframe] {
        var parser = FLVParser()
        let tags = try parser.feed(bytes)
        try parser.finish()
        var keyframes: [Keyframe] = []
        var offset = 0
        for tag in tags {
            if tag.kind.isKeyframe { keyframes.append(Keyframe(offset: offset, timestamp: tag.timestamp)) }
            offset += tag.serializedSize
        }
        return keyframes
    }

    /// Where a lagging subscriber is moved to, after its queue is dropped.
    public enum SkipTarget: Sendable, Hashable {
        /// Send the open chunk `seq` from byte `offset` (a keyframe, or 0 for audio only),
        /// then follow live.
        case replay(seq: UInt64, offset: Int)
        /// Send nothing until chunk `seq` starts, then follow live.
        case waitFor(seq: UInt64)
    }

    /// The open chunk from its latest keyframe (the least to send that still decodes), or
    /// from its start when it has no video at all; otherwise wait for the next chunk.
    public static func skipTarget(open: Chunker.OpenChunk?, nextSeq: UInt64) -> SkipTarget {
        guard let open else { return .waitFor(seq: nextSeq) }
        if let latest = open.keyframes.last { return .replay(seq: open.seq, offset: latest.offset) }
        if !open.containsVideo { return .replay(seq: open.seq, offset: 0) }
        return .waitFor(seq: nextSeq)
    }
}

extension Chunker {
    /// `KeyframeIndex.skipTarget` for this chunker's open chunk.
    public var skipTarget: KeyframeIndex.SkipTarget { KeyframeIndex.skipTarget(open: openChunk, nextSeq: nextSeq) }
}
