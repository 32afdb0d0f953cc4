#if canImport(Glibc)
import Glibc
#endif
import NIOConcurrencyHelpers
import NIOCore

/// How long and how far a player may fall behind before it is dropped.
public struct ViewerLimits: Sendable {
    /// Bytes queued for one viewer (in the process, past the kernel's socket buffer) before it
    /// counts as behind: its socket's write-buffer high water mark. Whatever the bitrate.
    public var queueBytes: Int
    /// A viewer behind for this long without catching up is disconnected.
    public var lagTimeoutMs: Int64
    public init(queueBytes: Int = 2 << 20, lagTimeoutMs: Int64 = 10_000) {
        self.queueBytes = queueBytes; self.lagTimeoutMs = lagTimeoutMs
    }
    /// The channel option that makes `isWritable` mean "under `queueBytes`".
    public var waterMark: ChannelOptions.Types.WriteBufferWaterMarkOption.Value {
        .init(low: queueBytes / 2, high: queueBytes)
    }
}

/// A player whose bytes are written straight to its connection: RTMP players and HTTP-FLV
/// viewers. In step, it writes each batch's shared buffer (one hop to its event loop, the
/// same bytes as every other player). Lag policy: a viewer whose socket is not writable (over
/// `ViewerLimits.queueBytes` queued) skips what comes until its socket drains, then resumes at
/// the next video keyframe — or, on a stream without video, the next frame — after the current
/// sequence headers; one that stays behind past `lagTimeoutMs` is disconnected.
public final class DirectViewer: LiveViewer {
    public let kind: ViewerKind
    public let eventLoop: (any EventLoop)?
    private let meterKind: TrafficMeter.Kind
    private let meter: TrafficMeter?
    private let limits: ViewerLimits
    private let clockMs: @Sendable () -> Int64
    private let isWritable: @Sendable () -> Bool
    private let send: @Sendable ([ByteBuffer]) -> Void
    private let drop: @Sendable (_ reason: String) -> Void
    private let onEnded: @Sendable () -> Void
    private let state = NIOLockedValueBox(State())

    struct State {
        var skipping = false
        var sawVideo = false
        var behindSinceMs: Int64?
        var done = false
        var lags = 0
    }

    /// `send` hands bytes to the viewer's connection without waiting (writing at once when
    /// called on `eventLoop`, the connection's); `drop` closes it (the viewer stayed behind);
    /// `onEnded` runs once the stream ended, after the last bytes.
    public init(kind: ViewerKind, eventLoop: (any EventLoop)? = nil, meter: TrafficMeter?, limits: ViewerLimits = ViewerLimits(),
                clockMs: @escaping @Sendable () -> Int64 = LiveClock.nowMs,
                isWritable: @escaping @Sendable () -> Bool, send: @escaping @Sendable ([ByteBuffer]) -> Void,
                drop: @escaping @Sendable (String) -> Void, onEnded: @escaping @Sendable () -> Void) {
        precondition(kind != .subscriber, "subscribers are fed by the relay module")
        self.kind = kind; self.eventLoop = eventLoop; self.meterKind = kind == .rtmp ? .rtmp : .flv; self.meter = meter; self.limits = limits
        self.clockMs = clockMs; self.isWritable = isWritable; self.send = send; self.drop = drop; self.onEnded = onEnded
    }

    /// Times this viewer fell behind and skipped ahead.
    public var lagCount: Int { state.withLockedValue { $0.lags } }

    public func start(_ items: [LiveItem], join: LiveStream.Join) {
        let frames = items.compactMap { item -> LiveFrame? in if case .frame(let f) = item { return f } else { return nil } }
        state.withLockedValue { s in s.sawVideo = frames.contains { $0.isVideo } }
        write(frames)
    }

    public func receive(_ batch: LiveBatch) {
        let action = state.withLockedValue { s -> Action in
            guard !s.done, batch.hasFrames else { return .none }
            if batch.frames.contains(where: \.isVideo) { s.sawVideo = true }
            if !isWritable() {
                let now = clockMs()
                if s.behindSinceMs == nil { s.behindSinceMs = now; s.lags += 1 }
                s.skipping = true
                if now - (s.behindSinceMs ?? now) > limits.lagTimeoutMs {
                    s.done = true
                    return .drop
                }
                return .none
            }
            s.behindSinceMs = nil
            guard s.skipping else { return .shared }
            // Resume at a decodable point: the first keyframe (or, without video, any frame).
            let frames = batch.frames.filter { !$0.isHeader }
            guard let start = frames.firstIndex(where: { $0.isKeyframe || (!s.sawVideo && !$0.isVideo) }) else { return .none }
            s.skipping = false
            return .frames(batch.headers + frames[start...])
        }
        switch action {
        case .none: break
        case .shared: write(kind == .rtmp ? batch.rtmp : batch.flv)
        case .frames(let frames): write(frames)
        case .drop: drop("behind for over \(limits.lagTimeoutMs / 1000) s (over \(limits.queueBytes >> 10) KiB queued)")
        }
    }

    public func ended() {
        let first = state.withLockedValue { s -> Bool in defer { s.done = true }; return !s.done }
        if first { onEnded() }
    }

    private enum Action { case none, shared, frames([LiveFrame]), drop }

    /// A join or a resume: the frames' own buffers, shared with every other viewer (joining
    /// them would copy up to a GOP per viewer).
    private func write(_ frames: [LiveFrame]) {
        let buffers = frames.map { kind == .rtmp ? $0.rtmpBytes() : $0.flv }.filter { $0.readableBytes > 0 }
        guard !buffers.isEmpty else { return }
        send(buffers)
        meter?.add(buffers.reduce(0) { $0 + $1.readableBytes }, meterKind)
    }

    private func write(_ bytes: ByteBuffer) {
        guard bytes.readableBytes > 0 else { return }
        send([bytes])
        meter?.add(bytes.readableBytes, meterKind)
    }
}

/// Wall-clock milliseconds (the one clock viewers and meters use).
public enum LiveClock {
    public static func nowMs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}
