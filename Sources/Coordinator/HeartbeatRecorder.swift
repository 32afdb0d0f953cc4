import CoordinatorCore
import NIOConcurrencyHelpers
import NIOPosix
import StreamrRPC
import StreamrWire

/// Accepts heartbeats on nodes' sessions and persists them with group commits.
///
/// Ordering: a heartbeat's seq must be strictly greater than the last one accepted for its
/// node (kept in memory, loaded from `nodes.last_seq` on a node's first heartbeat after a
/// start, so a replay is refused across restarts too).
///
/// Durability: `accept` returns — and the node gets its HeartbeatAck — only after the
/// transaction holding that heartbeat has committed, so nothing acknowledged is lost when
/// the coordinator crashes. Heartbeats from all nodes that arrive while a commit is running
/// wait for the next one and share it (group commit, at most `maxBatch` per transaction):
/// one commit per heartbeat when idle, few large commits under load. (WAL with
/// synchronous=NORMAL: a process crash loses nothing committed; a power loss may lose the
/// last transactions, as for every other write of the store.)
///
/// Verified uptime (`UptimeTracker`) is updated from each batch, by the heartbeats' receive
/// times, and written in the same transaction.
public final class HeartbeatRecorder: Sendable {
    let store: CoordinatorStore
    let maxBatch: Int
    /// Raw heartbeats older than this are pruned (about once a minute, by the flusher).
    let retentionMs: Int64
    private let lastPruneMs = NIOLockedValueBox(CoordinatorStore.nowMs())
    /// The one thread that writes batches.
    private let writer: NIOThreadPool
    private let state = NIOLockedValueBox(State())
    /// Used by the one running flusher only.
    private let uptime: NIOLockedValueBox<UptimeTracker>

    private struct Pending {
        var event: SessionEvent?  // nil: a barrier (`flush`)
        var done: CheckedContinuation<Void, any Error>?
    }

    private struct State {
        var lastSeq: [String: UInt64] = [:]
        var pending: [Pending] = []
        var flushing = false
        var accepted: UInt64 = 0
        var commits: UInt64 = 0
    }

    public init(store: CoordinatorStore, heartbeatIntervalMs: Int64 = 5000, maxBatch: Int = 500,
                retentionMs: Int64 = 7 * 86_400_000) throws {
        self.store = store; self.maxBatch = max(1, maxBatch); self.retentionMs = retentionMs
        writer = NIOThreadPool(numberOfThreads: 1)
        writer.start()
        var tracker = UptimeTracker(heartbeatIntervalMs: heartbeatIntervalMs)
        for interval in try store.openUptimeIntervals() { tracker.resume(interval) }
        uptime = NIOLockedValueBox(tracker)
    }

    /// After a failed commit: the tracker as the database has it (or, failing that, empty —
    /// uptime is then under-counted, never invented).
    private func resetUptime() {
        uptime.withLockedValue { tracker in
            let open = (try? store.openUptimeIntervals()) ?? []
            tracker = UptimeTracker(heartbeatIntervalMs: tracker.maxGapMs / 3)
            for interval in open { tracker.resume(interval) }
        }
    }

    deinit { writer.shutdownGracefully { _ in } }

    /// Heartbeats accepted and batch transactions committed since start.
    public var counts: (accepted: UInt64, commits: UInt64) {
        state.withLockedValue { ($0.accepted, $0.commits) }
    }

    /// Checks the heartbeat's seq, then waits until it is committed. Throws `.replayed` for a
    /// seq not after the last accepted one (nothing is stored then).
    public func accept(_ entry: HeartbeatEntry) async throws {
        let node = entry.nodeID, seq = entry.heartbeat.seq
        guard seq <= UInt64(Int64.max) else { throw ErrorMessage(.invalidArgument, "heartbeat seq \(seq) is out of range") }
        let cached = state.withLockedValue { $0.lastSeq[node] }
        let stored = try cached ?? store.lastHeartbeatSeq(node: node)
        try state.withLockedValue { state in
            let last = state.lastSeq[node] ?? stored
            guard seq > last else { throw ErrorMessage(.replayed, "heartbeat \(seq) is not after \(last)") }
            state.lastSeq[node] = seq
        }
        do {
            try await enqueue(entry: .heartbeat(entry))
        } catch {
            // Not stored: forget the reservation, so the next heartbeat is checked against the database.
            state.withLockedValue { if $0.lastSeq[node] == seq { $0.lastSeq[node] = nil } }
            throw error
        }
        state.withLockedValue { $0.accepted += 1 }
    }

    /// Records that a session ended (written with the next batch; nobody waits for it).
    public func endSession(id: Int64, atMs: Int64) {
        start(Pending(event: .sessionEnded(id: id, atMs: atMs), done: nil))
    }

    /// Waits until everything handed in so far is committed (e.g. at shutdown).
    public func flush() async throws {
        try await withCheckedThrowingContinuation { start(Pending(event: nil, done: $0)) }
    }

    private func enqueue(entry: SessionEvent) async throws {
        try await withCheckedThrowingContinuation { start(Pending(event: entry, done: $0)) }
    }

    private func start(_ pending: Pending) {
        let startFlusher = state.withLockedValue { state -> Bool in
            state.pending.append(pending)
            guard !state.flushing else { return false }
            state.flushing = true
            return true
        }
        // SQLite calls block: the flusher runs on a thread of its own, never on the
        // cooperative pool that serves the connections (two threads on a 2-core host).
        if startFlusher { writer.submit { _ in self.drain() } }
    }

    /// Prunes old raw heartbeats at most once a minute, between batches (same thread as the
    /// writes, so it never contends with them). A failure only delays the next attempt.
    private func pruneIfDue() {
        let now = CoordinatorStore.nowMs()
        let due = lastPruneMs.withLockedValue { last -> Bool in
            guard now - last >= 60_000 else { return false }
            last = now
            return true
        }
        if due { _ = try? store.pruneHeartbeats(beforeMs: now - retentionMs) }
    }

    private func drain() {
        while true {
            let batch = state.withLockedValue { state -> [Pending] in
                guard !state.pending.isEmpty else { state.flushing = false; return [] }
                let n = min(maxBatch, state.pending.count)
                defer { state.pending.removeFirst(n) }
                return Array(state.pending.prefix(n))
            }
            if batch.isEmpty { pruneIfDue(); return }
            let events = batch.compactMap(\.event)
            let changes = uptime.withLockedValue { tracker -> [UptimeTracker.Change] in
                var changes: [UptimeTracker.Change] = []
                var latest: Int64?
                for case .heartbeat(let entry) in events {
                    changes += tracker.record(node: entry.nodeID, streams: entry.heartbeat.streams.map(\.stream), atMs: entry.receivedMs)
                    latest = max(latest ?? entry.receivedMs, entry.receivedMs)
                }
                if let latest { changes += tracker.expire(nowMs: latest).map { .closed($0) } }
                return changes
            }
            do {
                try store.commit(events, uptime: changes)
                state.withLockedValue { $0.commits += 1 }
                for item in batch { item.done?.resume() }
            } catch {
                resetUptime()
                for item in batch { item.done?.resume(throwing: ErrorMessage(.internalError, "heartbeat not stored: \(error)")) }
            }
        }
    }
}
