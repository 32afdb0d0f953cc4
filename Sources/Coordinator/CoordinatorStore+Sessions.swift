import CoordinatorCore
import Earnings
import FoundationEssentials
import Glibc
import StreamrStore
import StreamrWire

/// One accepted heartbeat, as the batch writer stores it.
public struct HeartbeatEntry: Sendable, Equatable {
    public var nodeID: String
    public var sessionID: Int64
    public var heartbeat: Heartbeat
    public var receivedMs: Int64
    public init(nodeID: String, sessionID: Int64, heartbeat: Heartbeat, receivedMs: Int64) {
        self.nodeID = nodeID; self.sessionID = sessionID; self.heartbeat = heartbeat; self.receivedMs = receivedMs
    }
}

/// What a batch commit writes: sessions starting, heartbeats, and sessions ending.
public enum SessionEvent: Sendable, Equatable {
    case sessionStarted(id: Int64, node: String, atMs: Int64)
    case heartbeat(HeartbeatEntry)
    case sessionEnded(id: Int64, atMs: Int64)
}

/// A session's summary from one batch's heartbeats: the last one's values, the count added up.
struct SessionSummary {
    var firstSeq: Int64
    var lastSeq: Int64 = 0
    var lastMs: Int64 = 0
    var count: Int64 = 0
    var viewers: Int64 = 0
    var bytes: Int64 = 0
    var bufferMs: Int64 = 0
    mutating func add(atMs: Int64, seq: Int64, viewers: Int64, bytes: Int64, bufferMs: Int64) {
        lastSeq = seq; lastMs = atMs; count += 1
        self.viewers = viewers; self.bytes = bytes; self.bufferMs = bufferMs
    }
}

/// One session (one node connection) as stored.
public struct SessionRecord: Sendable, Equatable {
    public var id: Int64
    public var nodeID: String
    public var startedMs: Int64
    public var endedMs: Int64?
    public var lastHeartbeatMs: Int64?
    public var firstSeq: UInt64?
    public var lastSeq: UInt64?
    public var heartbeats: Int64
    public var viewers: Int64
    public var bytesServed: Int64

    init(row: Row) {
        id = row.int64("id") ?? 0
        nodeID = row.string("node_id") ?? ""
        startedMs = row.int64("started_ms") ?? 0
        endedMs = row.int64("ended_ms")
        lastHeartbeatMs = row.int64("last_heartbeat_ms")
        firstSeq = row.int64("first_seq").map { UInt64($0) }
        lastSeq = row.int64("last_seq").map { UInt64($0) }
        heartbeats = row.int64("heartbeats") ?? 0
        viewers = row.int64("viewers") ?? 0
        bytesServed = row.int64("bytes_served") ?? 0
    }
}

extension CoordinatorStore {
    public static func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// Opens a session for `node` (one per connection) and returns its id.
    public func startSession(node: String, atMs: Int64) throws -> Int64 {
        try db.queryOne("INSERT INTO sessions (node_id, started_ms) VALUES (?, ?) RETURNING id", node, atMs)?.int64("id") ?? 0
    }

    /// The highest session id given out so far (0: none).
    public func lastSessionID() throws -> Int64 {
        try db.queryOne("SELECT coalesce(max(id), 0) AS id FROM sessions")?.int64("id") ?? 0
    }

    /// The last heartbeat seq accepted (committed) for `node`; 0 if none.
    public func lastHeartbeatSeq(node: String) throws -> UInt64 {
        let row = try db.queryOne("""
            SELECT max(n.last_seq, coalesce((SELECT max(s.last_seq) FROM sessions s WHERE s.node_id = n.node_id), 0)) AS seq
            FROM nodes n WHERE n.node_id = ?
            """, node)
        return UInt64(row?.int64("seq") ?? 0)
    }

    /// Writes `events`, and the uptime intervals they started, extended or closed, in one
    /// transaction (the group commit of the heartbeat writer): all or none.
    public func commit(_ events: [SessionEvent], uptime: [UptimeTracker.Change] = []) throws {
        guard !events.isEmpty || !uptime.isEmpty else { return }
        try db.transaction { db in
            // One row per heartbeat; a session's summary once per batch (its last heartbeat's
            // values, the count added up), not once per heartbeat.
            let insert = try db.prepare("""
                INSERT INTO heartbeats (node_id, seq, session_id, received_ms, sent_ms, buffer_health_ms, streams)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """)
            let updateSession = try db.prepare("""
                UPDATE sessions SET last_heartbeat_ms = ?, first_seq = coalesce(first_seq, ?), last_seq = ?,
                    heartbeats = heartbeats + ?, viewers = ?, bytes_served = ?, buffer_health_ms = ?
                WHERE id = ?
                """)
            let endSession = try db.prepare("UPDATE sessions SET ended_ms = coalesce(ended_ms, ?) WHERE id = ?")
            // A node removed meanwhile (an abandoned enrolment) has no session to start: skipped,
            // not failed, or it would fail every batch it is retried with.
            let startSession = try db.prepare("""
                INSERT INTO sessions (id, node_id, started_ms) SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM nodes WHERE node_id = ?2)
                """)
            var summaries: [Int64: SessionSummary] = [:]
            var order: [Int64] = []
            func writeSummary(_ id: Int64) throws {
                guard let sum = summaries.removeValue(forKey: id) else { return }
                _ = try updateSession.run(sum.lastMs, sum.firstSeq, sum.lastSeq, sum.count, sum.viewers, sum.bytes, sum.bufferMs, id)
            }
            for event in events {
                switch event {
                case .heartbeat(let entry):
                    let hb = entry.heartbeat
                    let seq = Int64(clamping: hb.seq)
                    _ = try insert.run(entry.nodeID, seq, entry.sessionID, entry.receivedMs,
                                       Int64(clamping: hb.sentUnixMs), Int64(hb.bufferHealthMs), Self.countersJSON(hb.streams))
                    let viewers = hb.streams.reduce(Int64(0)) { $0 + Int64($1.viewers) }
                    let bytes = hb.streams.reduce(Int64(0)) { $0 &+ Int64(clamping: $1.bytesServed) }
                    if summaries[entry.sessionID] == nil { order.append(entry.sessionID) }
                    summaries[entry.sessionID, default: SessionSummary(firstSeq: seq)].add(
                        atMs: entry.receivedMs, seq: seq, viewers: viewers, bytes: bytes, bufferMs: Int64(hb.bufferHealthMs))
                case .sessionStarted(let id, let node, let atMs):
                    _ = try startSession.run(id, node, atMs)
                case .sessionEnded(let id, let atMs):
                    try writeSummary(id)  // what came before the end
                    _ = try endSession.run(atMs, id)
                }
            }
            for id in order { try writeSummary(id) }
            let startInterval = try db.prepare("""
                INSERT INTO uptime_intervals (node_id, stream, start_ms, end_ms) VALUES (?, ?, ?, ?)
                ON CONFLICT DO UPDATE SET end_ms = max(end_ms, excluded.end_ms), closed = 0
                """)
            let extendInterval = try db.prepare("UPDATE uptime_intervals SET end_ms = ? WHERE node_id = ? AND stream = ? AND start_ms = ?")
            let closeInterval = try db.prepare("UPDATE uptime_intervals SET closed = 1 WHERE node_id = ? AND stream = ? AND start_ms = ?")
            for change in uptime {
                switch change {
                case .started(let i): _ = try startInterval.run(i.node, i.stream, i.startMs, i.endMs)
                case .extended(let i): _ = try extendInterval.run(i.endMs, i.node, i.stream, i.startMs)
                case .closed(let i): _ = try closeInterval.run(i.node, i.stream, i.startMs)
                }
            }
        }
    }

    /// The uptime intervals not yet closed, for a restarted tracker to resume.
    public func openUptimeIntervals() throws -> [UptimeInterval] {
        try uptimeIntervals().filter { !$0.closed }.map(\.interval)
    }

    /// Uptime intervals, oldest first (all, or `node`'s).
    public func uptimeIntervals(node: String? = nil) throws -> [(interval: UptimeInterval, closed: Bool)] {
        let rows = try node.map { try db.query("SELECT * FROM uptime_intervals WHERE node_id = ? ORDER BY start_ms, stream", $0) }
            ?? db.query("SELECT * FROM uptime_intervals ORDER BY start_ms, node_id, stream")
        return rows.map { row in
            (UptimeInterval(node: row.string("node_id") ?? "", stream: row.string("stream") ?? "",
                            startMs: row.int64("start_ms") ?? 0, endMs: row.int64("end_ms") ?? 0), row.bool("closed") ?? false)
        }
    }

    /// Deletes up to `limit` raw heartbeats received before `beforeMs`. Returns how many went.
    /// (Sessions keep each node's last seq, so a replay stays refused.)
    @discardableResult
    public func pruneHeartbeats(beforeMs: Int64, limit: Int = 10_000) throws -> Int {
        try db.transaction { db in
            let old = "SELECT node_id, seq FROM heartbeats WHERE received_ms < ? ORDER BY received_ms LIMIT ?"
            return try db.run("DELETE FROM heartbeats WHERE (node_id, seq) IN (\(old))", beforeMs, Int64(limit))
        }
    }

    /// A heartbeat's per-stream counters as stored in `heartbeats.streams`.
    static func countersJSON(_ streams: [StreamCounters]) -> String {
        "[" + streams.map { c in
            "{\"stream\":\(PayoutExport.quote(c.stream)),\"viewers\":\(c.viewers),\"bytes_served\":\(Int64(clamping: c.bytesServed)),\"last_chunk_seq\":\(Int64(clamping: c.lastChunkSeq))}"
        }.joined(separator: ",") + "]"
    }

    /// Uptime intervals that overlap [fromMs, toMs].
    public func uptimeIntervals(fromMs: Int64, toMs: Int64) throws -> [UptimeInterval] {
        try db.query("SELECT * FROM uptime_intervals WHERE end_ms >= ? AND start_ms <= ?", fromMs, toMs).map { row in
            UptimeInterval(node: row.string("node_id") ?? "", stream: row.string("stream") ?? "",
                           startMs: row.int64("start_ms") ?? 0, endMs: row.int64("end_ms") ?? 0)
        }
    }

    /// Ends the sessions a previous run left open (it crashed, or was killed), at their last
    /// heartbeat — the last moment the node is known to have been there. Returns how many.
    @discardableResult
    public func endOpenSessions() throws -> Int {
        try db.run("UPDATE sessions SET ended_ms = coalesce(last_heartbeat_ms, started_ms) WHERE ended_ms IS NULL")
    }

    public func sessions(node: String? = nil) throws -> [SessionRecord] {
        if let node {
            return try reader.query("SELECT * FROM sessions WHERE node_id = ? ORDER BY id", node).map(SessionRecord.init(row:))
        }
        return try reader.query("SELECT * FROM sessions ORDER BY id").map(SessionRecord.init(row:))
    }

    /// The stored heartbeat seqs of `node`, in order.
    public func heartbeatSeqs(node: String) throws -> [UInt64] {
        try db.query("SELECT seq FROM heartbeats WHERE node_id = ? ORDER BY seq", node).map { UInt64($0.int64("seq") ?? 0) }
    }
}

/// What a node is doing, from its sessions and heartbeats.
public struct NodeActivity: Sendable, Equatable {
    public var lastHeartbeatMs: Int64?
    public var openSessions: Int
    /// From its latest heartbeat (viewers now; bytes served since the node started).
    public var viewers: Int64
    public var bytesServed: Int64

    /// Online: a session is open and the last heartbeat is within `windowMs` of `nowMs`.
    public func isOnline(nowMs: Int64, windowMs: Int64) -> Bool {
        guard openSessions > 0, let last = lastHeartbeatMs else { return false }
        return nowMs - last <= windowMs
    }
}

extension CoordinatorStore {
    /// Activity of every enrolled node, by node id.
    public func nodeActivity() throws -> [String: NodeActivity] {
        let rows = try reader.query("""
            SELECT n.node_id, coalesce(l.last_heartbeat_ms, n.last_heartbeat_ms) AS last_heartbeat_ms,
                (SELECT count(*) FROM sessions s WHERE s.node_id = n.node_id AND s.ended_ms IS NULL) AS open_sessions,
                l.viewers, l.bytes_served
            FROM nodes n
            LEFT JOIN sessions l ON l.id = (SELECT s.id FROM sessions s WHERE s.node_id = n.node_id AND s.last_heartbeat_ms IS NOT NULL
                                           ORDER BY s.last_heartbeat_ms DESC LIMIT 1)
            """)
        var activity: [String: NodeActivity] = [:]
        for row in rows {
            activity[row.string("node_id") ?? ""] = NodeActivity(
                lastHeartbeatMs: row.int64("last_heartbeat_ms"), openSessions: row.int("open_sessions") ?? 0,
                viewers: row.int64("viewers") ?? 0, bytesServed: row.int64("bytes_served") ?? 0)
        }
        return activity
    }
}
