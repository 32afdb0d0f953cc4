import Earnings
import StreamrStore
import StreamrTLS

/// The ledger in SQLite: `ledger_entries` (one per transaction, with its chained hash) and
/// `ledger_lines`, both append-only by trigger. Appends check every transaction against the
/// balances it touches (summed from the lines) before anything is written, chain it after the
/// current head, and write it all in the caller's database transaction.
extension CoordinatorStore {
    static let hash: @Sendable ([UInt8]) -> [UInt8] = { SHA256Digest.hash($0) }

    /// Appends `transactions` (in order) inside `db`'s open transaction. A transaction whose id
    /// is already in the ledger is skipped (doing the same thing twice records it once);
    /// anything else that would be wrong is refused and nothing of the batch is written.
    @discardableResult
    func appendLedger(_ transactions: [LedgerTransaction], in db: Database) throws -> [StoredLedgerEntry] {
        var fresh: [LedgerTransaction] = []
        for tx in transactions where try db.queryOne("SELECT 1 FROM ledger_entries WHERE id = ?", tx.id) == nil
            && !fresh.contains(where: { $0.id == tx.id }) {
            fresh.append(tx)
        }
        guard !fresh.isEmpty else { return [] }
        var balances = try ledgerBalances(touchedBy: fresh, in: db)
        for tx in fresh {
            if let problem = balances.problems(applying: tx).first {
                throw LedgerRefusal(id: tx.id, problem: "\(problem)")
            }
            try balances.apply(tx)
        }
        let stored = LedgerChain.append(fresh, after: try ledgerHead(in: db), using: Self.hash)
        let insertEntry = try db.prepare("INSERT INTO ledger_entries (sequence, id, kind, at_ms, memo, reverses, hash) VALUES (?, ?, ?, ?, ?, ?, ?)")
        let insertLine = try db.prepare("INSERT INTO ledger_lines (sequence, line_no, account, currency, amount) VALUES (?, ?, ?, ?, ?)")
        for row in stored {
            let tx = row.entry.transaction
            _ = try insertEntry.run(row.entry.sequence, tx.id, tx.kind.rawValue, tx.atMs, tx.memo, tx.reverses, row.hash)
            for (i, line) in tx.lines.enumerated() {
                _ = try insertLine.run(row.entry.sequence, Int64(i), line.account.name, line.currency, line.amountMinor)
            }
        }
        return stored
    }

    /// Appends in a transaction of its own.
    @discardableResult
    public func appendLedger(_ transactions: [LedgerTransaction]) throws -> [StoredLedgerEntry] {
        try db.transaction { try appendLedger(transactions, in: $0) }
    }

    /// The current balances of every account `transactions` touch.
    func ledgerBalances(touchedBy transactions: [LedgerTransaction], in db: Database) throws -> Balances {
        var amounts: [Balances.Key: Int64] = [:]
        let query = try db.prepare("SELECT coalesce(sum(amount), 0) AS total FROM ledger_lines WHERE account = ? AND currency = ?")
        for line in transactions.flatMap(\.lines) {
            let key = Balances.Key(account: line.account, currency: line.currency)
            guard amounts[key] == nil else { continue }
            amounts[key] = try query.query(arguments: [line.account.name, line.currency]).first?.int64("total") ?? 0
        }
        return Balances(amounts)
    }

    /// The balance of one account.
    public func ledgerBalance(_ account: Account, currency: String) throws -> Int64 {
        try db.queryOne("SELECT coalesce(sum(amount), 0) AS total FROM ledger_lines WHERE account = ? AND currency = ?",
                        account.name, currency)?.int64("total") ?? 0
    }

    /// Balances of every account whose name starts with `prefix`, by account then currency.
    public func ledgerBalances(prefix: String) throws -> [(account: String, currency: String, minor: Int64)] {
        try db.query("""
            SELECT account, currency, sum(amount) AS total FROM ledger_lines
            WHERE substr(account, 1, ?) = ? GROUP BY account, currency ORDER BY account, currency
            """, Int64(prefix.utf8.count), prefix).map {
            ($0.string("account") ?? "", $0.string("currency") ?? "", $0.int64("total") ?? 0)
        }
    }

    func ledgerHead(in db: Database) throws -> StoredLedgerEntry? {
        guard let row = try db.queryOne("SELECT sequence FROM ledger_entries ORDER BY sequence DESC LIMIT 1"),
              let sequence = row.int64("sequence") else { return nil }
        return try ledgerEntries(from: sequence, to: sequence, in: db).first
    }

    /// Every entry as stored (hashes included), in sequence order: what `ledger verify` checks.
    public func ledgerEntries() throws -> [StoredLedgerEntry] {
        try db.transaction { try ledgerEntries(from: 1, to: Int64.max, in: $0) }
    }

    /// One transaction by id, if the ledger has it.
    public func ledgerTransaction(id: String) throws -> LedgerTransaction? {
        guard let row = try db.queryOne("SELECT sequence FROM ledger_entries WHERE id = ?", id), let s = row.int64("sequence") else { return nil }
        return try db.transaction { try ledgerEntries(from: s, to: s, in: $0).first?.entry.transaction }
    }

    /// Earnings neither released nor reversed, earned at or before `beforeMs`: what a release
    /// round looks at (found by SQL, so the work stays small as the ledger grows).
    public func unsettledEarnings(earnedBy beforeMs: Int64) throws -> [LedgerTransaction] {
        try db.transaction { db in
            try db.query("""
                SELECT e.sequence FROM ledger_entries e
                WHERE e.kind = 'earning' AND e.at_ms <= ?
                  AND NOT EXISTS (SELECT 1 FROM ledger_entries r WHERE r.id = 'release:' || e.id)
                  AND NOT EXISTS (SELECT 1 FROM ledger_entries r WHERE r.id = 'reverse:' || e.id)
                ORDER BY e.sequence
                """, beforeMs).compactMap { $0.int64("sequence") }
                .compactMap { try ledgerEntries(from: $0, to: $0, in: db).first?.entry.transaction }
        }
    }

    /// Transactions whose id starts with `prefix` (e.g. "earn:"), oldest first.
    public func ledgerTransactions(idPrefix prefix: String) throws -> [LedgerTransaction] {
        try db.transaction { db in
            try db.query("SELECT sequence FROM ledger_entries WHERE substr(id, 1, ?) = ? ORDER BY sequence", Int64(prefix.utf8.count), prefix)
                .compactMap { $0.int64("sequence") }
                .compactMap { try ledgerEntries(from: $0, to: $0, in: db).first?.entry.transaction }
        }
    }

    func ledgerEntries(from first: Int64, to last: Int64, in db: Database) throws -> [StoredLedgerEntry] {
        let entries = try db.query("SELECT * FROM ledger_entries WHERE sequence BETWEEN ? AND ? ORDER BY sequence", first, last)
        let lines = try db.query("SELECT * FROM ledger_lines WHERE sequence BETWEEN ? AND ? ORDER BY sequence, line_no", first, last)
        var bySequence: [Int64: [LedgerLine]] = [:]
        for row in lines {
            let account = try Account(parsing: row.string("account") ?? "")
            bySequence[row.int64("sequence") ?? 0, default: []].append(LedgerLine(account, row.string("currency") ?? "", row.int64("amount") ?? 0))
        }
        return try entries.map { row in
            let sequence = row.int64("sequence") ?? 0
            guard let kind = LedgerTransaction.Kind(rawValue: row.string("kind") ?? "") else {
                throw LedgerRefusal(id: row.string("id") ?? "?", problem: "unknown kind `\(row.string("kind") ?? "")`")
            }
            let tx = LedgerTransaction(id: row.string("id") ?? "", kind: kind, atMs: row.int64("at_ms") ?? 0, memo: row.string("memo") ?? "",
                                       reverses: row.string("reverses"), lines: bySequence[sequence] ?? [])
            return StoredLedgerEntry(entry: LedgerEntry(sequence: sequence, transaction: tx), hash: row.blob("hash") ?? [])
        }
    }
}

/// A ledger append refused before anything was written.
public struct LedgerRefusal: Error, CustomStringConvertible {
    public var id: String
    public var problem: String
    public var description: String { "ledger: transaction \(id) refused: \(problem)" }
}
