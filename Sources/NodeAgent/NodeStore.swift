import FoundationEssentials
import LiveMedia
import Glibc
import StreamrStore

/// The node's local state in SQLite (`<state_directory>/node.db`), so a restart resumes:
/// the last heartbeat seq (the coordinator refuses a seq that is not newer), bytes served per
/// stream (heartbeats report them cumulatively), and coordinator sessions (uptime today).
public final class NodeStore: Sendable {
    let db: Database

    static let migrations = [
        Migration(version: 1, sql: """
            CREATE TABLE state (key TEXT PRIMARY KEY, value INTEGER NOT NULL) STRICT;
            CREATE TABLE streams (name TEXT PRIMARY KEY, bytes_served INTEGER NOT NULL DEFAULT 0) STRICT;
            CREATE TABLE sessions (
                id INTEGER PRIMARY KEY,
                started_ms INTEGER NOT NULL,
                ended_ms INTEGER,
                reason TEXT
            ) STRICT;
            """),
    ]

    public init(path: String) throws {
        db = try Database(path: path, migrations: Self.migrations, checkIntegrity: true)
        // A session a crash left open ended when the process did; the last heartbeat is the best guess.
        _ = try db.run("UPDATE sessions SET ended_ms = coalesce((SELECT value FROM state WHERE key = 'last_heartbeat_ms'), started_ms), reason = 'node restarted' WHERE ended_ms IS NULL")
    }

    public static func nowMs() -> Int64 { LiveClock.nowMs() }

    public var path: String { db.path }

    // MARK: - Pause

    /// The friend's pause: nil when not paused; 0 when paused until resumed; else the unix ms
    /// it ends (a pause that has run out is over).
    func pausedUntil(nowMs: Int64 = NodeStore.nowMs()) throws -> Int64? {
        guard let until = try value("paused_until_ms") else { return nil }
        if until > 0 && until <= nowMs { return nil }
        return until
    }

    func pause(untilMs: Int64) throws {
        _ = try db.run("INSERT INTO state (key, value) VALUES ('paused_until_ms', ?) ON CONFLICT DO UPDATE SET value = excluded.value", untilMs)
    }

    func resume() throws { _ = try db.run("DELETE FROM state WHERE key = 'paused_until_ms'") }

    func value(_ key: String) throws -> Int64? {
        try db.queryOne("SELECT value FROM state WHERE key = ?", key)?.int64("value")
    }

    /// The next heartbeat seq: after the last one sent, and at least the time in ms, so it
    /// keeps growing even if this database is lost (as long as the clock does not go back).
    func nextHeartbeatSeq() throws -> UInt64 {
        let last = try value("heartbeat_seq") ?? 0
        let seq = max(last + 1, Self.nowMs())
        _ = try db.run("INSERT INTO state (key, value) VALUES ('heartbeat_seq', ?), ('last_heartbeat_ms', ?) ON CONFLICT DO UPDATE SET value = excluded.value",
                       seq, Self.nowMs())
        return UInt64(seq)
    }

    func bytesServed() throws -> [String: Int64] {
        Dictionary(uniqueKeysWithValues: try db.query("SELECT name, bytes_served FROM streams").map {
            ($0.string("name") ?? "", $0.int64("bytes_served") ?? 0)
        })
    }

    func saveBytesServed(_ totals: [String: Int64]) throws {
        try db.transaction { db in
            for (name, bytes) in totals {
                _ = try db.run("INSERT INTO streams (name, bytes_served) VALUES (?, ?) ON CONFLICT DO UPDATE SET bytes_served = excluded.bytes_served",
                               name, bytes)
            }
        }
    }

    func sessionStarted(atMs: Int64) throws -> Int64 {
        try db.queryOne("INSERT INTO sessions (started_ms) VALUES (?) RETURNING id", atMs)?.int64("id") ?? 0
    }

    func sessionEnded(id: Int64, atMs: Int64, reason: String) throws {
        _ = try db.run("UPDATE sessions SET ended_ms = ?, reason = ? WHERE id = ?", atMs, reason, id)
    }

    /// Milliseconds connected to the coordinator since `fromMs` (open sessions count up to `nowMs`).
    func connectedMs(since fromMs: Int64, nowMs: Int64) throws -> Int64 {
        try db.queryOne("""
            SELECT coalesce(sum(min(coalesce(ended_ms, ?), ?) - max(started_ms, ?)), 0) AS ms FROM sessions
            WHERE coalesce(ended_ms, ?) > ? AND started_ms < ?
            """, nowMs, nowMs, fromMs, nowMs, fromMs, nowMs)?.int64("ms") ?? 0
    }
}
