import Logging
import NIOConcurrencyHelpers
import StreamrRPC
import StreamrWire
import Validation

/// The validator's one persistent connection to the coordinator's control socket (peer
/// credentials: it runs as the service user): `validator targets` every `targetsInterval`
/// (the nodes to check, and the keepalive that marks coverage while it says checking),
/// `validator pin` for probes that come through `/watch`, and the queued results, oldest
/// first, each deleted from the queue only once the coordinator has answered that it is
/// stored (or refused it on its merits). Reconnects with backoff; what is queued waits.
public final class CoordinatorClient: Sendable {
    /// What the coordinator said in its last targets answer.
    public struct Targets: Sendable {
        public var nodes: [NodeTarget]
        public var pageOrigin: String?
    }

    let socket: String
    let store: ValidatorStore
    let targetsInterval: Duration
    let logger: Logger
    let status: @Sendable () -> (checking: Bool, bitrates: [String: UInt64], watching: [String: Int])
    let onTargets: @Sendable (Targets) -> Void
    private let state = NIOLockedValueBox(State())

    struct State {
        var connection: RPCConnection?
        var waiter: CheckedContinuation<Void, Never>?
        var sent: UInt64 = 0
        var refused: UInt64 = 0
        var lastTargetsMs: Int64?
    }

    public init(socket: String, store: ValidatorStore, targetsInterval: Duration = .seconds(2), logger: Logger,
                status: @escaping @Sendable () -> (checking: Bool, bitrates: [String: UInt64], watching: [String: Int]),
                onTargets: @escaping @Sendable (Targets) -> Void) {
        self.socket = socket; self.store = store; self.targetsInterval = targetsInterval; self.logger = logger
        self.status = status; self.onTargets = onTargets
    }

    public var isConnected: Bool { state.withLockedValue { $0.connection != nil } }
    public var counts: (sent: UInt64, refused: UInt64) { state.withLockedValue { ($0.sent, $0.refused) } }

    /// A result was queued: send it now.
    public func notify() {
        let waiter = state.withLockedValue { s in defer { s.waiter = nil }; return s.waiter }
        waiter?.resume()
    }

    /// A one-time `/watch` pin for a probe of `node` (nil while not connected, or refused).
    public func pin(node: String, stream: String, format: String) async -> String? {
        guard let connection = state.withLockedValue({ $0.connection }) else { return nil }
        let request = AdminRequest(command: ["validator", "pin"], arguments: [
            AdminArgument("node", node), AdminArgument("stream", stream), AdminArgument("format", format)])
        guard case .adminResponse(let answer)? = try? await connection.request(.adminRequest(request), timeout: .seconds(3)) else { return nil }
        return answer.rows.first?.first
    }

    /// Runs until cancelled.
    public func run() async {
        var backoff = Backoff(maxSeconds: 10)
        var loggedDown = false
        while !Task.isCancelled {
            let up = NIOLockedValueBox(false)
            let wasDown = loggedDown
            do {
                try await RPCClient.withConnection(to: .unix(path: socket), pipeline: RPCPipeline(), connectTimeout: .seconds(5)) { connection in
                    state.withLockedValue { $0.connection = connection }
                    defer { state.withLockedValue { $0.connection = nil } }
                    try await refreshTargets(connection)
                    up.withLockedValue { $0 = true }
                    if wasDown {
                        logger.notice("connected to the coordinator at \(socket)", metadata: ["event": "link_up", "link": "coordinator"])
                    }
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask { while true { try await Task.sleep(for: self.targetsInterval); try await self.refreshTargets(connection) } }
                        group.addTask { try await self.sendReports(connection) }
                        try await group.next()
                        group.cancelAll()
                    }
                }
            } catch is CancellationError {
                return
            } catch {
                if up.withLockedValue({ $0 }) { loggedDown = false }
                if !loggedDown {
                    logger.warning("coordinator at \(socket) unreachable or lost: \(error); results wait in the queue", metadata: [
                        "event": "link_down", "link": "coordinator"])
                    loggedDown = true
                }
            }
            if Task.isCancelled { return }
            if up.withLockedValue({ $0 }) { backoff.reset() }
            try? await Task.sleep(for: backoff.next())
        }
    }

    private func refreshTargets(_ connection: RPCConnection) async throws {
        let now = status()
        let bitrates = now.bitrates.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        let watching = now.watching.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        let request = AdminRequest(command: ["validator", "targets"], arguments: [
            AdminArgument("checking", now.checking ? "true" : "false"), AdminArgument("bitrates", bitrates),
            AdminArgument("watching", watching)])
        guard case .adminResponse(let answer) = try await connection.request(.adminRequest(request), timeout: .seconds(10)) else {
            throw RPCError.unexpectedReply("validator targets")
        }
        var pageOrigin: String?
        for word in answer.message.split(separator: " ") {
            if word.hasPrefix("last_report_id="), let id = UInt64(word.dropFirst("last_report_id=".count)) { try store.adopt(lastReportID: id) }
            if word.hasPrefix("page_origin=") { pageOrigin = String(word.dropFirst("page_origin=".count)) }
        }
        onTargets(Targets(nodes: Self.parse(answer), pageOrigin: pageOrigin))
        state.withLockedValue { $0.lastTargetsMs = ProbeHTTP.wallMs() }
    }

    /// `validator targets` rows: node_id, address, viewer_port, streams ("main:45,alt:0").
    static func parse(_ answer: AdminResponse) -> [NodeTarget] {
        let col = { (name: String) in answer.columns.firstIndex(of: name) }
        guard let id = col("node_id"), let address = col("address"), let port = col("viewer_port"), let streams = col("streams") else { return [] }
        return answer.rows.compactMap { row -> NodeTarget? in
            guard row.count > max(id, address, port, streams), let viewerPort = Int(row[port]), (1...65535).contains(viewerPort) else { return nil }
            let relayed = row[streams].split(separator: ",").compactMap { item -> NodeTarget.Relayed? in
                let parts = item.split(separator: ":", maxSplits: 1)
                guard let name = parts.first, !name.isEmpty else { return nil }
                let from = parts.count > 1 ? UInt64(parts[1]) : nil
                return NodeTarget.Relayed(stream: String(name), holdsFromSeq: from == 0 ? nil : from)
            }
            return NodeTarget(id: NodeID(row[id]), host: row[address], viewerPort: viewerPort, relayed: relayed)
        }
    }

    private func sendReports(_ connection: RPCConnection) async throws {
        while !Task.isCancelled {
            let batch = try store.pending(limit: 100)
            if batch.isEmpty {
                await waitForWork(upTo: .seconds(1))
                continue
            }
            for report in batch {
                do {
                    _ = try await connection.request(.spotCheckReport(report), timeout: .seconds(15))
                    try store.acknowledge(report.reportID)
                    state.withLockedValue { $0.sent += 1 }
                } catch let refusal as ErrorMessage {
                    switch refusal.code {
                    case .internalError, .unavailable, .permissionDenied:
                        // Not the report's fault: keep it, and try again after a pause.
                        logger.warning("the coordinator could not take report \(report.reportID): \(refusal.message); kept for later", metadata: [
                            "event": "report_deferred", "node": "\(report.nodeID)", "stream": "\(report.stream)"])
                        throw refusal
                    default:
                        // Refused on its merits (an unknown node, a replay): sending it again cannot help.
                        try store.acknowledge(report.reportID)
                        state.withLockedValue { $0.refused += 1 }
                        logger.warning("the coordinator refused report \(report.reportID): \(refusal.message)", metadata: [
                            "event": "report_refused", "node": "\(report.nodeID)", "stream": "\(report.stream)", "reason": "\(refusal.code)"])
                    }
                }
            }
        }
    }

    private func waitForWork(upTo limit: Duration) async {
        let timer = Task { [state] in
            try? await Task.sleep(for: limit)
            let waiter = state.withLockedValue { s in defer { s.waiter = nil }; return s.waiter }
            waiter?.resume()
        }
        defer { timer.cancel() }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLockedValue { s -> Bool in
                if s.waiter != nil { return true }
                s.waiter = continuation
                return false
            }
            if now { continuation.resume() }
        }
    }
}
