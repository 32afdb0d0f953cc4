import CoordinatorCore
import NIOConcurrencyHelpers
import NIOCore
import StreamrRPC
import StreamrWire

/// The nodes connected now, on 7443. Per connection: the node behind its certificate
/// (checked against the database once, when the connection's first request arrives), its
/// session (a row opened by its first heartbeat, ended when the connection closes), and its
/// latest heartbeat — what `/watch` routes by. `node disable` closes a node's connections here.
public final class NodeSessions: Sendable {
    public let recorder: HeartbeatRecorder
    let store: CoordinatorStore
    let clockMs: @Sendable () -> Int64
    private let connections = NIOLockedValueBox([ObjectIdentifier: Connected]())
    private let rate = NIOLockedValueBox(RateWindow(seconds: 10))

    struct Connected {
        let node: String
        let connection: RPCConnection
        var sessionID: Int64?
        var heartbeat: Heartbeat?
        var receivedMs: Int64 = 0
    }

    /// A connected node as routing sees it.
    public struct Live: Sendable, Equatable {
        public var node: String
        public var heartbeat: Heartbeat
        public var receivedMs: Int64
        /// The session's source IP address, for a node that gave no viewer_url.
        public var remoteIP: String?
    }

    public init(store: CoordinatorStore, recorder: HeartbeatRecorder? = nil,
                clockMs: @escaping @Sendable () -> Int64 = CoordinatorStore.nowMs) throws {
        self.store = store; self.recorder = try recorder ?? HeartbeatRecorder(store: store); self.clockMs = clockMs
    }

    /// Heartbeats accepted per second over the last 10 s.
    public func heartbeatsPerSecond() -> Double {
        let now = clockMs()
        return rate.withLockedValue { $0.perSecond(nowMs: now) }
    }

    /// At most this many streams in one heartbeat.
    public static let maxStreams = 64

    /// Sessions open now (connections that have heartbeated).
    public var openCount: Int { connections.withLockedValue { $0.values.filter { $0.sessionID != nil }.count } }

    /// Node connections now (admitted, heartbeating or not).
    public var connectionCount: Int { connections.withLockedValue { $0.count } }

    /// Whether `connection` has opened its session (heartbeated) yet.
    public func hasSession(_ connection: RPCConnection) -> Bool {
        connections.withLockedValue { $0[ObjectIdentifier(connection)]?.sessionID != nil }
    }

    /// The node `connection` was admitted as, if it has been.
    public func admittedNode(_ connection: RPCConnection) -> String? {
        connections.withLockedValue { $0[ObjectIdentifier(connection)]?.node }
    }

    /// Records that `connection` belongs to `node` (checked by the caller); forgotten, and its
    /// session ended, when the connection closes.
    public func admit(_ connection: RPCConnection, node: String) {
        let key = ObjectIdentifier(connection)
        connections.withLockedValue { $0[key] = Connected(node: node, connection: connection) }
        connection.onClose { [self] in
            let gone = connections.withLockedValue { $0.removeValue(forKey: key) }
            if let id = gone?.sessionID { recorder.endSession(id: id, atMs: clockMs()) }
        }
    }

    /// Closes every connection of `node`, telling it why. Returns how many were closed.
    @discardableResult
    public func disconnect(node: String, reason: ErrorMessage) -> Int {
        let victims = connections.withLockedValue { $0.values.filter { $0.node == node }.map(\.connection) }
        for connection in victims { connection.close(reason: reason) }
        return victims.count
    }

    /// Connected nodes that have heartbeated, with their latest heartbeat.
    public func live() -> [Live] {
        connections.withLockedValue { all in
            all.values.compactMap { c in
                c.heartbeat.map { Live(node: c.node, heartbeat: $0, receivedMs: c.receivedMs, remoteIP: c.connection.peer.remoteAddress?.displayIP) }
            }
        }
    }

    /// Accepts `heartbeat` from `node` on `connection` (opening the connection's session on
    /// its first heartbeat) and answers with the ack once it is committed.
    /// An accepted heartbeat's ack, and whether it was the session's first (settings go with it).
    public struct Accepted: Sendable {
        public var ack: HeartbeatAck
        public var firstOfSession: Bool
    }

    public func heartbeat(_ heartbeat: Heartbeat, node: String, connection: RPCConnection) async throws -> Accepted {
        try await withCheckedThrowingContinuation { (waiter: CheckedContinuation<Accepted, any Error>) in
            do {
                try submitHeartbeat(heartbeat, node: node, connection: connection, answerOnLoop: false) {
                    waiter.resume(with: $0.mapError { $0 as any Error })
                }
            } catch { waiter.resume(throwing: error) }
        }
    }

    /// Checks `heartbeat` (throws at once for a bad one), opens the connection's session on its
    /// first, and hands it to the recorder: `done` runs once it is committed, on the
    /// connection's event loop when `answerOnLoop` (the acks of one commit go out together).
    public func submitHeartbeat(_ heartbeat: Heartbeat, node: String, connection: RPCConnection, answerOnLoop: Bool = true,
                                done: @escaping @Sendable (Result<Accepted, ErrorMessage>) -> Void) throws {
        // Checked before the seq is taken: a batch is all or nothing, so nothing that could fail
        // its transaction (a stream named twice) may reach it.
        guard heartbeat.streams.count <= Self.maxStreams else {
            throw ErrorMessage(.invalidArgument, "a heartbeat lists at most \(Self.maxStreams) streams")
        }
        var seen = Set<String>()
        for counters in heartbeat.streams {
            do { _ = try StreamName.validate(counters.stream) } catch { throw ErrorMessage(.invalidArgument, "heartbeat: \(error)") }
            guard seen.insert(counters.stream).inserted else {
                throw ErrorMessage(.invalidArgument, "heartbeat lists stream `\(counters.stream)` twice")
            }
        }
        guard heartbeat.viewerURL.utf8.count <= 256 else { throw ErrorMessage(.invalidArgument, "viewer_url is over 256 bytes") }
        let now = clockMs()
        let first = connections.withLockedValue { $0[ObjectIdentifier(connection)]?.sessionID == nil }
        let session = sessionID(for: connection, node: node, now: now)
        let key = ObjectIdentifier(connection)
        recorder.submit(HeartbeatEntry(nodeID: node, sessionID: session, heartbeat: heartbeat, receivedMs: now),
                        on: answerOnLoop ? connection.eventLoop : nil) { [connections, rate] result in
            switch result {
            case .success:
                connections.withLockedValue {
                    $0[key]?.heartbeat = heartbeat
                    $0[key]?.receivedMs = now
                }
                rate.withLockedValue { $0.add(atMs: now) }
                done(.success(Accepted(ack: HeartbeatAck(seq: heartbeat.seq), firstOfSession: first)))
            case .failure(let error):
                done(.failure(error))
            }
        }
    }

    private func sessionID(for connection: RPCConnection, node: String, now: Int64) -> Int64 {
        let key = ObjectIdentifier(connection)
        if let id = connections.withLockedValue({ $0[key]?.sessionID }) { return id }
        if connections.withLockedValue({ $0[key] }) == nil { admit(connection, node: node) }
        // A connection's requests are handled one at a time, so no other heartbeat races this.
        let id = recorder.startSession(node: node, atMs: now)
        let stillOpen = connections.withLockedValue { all -> Bool in
            guard all[key] != nil else { return false }
            all[key]?.sessionID = id
            return true
        }
        // Closed meanwhile: its close handler saw no session, so end this one here.
        if !stillOpen { recorder.endSession(id: id, atMs: now) }
        return id
    }
}
