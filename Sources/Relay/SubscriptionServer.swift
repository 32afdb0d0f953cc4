import LiveMedia
import Logging
import StreamrRPC
import StreamrWire

/// Live subscriptions (the ingest on 7444; later a node serving child nodes): a peer sends
/// Subscribe{stream, resume_after_chunk, chain_id} and gets SubscribeAck, then MediaData pushes
/// — sequence headers, the open chunk's tags so far, live tags — and ChunkSealed as chunks
/// close. One resuming after chunk k of the same chain first gets chunks k+1... while they are
/// still kept. Only peers with a certificate from the host CA get here (the TLS layer).
public struct SubscriptionServer: Sendable {
    /// The live stream called `name`, if this server carries it now.
    public let streams: @Sendable (String) -> LiveStream?
    public let lagTimeoutMs: Int64
    public let logger: Logger

    public init(streams: @escaping @Sendable (String) -> LiveStream?, lagTimeoutMs: Int64 = 15_000, logger: Logger) {
        self.streams = streams; self.lagTimeoutMs = lagTimeoutMs; self.logger = logger
    }

    /// Answers Subscribe requests; everything else goes to `next`.
    public func handler(next: @escaping RPCConnection.Handler) -> RPCConnection.Handler {
        { envelope, connection in
            guard case .subscribe(let request) = envelope.body else { return try await next(envelope, connection) }
            guard envelope.id != 0 else { throw ErrorMessage(.invalidArgument, "subscribe is a request (id > 0)") }
            guard let live = streams(request.stream) else {
                throw ErrorMessage(.notFound, "stream `\(request.stream)` is not live here")
            }
            let peer = connection.peer.certificate?.commonName ?? connection.peer.description
            let viewer = SubscriberViewer(stream: request.stream, sink: connection, requestID: envelope.id, meter: live.meter,
                                          lagTimeoutMs: lagTimeoutMs)
            // The viewer answers the request itself (the ack, then the media), so nothing can
            // overtake the ack.
            guard let join = live.add(viewer, resumeAfter: request.resumeAfterChunk, chainID: request.chainID) else {
                throw ErrorMessage(.notFound, "stream `\(request.stream)` has just ended")
            }
            connection.onClose { live.remove(viewer) }
            logger.info("\(peer) subscribed to \(request.stream) from chunk \(join.firstChunk)\(join.resumed ? " (resumed)" : "")",
                        metadata: ["event": "subscribed", "stream": "\(request.stream)", "node": "\(peer)"])
            return nil
        }
    }
}
