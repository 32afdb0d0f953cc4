import Logging
import NIOConcurrencyHelpers
import StreamrWire

/// One long-lived connection from a daemon to another (the ingest to the coordinator and to
/// the validator), with an ordered, bounded queue of what it has to say. It reconnects with
/// backoff; on every (re)connect `onConnect` runs first (e.g. a full state sync), then the
/// queue drains in order. Requests wait for their answer before the next item goes, so an
/// acknowledged report was taken; pushes are written and forgotten. Past `capacity` the oldest
/// queued items are dropped — logged and counted, never silently.
public final class PersistentLink: Sendable {
    public enum Item: Sendable {
        case request(Envelope.Body, what: String)
        case push(Envelope.Body)
    }

    public let name: String
    public let address: ConnectAddress
    let pipeline: RPCPipeline
    let capacity: Int
    let keepalive: (interval: Duration, body: @Sendable () -> Envelope.Body)?
    let onConnect: @Sendable (RPCConnection) async throws -> Void
    let logger: Logger
    private let state = NIOLockedValueBox(State())

    struct State {
        var queue: [Item] = []
        var waiter: CheckedContinuation<Void, Never>?
        var dropped: UInt64 = 0
        var sent: UInt64 = 0
        var connected = false
    }

    public init(name: String, address: ConnectAddress, pipeline: RPCPipeline = RPCPipeline(), capacity: Int = 10_000,
                keepalive: (interval: Duration, body: @Sendable () -> Envelope.Body)? = nil,
                logger: Logger, onConnect: @escaping @Sendable (RPCConnection) async throws -> Void = { _ in }) {
        self.name = name; self.address = address; self.pipeline = pipeline; self.capacity = max(1, capacity)
        self.keepalive = keepalive; self.logger = logger; self.onConnect = onConnect
    }

    /// Items dropped because the queue was full, and items sent, since start.
    public var counts: (dropped: UInt64, sent: UInt64, queued: Int) {
        state.withLockedValue { ($0.dropped, $0.sent, $0.queue.count) }
    }
    public var isConnected: Bool { state.withLockedValue { $0.connected } }

    public func enqueue(_ item: Item) {
        let (waiter, dropped) = state.withLockedValue { s -> (CheckedContinuation<Void, Never>?, Bool) in
            var dropped = false
            if s.queue.count >= capacity { s.queue.removeFirst(); s.dropped += 1; dropped = true }
            s.queue.append(item)
            defer { s.waiter = nil }
            return (s.waiter, dropped)
        }
        if dropped {
            logger.warning("\(name) backlog over \(capacity) items: the oldest was dropped", metadata: [
                "event": "backlog_overflow", "link": "\(name)", "dropped_total": "\(counts.dropped)"])
        }
        waiter?.resume()
    }

    /// Drops everything queued (a state sync on reconnect supersedes it).
    public func clearQueue() { state.withLockedValue { $0.queue.removeAll() } }

    /// Runs until cancelled.
    public func run() async {
        var backoff = Backoff(maxSeconds: 10)
        var loggedDown = false
        while !Task.isCancelled {
            let wasDown = loggedDown
            let up = NIOLockedValueBox(false)
            do {
                try await RPCClient.withConnection(to: address, pipeline: pipeline, connectTimeout: .seconds(5)) { connection in
                    try await onConnect(connection)
                    state.withLockedValue { $0.connected = true }
                    up.withLockedValue { $0 = true }
                    defer { state.withLockedValue { $0.connected = false } }
                    if wasDown { logger.notice("\(name): connected to \(address)", metadata: ["event": "link_up", "link": "\(name)"]) }
                    try await drain(connection)
                }
            } catch is CancellationError {
                return
            } catch {
                if up.withLockedValue({ $0 }) { loggedDown = false }
                if !loggedDown {
                    logger.warning("\(name): \(address) unreachable or lost: \(NetworkErrorText.describe(error)); retrying", metadata: [
                        "event": "link_down", "link": "\(name)"])
                    loggedDown = true
                }
            }
            if Task.isCancelled { return }
            if up.withLockedValue({ $0 }) { backoff.reset(); if !loggedDown { continue } }
            try? await Task.sleep(for: backoff.next())
        }
    }

    private func drain(_ connection: RPCConnection) async throws {
        var lastSentMs = ContinuousClock.now
        while !Task.isCancelled {
            if connection.isClosed { throw RPCError.connectionClosed }
            guard let item = state.withLockedValue({ $0.queue.first }) else {
                // Nothing to say: wait for an item, or for the keepalive's turn.
                if let keepalive, ContinuousClock.now - lastSentMs >= keepalive.interval {
                    _ = try await connection.request(keepalive.body(), timeout: .seconds(10))
                    lastSentMs = .now
                    continue
                }
                await waitForItem(upTo: keepalive?.interval ?? .seconds(1))
                continue
            }
            switch item {
            case .request(let body, let what):
                do {
                    _ = try await connection.request(body, timeout: .seconds(15))
                } catch let refusal as ErrorMessage {
                    // Refused on its merits (not lost): not worth sending again.
                    logger.warning("\(name): \(what) refused: \(refusal.message)", metadata: ["event": "link_refused", "link": "\(name)"])
                }
            case .push(let body):
                try await connection.push(body)
            }
            state.withLockedValue { s in
                if !s.queue.isEmpty { s.queue.removeFirst() }
                s.sent += 1
            }
            lastSentMs = .now
        }
    }

    private func waitForItem(upTo limit: Duration) async {
        let timer = Task { [state] in
            try? await Task.sleep(for: limit)
            let waiter = state.withLockedValue { s in defer { s.waiter = nil }; return s.waiter }
            waiter?.resume()
        }
        defer { timer.cancel() }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLockedValue { s -> Bool in
                if !s.queue.isEmpty || s.waiter != nil { return true }
                s.waiter = continuation
                return false
            }
            if now { continuation.resume() }
        }
    }
}
