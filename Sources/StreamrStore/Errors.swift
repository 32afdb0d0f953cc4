import CSQLite

/// A failure reported by SQLite, carrying SQLite's own message and the SQL that failed.
public struct SQLiteError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Primary result code (`SQLITE_BUSY`, `SQLITE_CONSTRAINT`, ...).
    public var code: Int32
    /// Extended result code (`SQLITE_CONSTRAINT_FOREIGNKEY`, ...).
    public var extendedCode: Int32
    /// The text of `sqlite3_errmsg` (or `sqlite3_errstr`) at the time of failure.
    public var message: String
    /// The statement that failed, when there was one.
    public var sql: String?

    public init(code: Int32, extendedCode: Int32, message: String, sql: String? = nil) {
        self.code = code
        self.extendedCode = extendedCode
        self.message = message
        self.sql = sql
    }

    /// True for `SQLITE_BUSY` / `SQLITE_LOCKED`: another connection held a lock for longer
    /// than the busy timeout; the operation may be retried.
    public var isBusy: Bool { code == SQLITE_BUSY || code == SQLITE_LOCKED }

    /// True for any constraint violation (UNIQUE, FOREIGN KEY, NOT NULL, CHECK, ...).
    public var isConstraintViolation: Bool { code == SQLITE_CONSTRAINT }

    public var description: String {
        var text = "SQLite error \(code) (extended \(extendedCode)): \(message)"
        if let sql { text += " — in SQL: \(sql)" }
        return text
    }

    /// Reads the error state of `connection`. Must be called under the connection's lock,
    /// right after the failing call, before anything else can overwrite it.
    static func from(_ connection: OpaquePointer?, code rc: Int32, sql: String?) -> SQLiteError {
        let extended = connection.map { sqlite3_extended_errcode($0) } ?? rc
        // sqlite3_errmsg can lag behind for a few APIs (e.g. sqlite3_reset in legacy mode);
        // fall back to the static text for the code when it reports success.
        var message = connection.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) } ?? ""
        if message.isEmpty || message == "not an error" {
            message = String(cString: sqlite3_errstr(rc))
        }
        return SQLiteError(code: rc & 0xFF, extendedCode: extended == SQLITE_OK ? rc : extended,
                           message: message, sql: sql)
    }
}

/// Failures of this layer's own checks, which have no SQLite message.
public enum StoreError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The database was written by a newer program (its `user_version` is beyond every
    /// migration this build knows). Opening it could corrupt data, so it is refused.
    case schemaTooNew(path: String, databaseVersion: Int, newestKnown: Int)
    /// The migration list itself is wrong (duplicate or non-positive versions).
    case invalidMigrations(String)
    /// The number of arguments does not match the statement's parameters.
    case argumentCount(expected: Int, got: Int, sql: String)
    /// The SQL text is not a single statement where one is required.
    case invalidSQL(String, sql: String)
    /// `PRAGMA journal_mode=WAL` did not take effect (e.g. unsupported filesystem).
    case walUnavailable(path: String, journalMode: String)
    /// `PRAGMA quick_check` found damage: the daemon refuses to run on it.
    case damaged(path: String, problems: [String])

    public var description: String {
        switch self {
        case let .schemaTooNew(path, databaseVersion, newestKnown):
            return "database \(path) has schema version \(databaseVersion), newer than the newest "
                + "known migration \(newestKnown); refusing to open it with this (older) program — "
                + "downgrade is not supported, upgrade the program instead"
        case let .invalidMigrations(reason):
            return "invalid migrations: \(reason)"
        case let .argumentCount(expected, got, sql):
            return "statement expects \(expected) argument(s) but got \(got) — in SQL: \(sql)"
        case let .invalidSQL(reason, sql):
            return "\(reason) — in SQL: \(sql)"
        case let .damaged(path, problems):
            return "the database \(path) is damaged (SQLite's quick_check: \(problems.prefix(3).joined(separator: "; "))"
                + (problems.count > 3 ? "; and \(problems.count - 3) more" : "")
                + "). Stop the service, keep the damaged file for a look (mv \(path) \(path).damaged), and restore the last backup"
                + " (`streamrctl backup FILE` makes one; see \"Backup and restore\" in README.Debian), Removing it starts empty, losing what it held (streams, nodes, the ledger)."
        case let .walUnavailable(path, journalMode):
            return "could not enable WAL for \(path): journal_mode is \(journalMode)"
        }
    }
}
