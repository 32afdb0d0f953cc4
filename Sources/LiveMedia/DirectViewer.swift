import NIOConcurrencyHelpers
import NIOCore

/// A viewer whose frames are written straight to its connection: RTMP players and HTTP-FLV
/// viewers. Frames handed over between two flushes go out together (one hop to the viewer's
/// event loop per batch, the same shared bytes for every viewer). Lag policy: a viewer whose
/// socket is not writable (over its high water mark) drops what is pending and skips to the next
/// video keyframe — or, on a stream without video, the next frame; sequence headers always go.
final class DirectViewer: LiveViewer {
    let wantsChunks = false
    private let bytes: @Sendable (LiveFrame) -> ByteBuffer
    private let isWritable: @Sendable () -> Bool
    private let send: @Sendable ([ByteBuffer]) -> Void
    private let onEnded: @Sendable () -> Void
    private let state = NIOLockedValueBox(State())

    struct State {
        var skipping = false
        var sawVideo = false
        var pending: [ByteBuffer] = []
        var ended = false
    }

    /// `bytes` picks the frame's wire form; `send` writes a batch (without waiting); `onEnded`
    /// runs once, after the last batch was handed to `send`, when the stream has ended.
    init(bytes: @escaping @Sendable (LiveFrame) -> ByteBuffer, isWritable: @escaping @Sendable () -> Bool,
         send: @escaping @Sendable ([ByteBuffer]) -> Void, onEnded: @escaping @Sendable () -> Void) {
        self.bytes = bytes; self.isWritable = isWritable; self.send = send; self.onEnded = onEnded
    }

    func deliver(_ event: LiveEvent) {
        switch event {
        case .frame(let frame):
            state.withLockedValue { s in
                if frame.isVideo { s.sawVideo = true }
                if !frame.isHeader {
                    if s.skipping {
                        guard frame.isKeyframe || (!s.sawVideo && !frame.isVideo) else { return }
                        s.skipping = false
                    }
                    if !isWritable() {
                        s.skipping = true
                        s.pending.removeAll()
                        return
                    }
                }
                s.pending.append(bytes(frame))
            }
        case .ended:
            state.withLockedValue { $0.ended = true }
        case .sealed, .chunk:
            break
        }
    }

    func flush() {
        let (buffers, ended) = state.withLockedValue { s -> ([ByteBuffer], Bool) in
            defer { s.pending.removeAll(keepingCapacity: true); s.ended = false }
            return (s.pending, s.ended)
        }
        if !buffers.isEmpty { send(buffers) }
        if ended { onEnded() }
    }
}
