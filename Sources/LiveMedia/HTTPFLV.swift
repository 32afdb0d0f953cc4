import FLV
import Logging
import NIOConcurrencyHelpers
import NIOCore
import StreamrHTTP

/// HTTP-FLV for one viewer (`GET /live/<stream>.flv`), shared by the ingest's origin and node
/// agents: the FLV file header, the sequence headers, then the stream from its latest keyframe,
/// exactly the tag bytes the publisher sent, until the stream ends or the viewer leaves.
public enum HTTPFLV {
    public static let contentType = "video/x-flv"

    /// `logger`: where a viewer dropped for staying behind is reported (`viewer_dropped`), with
    /// the request's peer.
    public static func response(for stream: LiveStream, limits: ViewerLimits = ViewerLimits(), request: HTTPRequest? = nil,
                                logger: Logger? = nil,
                                onStart: (@Sendable () -> Void)? = nil, onEnd: (@Sendable () -> Void)? = nil) -> HTTPResponse {
        let peer = request?.remoteAddress?.displayAddress ?? "?"
        return HTTPResponse(status: .ok, headers: [
            "Content-Type": contentType, "Cache-Control": "no-cache, no-store", "Access-Control-Allow-Origin": "*",
        ], body: .stream { writer in
            onStart?()
            defer { onEnd?() }
            let header = ByteBuffer(bytes: FLVFileHeader(hasAudio: true, hasVideo: true).serialized())
            try await writer.write(header)
            stream.meter.add(header.readableBytes, .flv)
            let done = Done()
            let viewer = DirectViewer(kind: .flv, eventLoop: writer.eventLoop, meter: stream.meter, limits: limits,
                                      isWritable: { writer.isWritable },
                                      send: { writer.writeNow($0) }, drop: { reason in
                                          logger?.notice("HTTP-FLV viewer \(peer) of \(stream.name) dropped: \(reason)", metadata: [
                                              "event": "viewer_dropped", "stream": "\(stream.name)", "peer": "\(peer)"])
                                          writer.reset()
                                      }, onEnded: { done.finish() })
            // Registered before joining, so a viewer gone before its first write still ends.
            writer.onClose { done.finish() }
            guard stream.add(viewer) != nil else { return }
            defer { stream.remove(viewer) }
            // Until the stream ends or the viewer leaves; frames go out from the stream's flushes.
            await done.wait()
        })
    }
}

/// Once, from either side: the stream ended or the viewer left.
final class Done: Sendable {
    private let state = NIOLockedValueBox((done: false, waiter: CheckedContinuation<Void, Never>?.none))

    func wait() async {
        await withCheckedContinuation { continuation in
            let now = state.withLockedValue { s -> Bool in
                if s.done { return true }
                s.waiter = continuation
                return false
            }
            if now { continuation.resume() }
        }
    }

    func finish() {
        let waiter = state.withLockedValue { s -> CheckedContinuation<Void, Never>? in
            s.done = true
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume()
    }
}
