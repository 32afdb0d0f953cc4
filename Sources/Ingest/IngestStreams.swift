import FLV
import Logging
import LiveMedia
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import RTMP
import StreamrRPC
import StreamrTLS
import StreamrWire

/// Publishing rules at the ingest, tunable in ingest.conf.
public struct PublishPolicy: Sendable {
    /// After a publisher goes away, its viewers stay connected this long for it (or a new
    /// publisher with the key) to come back; then they get the end of the stream.
    public var graceMs: Int64 = 10_000
    /// A new publish with the right key replaces a publisher silent for this long.
    public var takeoverAfterMs: Int64 = 1_000
    /// How often a publisher's key is checked again: one rotated (or its stream deleted) cuts
    /// off whoever publishes with it, a stolen key's user included.
    public var keyRecheckMs: Int64 = 30_000
    public init() {}
}

/// The streams published at this ingest, and the publish/play decisions of its RTMP server:
/// a key is checked with the coordinator, one publisher per stream at a time, players and
/// subscribers find streams here by name — also while the stream waits out a reconnect grace.
public final class IngestStreams: RTMPServerDelegate {
    let signer: PrivateKey
    let chunking: Chunker.Configuration
    let policy: PublishPolicy
    let limits: LiveStream.Limits
    let logger: Logger
    let authorize: @Sendable (String) async throws -> String
    private let streams = NIOLockedValueBox([String: IngestStream]())
    /// Each stream's HLS for the process's life, so its media sequence only grows across publishes.
    private let feeds = NIOLockedValueBox([String: HLSFeed]())
    /// Reports (set once at start-up, before anything is published).
    private let reports = NIOLockedValueBox<(coordinator: CoordinatorLink?, validator: ValidatorLink?)>((nil, nil))

    public init(signer: PrivateKey, chunking: Chunker.Configuration = .init(), policy: PublishPolicy = .init(),
                limits: LiveStream.Limits = .init(), logger: Logger, authorize: @escaping @Sendable (String) async throws -> String) {
        self.signer = signer; self.chunking = chunking; self.policy = policy; self.limits = limits; self.logger = logger
        self.authorize = authorize
    }

    public func connect(coordinator: CoordinatorLink?, validator: ValidatorLink?) {
        reports.withLockedValue { $0 = (coordinator, validator) }
    }
    var coordinator: CoordinatorLink? { reports.withLockedValue { $0.coordinator } }
    var validator: ValidatorLink? { reports.withLockedValue { $0.validator } }

    /// The live stream called `name`, if it is published (or waiting for its publisher).
    public func stream(named name: String) -> LiveStream? { streams.withLockedValue { $0[name]?.live } }

    /// The HLS of the stream `name` while it is published (or waiting for its publisher).
    public func hls(named name: String) -> HLSFeed? { streams.withLockedValue { $0[name]?.hls } }

    private func feed(_ name: String) -> HLSFeed {
        feeds.withLockedValue { all in
            if let feed = all[name] { return feed }
            let feed = HLSFeed(stream: name)
            all[name] = feed
            return feed
        }
    }

    /// What is live here: name → "live" or "reconnecting" (the coordinator sync).
    public func snapshot() -> [(String, String)] {
        streams.withLockedValue { all in all.values.map { ($0.name, $0.isPublishing ? "live" : "reconnecting") }.sorted { $0.0 < $1.0 } }
    }

    /// The seals kept for every stream (for a validator that (re)connects).
    public func keptSeals() -> [ChunkSealed] {
        streams.withLockedValue { all in all.values.flatMap { $0.live.sealedChunks.map(\.seal) } }
    }

    public var liveCount: Int { streams.withLockedValue { $0.count } }
    public var viewerCount: Int { streams.withLockedValue { $0.values.reduce(0) { $0 + $1.live.viewerCount } } }

    public func play(app: String, name: String) -> LiveStream? {
        guard app == "live" else { return nil }
        return stream(named: name)
    }

    public func publish(app: String, key: String, publisher: RTMPPublisher) async -> Result<any RTMPPublishSink, RTMPRefusal> {
        let peer = publisher.peer
        guard app == "live" else {
            logger.warning("publish refused: application `\(app)`", metadata: ["event": "publish_refused", "reason": "bad_app"])
            return .failure(RTMPRefusal("publish to rtmp://HOST/live/<stream key>"))
        }
        let name: String
        do {
            name = try await authorize(key)
        } catch let error as ErrorMessage where error.code == .notFound {
            // The coordinator has logged it too; the key itself is never logged.
            logger.warning("publish from \(peer) refused: unknown stream key", metadata: ["event": "publish_refused", "reason": "bad_key"])
            return .failure(RTMPRefusal("unknown stream key"))
        } catch {
            logger.error("publish from \(peer) refused: cannot reach the coordinator: \(error)", metadata: [
                "event": "publish_refused", "reason": "coordinator_unavailable"])
            return .failure(RTMPRefusal("the coordinator is not available; try again"))
        }
        let hls = feed(name)
        let outcome = streams.withLockedValue { all -> (IngestStream, PublishSession?, RTMPPublisher?, Bool) in
            let stream = all[name] ?? IngestStream(name: name, owner: self, hls: hls)
            let isNew = all[name] == nil
            all[name] = stream
            let (session, replaced) = stream.attach(publisher)
            return (stream, session, replaced, isNew)
        }
        let (stream, session, replaced, isNew) = outcome
        guard let session else {
            logger.warning("publish of \(name) from \(peer) refused: already being published", metadata: [
                "event": "publish_refused", "stream": "\(name)", "reason": "already_publishing"])
            return .failure(RTMPRefusal("stream `\(name)` is already being published"))
        }
        if let replaced {
            replaced.close(reason: "replaced by a new publisher with the stream key")
            logger.notice("stream \(name): publisher \(replaced.peer) was silent; \(peer) takes over", metadata: [
                "event": "publisher_replaced", "stream": "\(name)"])
        }
        logger.notice("stream \(name) publishing from \(peer)\(isNew ? "" : " (continuing the stream)")", metadata: [
            "event": "publish_started", "stream": "\(name)"])
        coordinator?.started(stream: name)
        _ = stream
        recheckKey(key, stream: name, publisher: publisher)
        return .success(session)
    }

    /// While `publisher` is connected, its key is asked about again every keyRecheckMs; an
    /// unknown key closes it (a coordinator that cannot be asked changes nothing).
    private func recheckKey(_ key: String, stream name: String, publisher: RTMPPublisher) {
        let every = Duration.milliseconds(policy.keyRecheckMs), authorize = self.authorize, logger = self.logger
        Task {
            while publisher.isOpen {
                try? await Task.sleep(for: every)
                guard publisher.isOpen else { return }
                do { _ = try await authorize(key) } catch let error as ErrorMessage where error.code == .notFound {
                    logger.warning("stream \(name): publisher \(publisher.peer) cut off: its stream key was rotated or the stream deleted",
                                   metadata: ["event": "publish_revoked", "stream": "\(name)"])
                    publisher.close(reason: "the stream key is no longer valid")
                    return
                } catch {}
            }
        }
    }

    /// The stream's grace ran out: it is gone.
    func expired(_ stream: IngestStream, reason: String) {
        let removed = streams.withLockedValue { all -> Bool in
            guard all[stream.name] === stream else { return false }
            all[stream.name] = nil
            return true
        }
        guard removed else { return }
        logger.notice("stream \(stream.name) ended: \(reason)", metadata: ["event": "publish_stopped", "stream": "\(stream.name)", "reason": "\(reason)"])
        coordinator?.stopped(stream: stream.name, reason: reason)
    }

    /// Ends every stream at once (shutdown): viewers get the end, the coordinator hears.
    public func endAll(reason: String) {
        let all = streams.withLockedValue { s in defer { s.removeAll() }; return Array(s.values) }
        for stream in all {
            stream.endNow()
            coordinator?.stopped(stream: stream.name, reason: reason)
        }
    }
}

/// One publisher's connection to a stream: media from a replaced or departed connection is
/// ignored, so a silent old publisher that wakes up cannot disturb its successor.
final class PublishSession: RTMPPublishSink {
    let stream: IngestStream
    let id: UInt64
    init(stream: IngestStream, id: UInt64) { self.stream = stream; self.id = id }
    func media(_ message: RTMPMessage) { stream.media(message, session: id) }
    func flush() { stream.flush(session: id) }
    func unpublished(reason: String) { stream.unpublished(reason: reason, session: id) }
}
