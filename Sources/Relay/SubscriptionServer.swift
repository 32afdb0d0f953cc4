import LiveMedia
import Logging
import StreamrRPC
import StreamrTLS
import StreamrWire

/// Live subscriptions (the ingest on 7444; later a node serving child nodes): a peer sends
/// Subscribe{stream, resume_after_chunk, chain_id} and gets SubscribeAck, then MediaData pushes
/// — sequence headers, the open chunk's tags so far, live tags — and ChunkSealed as chunks
/// close. One resuming after chunk k of the same chain first gets chunks k+1... while they are
/// still kept. Only peers with a certificate from the host CA get here (the TLS layer); a CA
/// signature is not enough, though: `authorize` asks whether the node is still enrolled and
/// enabled with that very certificate, at the Subscribe and every `recheck` after (a node the
/// host disables is cut off within that).
public struct SubscriptionServer: Sendable {
    /// Throws (an ErrorMessage) when this node may not have this stream: (node id, SHA-256 hex of
    /// its certificate's DER, stream).
    public typealias Authorize = @Sendable (_ node: String, _ certificateSHA256: String, _ stream: String) async throws -> Void

    /// The live stream called `name`, if this server carries it now.
    public let streams: @Sendable (String) -> LiveStream?
    public let lagTimeoutMs: Int64
    public let authorize: Authorize?
    public let recheck: Duration
    public let logger: Logger

    public init(streams: @escaping @Sendable (String) -> LiveStream?, lagTimeoutMs: Int64 = 15_000, authorize: Authorize? = nil,
                recheck: Duration = .seconds(30), logger: Logger) {
        self.streams = streams; self.lagTimeoutMs = lagTimeoutMs; self.authorize = authorize; self.recheck = recheck
        self.logger = logger
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
            let certificate = connection.peer.certificate?.sha256Hex ?? ""
            if let authorize {
                do { try await authorize(peer, certificate, request.stream) } catch {
                    logger.warning("subscription of \(peer) to \(request.stream) refused: \(error)", metadata: [
                        "event": "subscribe_refused", "stream": "\(request.stream)", "node": "\(peer)"])
                    throw error
                }
            }
            let viewer = SubscriberViewer(stream: request.stream, sink: connection, requestID: envelope.id, meter: live.meter,
                                          lagTimeoutMs: lagTimeoutMs)
            // The viewer answers the request itself (the ack, then the media), so nothing can
            // overtake the ack.
            guard let join = live.add(viewer, resumeAfter: request.resumeAfterChunk, chainID: request.chainID) else {
                throw ErrorMessage(.notFound, "stream `\(request.stream)` has just ended")
            }
            let watch = authorize.map { authorize in
                Task { [recheck, logger, stream = request.stream] in
                    while !Task.isCancelled {
                        try? await Task.sleep(for: recheck)
                        guard !Task.isCancelled else { return }
                        do { try await authorize(peer, certificate, stream) } catch let error as ErrorMessage where error.code == .permissionDenied {
                            logger.warning("subscription of \(peer) to \(stream) ended: \(error.message)", metadata: [
                                "event": "subscription_revoked", "stream": "\(stream)", "node": "\(peer)"])
                            connection.close(reason: error)
                            return
                        } catch {
                            // The coordinator unreachable: the node keeps what it had (not its fault).
                        }
                    }
                }
            }
            connection.onClose { live.remove(viewer); watch?.cancel() }
            logger.info("\(peer) subscribed to \(request.stream) from chunk \(join.firstChunk)\(join.resumed ? " (resumed)" : "")",
                        metadata: ["event": "subscribed", "stream": "\(request.stream)", "node": "\(peer)"])
            return nil
        }
    }
}
