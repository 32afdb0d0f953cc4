import FLV
import NIOCore
import StreamrHTTP

/// HTTP-FLV for one viewer (`GET /live/<stream>.flv`), shared by the ingest's origin and node
/// agents: the FLV file header, the sequence headers, then the stream from its latest keyframe,
/// exactly the tag bytes the publisher sent, until the stream ends or the viewer leaves.
public enum HTTPFLV {
    public static let contentType = "video/x-flv"

    /// Counts what one HTTP-FLV viewer was sent (for a node's heartbeats).
    public typealias Meter = @Sendable (_ bytes: Int) -> Void

    public static func response(for stream: LiveStream, maxQueuedBytes: Int = 8 << 20,
                                meter: Meter? = nil, onStart: (@Sendable () -> Void)? = nil,
                                onEnd: (@Sendable () -> Void)? = nil) -> HTTPResponse {
        HTTPResponse(status: .ok, headers: [
            "Content-Type": contentType, "Cache-Control": "no-cache, no-store", "Access-Control-Allow-Origin": "*",
        ], body: .stream { writer in
            let queue = LiveQueue(wantsChunks: false, maxBytes: maxQueuedBytes)
            onStart?()
            defer { onEnd?() }
            let header = ByteBuffer(bytes: FLVFileHeader(hasAudio: true, hasVideo: true).serialized())
            guard stream.add(queue) != nil else { return }
            // If the viewer's connection fails mid-write, stop receiving.
            defer { stream.remove(queue); queue.cancel() }
            try await writer.write(header)
            meter?(header.readableBytes)
            while true {
                let items = await queue.next()
                if items.isEmpty { return }
                var out: [ByteBuffer] = []
                var ended = false
                for item in items {
                    switch item {
                    case .event(.frame(let frame)): out.append(frame.flv)
                    case .event(.ended): ended = true
                    default: break  // lagged: the queue already skipped to a keyframe
                    }
                }
                if !out.isEmpty {
                    try await writer.write(contentsOf: out)
                    meter?(out.reduce(0) { $0 + $1.readableBytes })
                }
                if ended { return }
            }
        })
    }
}
