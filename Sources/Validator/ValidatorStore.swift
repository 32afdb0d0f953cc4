import FoundationEssentials
import StreamrStore
import StreamrWire

/// The validator's own SQLite database (`validator.db` in the state directory): the ingest's
/// seals it verified (digests as BLOBs, so a restart knows the recent chunks), and results not
/// yet acknowledged by the coordinator (a restart, even a kill -9 between probe and answer,
/// loses none: each is sent again until it is answered).
public final class ValidatorStore: Sendable {
    let db: Database

    static let migrations = [
        Migration(version: 1, sql: """
            CREATE TABLE seals (
                stream TEXT NOT NULL,
                chain_id INTEGER NOT NULL,
                seq INTEGER NOT NULL,
                first_ts_ms INTEGER NOT NULL,
                last_ts_ms INTEGER NOT NULL,
                size INTEGER NOT NULL,
                sha256 BLOB NOT NULL,
                chain BLOB NOT NULL,
                signature BLOB NOT NULL,
                sealed_ms INTEGER NOT NULL,
                received_ms INTEGER NOT NULL,
                PRIMARY KEY (stream, chain_id, seq)
            ) STRICT, WITHOUT ROWID;
            CREATE INDEX seals_by_time ON seals(received_ms);
            -- Results waiting for the coordinator's answer, in the order they are sent.
            CREATE TABLE reports (
                report_id INTEGER PRIMARY KEY,
                envelope BLOB NOT NULL,
                created_ms INTEGER NOT NULL
            ) STRICT;
            CREATE TABLE meta (
                key TEXT PRIMARY KEY,
                value INTEGER NOT NULL
            ) STRICT;
            """),
    ]

    public init(path: String) throws {
        db = try Database(path: path, migrations: Self.migrations, checkIntegrity: true)
    }

    public var path: String { db.path }

    public static func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    // MARK: - Seals

    /// Stores a verified seal; false when it was already stored (the ingest replays its kept
    /// seals at every connect).
    @discardableResult
    public func save(_ seal: ChunkSealed, receivedMs: Int64) throws -> Bool {
        try db.run("""
            INSERT INTO seals (stream, chain_id, seq, first_ts_ms, last_ts_ms, size, sha256, chain, signature, sealed_ms, received_ms)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
            """, seal.stream, Int64(bitPattern: seal.chainID), Int64(bitPattern: seal.seq), Int64(seal.firstTimestampMs),
                   Int64(seal.lastTimestampMs), Int64(bitPattern: seal.size), seal.sha256, seal.chain, seal.signature,
                   Int64(bitPattern: seal.sealedUnixMs), receivedMs) == 1
    }

    /// The newest `perStream` seals of each stream received since `sinceMs`, oldest first, with when each came.
    public func recentSeals(sinceMs: Int64, perStream: Int) throws -> [(seal: ChunkSealed, receivedMs: Int64)] {
        try db.query("""
            SELECT * FROM (
                SELECT *, row_number() OVER (PARTITION BY stream ORDER BY received_ms DESC, seq DESC) AS n
                FROM seals WHERE received_ms >= ?)
            WHERE n <= ? ORDER BY stream, received_ms, seq
            """, sinceMs, Int64(perStream)).map { row in
            (ChunkSealed(stream: row.string("stream") ?? "", seq: UInt64(bitPattern: row.int64("seq") ?? 0),
                         firstTimestampMs: UInt32(truncatingIfNeeded: row.int64("first_ts_ms") ?? 0),
                         lastTimestampMs: UInt32(truncatingIfNeeded: row.int64("last_ts_ms") ?? 0),
                         size: UInt64(bitPattern: row.int64("size") ?? 0), sha256: row.blob("sha256") ?? [],
                         chain: row.blob("chain") ?? [], signature: row.blob("signature") ?? [],
                         chainID: UInt64(bitPattern: row.int64("chain_id") ?? 0),
                         sealedUnixMs: UInt64(bitPattern: row.int64("sealed_ms") ?? 0)),
             row.int64("received_ms") ?? 0)
        }
    }

    /// Forgets seals received before `beforeMs` (nodes keep a few chunks; a day is plenty).
    @discardableResult
    public func pruneSeals(beforeMs: Int64) throws -> Int {
        try db.run("DELETE FROM seals WHERE received_ms < ?", beforeMs)
    }

    public func sealCount() throws -> Int { try db.queryOne("SELECT count(*) AS n FROM seals")?.int("n") ?? 0 }

    // MARK: - Reports

    /// Queues `report` with the next report id (above every id used before, and above
    /// `nowMs × 1000`, so ids keep rising even if this database is lost) and returns it as queued.
    public func enqueue(_ report: SpotCheckReport, nowMs: Int64) throws -> SpotCheckReport {
        try db.transaction { db in
            let next = UInt64(bitPattern: try db.queryOne("SELECT value FROM meta WHERE key = 'next_report_id'")?.int64("value") ?? 1)
            let id = max(next, UInt64(max(0, nowMs)) * 1000)
            var queued = report
            queued.reportID = id
            try db.run("INSERT INTO reports (report_id, envelope, created_ms) VALUES (?, ?, ?)",
                       Int64(bitPattern: id), ProtoCodec.encode(Envelope(.spotCheckReport(queued))), nowMs)
            try db.run("INSERT INTO meta (key, value) VALUES ('next_report_id', ?) ON CONFLICT DO UPDATE SET value = excluded.value",
                       Int64(bitPattern: id + 1))
            return queued
        }
    }

    /// The coordinator holds reports up to `id`: new ids must be above it.
    public func adopt(lastReportID id: UInt64) throws {
        guard id < UInt64(Int64.max) else { return }
        try db.run("""
            INSERT INTO meta (key, value) VALUES ('next_report_id', ?) ON CONFLICT DO UPDATE SET value = max(value, excluded.value)
            """, Int64(bitPattern: id + 1))
    }

    /// Queued reports, oldest (lowest id) first.
    public func pending(limit: Int = 100) throws -> [SpotCheckReport] {
        try db.query("SELECT envelope FROM reports ORDER BY report_id LIMIT ?", Int64(limit)).compactMap { row in
            guard let bytes = row.blob("envelope"), case .spotCheckReport(let r)? = try? ProtoCodec.decode(bytes).body else { return nil }
            return r
        }
    }

    public func pendingCount() throws -> Int { try db.queryOne("SELECT count(*) AS n FROM reports")?.int("n") ?? 0 }

    /// The coordinator answered for `id` (stored, a duplicate, or refused on its merits).
    public func acknowledge(_ id: UInt64) throws {
        try db.run("DELETE FROM reports WHERE report_id = ?", Int64(bitPattern: id))
    }
}
