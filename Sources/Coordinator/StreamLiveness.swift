import CoordinatorCore
import Logging
import NIOConcurrencyHelpers
import StreamrRPC

/// Which streams are live, as the ingest tells it over its one persistent connection: a
/// stream is live only while a publisher is connected to a running ingest. Kept in memory, not
/// in the database — a coordinator that starts (after a crash or a reboot) knows of no live
/// stream until an ingest syncs — and bound to the ingest's connection: when it closes (the
/// ingest died) or stops sending keepalives (it hung), its streams are offline.
public final class StreamLiveness: Sendable {
    public enum State: String, Sendable, Equatable {
        case offline
        case live
        /// The publisher is gone; the ingest keeps the viewers for a grace period.
        case reconnecting
    }

    public struct Entry: Sendable, Equatable {
        public var state: State
        public var sinceMs: Int64
    }

    /// An ingest that has not been heard from for this long is taken for dead.
    let silenceLimitMs: Int64
    let clockMs: @Sendable () -> Int64
    let logger: Logger?
    private let state = NIOLockedValueBox(Inner())

    struct Inner {
        var streams: [String: (entry: Entry, ingest: ObjectIdentifier)] = [:]
        var lastHeard: [ObjectIdentifier: Int64] = [:]
        var ingests: [ObjectIdentifier: RPCConnection] = [:]
    }

    public init(silenceLimitMs: Int64 = 10_000, clockMs: @escaping @Sendable () -> Int64 = CoordinatorStore.nowMs, logger: Logger? = nil) {
        self.silenceLimitMs = silenceLimitMs; self.clockMs = clockMs; self.logger = logger
    }

    /// The ingest on `connection` says exactly these streams are up there. Returns the streams
    /// whose state changed, for the journal.
    @discardableResult
    public func sync(_ connection: RPCConnection, streams: [String: State]) -> [(String, State)] {
        let key = ObjectIdentifier(connection)
        let now = clockMs()
        let changes = state.withLockedValue { s -> [(String, State)] in
            s.lastHeard[key] = now
            s.ingests[key] = connection
            var changes: [(String, State)] = []
            for (name, held) in s.streams where held.ingest == key && streams[name] == nil {
                s.streams[name] = nil
                changes.append((name, .offline))
            }
            for (name, new) in streams where new != .offline {
                if s.streams[name]?.entry.state != new { changes.append((name, new)) }
                let since = s.streams[name]?.entry.state == new ? s.streams[name]!.entry.sinceMs : now
                s.streams[name] = (Entry(state: new, sinceMs: since), key)
            }
            return changes
        }
        connection.onClose { [weak self] in self?.ingestGone(key) }
        return changes
    }

    /// One stream's new state, from the ingest on `connection`.
    public func set(_ name: String, _ new: State, connection: RPCConnection) {
        let key = ObjectIdentifier(connection)
        let now = clockMs()
        let first = state.withLockedValue { s -> Bool in
            let first = s.ingests[key] == nil
            s.lastHeard[key] = now
            s.ingests[key] = connection
            if new == .offline {
                if s.streams[name]?.ingest == key || s.streams[name] == nil { s.streams[name] = nil }
            } else {
                let since = s.streams[name]?.entry.state == .live && new == .live ? s.streams[name]!.entry.sinceMs : now
                s.streams[name] = (Entry(state: new, sinceMs: since), key)
            }
            return first
        }
        if first { connection.onClose { [weak self] in self?.ingestGone(key) } }
    }

    /// A keepalive from the ingest on `connection`.
    public func heard(_ connection: RPCConnection) {
        let key = ObjectIdentifier(connection)
        _ = state.withLockedValue { $0.lastHeard.updateValue(clockMs(), forKey: key) }
    }

    /// The stream's state now (a silent ingest's streams are offline).
    public func entry(_ name: String) -> Entry {
        let now = clockMs()
        return state.withLockedValue { s in
            guard let held = s.streams[name] else { return Entry(state: .offline, sinceMs: 0) }
            guard let heard = s.lastHeard[held.ingest], now - heard <= silenceLimitMs else { return Entry(state: .offline, sinceMs: 0) }
            return held.entry
        }
    }

    public func state(_ name: String) -> State { entry(name).state }

    /// Streams not offline now.
    public func liveStreams() -> [String] {
        let now = clockMs()
        return state.withLockedValue { s in
            s.streams.filter { _, held in (s.lastHeard[held.ingest].map { now - $0 <= silenceLimitMs } ?? false) }.map(\.key).sorted()
        }
    }

    /// Streams whose ingest went silent: dropped (returned once, for the journal), and that
    /// ingest's connection closed, so if it wakes up it reconnects and syncs afresh.
    public func expireSilent() -> [String] {
        let now = clockMs()
        let (gone, connections) = state.withLockedValue { s -> ([String], [RPCConnection]) in
            let silent = Set(s.lastHeard.filter { now - $0.value > silenceLimitMs }.map(\.key))
            let gone = s.streams.filter { silent.contains($0.value.ingest) }.map(\.key)
            for name in gone { s.streams[name] = nil }
            let connections = silent.compactMap { s.ingests.removeValue(forKey: $0) }
            for key in silent { s.lastHeard[key] = nil }
            return (gone.sorted(), connections)
        }
        for connection in connections { connection.close(reason: nil) }
        return gone
    }

    private func ingestGone(_ key: ObjectIdentifier) {
        let gone = state.withLockedValue { s -> [String] in
            s.lastHeard[key] = nil
            s.ingests[key] = nil
            let gone = s.streams.filter { $0.value.ingest == key }.map(\.key)
            for name in gone { s.streams[name] = nil }
            return gone.sorted()
        }
        for stream in gone {
            logger?.warning("stream \(stream) is offline: the ingest's connection closed", metadata: [
                "event": "stream_offline", "stream": "\(stream)", "reason": "ingest_gone"])
        }
    }
}
