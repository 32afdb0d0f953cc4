import CSQLite

/// A prepared statement: prepare once, then bind/step/reset many times.
///
/// Every call takes the owning `Database`'s lock, so a statement may be used inside
/// `Database.transaction` (the lock is recursive) and never races other users of the
/// connection. A statement is still not `Sendable`: its bind-then-step sequence is stateful,
/// so it belongs to one thread of control. It keeps its `Database` alive and is finalized
/// on deinit.
public final class Statement {
    public let sql: String
    /// Result column names (empty for statements that return no rows).
    public let columnNames: [String]
    private let database: Database
    private let handle: OpaquePointer

    /// Called with the database lock held.
    init(database: Database, sql: String) throws {
        let connection = database.connection
        var statement: OpaquePointer?
        var extra: OpaquePointer?
        try sql.withCString { text in
            var tail: UnsafePointer<CChar>?
            let rc = sqlite3_prepare_v2(connection, text, -1, &statement, &tail)
            guard rc == SQLITE_OK else { throw SQLiteError.from(connection, code: rc, sql: sql) }
            // Text after the first statement would be silently ignored; preparing it tells
            // real SQL apart from trailing whitespace and comments.
            if let tail, tail.pointee != 0 {
                _ = sqlite3_prepare_v2(connection, tail, -1, &extra, nil)
            }
        }
        if let extra {
            sqlite3_finalize(extra)
            sqlite3_finalize(statement)
            throw StoreError.invalidSQL("only one statement allowed here (use execute for scripts)", sql: sql)
        }
        guard let statement else { throw StoreError.invalidSQL("no SQL statement", sql: sql) }
        self.sql = sql
        self.database = database
        self.handle = statement
        self.columnNames = (0..<sqlite3_column_count(statement)).map {
            sqlite3_column_name(statement, $0).map { String(cString: $0) } ?? ""
        }
    }

    deinit {
        // Finalizing touches the connection, so it must be serialized like any other call.
        database.withLock { _ = sqlite3_finalize(handle) }
    }

    /// Resets the statement and binds `args` to its parameters, in order.
    public func bind(_ args: any SQLBindable...) throws { try bind(arguments: args) }

    public func bind(arguments: [any SQLBindable]) throws {
        try database.withLock { try bindLocked(arguments.map(\.sqlValue)) }
    }

    /// Advances to the next row; nil when the statement is done. Call `reset()` when you
    /// stop before nil, so the statement does not hold its read transaction open.
    public func step() throws -> Row? {
        try database.withLock { try stepLocked() }
    }

    /// Rewinds the statement and clears its bindings.
    public func reset() {
        database.withLock {
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
        }
    }

    /// Binds, runs to completion and returns the number of rows changed.
    @discardableResult
    public func run(_ args: any SQLBindable...) throws -> Int { try run(arguments: args) }

    @discardableResult
    public func run(arguments: [any SQLBindable]) throws -> Int {
        try database.withLock {
            try bindLocked(arguments.map(\.sqlValue))
            defer { sqlite3_reset(handle) }
            while try stepLocked() != nil {}
            return Int(sqlite3_changes64(database.connection))
        }
    }

    /// Binds, runs to completion and returns every row.
    public func query(_ args: any SQLBindable...) throws -> [Row] { try query(arguments: args) }

    public func query(arguments: [any SQLBindable]) throws -> [Row] {
        try database.withLock {
            try bindLocked(arguments.map(\.sqlValue))
            defer { sqlite3_reset(handle) }
            var rows: [Row] = []
            while let row = try stepLocked() { rows.append(row) }
            return rows
        }
    }

    // MARK: - Under the lock

    private func bindLocked(_ values: [SQLValue]) throws {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
        let expected = Int(sqlite3_bind_parameter_count(handle))
        guard values.count == expected else {
            throw StoreError.argumentCount(expected: expected, got: values.count, sql: sql)
        }
        for (offset, value) in values.enumerated() {
            let rc = bindValue(value, at: Int32(offset + 1))
            guard rc == SQLITE_OK else { throw SQLiteError.from(database.connection, code: rc, sql: sql) }
        }
    }

    private func bindValue(_ value: SQLValue, at index: Int32) -> Int32 {
        // TRANSIENT makes SQLite copy the bytes: Swift's buffers live only for the call.
        switch value {
        case .null:
            return sqlite3_bind_null(handle, index)
        case let .integer(v):
            return sqlite3_bind_int64(handle, index, v)
        case let .real(v):
            return sqlite3_bind_double(handle, index, v)
        case let .text(v):
            // Explicit byte length keeps embedded NULs; "" still gets a non-NULL pointer,
            // so it binds as empty text rather than NULL.
            return sqlite3_bind_text64(handle, index, v, sqlite3_uint64(v.utf8.count),
                                       streamr_sqlite_transient(), UInt8(SQLITE_UTF8))
        case let .blob(v):
            // An empty array has no base address, and a NULL pointer would bind NULL.
            if v.isEmpty { return sqlite3_bind_zeroblob(handle, index, 0) }
            return v.withUnsafeBytes {
                sqlite3_bind_blob64(handle, index, $0.baseAddress, sqlite3_uint64($0.count),
                                    streamr_sqlite_transient())
            }
        }
    }

    private func stepLocked() throws -> Row? {
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW:
            return Row(columnNames: columnNames, values: (0..<Int32(columnNames.count)).map(column))
        case SQLITE_DONE:
            return nil
        default:
            let error = SQLiteError.from(database.connection, code: rc, sql: sql)
            sqlite3_reset(handle)
            throw error
        }
    }

    private func column(_ index: Int32) -> SQLValue {
        switch sqlite3_column_type(handle, index) {
        case SQLITE_INTEGER:
            return .integer(sqlite3_column_int64(handle, index))
        case SQLITE_FLOAT:
            return .real(sqlite3_column_double(handle, index))
        case SQLITE_TEXT:
            // Fetch the pointer before the length, as the SQLite docs require.
            guard let text = sqlite3_column_text(handle, index) else { return .text("") }
            let count = Int(sqlite3_column_bytes(handle, index))
            return .text(String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self))
        case SQLITE_BLOB:
            guard let bytes = sqlite3_column_blob(handle, index) else { return .blob([]) }
            let count = Int(sqlite3_column_bytes(handle, index))
            return .blob(Array(UnsafeRawBufferPointer(start: bytes, count: count)))
        default:
            return .null
        }
    }
}

@available(*, unavailable)
extension Statement: Sendable {}
