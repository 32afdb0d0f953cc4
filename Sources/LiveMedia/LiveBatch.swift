import NIOConcurrencyHelpers
import NIOCore

/// What happens on a live stream, in order.
public enum LiveItem: Sendable {
    case frame(LiveFrame)
    /// A chunk closed (subscribers forward its seal; players ignore it).
    case sealed(SealedChunk)
    /// A whole earlier chunk, for a subscriber resuming after it (only in `LiveViewer.start`).
    case resumedChunk(SealedChunk)
}

/// Everything one read of the source produced (one flush): handed to every viewer as it is,
/// with each wire form encoded once for all of them — the FLV bytes of all its frames as one
/// buffer, their RTMP chunks as another, and whatever else a kind of viewer asks for by key
/// (a relay subscription's framed envelopes). A viewer that is in step writes the shared
/// buffer; one that is skipping ahead picks frames out of `items`.
public final class LiveBatch: Sendable {
    public let stream: String
    public let items: [LiveItem]
    /// The stream's sequence headers at this flush (a viewer that skipped ahead resends them).
    public let headers: [LiveFrame]
    private let encodings = NIOLockedValueBox([String: ByteBuffer]())

    init(stream: String, items: [LiveItem], headers: [LiveFrame]) {
        self.stream = stream; self.items = items; self.headers = headers
    }

    public var frames: [LiveFrame] {
        items.compactMap { if case .frame(let f) = $0 { return f } else { return nil } }
    }

    public var hasFrames: Bool { items.contains { if case .frame = $0 { return true } else { return false } } }

    /// The encoding called `key`, made by `make` the first time anyone asks, then shared.
    public func encoding(_ key: String, _ make: (LiveBatch) -> ByteBuffer) -> ByteBuffer {
        if let done = encodings.withLockedValue({ $0[key] }) { return done }
        let made = make(self)
        return encodings.withLockedValue { all in
            if let raced = all[key] { return raced }
            all[key] = made
            return made
        }
    }

    /// The FLV tag bytes of every frame, back to back.
    public var flv: ByteBuffer { encoding("flv") { LiveBatch.joined($0.frames.map(\.flv)) } }
    /// The RTMP chunks of every frame, back to back.
    public var rtmp: ByteBuffer { encoding("rtmp") { LiveBatch.joined($0.frames.map { $0.rtmpBytes() }) } }

    /// One buffer holding `parts` in order (the part itself when there is only one).
    public static func joined(_ parts: [ByteBuffer]) -> ByteBuffer {
        if parts.count == 1 { return parts[0] }
        var out = ByteBuffer()
        out.reserveCapacity(parts.reduce(0) { $0 + $1.readableBytes })
        for part in parts { out.writeImmutableBuffer(part) }
        return out
    }
}
