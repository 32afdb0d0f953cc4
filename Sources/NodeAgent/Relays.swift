import FoundationEssentials
import Glibc
import LiveMedia
import Logging
import NIOConcurrencyHelpers
import StreamrRPC
import StreamrTLS
import StreamrWire

/// Reconnect delays: exponential from 1 s to 60 s, with ±20% jitter so nodes that lost their
/// host together do not come back in lockstep.
struct Backoff: Sendable {
    var attempt = 0
    mutating func next() -> Duration {
        let base = min(60.0, pow(2.0, Double(min(attempt, 6))))
        attempt += 1
        return .milliseconds(Int64(base * Double.random(in: 0.8...1.2) * 1000))
    }
    mutating func reset() { attempt = 0 }
}

/// The streams this node relays, each with its subscription at the ingest (reconnecting with
/// backoff, resuming after the last verified chunk), started and stopped as the coordinator's
/// settings say.
public final class Relays: Sendable {
    let ingestAddress: NIOLockedValueBox<String>
    let tls: TLSContext
    let logger: Logger
    private let state = NIOLockedValueBox(State())

    struct State {
        var streams: [String: RelayedStream] = [:]
        var tasks: [String: Task<Void, Never>] = [:]
    }

    init(ingestAddress: String, tls: TLSContext, logger: Logger) {
        self.ingestAddress = NIOLockedValueBox(ingestAddress); self.tls = tls; self.logger = logger
    }

    /// The stream `name` as viewers reach it (nil unless this node relays it).
    public func stream(named name: String) -> RelayedStream? { state.withLockedValue { $0.streams[name] } }
    public var all: [RelayedStream] { state.withLockedValue { Array($0.streams.values) } }

    /// Relays exactly `names` from now on.
    func set(_ names: [String]) {
        let (started, stopped) = state.withLockedValue { s -> ([String], [Task<Void, Never>]) in
            let wanted = Set(names)
            var stopped: [Task<Void, Never>] = []
            for name in s.tasks.keys where !wanted.contains(name) {
                stopped.append(s.tasks.removeValue(forKey: name)!)
                s.streams[name]?.live.end()
                s.streams[name] = nil
            }
            let started = names.filter { s.tasks[$0] == nil }
            for name in started {
                s.streams[name] = RelayedStream(name: name)
                s.tasks[name] = Task { await self.subscribeLoop(name) }
            }
            return (started, stopped)
        }
        for task in stopped { task.cancel() }
        if !started.isEmpty { logger.info("relaying \(started.joined(separator: ", "))") }
    }

    func stopAll() {
        let tasks = state.withLockedValue { s in defer { s.tasks.removeAll() }; return Array(s.tasks.values) }
        for task in tasks { task.cancel() }
    }

    /// Why a subscription's connection was given up.
    enum Stop: Sendable { case ended, rejected(String) }

    private func subscribeLoop(_ name: String) async {
        var backoff = Backoff()
        var notLiveLogged = false
        while !Task.isCancelled {
            guard let relayed = stream(named: name) else { return }
            let address = ingestAddress.withLockedValue { $0 }
            guard let target = Self.parse(address) else {
                logger.error("bad ingest address `\(address)`", metadata: ["stream": "\(name)"])
                return
            }
            let (stops, stop) = AsyncStream<Stop>.makeStream()
            let handler: RPCConnection.Handler = { envelope, connection in
                switch envelope.body {
                case .media(let media) where media.stream == name:
                    switch media.kind {
                    case .endOfStream: stop.yield(.ended)
                    case .lagged:
                        relayed.lagged()
                        self.logger.warning("fell behind on \(name); skipped to the next keyframe", metadata: [
                            "event": "lagged", "stream": "\(name)"])
                    default:
                        do { try relayed.media(media) } catch { stop.yield(.rejected("bad tags from the ingest: \(error)")) }
                    }
                case .chunkSealed(let seal) where seal.stream == name:
                    if case .rejected(let why) = relayed.sealed(seal, host: connection.peer.certificate) {
                        stop.yield(.rejected(why))
                    }
                default: break
                }
                return nil
            }
            var outcome = "connection closed"
            let subscribedOnce = NIOLockedValueBox(false)
            do {
                outcome = try await RPCClient.withConnection(to: target, pipeline: RPCPipeline(tls: tls), handler: handler) { connection in
                    connection.onClose { stop.finish() }
                    relayed.subscribing()
                    let answer = try await connection.request(.subscribe(Subscribe(stream: name, resumeAfterChunk: relayed.lastVerifiedChunk)))
                    guard case .subscribeAck(let ack) = answer else { throw RPCError.unexpectedReply(answer.name) }
                    relayed.subscribed(resumed: ack.resumed)
                    subscribedOnce.withLockedValue { $0 = true }
                    self.logger.notice("stream \(name) started: relaying from chunk \(ack.firstChunk)\(ack.resumed ? " (resumed)" : "")", metadata: [
                        "event": "stream_started", "stream": "\(name)"])
                    for await reason in stops {
                        switch reason {
                        case .ended: return "ended"
                        case .rejected(let why): return "rejected: \(why)"
                        }
                    }
                    return "connection to the ingest closed"
                }
            } catch let error as ErrorMessage where error.code == .notFound {
                if !notLiveLogged { logger.info("stream \(name) is not live at the ingest yet", metadata: ["stream": "\(name)"]) }
                notLiveLogged = true
                outcome = "not live"
            } catch is CancellationError {
                return
            } catch {
                outcome = "\(error)"
            }
            if subscribedOnce.withLockedValue({ $0 }) { backoff.reset(); notLiveLogged = false }
            if outcome == "ended" {
                logger.notice("stream \(name) ended at the ingest", metadata: ["event": "stream_ended", "stream": "\(name)"])
                // Viewers get end of stream; the next publish starts a fresh live stream.
                state.withLockedValue { s in
                    s.streams[name]?.live.end()
                    if s.tasks[name] != nil { s.streams[name] = RelayedStream(name: name) }
                }
                backoff.reset()
            } else if outcome.hasPrefix("rejected") {
                logger.error("stream \(name): \(outcome); subscribing again", metadata: [
                    "event": "chunk_rejected", "stream": "\(name)"])
            } else if outcome != "not live" {
                logger.warning("subscription to \(name) lost: \(outcome)", metadata: ["event": "subscription_lost", "stream": "\(name)"])
            }
            try? await Task.sleep(for: outcome == "not live" ? .seconds(2) : backoff.next())
        }
    }

    static func parse(_ address: String) -> ConnectAddress? {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else { return nil }
        var host = String(address[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return .tcp(host: host, port: port)
    }
}
