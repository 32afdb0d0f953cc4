import LiveMedia
import Logging
import NIOConcurrencyHelpers
import StreamrRPC
import StreamrTLS
import StreamrWire

/// Keeps one stream subscribed at a parent (the ingest, later a parent node) over mutual TLS:
/// subscribes resuming after the last verified chunk, feeds what arrives into a
/// `RelayedStream`, and subscribes again with jittered backoff when the subscription is lost,
/// a chunk is refused, or the stream is not live yet. While no subscription is up for longer
/// than `graceMs`, the stream's viewers are given the end (the parent is gone, not blinking).
public struct RelayClient: Sendable {
    public let relayed: RelayedStream
    /// Where to subscribe (read again before each attempt: the coordinator may move it).
    public let parent: @Sendable () -> ConnectAddress?
    public let tls: TLSContext
    public let graceMs: Int64
    public let logger: Logger

    public init(relayed: RelayedStream, parent: @escaping @Sendable () -> ConnectAddress?, tls: TLSContext,
                graceMs: Int64 = 10_000, logger: Logger) {
        self.relayed = relayed; self.parent = parent; self.tls = tls; self.graceMs = graceMs; self.logger = logger
    }

    /// Why a subscription was given up.
    enum Stop: Sendable { case ended, rejected(String) }

    /// Runs until cancelled.
    public func run() async {
        let name = relayed.name
        var backoff = Backoff()
        var notLiveLogged = false
        var downSinceMs: Int64?
        while !Task.isCancelled {
            guard let target = parent() else {
                logger.error("no address to subscribe to \(name) at", metadata: ["stream": "\(name)"])
                try? await Task.sleep(for: .seconds(5))
                continue
            }
            let (stops, stop) = AsyncStream<Stop>.makeStream()
            let relayed = self.relayed, logger = self.logger
            let handler: RPCConnection.Handler = { envelope, _ in
                switch envelope.body {
                case .media(let media) where media.stream == name:
                    switch media.kind {
                    case .endOfStream: stop.yield(.ended)
                    case .lagged:
                        relayed.lagged()
                        logger.warning("fell behind on \(name); skipped to the next keyframe", metadata: ["event": "lagged", "stream": "\(name)"])
                    default:
                        do { try relayed.media(media) } catch { stop.yield(.rejected("bad tags: \(error)")) }
                    }
                case .chunkSealed(let seal) where seal.stream == name:
                    if case .rejected(let why) = relayed.sealed(seal) { stop.yield(.rejected(why)) }
                default: break
                }
                return nil
            }
            var outcome = "connection closed"
            let subscribedOnce = NIOLockedValueBox(false)
            do {
                outcome = try await RPCClient.withConnection(to: target, pipeline: RPCPipeline(tls: tls), handler: handler) { connection in
                    connection.onClose { stop.finish() }
                    let answer = try await connection.request(.subscribe(relayed.subscribeRequest()))
                    guard case .subscribeAck(let ack) = answer else { throw RPCError.unexpectedReply(answer.name) }
                    if case .rejected(let why) = relayed.subscribed(ack) { stop.yield(.rejected(why)) }
                    subscribedOnce.withLockedValue { $0 = true }
                    logger.notice("stream \(name) started: relaying from chunk \(ack.firstChunk)\(ack.resumed ? " (resumed)" : "")",
                                  metadata: ["event": "stream_started", "stream": "\(name)"])
                    for await reason in stops {
                        switch reason {
                        case .ended: return "ended"
                        case .rejected(let why): return "rejected: \(why)"
                        }
                    }
                    return "connection to \(target) closed"
                }
            } catch let error as ErrorMessage where error.code == .notFound {
                if !notLiveLogged { logger.info("stream \(name) is not live yet", metadata: ["stream": "\(name)"]) }
                notLiveLogged = true
                outcome = "not live"
            } catch is CancellationError {
                return
            } catch {
                outcome = NetworkErrorText.describe(error)
            }
            if subscribedOnce.withLockedValue({ $0 }) { backoff.reset(); notLiveLogged = false; downSinceMs = nil }
            let now = LiveClock.nowMs()
            if outcome == "ended" {
                logger.notice("stream \(name) ended", metadata: ["event": "stream_ended", "stream": "\(name)"])
                relayed.ended()
                backoff.reset()
                downSinceMs = nil
            } else {
                if outcome.hasPrefix("rejected") {
                    logger.error("stream \(name): \(outcome); subscribing again", metadata: ["event": "chunk_rejected", "stream": "\(name)"])
                } else if outcome != "not live" {
                    logger.warning("subscription to \(name) lost: \(outcome)", metadata: ["event": "subscription_lost", "stream": "\(name)"])
                }
                if downSinceMs == nil { downSinceMs = now }
                if let since = downSinceMs, now - since > graceMs, !relayed.live.isEnded, relayed.live.viewerCount > 0 {
                    logger.notice("stream \(name): no subscription for \(graceMs / 1000) s; ending it for viewers",
                                  metadata: ["event": "stream_ended", "stream": "\(name)"])
                    relayed.ended()
                }
            }
            try? await Task.sleep(for: outcome == "not live" ? .seconds(2) : backoff.next())
        }
    }

    /// `host:port` or `[v6]:port`.
    public static func parse(_ address: String) -> ConnectAddress? {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else { return nil }
        var host = String(address[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return .tcp(host: host, port: port)
    }
}
