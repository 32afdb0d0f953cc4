import LiveMedia
import NIOConcurrencyHelpers
import NIOCore
import StreamrRPC
import StreamrWire

/// Where a subscriber's frames go: a Streamr connection (RPCConnection), written without waiting.
public protocol FramedSink: AnyObject, Sendable {
    /// Hands pre-framed envelopes to the connection; false (nothing written) while over `limit`
    /// bytes wait for the peer. `force` writes even then (notices that must keep their place).
    func pushFramed(_ frames: ByteBuffer, force: Bool, limit: Int?) -> Bool
    func close(reason: ErrorMessage?)
    /// The loop the connection writes on (a live stream hands it batches there).
    var eventLoop: any EventLoop { get }
}

extension RPCConnection: FramedSink {}

/// A relay subscriber (a node, a child node, the validator) fed from a LiveStream. In step, it
/// writes each batch's shared framed envelopes — encoded once for every subscriber — on its
/// connection's event loop. When the connection's write window is full it is told
/// (MEDIA_LAGGED), skips frames (seals still go: the chain stays authenticated) and resumes at
/// the next keyframe; one that stays behind past `lagTimeoutMs` is disconnected (it reconnects
/// and resumes from the kept chunks).
public final class SubscriberViewer: LiveViewer {
    public let kind = ViewerKind.subscriber
    public let stream: String
    public var eventLoop: (any EventLoop)? { sink.eventLoop }
    private let sink: any FramedSink
    /// The Subscribe request being answered: the ack goes first, ahead of any media.
    private let requestID: UInt64
    private let meter: TrafficMeter?
    private let lagTimeoutMs: Int64
    /// Bytes waiting for the subscriber before it counts as behind: room for a couple of chunks
    /// (a join pushes the open chunk at once), bounded whatever the bitrate.
    private let queueBytes: Int
    private let clockMs: @Sendable () -> Int64
    private let state = NIOLockedValueBox(State())

    struct State {
        var skipping = false
        var sawVideo = false
        var behindSinceMs: Int64?
        var done = false
        var lags = 0
        var join: LiveStream.Join?
    }

    public init(stream: String, sink: any FramedSink, requestID: UInt64, meter: TrafficMeter?,
                lagTimeoutMs: Int64 = 15_000, queueBytes: Int = 16 << 20, clockMs: @escaping @Sendable () -> Int64 = LiveClock.nowMs) {
        self.stream = stream; self.sink = sink; self.requestID = requestID; self.meter = meter
        self.lagTimeoutMs = lagTimeoutMs; self.queueBytes = queueBytes; self.clockMs = clockMs
    }

    public var lagCount: Int { state.withLockedValue { $0.lags } }
    /// How it joined (set once added).
    public var join: LiveStream.Join? { state.withLockedValue { $0.join } }

    public func start(_ items: [LiveItem], join: LiveStream.Join) {
        state.withLockedValue { s in
            s.join = join
            s.sawVideo = items.contains { if case .frame(let f) = $0 { return f.isVideo } else { return false } }
        }
        let ack = Envelope(replyTo: requestID, .subscribeAck(SubscribeAck(stream: stream, firstChunk: join.firstChunk,
                                                                        resumed: join.resumed, chainID: join.chainID)))
        write(SubscriptionFrames.encode(items, stream: stream, prefix: [ack]), force: true)
    }

    public func receive(_ batch: LiveBatch) {
        let action = state.withLockedValue { s -> Action in
            guard !s.done else { return .none }
            if batch.frames.contains(where: \.isVideo) { s.sawVideo = true }
            guard s.skipping else { return .shared }
            // Behind: seals still go; frames again from a keyframe (or, without video, any frame).
            let seals = batch.items.filter { if case .sealed = $0 { return true } else { return false } }
            if let start = batch.items.firstIndex(where: { item in
                guard case .frame(let f) = item, !f.isHeader else { return false }
                return f.isKeyframe || (!s.sawVideo && !f.isVideo)
            }) {
                let before = batch.items[..<start].filter { if case .sealed = $0 { return true } else { return false } }
                return .resume(before + batch.headers.map { LiveItem.frame($0) } + batch.items[start...])
            }
            return seals.isEmpty ? .none : .seals(seals)
        }
        switch action {
        case .none:
            break
        case .shared:
            if !write(batch.encoding(SubscriptionFrames.batchKey) { SubscriptionFrames.encode($0.items, stream: $0.stream) }) {
                fellBehind()
            }
        case .seals(let seals):
            write(SubscriptionFrames.encode(seals, stream: stream), force: true)
            checkLag()
        case .resume(let items):
            if write(SubscriptionFrames.encode(items, stream: stream)) {
                state.withLockedValue { $0.skipping = false; $0.behindSinceMs = nil }
            } else {
                checkLag()
            }
        }
    }

    public func ended() {
        let first = state.withLockedValue { s -> Bool in defer { s.done = true }; return !s.done }
        if first { write(SubscriptionFrames.notice(.endOfStream, stream: stream), force: true) }
    }

    private enum Action { case none, shared, seals([LiveItem]), resume([LiveItem]) }

    private func fellBehind() {
        state.withLockedValue { s in
            s.skipping = true
            s.lags += 1
            if s.behindSinceMs == nil { s.behindSinceMs = clockMs() }
        }
        write(SubscriptionFrames.notice(.lagged, stream: stream), force: true)
    }

    private func checkLag() {
        let drop = state.withLockedValue { s -> Bool in
            guard !s.done, let since = s.behindSinceMs, clockMs() - since > lagTimeoutMs else { return false }
            s.done = true
            return true
        }
        if drop {
            sink.close(reason: ErrorMessage(.unavailable, "behind for over \(lagTimeoutMs / 1000) s; subscribe again to resume"))
        }
    }

    @discardableResult
    private func write(_ frames: ByteBuffer, force: Bool = false) -> Bool {
        guard sink.pushFramed(frames, force: force, limit: queueBytes) else { return false }
        meter?.add(frames.readableBytes, .relay)
        return true
    }
}
