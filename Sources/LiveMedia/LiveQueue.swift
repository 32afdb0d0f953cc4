import NIOConcurrencyHelpers
import NIOCore

/// A viewer whose events are consumed by a task (an HTTP-FLV response, a node's
/// subscription): a bounded queue between the stream (which must never wait) and a
/// consumer that writes at the client's pace.
///
/// Lag policy: when more than `maxBytes` are waiting, the queue is dropped, the consumer is
/// told (`lagged`), and frames are skipped until the next video keyframe (for a stream without
/// video: the next frame), so a slow client jumps forward to a decodable point instead of
/// being buffered without bound. Sequence headers are never skipped.
public final class LiveQueue: LiveViewer {
    public enum Item: Sendable {
        case event(LiveEvent)
        /// Frames were dropped here; the next frame is a keyframe (or the stream has no video).
        case lagged
    }

    public let wantsChunks: Bool
    let maxBytes: Int
    private let state = NIOLockedValueBox(State())

    struct State {
        var items: [Item] = []
        var bytes = 0
        var skipping = false
        var sawVideo = false
        var finished = false
        var waiter: CheckedContinuation<[Item], Never>?
        var lagCount = 0
        var cancelled = false
    }

    public init(wantsChunks: Bool, maxBytes: Int = 8 << 20) {
        self.wantsChunks = wantsChunks; self.maxBytes = maxBytes
    }

    /// How many times this viewer fell behind.
    public var lagCount: Int { state.withLockedValue { $0.lagCount } }

    public func deliver(_ event: LiveEvent) {
        let resume = state.withLockedValue { s -> (CheckedContinuation<[Item], Never>, [Item])? in
            guard !s.finished else { return nil }
            switch event {
            case .frame(let frame):
                if frame.isVideo { s.sawVideo = true }
                if s.skipping && !frame.isHeader {
                    let resumes = frame.isKeyframe || (!s.sawVideo && !frame.isVideo)
                    guard resumes else { return nil }
                    s.skipping = false
                }
                if s.bytes + frame.flv.readableBytes > maxBytes && !frame.isHeader {
                    s.items.removeAll { if case .event(.frame(let f)) = $0 { return !f.isHeader } else { return false } }
                    s.bytes = s.items.reduce(0) { $0 + Self.size($1) }
                    s.items.append(.lagged)
                    s.lagCount += 1
                    s.skipping = true
                    if !(frame.isKeyframe || (!s.sawVideo && !frame.isVideo)) { break }
                    s.skipping = false
                }
                s.items.append(.event(event)); s.bytes += frame.flv.readableBytes
            case .sealed, .chunk:
                s.items.append(.event(event)); s.bytes += Self.size(.event(event))
            case .ended:
                s.items.append(.event(event)); s.finished = true
            }
            // Woken at flush (once per batch), or at once for the end of the stream.
            guard s.finished, let waiter = s.waiter, !s.items.isEmpty else { return nil }
            s.waiter = nil
            defer { s.items.removeAll(keepingCapacity: true); s.bytes = 0 }
            return (waiter, s.items)
        }
        if let (waiter, items) = resume { waiter.resume(returning: items) }
    }

    public func flush() {
        let resume = state.withLockedValue { s -> (CheckedContinuation<[Item], Never>, [Item])? in
            guard let waiter = s.waiter, !s.items.isEmpty else { return nil }
            s.waiter = nil
            defer { s.items.removeAll(keepingCapacity: true); s.bytes = 0 }
            return (waiter, s.items)
        }
        if let (waiter, items) = resume { waiter.resume(returning: items) }
    }

    /// Everything waiting, at once (so the consumer writes it with one flush); waits while
    /// there is nothing. An empty answer only after `cancel()`.
    public func next() async -> [Item] {
        await withCheckedContinuation { continuation in
            let ready = state.withLockedValue { s -> [Item]? in
                if !s.items.isEmpty || s.cancelled {
                    defer { s.items.removeAll(keepingCapacity: true); s.bytes = 0 }
                    return s.items
                }
                s.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// The consumer is gone (its client disconnected): wake it and drop what is queued.
    public func cancel() {
        let waiter = state.withLockedValue { s -> CheckedContinuation<[Item], Never>? in
            s.finished = true; s.cancelled = true
            s.items.removeAll(); s.bytes = 0
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume(returning: [])
    }

    private static func size(_ item: Item) -> Int {
        switch item {
        case .event(.frame(let f)): f.flv.readableBytes
        case .event(.chunk(let c)): c.bytes.readableBytes
        default: 0
        }
    }
}
