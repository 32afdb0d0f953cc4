import CoordinatorCore
import FoundationEssentials
import Glibc
import LiveMedia
import Logging
import NIOConcurrencyHelpers
import StreamrConfig
import StreamrRPC
import StreamrTLS
import StreamrWire

/// The node's mutual-TLS session with its coordinator: a heartbeat every interval with what it
/// relays and serves (and whether the friend paused it), settings taken from the acks (streams,
/// the ingest's address, the host's signing key), and reconnection with jittered exponential
/// backoff whenever the session drops.
final class CoordinatorSession: Sendable {
    let identity: NodeIdentity
    let files: NodeFiles
    let tls: TLSContext
    let store: NodeStore
    let relays: Relays
    let viewers: ViewerService
    let control: NodeControl
    let machineID: [UInt8]
    let logger: Logger
    private let state = NIOLockedValueBox(State())

    struct State {
        var connected = false
        var status = "connecting"
        var intervalMs: UInt32 = 5000
        var sessionID: Int64?
        var connection: RPCConnection?
        /// The friend's money as the host last said (refreshed about once a minute).
        var money: Money?
        var moneyAskedMs: Int64 = 0
    }

    struct Money: Sendable {
        var thisPeriod: String
        var balances: [(kind: String, text: String)]
    }

    /// What status shows of the friend's money.
    var money: Money? { state.withLockedValue { $0.money } }

    /// The inflated test fault: heartbeats claim more than was served (see TestFault).
    let inflate: Bool
    private let heartbeatsSent = NIOLockedValueBox(UInt64(0))

    init(identity: NodeIdentity, files: NodeFiles, tls: TLSContext, store: NodeStore, relays: Relays, viewers: ViewerService,
         control: NodeControl, machineIDFile: String = "/etc/machine-id", logger: Logger) {
        self.identity = identity; self.files = files; self.tls = tls; self.store = store; self.relays = relays
        self.viewers = viewers; self.control = control; self.logger = logger
        machineID = Self.machineIDHash(file: machineIDFile)
        inflate = viewers.fault == .inflated
        state.withLockedValue { $0.intervalMs = identity.heartbeatIntervalMs }
    }

    var status: String { state.withLockedValue { $0.status } }

    /// Asks the coordinator something on the node's own session (e.g. its earnings).
    func request(_ body: Envelope.Body) async throws -> Envelope.Body {
        guard let connection = state.withLockedValue({ $0.connection }) else {
            throw ErrorMessage(.unavailable, "not connected to the host's coordinator right now (\(status))")
        }
        return try await connection.request(body, timeout: .seconds(15))
    }

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
                    state.withLockedValue { $0.connected = true; $0.status = "connected to \(address)"; $0.sessionID = session; $0.connection = connection }
                    defer { state.withLockedValue { $0.connection = nil } }
                    logger.notice("connected to the coordinator at \(address)", metadata: ["event": "connected"])
                    while !Task.isCancelled {
                        control.refresh()
                        let ack = try await connection.request(.heartbeat(try heartbeat()), timeout: .seconds(30))
                        guard case .heartbeatAck(let answer) = ack else { throw RPCError.unexpectedReply(ack.name) }
                        if let settings = answer.settings { apply(settings) }
                        await refreshMoney(connection)
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
                reason = NetworkErrorText.describe(error)
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

    /// Asks the host for this node's earnings now and then; a host without them is fine.
    private func refreshMoney(_ connection: RPCConnection) async {
        let now = NodeStore.nowMs()
        guard state.withLockedValue({ now - $0.moneyAskedMs >= 60_000 }) else { return }
        state.withLockedValue { $0.moneyAskedMs = now }
        guard case .adminResponse(let earnings)? = try? await connection.request(.adminRequest(AdminRequest(command: ["earnings", "mine"])), timeout: .seconds(10)),
              case .adminResponse(let balances)? = try? await connection.request(.adminRequest(AdminRequest(command: ["balance", "mine"])), timeout: .seconds(10)) else { return }
        let state = earnings.columns.firstIndex(of: "state"), amount = earnings.columns.firstIndex(of: "amount"), currency = earnings.columns.firstIndex(of: "currency")
        var open: [String] = []
        if let state, let amount, let currency {
            for row in earnings.rows where row[state] == "open" { open.append("\(row[amount]) \(row[currency])") }
        }
        let money = Money(thisPeriod: open.isEmpty ? "none yet" : open.joined(separator: ", "),
                          balances: balances.rows.map { ($0[0], "\($0[1]) \($0[3])") })
        self.state.withLockedValue { $0.money = money }
    }

    private func heartbeat() throws -> Heartbeat {
        let now = NodeStore.nowMs()
        let served = relays.bytesServed()
        let extra: UInt64 = inflate ? heartbeatsSent.withLockedValue { count -> UInt64 in count += 1; return count } : 0
        let streams = relays.all.filter { $0.isReceiving(nowMs: now) }.map { relayed in
            StreamCounters(stream: relayed.name, viewers: UInt32(relays.viewers(relayed, nowMs: now)) + (inflate ? 25 : 0),
                           bytesServed: UInt64(max(0, served[relayed.name] ?? 0)) + extra * 50_000_000, lastChunkSeq: relayed.lastChunkSeq)
        }
        try? store.saveBytesServed(served)
        let paused = control.pausedUntil()
        return Heartbeat(seq: try store.nextHeartbeatSeq(), sentUnixMs: UInt64(now), streams: streams,
                         bufferHealthMs: UInt32(clamping: relays.all.map { $0.live.sealedChunks.count * 2000 }.max() ?? 0),
                         viewerPort: UInt32(viewers.port), viewerURL: viewers.publicURL,
                         uploadCapBps: viewers.uploadCapBps, uploadBps: viewers.uploadBps(),
                         paused: paused != nil, pausedUntilUnixMs: UInt64(max(0, paused ?? 0)), machineIDSHA256: machineID)
    }

    private func apply(_ settings: NodeSettings) {
        state.withLockedValue { $0.intervalMs = max(1000, settings.heartbeatIntervalMs) }
        if !settings.ingestAddress.isEmpty { relays.ingestAddress.withLockedValue { $0 = settings.ingestAddress } }
        if !settings.signingKeyDER.isEmpty, let key = try? PublicKey(der: settings.signingKeyDER), relays.signingKey != key {
            // Trusted: it came over the session whose server the pinned CA vouches for.
            do { try files.saveSigningKey(key) } catch {
                logger.warning("cannot store the host's signing key: \(error)", metadata: ["event": "state_write_failed"])
            }
            logger.info("the host's chunk-signing key is \(SHA256Digest.hex(key.sha256).prefix(16))…", metadata: ["event": "signing_key"])
            relays.setSigningKey(key)
        }
        relays.set(settings.streams)
    }

    /// SHA-256 of /etc/machine-id with a fixed prefix (the host dedupes identities per machine
    /// without learning the id itself); empty when the file is not there.
    static func machineIDHash(file: String = "/etc/machine-id") -> [UInt8] {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return [] }
        let id = text.trimmingWhitespace()
        return id.isEmpty ? [] : SHA256Digest.hash(Array("streamr machine-id ".utf8) + Array(id.utf8))
    }
}
