/// One schema step. `version`s are positive and unique; each migration's `sql` runs once,
/// in version order, in its own transaction (so it must not contain BEGIN/COMMIT).
public struct Migration: Sendable, Equatable {
    public var version: Int
    public var sql: String

    public init(version: Int, sql: String) {
        self.version = version
        self.sql = sql
    }
}

extension Database {
    /// Brings the schema up to the newest of `migrations`, tracked in `PRAGMA user_version`.
    /// An empty list means the caller does not manage the schema, and nothing is checked.
    func migrate(_ migrations: [Migration]) throws {
        let sorted = migrations.sorted { $0.version < $1.version }
        guard let oldest = sorted.first, let newest = sorted.last else { return }
        guard oldest.version > 0 else {
            throw StoreError.invalidMigrations("version \(oldest.version) is not positive")
        }
        for (previous, next) in zip(sorted, sorted.dropFirst()) where previous.version == next.version {
            throw StoreError.invalidMigrations("version \(next.version) appears more than once")
        }

        let current = try userVersion()
        // An older program must not write to a schema it does not understand.
        guard current <= newest.version else {
            throw StoreError.schemaTooNew(path: path, databaseVersion: current, newestKnown: newest.version)
        }
        for migration in sorted where migration.version > current {
            try transaction { db in
                // Re-read under the write lock: another process may have migrated meanwhile.
                guard try db.userVersion() < migration.version else { return }
                try db.execute(migration.sql)
                try db.execute("PRAGMA user_version = \(migration.version)")
            }
        }
    }
}
