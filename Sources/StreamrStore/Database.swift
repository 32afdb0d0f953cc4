import CSQLite
import FoundationEssentials
import Glibc

/// One SQLite connection, safe to share between threads and tasks.
///
/// `@unchecked Sendable` is sound because every use of `connection` and of the mutable
/// `transactionDepth` happens while holding `lock` — including statement finalization and
/// the reads of `sqlite3_errmsg` that must directly follow a failing call. The connection is
/// opened with `SQLITE_OPEN_NOMUTEX`: our lock is the serialization, so SQLite's own
/// per-call mutex would only add cost and could not make multi-call sequences atomic.
///
/// The lock is recursive so that a `transaction` body (which holds the lock for its whole
/// duration, keeping other threads' statements out of the transaction) can call back into
/// the same `Database`. Calls block the current thread: keep transactions short, and never
/// wait inside a transaction body for another thread that uses the same `Database`.
public final class Database: @unchecked Sendable {
    /// The path given to `init`.
    public let path: String
    let connection: OpaquePointer
    private let lock = RecursiveLock()
    private var transactionDepth = 0

    /// Opens (creating if missing) the database at `path` (":memory:" for a private
    /// in-memory database), configures it and applies `migrations`.
    ///
    /// - busyTimeoutMilliseconds: how long a statement waits for another connection's lock
    ///   before failing with `SQLITE_BUSY`.
    public init(path: String, migrations: [Migration] = [], busyTimeoutMilliseconds: Int = 5000,
                checkIntegrity: Bool = false, readOnly: Bool = false) throws {
        var handle: OpaquePointer?
        let flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &handle, flags, nil)
        guard rc == SQLITE_OK, let handle else {
            var error = SQLiteError.from(handle, code: rc, sql: nil)
            error.message += " (path: \(path))"
            sqlite3_close_v2(handle)  // SQLite may allocate a handle even when open fails.
            throw error
        }
        self.path = path
        self.connection = handle
        // From here on, a throw runs deinit, which closes the connection.
        sqlite3_extended_result_codes(handle, 1)
        // Set before the pragmas: switching to WAL needs a lock another process may hold.
        sqlite3_busy_timeout(handle, Int32(clamping: max(0, busyTimeoutMilliseconds)))
        if readOnly {
            try execute("PRAGMA query_only = ON; PRAGMA mmap_size = 268435456;")
            return
        }
        // A damaged file must not be written on: checked before the journal mode or a migration touches it.
        if checkIntegrity { try verifyIntegrity() }
        try configure()
        try migrate(migrations)
    }

    /// `PRAGMA quick_check` (structure, no index contents: O(N), seconds for a large file);
    /// throws `StoreError.damaged` with what it found.
    public func verifyIntegrity(full: Bool = false) throws {
        let rows: [Row]
        do { rows = try query(full ? "PRAGMA integrity_check" : "PRAGMA quick_check") } catch let error as SQLiteError {
            // SQLITE_CORRUPT / NOTADB while reading the schema is damage too.
            throw StoreError.damaged(path: path, problems: [error.message])
        }
        let problems = rows.compactMap { $0.string(0) }.filter { $0 != "ok" }
        if !problems.isEmpty { throw StoreError.damaged(path: path, problems: problems) }
    }

    /// An online, consistent copy of the whole database in one new file, with SQLite's backup
    /// API: one step under a read lock, so it works from a read-only connection and, in WAL
    /// mode, the writer goes on meanwhile. `destination` must not exist.
    public func backup(to destination: String) throws {
        try withLock {
            var target: OpaquePointer?
            let rc = sqlite3_open_v2(destination, &target, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nil)
            defer { sqlite3_close_v2(target) }
            guard rc == SQLITE_OK, let target else {
                var error = SQLiteError.from(target, code: rc, sql: nil)
                error.message += " (path: \(destination))"
                throw error
            }
            guard let backup = sqlite3_backup_init(target, "main", connection, "main") else {
                throw SQLiteError.from(target, code: sqlite3_errcode(target), sql: "backup")
            }
            var step = SQLITE_OK
            // A writer's lock is waited for, a bounded number of times (about 10 s).
            for _ in 0..<200 {
                step = sqlite3_backup_step(backup, -1)
                guard step == SQLITE_BUSY || step == SQLITE_LOCKED else { break }
                sqlite3_sleep(50)
            }
            sqlite3_backup_finish(backup)
            guard step == SQLITE_DONE else { throw SQLiteError.from(target, code: step, sql: "backup") }
        }
    }

    deinit {
        // close_v2 defers the close if a statement were somehow still alive, instead of
        // failing with SQLITE_BUSY and leaking the connection.
        sqlite3_close_v2(connection)
    }

    private func configure() throws {
        // An empty filename means an in-memory or temporary database, where WAL is n/a.
        let filename = sqlite3_db_filename(connection, "main").map { String(cString: $0) } ?? ""
        if !filename.isEmpty {
            let mode = try queryOne("PRAGMA journal_mode=WAL")?.string(0)?.lowercased() ?? ""
            guard mode == "wal" else { throw StoreError.walUnavailable(path: path, journalMode: mode) }
        }
        // NORMAL is durable against application crashes in WAL mode and avoids an fsync per
        // commit; a power loss may roll back only the last transactions.
        try execute("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;")
        // Reads of hot pages come from memory, not a pread() per page: a 32 MiB page cache
        // and the file mapped (SQLite still writes through the WAL). Measured: without these the
        // heartbeat writer spent most of its time in the kernel copying pages in.
        try execute("PRAGMA cache_size = -32768; PRAGMA mmap_size = 268435456;")
    }

    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    // MARK: - Statements

    /// Runs one or more `;`-separated statements, discarding any results.
    public func execute(_ sql: String) throws {
        try withLock {
            var errorText: UnsafeMutablePointer<CChar>?
            let rc = sqlite3_exec(connection, sql, nil, nil, &errorText)
            guard rc != SQLITE_OK else { return }
            var error = SQLiteError.from(connection, code: rc, sql: sql)
            if let errorText {
                error.message = String(cString: errorText)
                sqlite3_free(errorText)
            }
            throw error
        }
    }

    /// Runs one statement and returns the number of rows it changed.
    @discardableResult
    public func run(_ sql: String, _ args: any SQLBindable...) throws -> Int {
        try run(sql, arguments: args)
    }

    @discardableResult
    public func run(_ sql: String, arguments: [any SQLBindable]) throws -> Int {
        try withLock { try Statement(database: self, sql: sql).run(arguments: arguments) }
    }

    /// Runs one statement and returns all its rows.
    public func query(_ sql: String, _ args: any SQLBindable...) throws -> [Row] {
        try query(sql, arguments: args)
    }

    public func query(_ sql: String, arguments: [any SQLBindable]) throws -> [Row] {
        try withLock { try Statement(database: self, sql: sql).query(arguments: arguments) }
    }

    /// Runs one statement and returns its first row, if any.
    public func queryOne(_ sql: String, _ args: any SQLBindable...) throws -> Row? {
        try queryOne(sql, arguments: args)
    }

    public func queryOne(_ sql: String, arguments: [any SQLBindable]) throws -> Row? {
        try withLock {
            let statement = try Statement(database: self, sql: sql)
            try statement.bind(arguments: arguments)
            defer { statement.reset() }
            return try statement.step()
        }
    }

    /// Prepares a reusable statement (see `Statement`).
    public func prepare(_ sql: String) throws -> Statement {
        try withLock { try Statement(database: self, sql: sql) }
    }

    /// The rowid of the most recent successful INSERT on this connection. Another thread
    /// may insert in between: read it inside the same `transaction` as the INSERT, or use
    /// `INSERT ... RETURNING id` with `queryOne`.
    public var lastInsertRowID: Int64 {
        withLock { sqlite3_last_insert_rowid(connection) }
    }

    /// The schema version stored in the database header (`PRAGMA user_version`).
    public func userVersion() throws -> Int {
        try queryOne("PRAGMA user_version")?.int(0) ?? 0
    }

    // MARK: - Transactions

    /// Runs `body` in a transaction: `BEGIN IMMEDIATE` … `COMMIT`, or `ROLLBACK` if `body`
    /// throws (the body's error is rethrown unchanged). A nested call becomes a SAVEPOINT,
    /// so its failure rolls back only its own work unless the error propagates further.
    ///
    /// IMMEDIATE takes the write lock up front, so a read-then-write body never fails
    /// half-way with SQLITE_BUSY; waiting for the lock is bounded by the busy timeout.
    /// The database lock is held throughout, so other threads' statements wait outside.
    @discardableResult
    public func transaction<T>(_ body: (Database) throws -> T) throws -> T {
        try withLock {
            let depth = transactionDepth
            let savepoint = "streamr_savepoint_\(depth)"
            try execute(depth == 0 ? "BEGIN IMMEDIATE" : "SAVEPOINT \(savepoint)")
            transactionDepth += 1
            defer { transactionDepth -= 1 }

            let result: T
            do {
                result = try body(self)
                try execute(depth == 0 ? "COMMIT" : "RELEASE \(savepoint)")
            } catch {
                rollback(depth: depth, savepoint: savepoint)
                throw error
            }
            return result
        }
    }

    /// Best effort: the original error matters more than a failed rollback, and SQLite may
    /// already have rolled back by itself (e.g. after SQLITE_FULL or an I/O error).
    private func rollback(depth: Int, savepoint: String) {
        guard sqlite3_get_autocommit(connection) == 0 else { return }
        if depth == 0 {
            try? execute("ROLLBACK")
        } else {
            try? execute("ROLLBACK TO \(savepoint); RELEASE \(savepoint)")
        }
    }
}
