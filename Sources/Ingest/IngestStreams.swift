import FLV
import Logging
import LiveMedia
import NIOConcurrencyHelpers
import NIOCore
import RTMP
import StreamrRPC
import StreamrTLS
import StreamrWire

/// The streams being published at this ingest, and the publish/play decisions of its RTMP
/// server: a key is checked with the coordinator, one publisher per stream, players and
/// subscribers find streams here by name.
public final class IngestStreams: RTMPServerDelegate {
    let coordinator: CoordinatorLink
    let signer: PrivateKey
    let chunking: Chunker.Configuration
    let logger: Logger
    private let live = NIOLockedValueBox([String: IngestStream]())

    public init(coordinator: CoordinatorLink, signer: PrivateKey, chunking: Chunker.Configuration = .init(), logger: Logger) {
        self.coordinator = coordinator; self.signer = signer; self.chunking = chunking; self.logger = logger
    }

    /// The live stream called `name`, if it is being published.
    public func stream(named name: String) -> LiveStream? {
        live.withLockedValue { $0[name]?.live }
    }

    public var liveCount: Int { live.withLockedValue { $0.count } }
    public var viewerCount: Int { live.withLockedValue { $0.values.reduce(0) { $0 + $1.live.viewerCount } } }

    public func play(app: String, name: String) -> LiveStream? {
        guard app == "live" else { return nil }
        return stream(named: name)
    }

    public func publish(app: String, key: String, peer: String) async -> Result<any RTMPPublishSink, RTMPRefusal> {
        guard app == "live" else {
            logger.warning("publish refused: application `\(app)`", metadata: ["event": "publish_refused", "reason": "bad_app"])
            return .failure(RTMPRefusal("publish to rtmp://HOST/live/<stream key>"))
        }
        let name: String
        do {
            name = try await coordinator.authorize(key: key)
        } catch let error as ErrorMessage where error.code == .notFound {
            // The coordinator has logged it too; the key itself is never logged.
            logger.warning("publish from \(peer) refused: unknown stream key", metadata: [
                "event": "publish_refused", "reason": "bad_key"])
            return .failure(RTMPRefusal("unknown stream key"))
        } catch {
            logger.error("publish from \(peer) refused: cannot reach the coordinator: \(error)", metadata: [
                "event": "publish_refused", "reason": "coordinator_unavailable"])
            return .failure(RTMPRefusal("the coordinator is not available; try again"))
        }
        let stream = IngestStream(name: name, owner: self)
        let taken = live.withLockedValue { all -> Bool in
            if all[name] != nil { return false }
            all[name] = stream
            return true
        }
        guard taken else {
            logger.warning("publish of \(name) from \(peer) refused: already being published", metadata: [
                "event": "publish_refused", "stream": "\(name)", "reason": "already_publishing"])
            return .failure(RTMPRefusal("stream `\(name)` is already being published"))
        }
        logger.notice("stream \(name) publishing from \(peer)", metadata: ["event": "publish_started", "stream": "\(name)"])
        enqueue("that \(name) is live") { [coordinator] in try await coordinator.started(stream: name) }
        return .success(stream)
    }

    /// Reports to the coordinator (live, chunk digests, offline) go out in order, one at a time,
    /// off the media path: a stream's last chunk is recorded before it is marked offline.
    private let reports = NIOLockedValueBox((queue: [(String, @Sendable () async throws -> Void)](), sending: false))

    func enqueue(_ what: String, _ report: @escaping @Sendable () async throws -> Void) {
        let start = reports.withLockedValue { r -> Bool in
            r.queue.append((what, report))
            if r.queue.count > 1000 { r.queue.removeFirst(r.queue.count - 1000) }
            guard !r.sending else { return false }
            r.sending = true
            return true
        }
        guard start else { return }
        Task { [logger, reports] in
            while let (what, next) = reports.withLockedValue({ r -> (String, @Sendable () async throws -> Void)? in
                if r.queue.isEmpty { r.sending = false; return nil }
                return r.queue.removeFirst()
            }) {
                do { try await next() } catch {
                    logger.warning("could not tell the coordinator \(what): \(error)", metadata: ["event": "coordinator_report_failed"])
                }
            }
        }
    }

    func report(_ seal: ChunkSealed) {
        enqueue("chunk \(seal.seq) of \(seal.stream)") { [coordinator] in try await coordinator.chunk(seal) }
    }

    func ended(_ stream: IngestStream, reason: String) {
        live.withLockedValue { all in if all[stream.name] === stream { all[stream.name] = nil } }
        logger.notice("stream \(stream.name) stopped: \(reason)", metadata: [
            "event": "publish_stopped", "stream": "\(stream.name)", "reason": "\(reason)"])
        let name = stream.name
        enqueue("that \(name) is offline") { [coordinator] in try await coordinator.stopped(stream: name, reason: reason) }
    }
}

/// One published stream: RTMP messages become FLV tags, cut into chunks whose digests form a
/// chain signed with the host key, and go live to players, HTTP-FLV viewers and subscribers.
final class IngestStream: RTMPPublishSink {
    let name: String
    let live: LiveStream
    unowned let owner: IngestStreams
    private let chunker: NIOLockedValueBox<Chunker>

    init(name: String, owner: IngestStreams) {
        self.name = name; self.owner = owner
        live = LiveStream(name: name)
        chunker = NIOLockedValueBox(Chunker(configuration: owner.chunking, hash: { SHA256Digest.hash($0) }))
    }

    func media(_ message: RTMPMessage) {
        guard let type = FLVTagType(rawValue: message.typeID), message.payload.count <= FLVTag.maxDataSize else { return }
        let tag = FLVTag(type: type, timestamp: message.timestamp, data: message.payload)
        let output = chunker.withLockedValue { $0.push(tag) }
        if let sealed = output.sealed { seal(sealed) }
        live.publish(LiveFrame(tag: tag, kind: output.kind, chunkSeq: output.isHeader ? 0 : output.chunkSeq))
    }

    func flush() { live.flush() }

    func unpublished(reason: String) {
        if let last = chunker.withLockedValue({ $0.finish() }) { seal(last) }
        live.end()
        owner.ended(self, reason: reason)
    }

    private func seal(_ chunk: Chunk) {
        let signature: [UInt8]
        do { signature = try owner.signer.sign(chunk.chain) } catch {
            owner.logger.error("cannot sign chunk \(chunk.seq) of \(name): \(error)", metadata: ["stream": "\(name)"])
            signature = []
        }
        let seal = ChunkSealed(stream: name, seq: chunk.seq, firstTimestampMs: chunk.firstTimestamp, lastTimestampMs: chunk.lastTimestamp,
                               size: UInt64(chunk.size), sha256: chunk.digest, chain: chunk.chain, signature: signature)
        live.seal(SealedChunk(seal: seal, bytes: ByteBuffer(bytes: chunk.bytes)))
        owner.report(seal)
        owner.logger.debug("chunk \(chunk.seq) of \(name) sealed: \(chunk.size) bytes", metadata: [
            "event": "chunk_sealed", "stream": "\(name)", "chunk": "\(chunk.seq)"])
    }
}
