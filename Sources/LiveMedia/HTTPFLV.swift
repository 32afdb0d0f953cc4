import FLV
import NIOConcurrencyHelpers
import NIOCore
import StreamrHTTP

/// HTTP-FLV for one viewer (`GET /live/<stream>.flv`), shared by the ingest's origin and node
/// agents: the FLV file header, the sequence headers, then the stream from its latest keyframe,
/// exactly the tag bytes the publisher sent, until the stream ends or the viewer leaves.
public enum HTTPFLV {
    public static let contentType = "video/x-flv"

    /// Counts what one HTTP-FLV viewer was sent (for a node's heartbeats).
    public typealias Meter = @Sendable (_ bytes: Int) -> Void

    public static func response(for stream: LiveStream, meter: Meter? = nil, onStart: (@Sendable () -> Void)? = nil,
                                onEnd: (@Sendable () -> Void)? = nil) -> HTTPResponse {
        HTTPResponse(status: .ok, headers: [
            "Content-Type": contentType, "Cache-Control": "no-cache, no-store", "Access-Control-Allow-Origin": "*",
        ], body: .stream { writer in
            onStart?()
            defer { onEnd?() }
            let header = ByteBuffer(bytes: FLVFileHeader(hasAudio: true, hasVideo: true).serialized())
            try await writer.write(header)
            meter?(header.readableBytes)
            let viewer = HTTPFLVViewer(writer: writer, meter: meter)
            guard stream.add(viewer) != nil else { return }
            defer { stream.remove(viewer) }
            // Until the stream ends or the viewer leaves; frames go out from the stream's flushes.
            writer.onClose { viewer.finish() }
            await viewer.ended()
        })
    }
}

/// An HTTP-FLV viewer: frames are written straight to its connection at each flush (the same
/// bytes as the publisher's tags); a viewer whose socket is not writable (4 MiB queued) skips
/// to the next keyframe, as RTMP players do.
final class HTTPFLVViewer: LiveViewer {
    let wantsChunks = false
    private let writer: HTTPBodyWriter
    private let meter: HTTPFLV.Meter?
    private let state = NIOLockedValueBox(State())

    struct State {
        var skipping = false
        var sawVideo = false
        var pending: [ByteBuffer] = []
        var ended = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    init(writer: HTTPBodyWriter, meter: HTTPFLV.Meter?) { self.writer = writer; self.meter = meter }

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
                    if !writer.isWritable {
                        s.skipping = true
                        s.pending.removeAll()
                        return
                    }
                }
                s.pending.append(frame.flv)
            }
        case .ended:
            state.withLockedValue { $0.ended = true }
        case .sealed, .chunk:
            break
        }
    }

    func flush() {
        let (buffers, waiter) = state.withLockedValue { s -> ([ByteBuffer], CheckedContinuation<Void, Never>?) in
            defer { s.pending.removeAll(keepingCapacity: true) }
            let waiter = s.ended ? s.waiter : nil
            if waiter != nil { s.waiter = nil }
            return (s.pending, waiter)
        }
        if !buffers.isEmpty {
            writer.writeNow(buffers)
            meter?(buffers.reduce(0) { $0 + $1.readableBytes })
        }
        waiter?.resume()
    }

    /// Returns once the stream has ended (after its last frames were handed to the socket).
    func ended() async {
        await withCheckedContinuation { continuation in
            let now = state.withLockedValue { s -> Bool in
                if s.ended { return true }
                s.waiter = continuation
                return false
            }
            if now { continuation.resume() }
        }
    }

    /// The response is over (the viewer left): wake a waiting `ended()`.
    func finish() {
        let waiter = state.withLockedValue { s -> CheckedContinuation<Void, Never>? in
            s.ended = true
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume()
    }
}
