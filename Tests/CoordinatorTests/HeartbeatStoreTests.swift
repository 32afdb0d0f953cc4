import Coordinator
import CoordinatorCore
import NIOConcurrencyHelpers
import StreamrRPC
import StreamrStore
import StreamrWire
import XCTest

/// Sessions and heartbeats in the store, and the recorder's seq checks and group commits.
final class HeartbeatStoreTests: TempDatabaseTestCase {
    let node = "node-00000000abcd"

    override func setUpWithError() throws {
        try super.setUpWithError()
        let token = Secret.generate()
        try store.createStream(name: "main", keyHash: "k", pool: Amount(minor: 0, currency: try Currency.parse("USD")),
                               periodSeconds: 3600, now: 1)
        _ = try store.createInvite(stream: "main", tokenHash: token.hash, uses: 1, expiresAt: CoordinatorStore.now() + 60, now: 1)
        _ = try store.enroll(tokenHash: token.hash, stream: "main", now: 1) { stream, invite in
            NodeRecord(nodeID: self.node, displayName: "A", payoutHandle: "venmo:@a", stream: stream,
                       certificateSHA256: "x", inviteID: invite, enrolledAt: 1)
        }
    }

    private func entry(_ seq: UInt64, session: Int64, at ms: Int64, viewers: UInt32 = 3) -> HeartbeatEntry {
        HeartbeatEntry(nodeID: node, sessionID: session, heartbeat: Heartbeat(
            seq: seq, sentUnixMs: UInt64(ms), streams: [StreamCounters(stream: "main", viewers: viewers, bytesServed: 1000 * seq, lastChunkSeq: seq)],
            bufferHealthMs: 1500), receivedMs: ms)
    }

    func testCommitUpdatesSessionAndNode() throws {
        let session = try store.startSession(node: node, atMs: 1000)
        try store.commit([.heartbeat(entry(1, session: session, at: 1100)), .heartbeat(entry(2, session: session, at: 1200, viewers: 7)),
                          .sessionEnded(id: session, atMs: 1300)])
        XCTAssertEqual(try store.lastHeartbeatSeq(node: node), 2)
        XCTAssertEqual(try store.heartbeatSeqs(node: node), [1, 2])
        let stored = try XCTUnwrap(try store.sessions(node: node).first)
        XCTAssertEqual(stored.startedMs, 1000)
        XCTAssertEqual(stored.endedMs, 1300)
        XCTAssertEqual(stored.firstSeq, 1)
        XCTAssertEqual(stored.lastSeq, 2)
        XCTAssertEqual(stored.heartbeats, 2)
        XCTAssertEqual(stored.viewers, 7)
        XCTAssertEqual(stored.bytesServed, 2000)
        XCTAssertEqual(stored.lastHeartbeatMs, 1200)
    }

    /// One row per heartbeat: the per-stream counters are a JSON array in it, for json_each.
    func testAHeartbeatIsOneRowWithItsCountersAsJSON() throws {
        let session = try store.startSession(node: node, atMs: 1000)
        var two = entry(1, session: session, at: 1100)
        two.heartbeat.streams.append(StreamCounters(stream: "b-2", viewers: 9, bytesServed: UInt64(Int64.max) + 5, lastChunkSeq: 4))
        try store.commit([.heartbeat(two)])
        let db = try Database(path: databasePath, readOnly: true)
        XCTAssertEqual(try db.queryOne("SELECT count(*) AS n FROM heartbeats")?.int64("n"), 1)
        let rows = try db.query("""
            SELECT j.value ->> 'stream' AS stream, j.value ->> 'viewers' AS viewers, j.value ->> 'bytes_served' AS bytes,
                   j.value ->> 'last_chunk_seq' AS chunk
            FROM heartbeats h, json_each(h.streams) j ORDER BY j.key
            """)
        XCTAssertEqual(rows.map { $0.string("stream") }, ["main", "b-2"])
        XCTAssertEqual(rows.map { $0.int64("viewers") }, [3, 9])
        XCTAssertEqual(rows.map { $0.int64("bytes") }, [1000, Int64.max], "clamped to what SQLite holds")
        XCTAssertEqual(rows.map { $0.int64("chunk") }, [1, 4])
        XCTAssertEqual(try db.queryOne("SELECT count(*) AS n FROM sqlite_schema WHERE name = 'heartbeat_streams'")?.int64("n"), 0)
    }

    func testABatchIsAllOrNothing() throws {
        let session = try store.startSession(node: node, atMs: 1000)
        try store.commit([.heartbeat(entry(5, session: session, at: 1100))])
        // A duplicate (node, seq) fails the whole transaction.
        XCTAssertThrowsError(try store.commit([.heartbeat(entry(6, session: session, at: 1200)), .heartbeat(entry(5, session: session, at: 1300))]))
        XCTAssertEqual(try store.heartbeatSeqs(node: node), [5])
        XCTAssertEqual(try store.lastHeartbeatSeq(node: node), 5)
    }

    func testPruningDropsOnlyOldRawHeartbeatsAndKeepsTheLastSeq() throws {
        let session = try store.startSession(node: node, atMs: 1000)
        try store.commit((1...5).map { .heartbeat(entry(UInt64($0), session: session, at: Int64($0) * 1000)) })
        XCTAssertEqual(try store.pruneHeartbeats(beforeMs: 3500, limit: 2), 2, "the limit bounds one pass")
        XCTAssertEqual(try store.heartbeatSeqs(node: node), [3, 4, 5])
        XCTAssertEqual(try store.pruneHeartbeats(beforeMs: 3500), 1)
        XCTAssertEqual(try store.heartbeatSeqs(node: node), [4, 5])
        // Replay protection lives in the sessions (and nodes.last_seq), not in the pruned rows.
        XCTAssertEqual(try store.lastHeartbeatSeq(node: node), 5)
        XCTAssertEqual(try store.sessions(node: node).first?.heartbeats, 5)
    }

    func testOpenSessionsEndAtTheirLastHeartbeatOnRestart() throws {
        let session = try store.startSession(node: node, atMs: 1000)
        _ = try store.startSession(node: node, atMs: 2000) // a session that never heartbeats
        try store.commit([.heartbeat(entry(1, session: session, at: 1500))])
        XCTAssertEqual(try store.endOpenSessions(), 2)
        XCTAssertEqual(try store.sessions(node: node).map(\.endedMs), [1500, 2000])
        XCTAssertEqual(try store.endOpenSessions(), 0)
    }

    func testRecorderRefusesReplaysAcrossRestarts() async throws {
        let recorder = try HeartbeatRecorder(store: store)
        let session = try store.startSession(node: node, atMs: 1000)
        try await recorder.accept(entry(1, session: session, at: 1100))
        try await recorder.accept(entry(2, session: session, at: 1200))
        for seq: UInt64 in [2, 1] {
            do {
                try await recorder.accept(entry(seq, session: session, at: 1300))
                XCTFail("heartbeat \(seq) accepted after 2")
            } catch let error as ErrorMessage {
                XCTAssertEqual(error, ErrorMessage(.replayed, "heartbeat \(seq) is not after 2"))
            }
        }
        // Acked means committed: a new recorder over a reopened database sees seq 2.
        let reopened = try CoordinatorStore(path: databasePath)
        let after = try HeartbeatRecorder(store: reopened)
        do {
            try await after.accept(entry(2, session: session, at: 1400))
            XCTFail("a replay after a restart was accepted")
        } catch let error as ErrorMessage {
            XCTAssertEqual(error.code, .replayed)
        }
        try await after.accept(entry(10, session: session, at: 1500))
        XCTAssertEqual(try reopened.heartbeatSeqs(node: node), [1, 2, 10])
    }

    func testUptimeIntervalsAreWrittenWithTheHeartbeatsAndResumedAfterARestart() async throws {
        let recorder = try HeartbeatRecorder(store: store, heartbeatIntervalMs: 5000)
        let session = try store.startSession(node: node, atMs: 0)
        for (seq, at) in [(1, 1000), (2, 6000), (3, 21_000), (4, 36_001)] as [(UInt64, Int64)] {
            try await recorder.accept(entry(seq, session: session, at: at))
        }
        let interval = { (start: Int64, end: Int64) in UptimeInterval(node: self.node, stream: "main", startMs: start, endMs: end) }
        XCTAssertEqual(try store.uptimeIntervals(node: node).map(\.interval), [interval(1000, 21_000), interval(36_001, 36_001)])
        XCTAssertEqual(try store.uptimeIntervals(node: node).map(\.closed), [true, false])
        // A restarted recorder carries the open interval on.
        let after = try HeartbeatRecorder(store: try CoordinatorStore(path: databasePath), heartbeatIntervalMs: 5000)
        try await after.accept(entry(5, session: session, at: 41_000))
        XCTAssertEqual(try store.uptimeIntervals(node: node).map(\.interval), [interval(1000, 21_000), interval(36_001, 41_000)])
    }

    func testConcurrentHeartbeatsShareCommits() async throws {
        let recorder = try HeartbeatRecorder(store: store, maxBatch: 50)
        let session = try store.startSession(node: node, atMs: 1000)
        // Many nodes at once (each its own seq 1): every ack means stored, and commits are shared.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<400 {
                var entry = self.entry(1, session: session, at: 1000 + Int64(i))
                entry.nodeID = "node-\(i)"
                group.addTask { [entry] in try await recorder.accept(entry) }
            }
            try await group.waitForAll()
        }
        let stored = try (0..<400).map { try store.heartbeatSeqs(node: "node-\($0)") }
        XCTAssertEqual(stored, Array(repeating: [1], count: 400))
        let counts = recorder.counts
        XCTAssertEqual(counts.accepted, 400)
        XCTAssertLessThan(counts.commits, 400, "no batching happened")
    }

    /// A session's start is written ahead of its first heartbeat, with the same commit.
    func testASessionStartedByTheRecorderIsStoredWithItsFirstHeartbeat() async throws {
        let recorder = try HeartbeatRecorder(store: store)
        let session = recorder.startSession(node: node, atMs: 5000)
        try await recorder.accept(entry(1, session: session, at: 5100))
        let stored = try store.sessions(node: node)
        XCTAssertEqual(stored.map(\.id), [session])
        XCTAssertEqual(stored.first?.startedMs, 5000)
        XCTAssertEqual(stored.first?.lastSeq, 1)
        XCTAssertGreaterThan(try HeartbeatRecorder(store: store).startSession(node: node, atMs: 6000), session,
                             "a restarted recorder gives out ids after those stored")
    }

    /// The queue is bounded: past `maxPending` waiting heartbeats new ones are refused at once
    /// (UNAVAILABLE); each one taken is stored, each answered exactly once.
    func testHeartbeatsPastTheQueueBoundAreRefusedNotLost() async throws {
        let recorder = try HeartbeatRecorder(store: store, maxBatch: 10, maxPending: 10)
        let session = try store.startSession(node: node, atMs: 1000)
        let answers = NIOLockedValueBox<[Int: Result<Void, ErrorMessage>]>([:])
        for i in 0..<2000 {
            var entry = self.entry(1, session: session, at: 1000 + Int64(i))
            entry.nodeID = "node-\(i)"
            recorder.submit(entry) { result in answers.withLockedValue { $0[i] = result } }
        }
        try await recorder.flush()
        let all = answers.withLockedValue { $0 }
        XCTAssertEqual(all.count, 2000, "every heartbeat answered")
        let refused = all.filter { if case .failure(let e) = $0.value { return e.code == .unavailable } else { return false } }.keys
        let stored = all.filter { if case .success = $0.value { return true } else { return false } }.keys
        XCTAssertEqual(refused.count + stored.count, 2000)
        XCTAssertGreaterThan(refused.count, 0, "2000 at once into a queue of 10")
        for i in stored { XCTAssertEqual(try store.heartbeatSeqs(node: "node-\(i)"), [1]) }
        for i in refused.prefix(50) { XCTAssertEqual(try store.heartbeatSeqs(node: "node-\(i)"), []) }
    }
}
