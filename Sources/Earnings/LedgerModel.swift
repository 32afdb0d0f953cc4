/// A ledger account. Its name is what the store keeps and what a person reads:
/// `pool:<stream>`, `period:<stream>:<start ms>`, `node:<id>:held|payable|paid`,
/// `payout:<batch>`, `unspent:<stream>`. Ids are [A-Za-z0-9._-] so a name parses one way only.
public struct Account: Sendable, Hashable, Comparable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// The streamer's side of the pool: the only account that goes negative (what the
        /// streamer has committed to pay in).
        case pool(stream: String)
        /// One period's pool while it is shared out; zero once the period is closed.
        case period(stream: String, startMs: Int64)
        /// Earned, within the hold window: a later fraud flag can still reverse it.
        case held(node: String)
        /// Released from hold: what the next payout batch pays.
        case payable(node: String)
        /// Paid out to the friend (marked paid by a person).
        case paid(node: String)
        /// A payout batch on its way: made, not yet marked paid or cancelled.
        case payout(batch: String)
        /// Pool that went to no one (no eligible weight, or reversed earnings).
        case unspent(stream: String)
    }

    public let kind: Kind
    public let name: String

    public init(_ kind: Kind) throws {
        let parts: [String]
        switch kind {
        case .pool(let s): parts = [s]; name = "pool:\(s)"
        case .period(let s, let start):
            guard TimeSpan.validTimes.contains(start) else { throw EarningsError("bad period start \(start)") }
            parts = [s]; name = "period:\(s):\(start)"
        case .held(let n): parts = [n]; name = "node:\(n):held"
        case .payable(let n): parts = [n]; name = "node:\(n):payable"
        case .paid(let n): parts = [n]; name = "node:\(n):paid"
        case .payout(let b): parts = [b]; name = "payout:\(b)"
        case .unspent(let s): parts = [s]; name = "unspent:\(s)"
        }
        for part in parts where !Account.isValidID(part) {
            throw EarningsError("bad id `\(part)` in an account name: 1–64 of A–Z, a–z, 0–9, `.`, `_`, `-`")
        }
        self.kind = kind
    }

    /// Reads a name as stored.
    public init(parsing name: String) throws {
        let p = name.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        let kind: Kind? = switch (p.first, p.count) {
        case ("pool", 2): .pool(stream: p[1])
        case ("unspent", 2): .unspent(stream: p[1])
        case ("payout", 2): .payout(batch: p[1])
        case ("period", 3): Int64(p[2]).map { .period(stream: p[1], startMs: $0) }
        case ("node", 3) where p[2] == "held": .held(node: p[1])
        case ("node", 3) where p[2] == "payable": .payable(node: p[1])
        case ("node", 3) where p[2] == "paid": .paid(node: p[1])
        default: nil
        }
        guard let kind else { throw EarningsError("unknown account `\(name)`") }
        try self.init(kind)
        guard self.name == name else { throw EarningsError("account `\(name)` is not in canonical form (`\(self.name)`)") }
    }

    static func isValidID(_ id: String) -> Bool {
        (1...64).contains(id.utf8.count) && id.utf8.allSatisfy {
            (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) || $0 == 46 || $0 == 95 || $0 == 45
        }
    }

    /// Only the streamer's pool may go below zero; every other balance is money someone holds.
    public var mayBeNegative: Bool { if case .pool = kind { true } else { false } }

    public static func < (a: Account, b: Account) -> Bool { byteOrder(a.name, b.name) }
    public var description: String { name }
}

/// One line of a transaction: `amountMinor` into `account` (negative: out of it).
public struct LedgerLine: Sendable, Hashable {
    public var account: Account
    public var currency: String
    public var amountMinor: Int64
    public init(_ account: Account, _ currency: String, _ amountMinor: Int64) {
        self.account = account; self.currency = currency; self.amountMinor = amountMinor
    }
}

/// A transaction: lines that sum to zero per currency, appended once and never edited. A
/// mistake is undone by a reversal (a new transaction with the lines negated).
public struct LedgerTransaction: Sendable, Hashable {
    public enum Kind: String, Sendable, CaseIterable {
        case funding, earning, unspent, release, reversal, payout, paid
        case payoutCancel = "payout_cancel"
    }

    /// Unique in the ledger and derived from what it records (`earn:main:<start>:<node>`), so
    /// doing the same thing twice is refused by the store instead of paying twice.
    public var id: String
    public var kind: Kind
    public var atMs: Int64
    public var memo: String
    /// For a reversal, the id of the transaction it undoes.
    public var reverses: String?
    public var lines: [LedgerLine]

    public init(id: String, kind: Kind, atMs: Int64, memo: String, reverses: String? = nil, lines: [LedgerLine]) {
        self.id = id; self.kind = kind; self.atMs = atMs; self.memo = memo; self.reverses = reverses; self.lines = lines
    }

    /// The amount moved into accounts (the sum of positive lines), per currency.
    public var volume: [String: Int64] {
        lines.reduce(into: [:]) { sums, line in if line.amountMinor > 0 { sums[line.currency, default: 0] += line.amountMinor } }
    }
}

/// What is wrong with one transaction on its own or against the balances before it.
public enum TransactionProblem: Sendable, Hashable, CustomStringConvertible {
    case badID
    case noLines
    case zeroLine(account: Account)
    case badCurrency(String)
    case unbalanced(currency: String, sumMinor: Int64)
    case negativeBalance(account: Account, currency: String, balanceMinor: Int64)
    case overflow
    case reversalMismatch(String)

    public var description: String {
        switch self {
        case .badID: "bad transaction id (1–200 printable ASCII characters, no spaces)"
        case .noLines: "no lines"
        case .zeroLine(let a): "a line of 0 into \(a)"
        case .badCurrency(let c): "bad currency `\(c)`"
        case .unbalanced(let c, let sum): "lines in \(c) sum to \(sum), not 0"
        case .negativeBalance(let a, let c, let b): "\(a) would hold \(b) \(c), below 0"
        case .overflow: "an amount or balance overflows"
        case .reversalMismatch(let why): "bad reversal: \(why)"
        }
    }
}

/// Balances per account and currency, derived from transactions: never stored on their own.
public struct Balances: Sendable, Equatable {
    public struct Key: Sendable, Hashable, Comparable {
        public var account: Account
        public var currency: String
        public static func < (a: Key, b: Key) -> Bool { a.account != b.account ? a.account < b.account : byteOrder(a.currency, b.currency) }
    }

    public private(set) var amounts: [Key: Int64] = [:]
    public init() {}

    public subscript(account: Account, currency: String) -> Int64 { amounts[Key(account: account, currency: currency)] ?? 0 }

    /// Every non-zero balance, by account then currency.
    public var nonZero: [(key: Key, amountMinor: Int64)] {
        amounts.filter { $0.value != 0 }.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// What is wrong with appending `tx` now: the checks the store runs before it writes, and
    /// the verifier runs again over what was written.
    public func problems(applying tx: LedgerTransaction) -> [TransactionProblem] {
        var found: [TransactionProblem] = []
        if !LedgerTransaction.isValidID(tx.id) { found.append(.badID) }
        if tx.lines.isEmpty { found.append(.noLines) }
        var sums: [String: Int64] = [:]
        var after: [Key: Int64] = [:]
        var order: [Key] = []
        for line in tx.lines {
            if line.amountMinor == 0 { found.append(.zeroLine(account: line.account)) }
            if !LedgerTransaction.isValidCurrency(line.currency), !found.contains(.badCurrency(line.currency)) {
                found.append(.badCurrency(line.currency))
            }
            let key = Key(account: line.account, currency: line.currency)
            let (sum, o1) = sums[line.currency, default: 0].addingReportingOverflow(line.amountMinor)
            let (balance, o2) = (after[key] ?? self.amounts[key] ?? 0).addingReportingOverflow(line.amountMinor)
            if o1 || o2 { return found + [.overflow] }
            if after[key] == nil { order.append(key) }
            sums[line.currency] = sum
            after[key] = balance
        }
        for (currency, sum) in sums.sorted(by: { byteOrder($0.key, $1.key) }) where sum != 0 {
            found.append(.unbalanced(currency: currency, sumMinor: sum))
        }
        for key in order where !key.account.mayBeNegative && after[key]! < 0 {
            found.append(.negativeBalance(account: key.account, currency: key.currency, balanceMinor: after[key]!))
        }
        return found
    }

    /// Applies `tx` if it has no problem; throws the first one otherwise.
    public mutating func apply(_ tx: LedgerTransaction) throws {
        if let problem = problems(applying: tx).first { throw EarningsError("transaction \(tx.id): \(problem)") }
        applyUnchecked(tx)
    }

    /// Applies lines as they are (the verifier reports problems and still derives what rows say).
    mutating func applyUnchecked(_ tx: LedgerTransaction) {
        for line in tx.lines {
            let key = Key(account: line.account, currency: line.currency)
            amounts[key] = (amounts[key] ?? 0) &+ line.amountMinor
        }
    }
}

extension LedgerTransaction {
    static func isValidID(_ id: String) -> Bool { (1...200).contains(id.utf8.count) && id.utf8.allSatisfy { (33...126).contains($0) } }
    static func isValidCurrency(_ code: String) -> Bool { code.utf8.count == 3 && code.utf8.allSatisfy { (65...90).contains($0) } }
}
