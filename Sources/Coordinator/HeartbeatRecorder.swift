import CoordinatorCore
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import StreamrRPC
import StreamrWire

/// Accepts heartbeats on nodes' sessions and persists them with group commits.
///
/// Every SQLite call of the heartbeat path runs on the recorder's one writer thread, never on
/// the cooperative pool that serves the connections: the seq check's lookup, a session's
/// start (its id is given out here at once, its row written with the next batch, ahead of its
/// first heartbeat) and the batches themselves.
///
/// Ordering: a heartbeat's seq must be strictly greater than the last one accepted for its
/// node (kept in memory, loaded from `nodes.last_seq` on a node's first heartbeat after a
/// start, so a replay is refused across restarts too). Checked by the writer in arrival order.
///
/// Durability: `accept` returns (`submit` calls back) — and the node gets its HeartbeatAck —
/// only after the transaction holding that heartbeat has committed, so nothing acknowledged is lost when
/// the coordinator crashes. Heartbeats from all nodes that arrive while a commit is running
/// wait for the next one and share it (group commit, at most `maxBatch` per transaction):
/// one commit per heartbeat when idle, few large commits under load. (WAL with
/// synchronous=NORMAL: a process crash loses nothing committed; a power loss may lose the
/// last transactions, as for every other write of the store.)
///
/// Answers: after a commit the batch's callbacks run on their connections' event loops, one
/// hop per loop for the whole batch (not a task resumed and a hop per heartbeat), so acks of
/// one commit go out together. The queue is bounded (`maxPending`): past it a heartbeat is
/// refused at once (UNAVAILABLE), and the node sends its next one as usual.
///
/// Verified uptime (`UptimeTracker`) is updated from each batch, by the heartbeats' receive
/// times, and written in the same transaction.
public final class HeartbeatRecorder: Sendable {
    let store: CoordinatorStore
    let maxBatch: Int
    /// Heartbeats waiting for a commit before new ones are refused.
    let maxPending: Int
    /// Raw heartbeats older than this are pruned (about once a minute, by the flusher).
    let retentionMs: Int64
    private let lastPruneMs = NIOLockedValueBox(CoordinatorStore.nowMs())
    /// The one thread that writes batches.
    private let writer: NIOThreadPool
    private let state: NIOLockedValueBox<State>
    /// Used by the one running flusher only.
    private let uptime: NIOLockedValueBox<UptimeTracker>
    /// When silent nodes' intervals were last closed (they close with their last heartbeat's
    /// time whenever that happens, so once a second is enough; not a scan per batch).
    private let lastExpireMs = NIOLockedValueBox(Int64(0))
    /// The last accepted seq per node: read and written by the writer thread only.
    private let lastSeq = NIOLockedValueBox<[String: UInt64]>([:])

    /// Called once a heartbeat (or barrier) is committed or refused.
    public typealias Completion = @Sendable (Result<Void, ErrorMessage>) -> Void

    private struct Pending {
        var event: SessionEvent?  // nil: a barrier (`flush`)
        var done: Completion?
        /// Where `done` runs (nil: on the writer thread).
        var loop: (any EventLoop)?
    }

    private struct State {
        var pending: [Pending] = []
        var pendingHeartbeats = 0
        var nextSessionID: Int64
        var flushing = false
        var accepted: UInt64 = 0
        var commits: UInt64 = 0
    }

    public init(store: CoordinatorStore, heartbeatIntervalMs: Int64 = 5000, maxBatch: Int = 500, maxPending: Int = 100_000,
                retentionMs: Int64 = 7 * 86_400_000) throws {
        self.store = store; self.maxBatch = max(1, maxBatch); self.maxPending = max(1, maxPending); self.retentionMs = retentionMs
        state = NIOLockedValueBox(State(nextSessionID: try store.lastSessionID() + 1))
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

    /// Waits until the heartbeat is committed. Throws `.replayed` for a seq not after the last
    /// accepted one (nothing is stored then).
    public func accept(_ entry: HeartbeatEntry) async throws {
        try await withCheckedThrowingContinuation { (waiter: CheckedContinuation<Void, any Error>) in
            submit(entry) { waiter.resume(with: $0.mapError { $0 as any Error }) }
        }
    }

    /// Hands in a heartbeat; `done` runs once it is committed (or refused), on `loop` when
    /// given (the node's connection's), else on the writer thread. It must not block.
    public func submit(_ entry: HeartbeatEntry, on loop: (any EventLoop)? = nil, done: @escaping Completion) {
        guard entry.heartbeat.seq <= UInt64(Int64.max) else {
            return done(.failure(ErrorMessage(.invalidArgument, "heartbeat seq \(entry.heartbeat.seq) is out of range")))
        }
        let taken = state.withLockedValue { s -> Bool in
            guard s.pendingHeartbeats < maxPending else { return false }
            s.pendingHeartbeats += 1
            return true
        }
        guard taken else {
            return done(.failure(ErrorMessage(.unavailable, "the coordinator is behind (\(maxPending) heartbeats waiting); this one was not taken")))
        }
        start(Pending(event: .heartbeat(entry), done: done, loop: loop))
    }

    /// Opens a session for `node` now: its id at once, its row with the next batch (before any
    /// heartbeat of it, which is handed in later).
    public func startSession(node: String, atMs: Int64) -> Int64 {
        let id = state.withLockedValue { s -> Int64 in defer { s.nextSessionID += 1 }; return s.nextSessionID }
        start(Pending(event: .sessionStarted(id: id, node: node, atMs: atMs)))
        return id
    }

    /// Records that a session ended (written with the next batch; nobody waits for it).
    public func endSession(id: Int64, atMs: Int64) {
        start(Pending(event: .sessionEnded(id: id, atMs: atMs)))
    }

    /// Waits until everything handed in so far is committed (e.g. at shutdown).
    public func flush() async throws {
        try await withCheckedThrowingContinuation { (waiter: CheckedContinuation<Void, any Error>) in
            start(Pending(event: nil, done: { waiter.resume(with: $0.mapError { $0 as any Error }) }))
        }
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
            // Everything waiting, taken at once (no shifting of a long queue per batch), then
            // committed in batches of at most `maxBatch`, in order.
            let waiting = state.withLockedValue { state -> [Pending] in
                guard !state.pending.isEmpty else { state.flushing = false; return [] }
                defer { state.pending = []; state.pendingHeartbeats = 0 }
                return state.pending
            }
            if waiting.isEmpty { pruneIfDue(); return }
            var retry: [Pending] = []
            for start in stride(from: 0, to: waiting.count, by: maxBatch) {
                retry = commitBatch(retry + waiting[start..<min(start + maxBatch, waiting.count)])
            }
            if !retry.isEmpty {
                // The last commit failed (e.g. a full disk): those sessions' rows go first with
                // whatever is handed in next, rather than retried here in a tight loop.
                state.withLockedValue { $0.pending.insert(contentsOf: retry, at: 0); $0.flushing = false }
                return
            }
        }
    }

    /// Commits one batch; returns the session starts to write again first (its commit failed).
    private func commitBatch(_ batch: [Pending]) -> [Pending] {
        // The seq check, in arrival order: a replay is refused alone, the rest go on.
        var kept: [Pending] = []
        var reserved: [String: UInt64] = [:]
        for item in batch {
            guard case .heartbeat(let entry)? = item.event else { kept.append(item); continue }
            let node = entry.nodeID, seq = entry.heartbeat.seq
            let last: UInt64
            do {
                last = try reserved[node] ?? lastSeq.withLockedValue { $0[node] } ?? store.lastHeartbeatSeq(node: node)
            } catch {
                item.done?(.failure(ErrorMessage(.internalError, "heartbeat not stored: \(error)")))
                continue
            }
            guard seq > last else {
                item.done?(.failure(ErrorMessage(.replayed, "heartbeat \(seq) is not after \(last)")))
                continue
            }
            reserved[node] = seq
            kept.append(item)
        }
        let events = kept.compactMap(\.event)
        let changes = uptime.withLockedValue { tracker -> [UptimeTracker.Change] in
            var changes: [UptimeTracker.Change] = []
            var latest: Int64?
            for case .heartbeat(let entry) in events {
                changes += tracker.record(node: entry.nodeID, streams: entry.heartbeat.streams.map(\.stream), atMs: entry.receivedMs)
                latest = max(latest ?? entry.receivedMs, entry.receivedMs)
            }
            if let latest, lastExpireMs.withLockedValue({ last in
                guard latest - last >= 1000 else { return false }
                last = latest
                return true
            }) {
                changes += tracker.expire(nowMs: latest).map { .closed($0) }
            }
            return changes
        }
        do {
            try store.commit(events, uptime: changes)
            lastSeq.withLockedValue { $0.merge(reserved) { max($0, $1) } }
            let heartbeats = UInt64(events.count { if case .heartbeat = $0 { return true } else { return false } })
            state.withLockedValue { $0.commits += 1; $0.accepted += heartbeats }
            complete(kept, with: .success(()))
            return []
        } catch {
            resetUptime()
            // Not stored: the next heartbeats of these nodes are checked against the database.
            lastSeq.withLockedValue { cache in for node in reserved.keys { cache[node] = nil } }
            complete(kept, with: .failure(ErrorMessage(.internalError, "heartbeat not stored: \(error)")))
            // A session given out must get its row: it goes again, ahead of the next batch.
            return kept.filter { if case .sessionStarted? = $0.event { return true } else { return false } }
        }
    }

    /// Runs the batch's callbacks: one hop per event loop for all of that loop's, the rest here.
    private func complete(_ items: [Pending], with result: Result<Void, ErrorMessage>) {
        var byLoop: [ObjectIdentifier: (loop: any EventLoop, calls: [Completion])] = [:]
        for item in items {
            guard let done = item.done else { continue }
            guard let loop = item.loop else { done(result); continue }
            byLoop[ObjectIdentifier(loop), default: (loop, [])].calls.append(done)
        }
        for (_, group) in byLoop {
            let calls = group.calls
            group.loop.execute { for call in calls { call(result) } }
        }
    }
}
