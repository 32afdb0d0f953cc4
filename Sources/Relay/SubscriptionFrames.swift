import LiveMedia
import NIOCore
import StreamrWire

/// The wire form of a relay subscription: live frames as MediaData envelopes (consecutive
/// frames of one chunk and kind in one envelope), seals as ChunkSealed, each length-delimited,
/// back to back in one buffer that every in-step subscriber of a batch shares.
public enum SubscriptionFrames {
    /// The key a batch's shared encoding is kept under.
    public static let batchKey = "relay-subscription"

    /// The frames for `items` of `stream`.
    public static func encode(_ items: [LiveItem], stream: String, prefix: [Envelope] = []) -> ByteBuffer {
        var out = ByteBuffer()
        var group: (seq: UInt64, kind: MediaKind, ts: UInt32, parts: [ByteBuffer])?
        func put(_ envelope: Envelope) {
            // A frame we build ourselves is within the limit (a chunk is under 64 MiB, frames under 16 MiB).
            try? EnvelopeFrameEncoder(maxFrameBytes: Int.max).encode(data: envelope, out: &out)
        }
        func closeGroup() {
            guard let g = group else { return }
            put(Envelope(.media(MediaData(stream: stream, chunkSeq: g.seq, kind: g.kind, timestampMs: g.ts,
                                          tags: LiveBatch.joined(g.parts)))))
            group = nil
        }
        for envelope in prefix { put(envelope) }
        for item in items {
            switch item {
            case .frame(let frame):
                let kind: MediaKind = frame.isHeader ? .sequenceHeaders : .tags
                if let g = group, g.seq != frame.chunkSeq || g.kind != kind { closeGroup() }
                if group == nil { group = (frame.chunkSeq, kind, frame.timestamp, []) }
                group!.parts.append(frame.flv)
            case .sealed(let chunk):
                closeGroup()
                put(Envelope(.chunkSealed(chunk.seal)))
            case .resumedChunk(let chunk):
                closeGroup()
                put(Envelope(.media(MediaData(stream: stream, chunkSeq: chunk.seal.seq, kind: .tags,
                                              timestampMs: chunk.seal.firstTimestampMs, tags: chunk.bytes))))
                put(Envelope(.chunkSealed(chunk.seal)))
            }
        }
        closeGroup()
        return out
    }

    /// A notice with no tags (lagged, end of stream).
    public static func notice(_ kind: MediaKind, stream: String, chunkSeq: UInt64 = 0) -> ByteBuffer {
        Envelope(.media(MediaData(stream: stream, chunkSeq: chunkSeq, kind: kind, tags: ByteBuffer()))).framed()
    }
}
