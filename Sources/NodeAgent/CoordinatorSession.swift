import CoordinatorCore
import FoundationEssentials
import Glibc
import Logging
import NIOConcurrencyHelpers
import StreamrRPC
import StreamrTLS
import StreamrWire

/// The node's mutual-TLS session with its coordinator: a heartbeat every interval with what it
/// relays and serves, settings taken from the acks, and reconnection with jittered exponential
/// backoff whenever the session drops.
final class CoordinatorSession: Sendable {
    let identity: NodeIdentity
    let tls: TLSContext
    let store: NodeStore
    let relays: Relays
    let viewers: ViewerService
    let logger: Logger
    private let state = NIOLockedValueBox(State())

    struct State {
        var connected = false
        var status = "connecting"
        var intervalMs: UInt32 = 5000
        var sessionID: Int64?
    }

    init(identity: NodeIdentity, tls: TLSContext, store: NodeStore, relays: Relays, viewers: ViewerService, logger: Logger) {
        self.identity = identity; self.tls = tls; self.store = store; self.relays = relays
        self.viewers = viewers; self.logger = logger
        state.withLockedValue { $0.intervalMs = identity.heartbeatIntervalMs }
    }

    var status: String { state.withLockedValue { $0.status } }

    /// Runs until cancelled.
    func run() async {
        var backoff = Backoff()
        let address = ConnectAddress.tcp(host: identity.coordinatorHost, port: identity.coordinatorPort)
        while !Task.isCancelled {
            var reason: String
            var backoffReset = false
            do {
                try await RPCClient.withConnection(to: address, pipeline: RPCPipeline(tls: tls), connectTimeout: .seconds(10)) { connection in
                    let started = NodeStore.nowMs()
                    let session = try? store.sessionStarted(atMs: started)
                    state.withLockedValue { $0.connected = true; $0.status = "connected to \(address)"; $0.sessionID = session }
                    logger.notice("connected to the coordinator at \(address)", metadata: ["event": "connected"])
                    while !Task.isCancelled {
                        let ack = try await connection.request(.heartbeat(try heartbeat()), timeout: .seconds(30))
                        guard case .heartbeatAck(let answer) = ack else { throw RPCError.unexpectedReply(ack.name) }
                        if let settings = answer.settings { apply(settings) }
                        let interval = state.withLockedValue { $0.intervalMs }
                        try await Task.sleep(for: .milliseconds(Int64(interval)))
                    }
                }
                reason = "stopped"
            } catch is CancellationError {
                reason = "stopping"
            } catch let error as ErrorMessage {
                reason = "the coordinator refused: \(error.message)"
            } catch {
                reason = "\(error)"
            }
            let wasConnected = state.withLockedValue { s -> Bool in
                if s.connected { backoffReset = true }
                defer { s.connected = false; s.status = "disconnected: \(reason)" }
                if let id = s.sessionID { try? store.sessionEnded(id: id, atMs: NodeStore.nowMs(), reason: reason); s.sessionID = nil }
                return s.connected
            }
            if wasConnected || backoff.attempt == 0 {
                logger.warning("disconnected from the coordinator: \(reason)", metadata: ["event": "disconnected", "reason": "\(reason)"])
            }
            if Task.isCancelled { return }
            if backoffReset { backoff.reset() }
            try? await Task.sleep(for: backoff.next())
        }
    }

    private func heartbeat() throws -> Heartbeat {
        let now = NodeStore.nowMs()
        let served = viewers.bytesServedTotals()
        let streams = relays.all.filter { $0.isReceiving(nowMs: now) }.map { relayed in
            StreamCounters(stream: relayed.name, viewers: UInt32(relayed.live.viewerCount),
                           bytesServed: UInt64(max(0, served[relayed.name] ?? 0)), lastChunkSeq: relayed.lastChunkSeq)
        }
        try? store.saveBytesServed(served)
        return Heartbeat(seq: try store.nextHeartbeatSeq(), sentUnixMs: UInt64(now), streams: streams,
                         bufferHealthMs: UInt32(clamping: relays.all.map { $0.live.sealedChunks.count * 2000 }.max() ?? 0),
                         viewerPort: UInt32(viewers.port), viewerURL: viewers.publicURL,
                         uploadCapBps: viewers.uploadCapBps, uploadBps: viewers.uploadBps())
    }

    private func apply(_ settings: NodeSettings) {
        state.withLockedValue { $0.intervalMs = max(1000, settings.heartbeatIntervalMs) }
        if !settings.ingestAddress.isEmpty { relays.ingestAddress.withLockedValue { $0 = settings.ingestAddress } }
        relays.set(settings.streams)
    }
}
