import Foundation
import StreamrStore
import XCTest

final class StoreTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("streamr-store-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try FileManager.default.removeItem(at: directory)
    }

    private func dbPath(_ name: String = "test.db") -> String {
        directory.appendingPathComponent(name).path
    }

    private func sqliteError(_ error: Error, file: StaticString = #filePath, line: UInt = #line) -> SQLiteError? {
        guard let sqliteError = error as? SQLiteError else {
            XCTFail("expected SQLiteError, got \(type(of: error)): \(error)", file: file, line: line)
            return nil
        }
        return sqliteError
    }

    private static let itemsSchema = [Migration(version: 1, sql: "CREATE TABLE items(id INTEGER PRIMARY KEY, task INTEGER, n INTEGER)")]

    // MARK: - Connection setup

    func testFileDatabaseUsesWALWithForeignKeysAndNormalSync() throws {
        let db = try Database(path: dbPath())
        XCTAssertEqual(try db.queryOne("PRAGMA journal_mode")?.string(0), "wal")
        XCTAssertEqual(try db.queryOne("PRAGMA foreign_keys")?.int(0), 1)
        XCTAssertEqual(try db.queryOne("PRAGMA synchronous")?.int(0), 1)  // 1 = NORMAL
        XCTAssertEqual(try db.queryOne("PRAGMA busy_timeout")?.int(0), 5000)
    }

    /// `streamrctl backup`: from a read-only connection while the writer holds its own open
    /// and keeps writing; the copy has every committed row and passes quick_check.
    func testBackupFromReadOnlyConnectionWhileWriterIsOpen() throws {
        let writer = try Database(path: dbPath(), migrations: Self.itemsSchema)
        for n in 0..<500 { try writer.run("INSERT INTO items(task, n) VALUES (?, ?)", 1, n) }
        let reader = try Database(path: dbPath(), readOnly: true)
        try reader.backup(to: dbPath("copy.db"))
        try writer.run("INSERT INTO items(task, n) VALUES (?, ?)", 2, 500)
        let copy = try Database(path: dbPath("copy.db"), readOnly: true)
        try copy.verifyIntegrity()
        XCTAssertEqual(try copy.queryOne("SELECT count(*) AS c FROM items")?.int("c"), 500)
        XCTAssertEqual(try writer.queryOne("SELECT count(*) AS c FROM items")?.int("c"), 501)
    }

    /// Junk over a page of the file is found before anything writes on it.
    func testDamagedFileIsRefusedAtOpenWithTheWayBack() throws {
        do {
            let db = try Database(path: dbPath(), migrations: Self.itemsSchema)
            for n in 0..<2000 { try db.run("INSERT INTO items(task, n) VALUES (?, ?)", n, n) }
            try db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        }
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: dbPath()))
        let size = try handle.seekToEnd()
        try handle.seek(toOffset: size / 2 / 4096 * 4096)
        handle.write(Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }))
        try handle.close()
        XCTAssertThrowsError(try Database(path: dbPath(), migrations: Self.itemsSchema, checkIntegrity: true)) { error in
            guard case StoreError.damaged(let path, let problems) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(path, dbPath())
            XCTAssertFalse(problems.isEmpty)
            XCTAssertTrue("\(error)".contains("restore the last backup"), "\(error)")
        }
    }

    func testInMemoryDatabaseWorks() throws {
        let db = try Database(path: ":memory:", migrations: Self.itemsSchema)
        try db.run("INSERT INTO items(task, n) VALUES (?, ?)", 1, 2)
        XCTAssertEqual(try db.queryOne("SELECT count(*) AS c FROM items")?.int("c"), 1)
    }

    func testOpenFailureCarriesSQLiteMessage() {
        XCTAssertThrowsError(try Database(path: dbPath("missing-dir/x.db"))) { error in
            guard let e = sqliteError(error) else { return }
            XCTAssertTrue(e.message.contains("unable to open"), e.message)
        }
    }

    func testForeignKeysAreEnforced() throws {
        let db = try Database(path: dbPath(), migrations: [Migration(version: 1, sql: """
            CREATE TABLE streams(id INTEGER PRIMARY KEY);
            CREATE TABLE keys(id INTEGER PRIMARY KEY, stream_id INTEGER NOT NULL REFERENCES streams(id));
            """)])
        XCTAssertThrowsError(try db.run("INSERT INTO keys(stream_id) VALUES (?)", 42)) { error in
            guard let e = sqliteError(error) else { return }
            XCTAssertTrue(e.message.contains("FOREIGN KEY"), e.message)
            XCTAssertTrue(e.isConstraintViolation)
            XCTAssertEqual(e.extendedCode, 787)  // SQLITE_CONSTRAINT_FOREIGNKEY
        }
        try db.run("INSERT INTO streams(id) VALUES (42)")
        XCTAssertEqual(try db.run("INSERT INTO keys(stream_id) VALUES (?)", 42), 1)
    }

    // MARK: - Migrations

    func testMigrationsApplyOnceAndOnlyNewOnes() throws {
        let m1 = Migration(version: 1, sql: "CREATE TABLE log(name TEXT); INSERT INTO log VALUES ('m1');")
        let m2 = Migration(version: 2, sql: "INSERT INTO log VALUES ('m2');")
        let names = { (db: Database) in try db.query("SELECT name FROM log ORDER BY rowid").compactMap { $0.string("name") } }

        do {
            let db = try Database(path: dbPath(), migrations: [m1])
            XCTAssertEqual(try db.userVersion(), 1)
            XCTAssertEqual(try names(db), ["m1"])
        }
        do {
            let db = try Database(path: dbPath(), migrations: [m1])  // re-open: nothing re-applied
            XCTAssertEqual(try names(db), ["m1"])
        }
        do {
            let db = try Database(path: dbPath(), migrations: [m2, m1])  // order given does not matter
            XCTAssertEqual(try db.userVersion(), 2)
            XCTAssertEqual(try names(db), ["m1", "m2"])
        }
        // An older program (knows only m1) must refuse a version-2 database.
        XCTAssertThrowsError(try Database(path: dbPath(), migrations: [m1])) { error in
            XCTAssertEqual(error as? StoreError,
                           .schemaTooNew(path: self.dbPath(), databaseVersion: 2, newestKnown: 1))
            XCTAssertTrue("\(error)".contains("newer"), "\(error)")
        }
        let db = try Database(path: dbPath())
        XCTAssertEqual(try db.userVersion(), 2)
        XCTAssertEqual(try names(db), ["m1", "m2"])
    }

    func testFailingMigrationRollsBack() throws {
        let m1 = Migration(version: 1, sql: "CREATE TABLE a(x);")
        let bad = Migration(version: 2, sql: "CREATE TABLE b(x); INSERT INTO no_such_table VALUES (1);")
        XCTAssertThrowsError(try Database(path: dbPath(), migrations: [m1, bad])) { error in
            guard let e = sqliteError(error) else { return }
            XCTAssertTrue(e.message.contains("no such table"), e.message)
            XCTAssertEqual(e.sql, bad.sql)
        }
        let db = try Database(path: dbPath())
        XCTAssertEqual(try db.userVersion(), 1)
        let tables = try db.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        XCTAssertEqual(tables.compactMap { $0.string("name") }, ["a"])
    }

    func testInvalidMigrationListsAreRejected() {
        let dup = [Migration(version: 1, sql: "SELECT 1"), Migration(version: 1, sql: "SELECT 2")]
        XCTAssertThrowsError(try Database(path: ":memory:", migrations: dup)) { error in
            XCTAssertEqual(error as? StoreError, .invalidMigrations("version 1 appears more than once"))
        }
        XCTAssertThrowsError(try Database(path: ":memory:", migrations: [Migration(version: 0, sql: "SELECT 1")]))
    }

    // MARK: - Binding and rows

    func testTypedBindingRoundTripsEveryKind() throws {
        let db = try Database(path: dbPath(), migrations: [Migration(version: 1, sql: "CREATE TABLE v(id INTEGER PRIMARY KEY, value)")])
        let values: [SQLValue] = [
            .null,
            .integer(0), .integer(Int64.min), .integer(Int64.max), .integer(-1),
            .real(0.5), .real(-1e300), .real(.pi),
            .text(""), .text("plain"), .text("héllo wörld — 流 🎥🚀"), .text("nul\u{0}inside"),
            .blob([]), .blob([0]), .blob([0, 0, 0]), .blob([0xFF, 0x00, 0x7F, 0x80]), .blob(Array(0...255)),
        ]
        let insert = try db.prepare("INSERT INTO v(value) VALUES (?)")
        for value in values { try insert.run(value) }
        let rows = try db.query("SELECT value FROM v ORDER BY id")
        XCTAssertEqual(rows.map { $0["value"] }, values)

        // Swift types bind to the expected storage classes.
        let bindables: [(any SQLBindable, SQLValue)] = [
            (42, .integer(42)), (Int64.max, .integer(.max)), (Int32.min, .integer(Int64(Int32.min))),
            (UInt32.max, .integer(Int64(UInt32.max))), (2.25, .real(2.25)), ("s", .text("s")),
            ([UInt8]([1, 0, 2]), .blob([1, 0, 2])), (true, .integer(1)), (false, .integer(0)),
            (String?.none, .null), (Int?.some(7), .integer(7)), (SQLValue.blob([]), .blob([])),
        ]
        for (bindable, expected) in bindables {
            XCTAssertEqual(try db.queryOne("SELECT ? AS v", bindable)?["v"], expected)
        }
    }

    func testRowAccessors() throws {
        let db = try Database(path: ":memory:")
        let row = try XCTUnwrap(db.queryOne(
            "SELECT 7 AS i, 2.5 AS d, 'x' AS s, x'0001' AS b, 1 AS flag, NULL AS missing, 3.0 AS whole"))
        XCTAssertEqual(row.int("i"), 7)
        XCTAssertEqual(row.int64(0), 7)
        XCTAssertEqual(row.double("d"), 2.5)
        XCTAssertEqual(row.double("i"), 7)
        XCTAssertNil(row.int("d"))  // 2.5 has no exact integer value
        XCTAssertEqual(row.int("whole"), 3)
        XCTAssertEqual(row.string("s"), "x")
        XCTAssertEqual(row.blob("b"), [0, 1])
        XCTAssertEqual(row.bool("flag"), true)
        XCTAssertEqual(row["missing"], .null)
        XCTAssertNil(row.int("missing"))
        XCTAssertNil(row.string("missing"))
        XCTAssertNil(row.double("missing"))
        XCTAssertNil(row.blob("missing"))
        XCTAssertNil(row.bool("missing"))
        XCTAssertEqual(row.columnNames, ["i", "d", "s", "b", "flag", "missing", "whole"])
        XCTAssertEqual(row["I"], .integer(7))  // column names are case-insensitive, as in SQL
    }

    func testPreparedStatementReuseAndArgumentChecks() throws {
        let db = try Database(path: ":memory:", migrations: Self.itemsSchema)
        let insert = try db.prepare("INSERT INTO items(task, n) VALUES (?, ?)")
        for n in 1...3 { XCTAssertEqual(try insert.run(9, n), 1) }
        XCTAssertEqual(db.lastInsertRowID, 3)

        let select = try db.prepare("SELECT n FROM items WHERE task = ? ORDER BY n")
        XCTAssertEqual(try select.query(9).compactMap { $0.int("n") }, [1, 2, 3])
        try select.bind(9)
        XCTAssertEqual(try select.step()?.int(0), 1)
        XCTAssertEqual(try select.step()?.int(0), 2)
        select.reset()
        XCTAssertEqual(try select.query(arguments: [9]).count, 3)

        XCTAssertThrowsError(try insert.run(1)) { error in
            XCTAssertEqual(error as? StoreError,
                           .argumentCount(expected: 2, got: 1, sql: "INSERT INTO items(task, n) VALUES (?, ?)"))
        }
        // A second statement would be silently ignored by sqlite3_prepare; refuse it instead.
        XCTAssertThrowsError(try db.run("DELETE FROM items; DELETE FROM items"))
        XCTAssertNoThrow(try db.run("DELETE FROM items; -- trailing comment"))
        XCTAssertEqual(try db.queryOne("SELECT count(*) FROM items")?.int(0), 0)
    }

    func testSyntaxErrorCarriesMessageAndSQL() throws {
        let db = try Database(path: ":memory:")
        XCTAssertThrowsError(try db.query("SELEC 1")) { error in
            guard let e = sqliteError(error) else { return }
            XCTAssertTrue(e.message.contains("syntax error"), e.message)
            XCTAssertEqual(e.sql, "SELEC 1")
            XCTAssertEqual(e.code, 1)  // SQLITE_ERROR
            XCTAssertTrue(e.description.contains("syntax error") && e.description.contains("SELEC 1"), e.description)
        }
        XCTAssertThrowsError(try db.execute("CREATE TABLE ok(x); CREAT TABLE bad(x);")) { error in
            guard let e = sqliteError(error) else { return }
            XCTAssertTrue(e.message.contains("syntax error"), e.message)
            XCTAssertEqual(e.sql, "CREATE TABLE ok(x); CREAT TABLE bad(x);")
        }
    }

    // MARK: - Transactions

    private struct Boom: Error, Equatable {}

    func testTransactionRollsBackOnErrorAndRethrowsIt() throws {
        let db = try Database(path: dbPath(), migrations: Self.itemsSchema)
        XCTAssertThrowsError(try db.transaction { db in
            try db.run("INSERT INTO items(task, n) VALUES (1, 1)")
            try db.run("INSERT INTO items(task, n) VALUES (1, 2)")
            throw Boom()
        }) { error in
            XCTAssertEqual(error as? Boom, Boom())
        }
        XCTAssertEqual(try db.queryOne("SELECT count(*) FROM items")?.int(0), 0)

        let committed = try db.transaction { db in
            try db.run("INSERT INTO items(task, n) VALUES (2, 1)")
        }
        XCTAssertEqual(committed, 1)
        // Still usable after a rollback, and the commit is visible to another connection.
        XCTAssertEqual(try Database(path: dbPath()).queryOne("SELECT count(*) FROM items")?.int(0), 1)
    }

    func testNestedTransactionsUseSavepoints() throws {
        let db = try Database(path: ":memory:", migrations: Self.itemsSchema)
        try db.transaction { db in
            try db.run("INSERT INTO items(task, n) VALUES (1, 1)")
            XCTAssertThrowsError(try db.transaction { db in
                try db.run("INSERT INTO items(task, n) VALUES (1, 2)")
                throw Boom()
            })
            try db.transaction { db in try db.run("INSERT INTO items(task, n) VALUES (1, 3)") }
        }
        XCTAssertEqual(try db.query("SELECT n FROM items ORDER BY n").compactMap { $0.int(0) }, [1, 3])
    }

    // MARK: - Locking between connections and threads

    /// Holds a write transaction on `db` from another thread for `seconds`; returns once the
    /// lock is held, and a semaphore signalled after the commit.
    private func holdWriteLock(on db: Database, for seconds: Double) -> DispatchSemaphore {
        let held = DispatchSemaphore(value: 0)
        let released = DispatchSemaphore(value: 0)
        Thread {
            try? db.transaction { db in
                try db.run("INSERT INTO items(task, n) VALUES (0, 0)")
                held.signal()
                Thread.sleep(forTimeInterval: seconds)
            }
            released.signal()
        }.start()
        held.wait()
        return released
    }

    func testBusyTimeoutWaitsForOtherConnectionsLock() throws {
        let first = try Database(path: dbPath(), migrations: Self.itemsSchema)
        let second = try Database(path: dbPath(), migrations: Self.itemsSchema, busyTimeoutMilliseconds: 5000)
        let released = holdWriteLock(on: first, for: 0.2)
        let start = Date()
        XCTAssertEqual(try second.run("INSERT INTO items(task, n) VALUES (1, 1)"), 1)
        let waited = Date().timeIntervalSince(start)
        XCTAssertGreaterThan(waited, 0.1, "the write should have waited for the other connection")
        XCTAssertLessThan(waited, 4)
        released.wait()
        XCTAssertEqual(try second.queryOne("SELECT count(*) FROM items")?.int(0), 2)
    }

    func testZeroBusyTimeoutFailsFastWithLockedError() throws {
        let first = try Database(path: dbPath(), migrations: Self.itemsSchema)
        let impatient = try Database(path: dbPath(), migrations: Self.itemsSchema, busyTimeoutMilliseconds: 0)
        let released = holdWriteLock(on: first, for: 0.2)
        XCTAssertThrowsError(try impatient.run("INSERT INTO items(task, n) VALUES (1, 1)")) { error in
            guard let e = sqliteError(error) else { return }
            XCTAssertEqual(e.code, 5)  // SQLITE_BUSY
            XCTAssertTrue(e.isBusy)
            XCTAssertTrue(e.message.contains("locked"), e.message)
        }
        released.wait()
        XCTAssertEqual(try impatient.queryOne("SELECT count(*) FROM items")?.int(0), 1)
    }

    func testConcurrentUseFromManyTasks() async throws {
        let db = try Database(path: dbPath(), migrations: Self.itemsSchema)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    for n in 0..<200 {
                        if n.isMultiple(of: 2) {
                            try db.run("INSERT INTO items(task, n) VALUES (?, ?)", task, n)
                        } else {
                            // Inside a transaction no other task's insert can slip in between.
                            try db.transaction { db in
                                try db.run("INSERT INTO items(task, n) VALUES (?, ?)", task, n)
                                let row = try db.queryOne("SELECT task, n FROM items WHERE id = ?", db.lastInsertRowID)
                                XCTAssertEqual(row?.int("task"), task)
                                XCTAssertEqual(row?.int("n"), n)
                            }
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        XCTAssertEqual(try db.queryOne("SELECT count(*) FROM items")?.int(0), 1600)
        let perTask = try db.query("SELECT task, count(DISTINCT n) AS c FROM items GROUP BY task ORDER BY task")
        XCTAssertEqual(perTask.compactMap { $0.int("c") }, Array(repeating: 200, count: 8))
    }
}
