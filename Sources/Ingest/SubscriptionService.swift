import LiveMedia
import Logging
import NIOCore
import StreamrRPC
import StreamrWire

/// Live subscriptions on 7444 (node certificates only, by the TLS layer): a node sends
/// Subscribe{stream, resume_after_chunk} and gets SubscribeAck, then MediaData pushes —
/// sequence headers, the open chunk's tags so far, live tags — and ChunkSealed as chunks close.
/// A node resuming after chunk k first gets chunks k+1... while they are still kept. A node
/// that falls behind is told (MEDIA_LAGGED) and continues at the next keyframe.
struct SubscriptionService: Sendable {
    let streams: IngestStreams
    let logger: Logger

    func handler(next: @escaping RPCConnection.Handler) -> RPCConnection.Handler {
        { envelope, connection in
            guard case .subscribe(let request) = envelope.body else { return try await next(envelope, connection) }
            guard envelope.id != 0 else { throw ErrorMessage(.invalidArgument, "subscribe is a request (id > 0)") }
            guard let live = streams.stream(named: request.stream) else {
                throw ErrorMessage(.notFound, "stream `\(request.stream)` is not live at this ingest")
            }
            let node = connection.peer.certificate?.commonName ?? "?"
            let queue = LiveQueue(wantsChunks: true, maxBytes: 16 << 20)
            guard let join = live.add(queue, resumeAfter: request.resumeAfterChunk) else {
                throw ErrorMessage(.notFound, "stream `\(request.stream)` has just ended")
            }
            let ack: SubscribeAck = switch join {
            case .live(let first): SubscribeAck(stream: request.stream, firstChunk: first, resumed: false)
            case .resumed(let first): SubscribeAck(stream: request.stream, firstChunk: first, resumed: true)
            }
            try await connection.reply(to: envelope, .subscribeAck(ack))
            logger.info("node \(node) subscribed to \(request.stream) from chunk \(ack.firstChunk)\(ack.resumed ? " (resumed)" : "")", metadata: [
                "event": "subscribed", "stream": "\(request.stream)", "node": "\(node)"])
            connection.onClose { live.remove(queue); queue.cancel() }
            Task {
                await pump(queue, to: connection, stream: request.stream)
                live.remove(queue)
            }
            return nil
        }
    }

    /// Forwards queued events as pushes, batching consecutive tags of one chunk into one
    /// MediaData, until the stream ends or the connection closes.
    private func pump(_ queue: LiveQueue, to connection: RPCConnection, stream: String) async {
        while true {
            let items = await queue.next()
            if items.isEmpty { return }
            var bodies: [Envelope.Body] = []
            var pending: (seq: UInt64, kind: MediaKind, ts: UInt32, bytes: [UInt8])?
            func flush() {
                if let p = pending {
                    bodies.append(.media(MediaData(stream: stream, chunkSeq: p.seq, kind: p.kind, timestampMs: p.ts, tags: p.bytes)))
                    pending = nil
                }
            }
            var ended = false
            for item in items {
                switch item {
                case .event(.frame(let frame)):
                    let kind: MediaKind = frame.isHeader ? .sequenceHeaders : .tags
                    if let p = pending, p.seq != frame.chunkSeq || p.kind != kind { flush() }
                    if pending == nil { pending = (frame.chunkSeq, kind, frame.timestamp, []) }
                    pending!.bytes.append(contentsOf: frame.flv.readableBytesView)
                case .event(.sealed(let chunk)):
                    flush()
                    bodies.append(.chunkSealed(chunk.seal))
                case .event(.chunk(let chunk)):
                    flush()
                    bodies.append(.media(MediaData(stream: stream, chunkSeq: chunk.seal.seq, kind: .tags,
                                                   timestampMs: chunk.seal.firstTimestampMs, tags: Array(chunk.bytes.readableBytesView))))
                    bodies.append(.chunkSealed(chunk.seal))
                case .lagged:
                    flush()
                    bodies.append(.media(MediaData(stream: stream, chunkSeq: 0, kind: .lagged, tags: [])))
                case .event(.ended):
                    flush()
                    bodies.append(.media(MediaData(stream: stream, chunkSeq: 0, kind: .endOfStream, tags: [])))
                    ended = true
                }
            }
            flush()
            do { try await connection.push(contentsOf: bodies) } catch { queue.cancel(); return }
            if ended { return }
        }
    }
}
